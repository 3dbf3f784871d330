// The topics a pipeline owns: repartition topics and compacted changelogs. Created when
// missing (idempotently: several processes of one application race to create them), and
// checked when present: a topic with another partition count would break co-partitioning
// (records of one key in another task), so that is an error a person must resolve.

import type { Admin } from '@platformatic/kafka';
import { findTopic } from './admin.js';
import { ClientError, ClientErrorCode, findProtocolError } from './errors.js';

export interface InternalTopic {
  name: string;
  partitions: number;
  /** Topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  config?: Record<string, string>;
}

/** Configs of a changelog topic: compacted, so the latest value per key survives retention. */
export const CHANGELOG_CONFIG: Readonly<Record<string, string>> = { 'cleanup.policy': 'compact' };

/** What happened to each topic. */
export type EnsureOutcome = 'created' | 'exists';

/**
 * Creates each topic that does not exist; checks that each that does has the expected
 * partition count (a ClientError with code topicMismatch otherwise). `replicas` defaults to
 * the cluster's default (-1).
 */
export async function ensureInternalTopics(admin: Admin, topics: InternalTopic[], replicas = -1): Promise<Map<string, EnsureOutcome>> {
  const out = new Map<string, EnsureOutcome>();
  for (const t of topics) {
    if (!Number.isInteger(t.partitions) || t.partitions < 1) {
      throw new ClientError(`internal topic "${t.name}": partitions must be a positive integer, not ${t.partitions}.`, { code: ClientErrorCode.invalidArgument });
    }
    const existing = await findTopic(admin, t.name);
    if (existing) {
      checkPartitions(t, existing.partitionsCount);
      out.set(t.name, 'exists');
      continue;
    }
    try {
      await admin.createTopics({
        topics: [t.name],
        partitions: t.partitions,
        replicas,
        configs: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
      });
      out.set(t.name, 'created');
    } catch (e) {
      // Another process of the application created it first: check it as any existing one.
      if (!findProtocolError(e, 'TOPIC_ALREADY_EXISTS')) throw e;
      const raced = await findTopic(admin, t.name);
      if (!raced) throw e;
      checkPartitions(t, raced.partitionsCount);
      out.set(t.name, 'exists');
    }
  }
  return out;
}

function checkPartitions(t: InternalTopic, actual: number): void {
  if (actual === t.partitions) return;
  throw new ClientError(
    `internal topic "${t.name}" has ${actual} partitions, the pipeline needs ${t.partitions} (one per task of its sub-topology). ` +
      'It was created for another version of the pipeline or its input topics changed: delete the topic (a changelog is rebuilt from the input, a repartition topic holds only records in flight) or reset the application.',
    { code: ClientErrorCode.topicMismatch },
  );
}
