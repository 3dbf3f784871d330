// Admin helpers: a managed Admin client, and the lookups every client-side feature makes
// (a topic's metadata, each partition's offset at a time). Imports @platformatic/kafka, so
// interfaces that must start fast load this module lazily.

import {
  Admin,
  Consumer,
  type ClusterMetadata,
  type ClusterTopicMetadata,
  type FetchIsolationLevelValue,
  type MetadataOptions,
} from '@platformatic/kafka';
import { baseClientOptions, closeQuietly, type Connection } from './connection.js';
import { ClientError, ClientErrorCode, isUnknownTopic, UnknownTopicError } from './errors.js';

/** ListOffsets timestamps for the log start and the log end. */
export const EARLIEST = -2n;
export const LATEST = -1n;

/** Runs `fn` with a connected Admin and closes it whatever happens. */
export async function withAdmin<T>(c: Connection, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(baseClientOptions(c));
  try {
    return await fn(admin);
  } finally {
    await closeQuietly(admin);
  }
}

/** Any client of the library (Admin, Consumer, Producer) can ask for metadata. */
export interface MetadataClient {
  metadata(options: MetadataOptions): Promise<ClusterMetadata>;
}

/** Fresh metadata of one topic (never auto-created); undefined when it does not exist. */
export async function findTopic(client: MetadataClient, topic: string): Promise<ClusterTopicMetadata | undefined> {
  return (await lookupTopic(client, topic))?.topic;
}

/** Fresh metadata of one topic and of the cluster; an UnknownTopicError when it does not exist. */
export async function topicMetadata(client: MetadataClient, topic: string): Promise<{ cluster: ClusterMetadata; topic: ClusterTopicMetadata }> {
  const found = await lookupTopic(client, topic);
  if (!found) throw new UnknownTopicError(topic);
  return found;
}

/** Fresh metadata of one topic; an UnknownTopicError when it does not exist. */
export async function requireTopic(client: MetadataClient, topic: string): Promise<ClusterTopicMetadata> {
  return (await topicMetadata(client, topic)).topic;
}

async function lookupTopic(client: MetadataClient, topic: string): Promise<{ cluster: ClusterMetadata; topic: ClusterTopicMetadata } | undefined> {
  let cluster: ClusterMetadata;
  try {
    cluster = await client.metadata({ topics: [topic], autocreateTopics: false, forceUpdate: true });
  } catch (e) {
    if (isUnknownTopic(e)) return undefined;
    throw e;
  }
  const t = cluster.topics.get(topic);
  return t ? { cluster, topic: t } : undefined;
}

/**
 * Each partition's offset at `timestamp` (EARLIEST, LATEST, or milliseconds since the epoch:
 * the first record at or after it, -1 when there is none), through an Admin or a Consumer.
 * The isolation level is the client's default unless given (read_committed stops at the
 * last stable offset).
 */
export async function offsetsAt(client: Admin | Consumer, topic: string, partitions: number[], timestamp: bigint, isolationLevel?: FetchIsolationLevelValue): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  if (partitions.length === 0) return out;
  const isolation = isolationLevel === undefined ? {} : { isolationLevel };
  if (client instanceof Admin) {
    const r = await client.listOffsets({ topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, timestamp })) }], ...isolation });
    for (const t of r) for (const p of t.partitions) out.set(p.partitionIndex, p.offset);
  } else {
    const arr = (await client.listOffsets({ topics: [topic], partitions: { [topic]: partitions }, timestamp, ...isolation })).get(topic) ?? [];
    for (const p of partitions) if (arr[p] !== undefined) out.set(p, arr[p]);
  }
  for (const p of partitions) {
    if (!out.has(p)) throw new ClientError(`the cluster returned no offset for partition ${p} of "${topic}".`, { code: ClientErrorCode.unexpectedAnswer });
  }
  return out;
}
