// The work behind `rivulet topic ...` (see topic.ts): topic administration against any
// Kafka-protocol cluster, through @platformatic/kafka's Admin client. Loaded only when a
// topic command runs, so `rivulet start` does not pay for the client library.

import {
  Admin,
  ConfigResourceTypes,
  ConfigSources,
  IncrementalAlterConfigOperationTypes,
  kGetApi,
  kGetConnection,
  type createTopicsV7,
  type incrementalAlterConfigsV1,
} from '@platformatic/kafka';

type CreateTopicsRequestTopic = createTopicsV7.CreateTopicsRequestTopic;
type CreateTopicsResponse = createTopicsV7.CreateTopicsResponse;
type IncrementalAlterConfigsRequestConfig = incrementalAlterConfigsV1.IncrementalAlterConfigsRequestConfig;
import {
  checkTopicName,
  CliError,
  connection,
  explainError,
  kafkaTopicId,
  usageError,
  ZERO_UUID,
  type ClientFlags,
} from './client-common.js';
import { EARLIEST, LATEST, offsetsAt, topicMetadata, withAdmin } from '../client/admin.js';
import { findProtocolError } from '../client/errors.js';


function configPairs(pairs: Array<[string, string]>): Array<{ name: string; value: string }> {
  const seen = new Set<string>();
  for (const [k] of pairs) {
    if (seen.has(k)) throw usageError(`config "${k}" is given twice.`);
    seen.add(k);
  }
  return pairs.map(([name, value]) => ({ name, value }));
}

// ---- create ----

export interface CreateFlags extends ClientFlags {
  partitions?: number;
  replicationFactor?: number;
  config: Array<[string, string]>;
  ifNotExists?: boolean;
  validateOnly?: boolean;
}

/** CreateTopics with validateOnly set; the Admin client always sends false, so the request is sent directly. */
async function validateCreate(admin: Admin, topic: CreateTopicsRequestTopic): Promise<CreateTopicsResponse> {
  const cluster = await admin.metadata({ topics: [] });
  const broker = cluster.brokers.get(cluster.controllerId) ?? [...cluster.brokers.values()][0];
  if (!broker) throw new CliError('the cluster reported no brokers.');
  type Api = ((connection: unknown, topics: CreateTopicsRequestTopic[], timeoutMs: number, validateOnly: boolean, cb: (e: Error | null, r?: CreateTopicsResponse) => void) => void);
  const getApi = (admin as unknown as Record<symbol, (name: string, cb: (e: Error | null, api?: Api) => void) => void>)[kGetApi]!.bind(admin);
  const getConnection = (admin as unknown as Record<symbol, (b: unknown, cb: (e: Error | null, c?: unknown) => void) => void>)[kGetConnection]!.bind(admin);
  const connection = await new Promise<unknown>((res, rej) => getConnection(broker, (e, c) => (e ? rej(e) : res(c))));
  const api = await new Promise<Api>((res, rej) => getApi('CreateTopics', (e, a) => (e ? rej(e) : res(a!))));
  return new Promise((res, rej) => api(connection, [topic], 30000, true, (e, r) => (e ? rej(e) : res(r!))));
}

