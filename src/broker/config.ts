// Broker settings. Each has a Kafka-style property name (what a config file, DescribeConfigs
// and a Kafka user would use), a RIVULET_* environment variable and, for the common ones,
// a command-line flag; see settings.ts for the registry of names and the precedence.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { DEFAULT_MAX_DECOMPRESSED } from '../protocol/compression.js';
import { defaultOAuthBearerConfig, type OAuthBearerConfig } from './sasl/oauthbearer-config.js';

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
  /** sasl.oauthbearer.* (src/broker/sasl/oauthbearer-config.ts). */
  oauthbearer: OAuthBearerConfig;
  host: string;
  port: number;
  advertisedHost: string;
  advertisedPort: number;
  /** listeners: `NAME://host:port,...`; empty means the one PLAINTEXT listener of host and port. */
  listeners: string;
  /** advertised.listeners: `NAME://host:port,...`; a listener not named here advertises its own address. */
  advertisedListeners: string;
  /** listener.security.protocol.map: `NAME:PROTOCOL,...`. */
  listenerSecurityProtocolMap: string;
  /** ssl.certificate.location: PEM file of the server certificate (chain). */
  sslCertificateLocation: string;
  /** ssl.key.location: PEM file of the server's private key. */
  sslKeyLocation: string;
  sslKeyPassword: string;
  /** ssl.keystore.location (ssl.keystore.type=PEM): one PEM file with the key and the certificate chain. */
  sslKeystoreLocation: string;
  /** ssl.truststore.location: PEM file of the CAs whose client certificates are trusted. */
  sslTruststoreLocation: string;
  sslClientAuth: 'none' | 'requested' | 'required';
  /** ssl.principal.mapping.rules: Kafka's DEFAULT / RULE:pattern/replacement/[LU] list. */
  sslPrincipalMappingRules: string;
  /** ssl.enabled.protocols: TLSv1.2 and/or TLSv1.3. */
  sslEnabledProtocols: string[];
  /** ssl.handshake.timeout.ms: a TLS handshake not finished in this time is closed. */
  sslHandshakeTimeoutMs: number;
  /** sasl.enabled.mechanisms: what SASL listeners offer (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ...). */
  saslEnabledMechanisms: string[];
  /** listener.name.<name>.sasl.enabled.mechanisms, by listener name in upper case: replaces sasl.enabled.mechanisms for that listener. */
  listenerSaslMechanisms: Record<string, string[]>;
  /** listener.name.<name>.ssl.client.auth, by listener name in upper case: replaces ssl.client.auth for that listener. */
  listenerSslClientAuth: Record<string, 'none' | 'requested' | 'required'>;
  /** connection.failed.authentication.delay.ms: a failed login is answered (then closed) this much later. */
  connectionFailedAuthenticationDelayMs: number;
  /** connections.max.reauth.ms: SASL session lifetime (KIP-368); 0: sessions never expire. */
  connectionsMaxReauthMs: number;
  /** sasl.server.max.receive.size: largest request frame before a SASL session has authenticated. */
  saslServerMaxReceiveSize: number;
  httpHost: string;
  httpPort: number;
  dataDir: string;
  nodeId: number;
  fsync: FsyncPolicy;
  autoCreateTopics: boolean;
  /** authorizer.class.name: '' (ACLs off) or Kafka's StandardAuthorizer class name (ACLs on; see acl/authorizer.ts). */
  authorizerClassName: string;
  /** super.users: `User:a;User:b`, principals every ACL check allows. */
  superUsers: string;
  /** allow.everyone.if.no.acl.found: a resource no ACL names is open to all (default false). */
  allowEveryoneIfNoAclFound: boolean;
  numPartitions: number;
  /** max.partitions: most partitions the broker holds, all topics together. */
  maxPartitions: number;
  socketRequestMaxBytes: number;
  /** request.max.entries: most array entries (topics, partitions, ...) one request may hold. */
  requestMaxEntries: number;
  /** Bytes a connection may hold (request bytes arriving and in flight, response estimates, responses not yet taken by the client) before reading pauses. */
  connectionMemoryBytes: number;
  /** queued.max.request.bytes: the same bytes summed over every connection, beyond which reading pauses everywhere; -1 for no limit. */
  queuedMaxRequestBytes: number;
  /** socket.request.timeout.ms: time a request frame has to arrive whole, and a written response to be taken by the client. */
  socketRequestTimeoutMs: number;
  /** connections.max.idle.ms: a connection with nothing in flight and no bytes for this long is closed; -1 never. */
  connectionsMaxIdleMs: number;
  /** max.connections: client connections open at once; the rest are closed as they arrive. */
  maxConnections: number;
  /** max.connections.per.ip: client connections open at once from one address. */
  maxConnectionsPerIp: number;
  /** max.connections.per.ip.overrides: per-address exceptions to max.connections.per.ip, as `address:count,...` (parsed by parseIpOverrides). */
  maxConnectionsPerIpOverrides: string;
  /** max.connection.creation.rate: connections accepted per second, all addresses together (over the quota windows). */
  maxConnectionCreationRate: number;
  /** quota.window.num: windows a client quota's rate is taken over. */
  quotaWindowNum: number;
  /** quota.window.size.seconds: length of one quota window. */
  quotaWindowSizeSeconds: number;
  tailCacheBytes: number;
  /** fetch.max.bytes: most record bytes one Fetch answer carries, whatever the client asks (bounds the memory a request can claim). */
  fetchMaxBytes: number;
  /** max.incremental.fetch.session.cache.slots: fetch sessions (KIP-227) the broker keeps; 0 grants none. */
  fetchSessionCacheSlots: number;
  /** min.incremental.fetch.session.eviction.ms: a session idle longer than this may be evicted for a new one; a younger one only by a larger one once it is this old. */
  fetchSessionEvictionMs: number;
  /** decompressed.batch.max.bytes: most bytes one compressed batch may inflate to when the broker reads its records; bounds the records a compressed batch may declare. */
  decompressedBatchMaxBytes: number;
  retentionCheckIntervalMs: number;
  /** log.cleaner.backoff.ms: pause between two rounds of the log cleaner over the compacted partitions. */
  cleanerBackoffMs: number;
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
  /** group.consumer.session.timeout.ms: a consumer-protocol member with no heartbeat for this long is removed. */
  groupConsumerSessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms: how often consumer-protocol members are told to heartbeat. */
  groupConsumerHeartbeatIntervalMs: number;
  offsetsRetentionMinutes: number;
  offsetsRetentionCheckIntervalMs: number;
  transactionMaxTimeoutMs: number;
  transactionalIdExpirationMs: number;
  transactionCleanupIntervalMs: number;
  /** The transaction.version feature level announced (1 or 2). */
  transactionVersion: number;
  offsetMetadataMaxBytes: number;
  /** group.share.record.lock.duration.ms: how long a share consumer holds the records it was given. */
  shareRecordLockDurationMs: number;
  /** group.share.delivery.count.limit: deliveries of a record before it is archived. */
  shareDeliveryCountLimit: number;
  /** group.share.session.timeout.ms: a share group member silent this long is removed. */
  shareSessionTimeoutMs: number;
  /** group.share.heartbeat.interval.ms: how often share group members heartbeat. */
  shareHeartbeatIntervalMs: number;
  /** group.share.partition.max.record.locks: records of one share partition acquired at once, all members together. */
  sharePartitionMaxRecordLocks: number;
  /** group.share.max.size: most members of one share group. */
  shareMaxSize: number;
  /** share.auto.offset.reset: the default of the group config of that name. */
  shareAutoOffsetReset: 'latest' | 'earliest';
  /** producer.id.expiration.ms: a producer with no open transaction whose last write is older than this is forgotten (its sequence state). */
  producerIdExpirationMs: number;
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
  'log.cleaner.min.cleanable.ratio': '0.5',
  'log.cleaner.min.compaction.lag.ms': '0',
  'log.cleaner.max.compaction.lag.ms': '9223372036854775807',
  'log.segment.delete.delay.ms': '60000',
  'unclean.leader.election.enable': 'false',
});

