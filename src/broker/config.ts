// Broker settings. Each has a Kafka-style property name (what a config file, DescribeConfigs
// and a Kafka user would use), a RIVULET_* environment variable and, for the common ones,
// a command-line flag; see settings.ts for the registry of names and the precedence.

export const FsyncPolicy = {
  /** fsync before answering acks=all; acks=1 is answered once the OS has the bytes. */
  acksAll: 'acks-all',
  /** fsync before answering any produce that waits for an answer (acks=1 and acks=all). */
  always: 'always',
  /** never wait for fsync (Apache Kafka's default); segments are still fsynced when rolled and at shutdown. */
  never: 'never',
} as const;
export type FsyncPolicy = (typeof FsyncPolicy)[keyof typeof FsyncPolicy];

export interface BrokerConfig {
  host: string;
  port: number;
  advertisedHost: string;
  advertisedPort: number;
  httpHost: string;
  httpPort: number;
  dataDir: string;
  nodeId: number;
  fsync: FsyncPolicy;
  autoCreateTopics: boolean;
  numPartitions: number;
  socketRequestMaxBytes: number;
  /** Bytes of requests a connection may have decoded and in flight before reading pauses. */
  connectionMemoryBytes: number;
  tailCacheBytes: number;
  /** fetch.max.bytes: most record bytes one Fetch answer carries, whatever the client asks (bounds the memory a request can claim). */
  fetchMaxBytes: number;
  retentionCheckIntervalMs: number;
  /** log.open.segments.max: sealed-segment files kept open at once across all logs (least recently used closed first). */
  logOpenSegmentsMax: number;
  /** num.recovery.threads.per.data.dir: partition logs closed at once at shutdown (bounds the files open together). */
  numRecoveryThreadsPerDataDir: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** group.initial.rebalance.delay.ms: how long the first members of an empty group gather. */
  groupInitialRebalanceDelayMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  /** group.max.size; 0 means no limit. */
  groupMaxSize: number;
  offsetsRetentionMinutes: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
  /** Broker-level defaults of topic configs, by Kafka property name (log.retention.ms, ...). */
  topicDefaults: Record<string, string>;
}

export const defaultTopicDefaults: Readonly<Record<string, string>> = Object.freeze({
  'log.cleanup.policy': 'delete',
  'compression.type': 'producer',
  'log.retention.ms': String(7 * 24 * 3600 * 1000),
  'log.retention.bytes': '-1',
  'log.segment.bytes': String(1024 * 1024 * 1024),
  'log.roll.ms': String(7 * 24 * 3600 * 1000),
  'log.index.size.max.bytes': String(10 * 1024 * 1024),
  'log.index.interval.bytes': '4096',
  'message.max.bytes': '1048588',
  'log.message.timestamp.type': 'CreateTime',
  'min.insync.replicas': '1',
  'log.flush.interval.messages': '9223372036854775807',
  'log.flush.interval.ms': '9223372036854775807',
  'log.cleaner.delete.retention.ms': '86400000',
  'log.segment.delete.delay.ms': '60000',
  'unclean.leader.election.enable': 'false',
});

export function defaultBrokerConfig(): BrokerConfig {
  return {
    host: '127.0.0.1',
    port: 9092,
    advertisedHost: '',
    advertisedPort: 0,
    httpHost: '',
    httpPort: 9644,
    dataDir: './data',
    nodeId: 0,
    fsync: FsyncPolicy.acksAll,
    autoCreateTopics: true,
    numPartitions: 1,
    socketRequestMaxBytes: 100 * 1024 * 1024,
    connectionMemoryBytes: 64 * 1024 * 1024,
    tailCacheBytes: 1024 * 1024,
    fetchMaxBytes: 55 * 1024 * 1024,
    retentionCheckIntervalMs: 30_000,
    numRecoveryThreadsPerDataDir: 8,
    logOpenSegmentsMax: 256,
    logLevel: 'info',
    groupInitialRebalanceDelayMs: 3000,
    groupMinSessionTimeoutMs: 6000,
    groupMaxSessionTimeoutMs: 1_800_000,
    groupMaxSize: 0,
    offsetsRetentionMinutes: 10080,
    offsetsRetentionCheckIntervalMs: 600_000,
    offsetMetadataMaxBytes: 4096,
    topicDefaults: { ...defaultTopicDefaults },
  };
}

/** The address clients are told to connect to. */
export function advertised(c: BrokerConfig): { host: string; port: number } {
  const wildcard = c.host === '0.0.0.0' || c.host === '::' || c.host === '';
  return {
    host: c.advertisedHost || (wildcard ? 'localhost' : c.host),
    port: c.advertisedPort || c.port,
  };
}