export async function createTopic(name: string, o: CreateFlags): Promise<number> {
  checkTopicName(name);
  const configs = configPairs(o.config);
  return withAdmin(connection(o), async (admin) => {
    try {
      if (o.validateOnly) {
        const r = await validateCreate(admin, {
          name,
          numPartitions: o.partitions ?? -1,
          replicationFactor: o.replicationFactor ?? -1,
          assignments: [],
          configs,
        });
        const t = r.topics[0];
        const parts = t && t.numPartitions > 0 ? `${t.numPartitions} partition(s)` : 'default partitions';
        const rf = t && t.replicationFactor > 0 ? `replication factor ${t.replicationFactor}` : 'default replication factor';
        process.stdout.write(`topic "${name}" would be created (${parts}, ${rf}); nothing was changed (--validate-only)\n`);
        return 0;
      }
      const [t] = await admin.createTopics({
        topics: [name],
        partitions: o.partitions ?? -1,
        replicas: o.replicationFactor ?? -1,
        configs,
      });
      const parts = t && t.partitions > 0 ? `${t.partitions} partition(s)` : 'default partitions';
      const rf = t && t.replicas > 0 ? `replication factor ${t.replicas}` : 'default replication factor';
      process.stdout.write(`created topic "${name}" (${parts}, ${rf})\n`);
      return 0;
    } catch (e) {
      if (findProtocolError(e, 'TOPIC_ALREADY_EXISTS')) {
        if (o.ifNotExists) {
          process.stderr.write(`topic "${name}" already exists; nothing to do (--if-not-exists)\n`);
          return 0;
        }
        throw new CliError(`topic "${name}" already exists (add --if-not-exists to accept that).`);
      }
      throw e;
    }
  });
}

// ---- list ----

export async function listTopics(o: ClientFlags & { json?: boolean; internal?: boolean }): Promise<number> {
  return withAdmin(connection(o), async (admin) => {
    const names = await admin.listTopics({ includeInternals: o.internal === true });
    if (!o.json) {
      process.stdout.write(names.map((n) => `${n}\n`).join(''));
      return 0;
    }
    const rows: Array<{ name: string; partitions: number }> = [];
    if (names.length > 0) {
      const md = await admin.metadata({ topics: names, autocreateTopics: false, forceUpdate: true });
      for (const n of names) rows.push({ name: n, partitions: md.topics.get(n)?.partitionsCount ?? 0 });
    }
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return 0;
  });
}

// ---- describe ----

interface PartitionInfo {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  earliestOffset: number | null;
  latestOffset: number | null;
}

/** Earliest and latest offsets of every partition (ListOffsets), or the reason they are unknown. */
export async function partitionOffsets(admin: Admin, name: string, count: number, bootstrap: string): Promise<{ earliest: Map<number, bigint>; latest: Map<number, bigint> } | { error: string }> {
  const partitions = Array.from({ length: count }, (_, i) => i);
  try {
    return { earliest: await offsetsAt(admin, name, partitions, EARLIEST), latest: await offsetsAt(admin, name, partitions, LATEST) };
  } catch (e) {
    return { error: explainError(e, bootstrap) };
  }
}

export async function describeTopic(name: string, o: ClientFlags & { json?: boolean }): Promise<number> {
  checkTopicName(name);
  return withAdmin(connection(o), async (admin) => {
    const { topic } = await topicMetadata(admin, name);
    const notes: string[] = [];

    let configs: Record<string, string | null> | null = null;
    try {
      const [desc] = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: name }] });
      configs = {};
      for (const c of desc?.configs ?? []) {
        // Like kafka-topics --describe: the topic's own settings, not inherited defaults.
        if (c.configSource === ConfigSources.TOPIC_CONFIG) configs[c.name] = c.isSensitive ? null : (c.value ?? null);
      }
    } catch (e) {
      notes.push(`configs unavailable: ${explainError(e, o.bootstrapServer)}`);
    }

    const offsets = await partitionOffsets(admin, name, topic.partitionsCount, o.bootstrapServer);
    if ('error' in offsets) notes.push(`offsets unavailable: ${offsets.error}`);

    const partitions: PartitionInfo[] = topic.partitions.map((p, i) => ({
      partition: i,
      leader: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicas: p.replicas,
      isr: p.isr,
      offlineReplicas: p.offlineReplicas,
      earliestOffset: 'error' in offsets ? null : toNumber(offsets.earliest.get(i)),
      latestOffset: 'error' in offsets ? null : toNumber(offsets.latest.get(i)),
    }));
    const id = topic.id && topic.id !== ZERO_UUID ? kafkaTopicId(topic.id) : null;
    const replicationFactor = partitions.length > 0 ? partitions[0]!.replicas.length : 0;

    if (o.json) {
      process.stdout.write(`${JSON.stringify({ name, id, partitionCount: topic.partitionsCount, replicationFactor, configs, partitions })}\n`);
    } else {
      const cfg = configs === null ? '(unavailable)' : Object.entries(configs).map(([k, v]) => `${k}=${v ?? '(sensitive)'}`).join(',') || '(none)';
      const lines = [
        `Topic: ${name}\tTopicId: ${id ?? '(none)'}\tPartitionCount: ${topic.partitionsCount}\tReplicationFactor: ${replicationFactor}`,
        `Configs: ${cfg}`,
        ...partitions.map(
          (p) =>
            `\tPartition: ${p.partition}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}` +
            (p.earliestOffset === null ? '' : `\tEarliestOffset: ${p.earliestOffset}\tLatestOffset: ${p.latestOffset}`),
        ),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    for (const n of notes) process.stderr.write(`rivulet: note: ${n}\n`);
    return 0;
  });
}