export function defaultBrokerConfig(): BrokerConfig {
  return {
    host: '127.0.0.1',
    port: 9092,
    advertisedHost: '',
    advertisedPort: 0,
    listeners: '',
    advertisedListeners: '',
    listenerSecurityProtocolMap: 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    sslCertificateLocation: '',
    sslKeyLocation: '',
    sslKeyPassword: '',
    sslKeystoreLocation: '',
    sslTruststoreLocation: '',
    sslClientAuth: 'none',
    sslPrincipalMappingRules: 'DEFAULT',
    sslEnabledProtocols: ['TLSv1.2', 'TLSv1.3'],
    sslHandshakeTimeoutMs: 10000,
    saslEnabledMechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
    listenerSaslMechanisms: {},
    listenerSslClientAuth: {},
    connectionFailedAuthenticationDelayMs: 100,
    connectionsMaxReauthMs: 0,
    saslServerMaxReceiveSize: 524288,
    httpHost: '',
    httpPort: 9644,
    dataDir: './data',
    nodeId: 0,
    fsync: FsyncPolicy.acksAll,
    autoCreateTopics: true,
    authorizerClassName: '',
    superUsers: '',
    allowEveryoneIfNoAclFound: false,
    numPartitions: 1,
    maxPartitions: 10_000,
    socketRequestMaxBytes: 100 * 1024 * 1024,
    requestMaxEntries: 100_000,
    connectionMemoryBytes: 64 * 1024 * 1024,
    queuedMaxRequestBytes: 512 * 1024 * 1024,
    socketRequestTimeoutMs: 30_000,
    connectionsMaxIdleMs: 540_000,
    maxConnections: defaultMaxConnections(),
    maxConnectionsPerIp: 2147483647,
    maxConnectionsPerIpOverrides: '',
    maxConnectionCreationRate: 2147483647,
    quotaWindowNum: 11,
    quotaWindowSizeSeconds: 1,
    tailCacheBytes: 1024 * 1024,
    fetchMaxBytes: 55 * 1024 * 1024,
    fetchSessionCacheSlots: 1000,
    fetchSessionEvictionMs: 120_000,
    decompressedBatchMaxBytes: DEFAULT_MAX_DECOMPRESSED,
    retentionCheckIntervalMs: 30_000,
    cleanerBackoffMs: 15_000,
    numRecoveryThreadsPerDataDir: 8,
    logOpenSegmentsMax: 256,
    logLevel: 'info',
    groupInitialRebalanceDelayMs: 3000,
    groupMinSessionTimeoutMs: 6000,
    groupMaxSessionTimeoutMs: 1_800_000,
    groupMaxSize: 0,
    groupConsumerSessionTimeoutMs: 45_000,
    groupConsumerHeartbeatIntervalMs: 5_000,
    offsetsRetentionMinutes: 10080,
    offsetsRetentionCheckIntervalMs: 600_000,
    transactionMaxTimeoutMs: 900_000,
    transactionalIdExpirationMs: 604_800_000,
    transactionCleanupIntervalMs: 10_000,
    transactionVersion: 2,
    offsetMetadataMaxBytes: 4096,
    shareRecordLockDurationMs: 30_000,
    shareDeliveryCountLimit: 5,
    shareSessionTimeoutMs: 45_000,
    shareHeartbeatIntervalMs: 5000,
    shareAutoOffsetReset: 'latest',
    sharePartitionMaxRecordLocks: 2000,
    shareMaxSize: 200,
    producerIdExpirationMs: 86_400_000,
    topicDefaults: { ...defaultTopicDefaults },
    oauthbearer: defaultOAuthBearerConfig(),
  };
}

