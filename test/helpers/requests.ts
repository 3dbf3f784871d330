// Request bodies the wire tests send, with every field a test does not care about filled
// in once: Produce v3+ (written for v9), Fetch v12, CreateTopics v7. A test names the
// topic, partitions and limits it means; the rest is Kafka's "no preference" value.

export interface ProduceOptions {
  acks?: number;
  timeoutMs?: number;
}

/** A Produce body: one batch run for partition 0, or [partition, records] pairs. */
export function produceBody(topic: string, records: Buffer | Array<[number, Buffer]>, o: ProduceOptions = {}) {
  const parts: Array<[number, Buffer]> = Buffer.isBuffer(records) ? [[0, records]] : records;
  return {
    transactionalId: null,
    acks: o.acks ?? -1,
    timeoutMs: o.timeoutMs ?? 5000,
    topicData: [{ name: topic, partitionData: parts.map(([index, r]) => ({ index, records: r })) }],
  };
}

export interface FetchOptions {
  partition?: number;
  /** Several partitions of the topic, each from the same offset (instead of `partition`). */
  partitions?: number[];
  offset?: number;
  /** 0 (the default) answers at once. */
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  /** Defaults to maxBytes. */
  partitionMaxBytes?: number;
}

/** A Fetch v12 body for one partition, or o.partitions (read_uncommitted, no fetch session). */
export function fetchBody(topic: string, o: FetchOptions = {}) {
  const maxBytes = o.maxBytes ?? 1 << 20;
  return {
    replicaId: -1, maxWaitMs: o.maxWaitMs ?? 0, minBytes: o.minBytes ?? 1, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{
      topic,
      partitions: (o.partitions ?? [o.partition ?? 0]).map((partition) => ({
        partition, currentLeaderEpoch: -1, fetchOffset: o.offset ?? 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: o.partitionMaxBytes ?? maxBytes,
      })),
    }],
    forgottenTopicsData: [], rackId: '',
  };
}

/** A CreateTopics v7 body for one topic (replication factor 1, broker-assigned replicas). */
export function createTopicsBody(name: string, numPartitions = 1, o: { timeoutMs?: number; configs?: Array<{ name: string; value: string | null }> } = {}) {
  return { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: o.configs ?? [] }], timeoutMs: o.timeoutMs ?? 5000, validateOnly: false };
}