function toNumber(v: bigint | undefined): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

// ---- alter ----

export interface AlterFlags extends ClientFlags {
  partitions?: number;
  config: Array<[string, string]>;
  deleteConfig: string[];
}

export async function alterTopic(name: string, o: AlterFlags): Promise<number> {
  checkTopicName(name);
  const sets = configPairs(o.config);
  for (const k of o.deleteConfig) {
    if (sets.some((s) => s.name === k)) throw usageError(`config "${k}" is both set and deleted.`);
  }
  if (o.partitions === undefined && sets.length === 0 && o.deleteConfig.length === 0) {
    throw usageError('nothing to change: give --partitions, --config or --delete-config.');
  }
  return withAdmin(connection(o), async (admin) => {
    const { topic } = await topicMetadata(admin, name);
    if (o.partitions !== undefined) {
      if (o.partitions < topic.partitionsCount) {
        throw new CliError(`topic "${name}" has ${topic.partitionsCount} partitions; Kafka can add partitions but never remove them.`);
      }
      if (o.partitions === topic.partitionsCount) {
        process.stdout.write(`topic "${name}" already has ${topic.partitionsCount} partitions\n`);
      } else {
        await admin.createPartitions({ topics: [{ name, count: o.partitions }] });
        process.stdout.write(`topic "${name}": partitions ${topic.partitionsCount} -> ${o.partitions}\n`);
      }
    }
    if (sets.length > 0 || o.deleteConfig.length > 0) {
      const configs: IncrementalAlterConfigsRequestConfig[] = [
        ...sets.map((s) => ({ name: s.name, value: s.value, configOperation: IncrementalAlterConfigOperationTypes.SET })),
        ...o.deleteConfig.map((k) => ({ name: k, configOperation: IncrementalAlterConfigOperationTypes.DELETE })),
      ];
      await admin.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: name, configs }] });
      const parts = [...sets.map((s) => `set ${s.name}=${s.value}`), ...o.deleteConfig.map((k) => `deleted ${k}`)];
      process.stdout.write(`topic "${name}": ${parts.join(', ')}\n`);
    }
    return 0;
  });
}

// ---- delete ----

export async function deleteTopic(name: string, o: ClientFlags & { ifExists?: boolean }): Promise<number> {
  checkTopicName(name);
  return withAdmin(connection(o), async (admin) => {
    const gone = (): number => {
      if (o.ifExists) {
        process.stderr.write(`topic "${name}" does not exist; nothing to do (--if-exists)\n`);
        return 0;
      }
      throw new CliError(`topic "${name}" does not exist (add --if-exists to accept that).`);
    };
    const names = await admin.listTopics({ includeInternals: true });
    if (!names.includes(name)) return gone();
    try {
      await admin.deleteTopics({ topics: [name] });
    } catch (e) {
      if (findProtocolError(e, 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID')) return gone();
      throw e;
    }
    process.stdout.write(`deleted topic "${name}"\n`);
    return 0;
  });
}