/** Used when the descriptor limit cannot be read (not Linux, or unlimited). */
export const FALLBACK_MAX_CONNECTIONS = 10_000;

/**
 * max.connections by default: three quarters of the process's descriptor limit (RLIMIT_NOFILE,
 * which Node raises to the hard limit at start), so a quarter stays for the broker's own files
 * (segments, indexes, the catalogue, the HTTP side). Node has no getrlimit; on Linux the limit
 * is read from /proc/self/limits, elsewhere (or when unlimited) a fixed default is used.
 */
export function defaultMaxConnections(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return FALLBACK_MAX_CONNECTIONS;
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  const soft = m === null ? NaN : Number(m[1]);
  if (!Number.isSafeInteger(soft) || soft <= 0) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(1, Math.floor((soft * 3) / 4));
}

/** The address clients are told to connect to. */
export function advertised(c: BrokerConfig): { host: string; port: number } {
  const wildcard = c.host === '0.0.0.0' || c.host === '::' || c.host === '';
  return {
    host: c.advertisedHost || (wildcard ? 'localhost' : c.host),
    port: c.advertisedPort || c.port,
  };
}

/**
 * max.connections.per.ip.overrides as Kafka writes it: `address:count` pairs, comma-separated
 * (the count after the last colon, so IPv6 addresses work). An error message when it does not parse.
 */
export function parseIpOverrides(v: string): Map<string, number> | string {
  const out = new Map<string, number>();
  for (const item of v.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const i = item.lastIndexOf(':');
    const host = i < 0 ? '' : item.slice(0, i).trim().replace(/^\[(.*)\]$/, '$1');
    const count = i < 0 ? NaN : Number(item.slice(i + 1).trim());
    if (host === '' || !/^\d+$/.test(item.slice(i + 1).trim()) || count > 2147483647) return `"${item}" is not address:count (e.g. 127.0.0.1:200,10.0.0.7:5)`;
    if (isIP(host) === 0) return `"${host}" is not an IP address: give addresses, not host names (e.g. 127.0.0.1:200)`;
    out.set(host, count);
  }
  return out;
}
