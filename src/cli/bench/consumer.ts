// The consumer driver of `rivulet bench consume` and `e2e`: no consumer group; src/client's
// partition reader fetches every partition from its leader (as `rivulet consume` does
// without --group), read_uncommitted, with short long polls so the idle timeout is prompt.

import { Consumer, FetchIsolationLevels, type ClusterTopicMetadata } from '@platformatic/kafka';
import { clientOptions } from '../client-common.js';
import { requireTopic } from '../../client/admin.js';
import { closeQuietly } from '../../client/connection.js';
import { readPartitions, type PartitionPosition, type ReadOptions, type ReadOutcome } from '../../client/partition-reader.js';
import type { CommonFlags } from './types.js';

export interface PreparedConsumer {
  consumer: Consumer;
  meta: ClusterTopicMetadata;
  partitions: number[];
}

export async function prepareConsumer(o: CommonFlags): Promise<PreparedConsumer> {
  const consumer = new Consumer({ ...clientOptions(o), groupId: `${o.clientId}-no-group`, isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED });
  try {
    const meta = await requireTopic(consumer, o.topic);
    return { consumer, meta, partitions: Array.from({ length: meta.partitionsCount }, (_, i) => i) };
  } catch (e) {
    await closeQuietly(consumer);
    throw e;
  }
}

/** Reads `positions` of the prepared topic until done or idle (see ReadOptions). */
export function readBench(c: PreparedConsumer, topic: string, positions: PartitionPosition[], opts: Pick<ReadOptions, 'done' | 'idle' | 'onRecords'>): Promise<ReadOutcome> {
  return readPartitions(c.consumer, {
    topic,
    metadata: c.meta,
    positions,
    maxWaitMs: 200,
    maxBytes: 50 * 1024 * 1024,
    partitionMaxBytes: 1024 * 1024,
    isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    ...opts,
  });
}
