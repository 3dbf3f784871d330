// The broker's settings registry (brokerKeys: every setting's name, parser and help) and how a
// configuration is assembled from four sources, strongest first: command-line flags, RIVULET_*
// environment variables, a config file (Java properties format, as Kafka's
// server.properties), then defaults. Every key has one name, used in the file; its
// environment variable is RIVULET_ + the name in upper case with '.' as '_'
// (log.retention.ms -> RIVULET_LOG_RETENTION_MS).

import { readFileSync } from 'node:fs';
import { resolveListeners, principalMapper } from './listeners.js';
import { KNOWN_AUTHORIZERS, parseSuperUsers } from './acl/authorizer.js';
import { knownMechanisms } from './sasl/mechanisms.js';
import { defaultBrokerConfig, defaultTopicDefaults, FsyncPolicy, parseIpOverrides, type BrokerConfig } from './config.js';
import { oauthBearerKeys } from './sasl/oauthbearer-config.js';

export class ConfigError extends Error {
  readonly code = 'RIV_ERR_CONFIG';
}

type Apply = (c: BrokerConfig, v: string, key: string) => void;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => (v: string, key: string): number => {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) throw new ConfigError(`${key} must be an integer from ${min} to ${max}, not "${v}"`);
  return n;
};
const bool = (v: string, key: string): boolean => {
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ConfigError(`${key} must be true or false, not "${v}"`);
};

/** A comma-separated list of SASL mechanism names, each one the broker implements. */
const mechanismList = (v: string, key: string): string[] => {
  const list = v.split(',').map((x) => x.trim().toUpperCase()).filter((x) => x !== '');
  const known = knownMechanisms();
  const unknown = list.filter((m) => !known.includes(m));
  if (unknown.length > 0) throw new ConfigError(`${key}: unknown SASL mechanism ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return [...new Set(list)];
};

/** listener.name.<listener>.sasl.enabled.mechanisms: Kafka's per-listener override (the listener name in lower case). */
const LISTENER_MECHANISMS = /^listener\.name\.([A-Za-z0-9_]+)\.sasl\.enabled\.mechanisms$/;
/** listener.name.<listener>.ssl.client.auth: the only way to ask a SASL_SSL listener for client certificates (KIP-684). */
const LISTENER_CLIENT_AUTH = /^listener\.name\.([A-Za-z0-9_]+)\.ssl\.client\.auth$/;

function clientAuth(v: string, k: string): 'none' | 'requested' | 'required' {
  if (v !== 'none' && v !== 'requested' && v !== 'required') throw new ConfigError(`${k} must be none, requested or required, not "${v}"`);
  return v;
}

const pemOnly = (v: string, key: string): void => {
  if (v.toUpperCase() !== 'PEM') throw new ConfigError(`${key} must be PEM, not "${v}": Rivulet reads PEM files, not JKS or PKCS12 keystores; convert them with keytool and openssl (keytool -importkeystore -deststoretype PKCS12, then openssl pkcs12 -nodes)`);
};

/** Broker keys (file names). Topic defaults (log.retention.ms, ...) are accepted too; see defaultTopicDefaults. */
export const brokerKeys: Readonly<Record<string, { apply: Apply; help: string }>> = {
  host: { apply: (c, v) => void (c.host = v), help: 'address the Kafka listener binds (default 127.0.0.1; 0.0.0.0 for all)' },
  port: { apply: (c, v, k) => void (c.port = int(0, 65535)(v, k)), help: 'Kafka listener port (default 9092; 0 picks a free one)' },
  'advertised.host': { apply: (c, v) => void (c.advertisedHost = v), help: 'host name clients are told to connect to (default: the listener host, or localhost for a wildcard)' },
  'advertised.port': { apply: (c, v, k) => void (c.advertisedPort = int(0, 65535)(v, k)), help: 'port clients are told to connect to (default: the listener port)' },
  listeners: { apply: (c, v) => void (c.listeners = v), help: 'listeners as NAME://host:port, comma-separated (e.g. PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093); port 0 picks a free one. Set, it replaces host and port (default: PLAINTEXT://<host>:<port>)' },
  'advertised.listeners': { apply: (c, v) => void (c.advertisedListeners = v), help: 'NAME://host:port per listener, as clients connecting through it are told (default: advertised.host/port for the listener of host/port, else the listener\'s own address)' },
  'listener.security.protocol.map': { apply: (c, v) => void (c.listenerSecurityProtocolMap = v), help: 'NAME:PROTOCOL per listener name (default PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL); SASL_SSL is TLS (the ssl.* settings) plus a SASL login (sasl.enabled.mechanisms)' },
  'ssl.certificate.location': { apply: (c, v) => void (c.sslCertificateLocation = v), help: 'PEM file (not JKS) of the SSL listeners\' certificate chain; reloaded when it changes. Kafka\'s name ssl.keystore.certificate.chain is not accepted: give a file' },
  'ssl.keystore.location': { apply: (c, v) => void (c.sslKeystoreLocation = v), help: 'Kafka\'s name for a PEM keystore (with ssl.keystore.type=PEM): one file holding the private key and the certificate chain; used when ssl.certificate.location and ssl.key.location are not set' },
  'ssl.keystore.type': { apply: (c, v, k) => void pemOnly(v, k), help: 'PEM only: Rivulet reads PEM files, not JKS or PKCS12 (default PEM)' },
  'ssl.truststore.type': { apply: (c, v, k) => void pemOnly(v, k), help: 'PEM only: ssl.truststore.location is a PEM CA bundle, not JKS or PKCS12 (default PEM)' },
  'ssl.key.location': { apply: (c, v) => void (c.sslKeyLocation = v), help: 'PEM file (not JKS) of the SSL listeners\' private key; reloaded when it changes' },
  'ssl.key.password': { apply: (c, v) => void (c.sslKeyPassword = v), help: 'password of an encrypted ssl.key.location (default: none)' },
  'ssl.truststore.location': { apply: (c, v) => void (c.sslTruststoreLocation = v), help: 'PEM file (not JKS) of the CA certificates client certificates are checked against (default: Node\'s bundled CAs); reloaded when it changes' },
  'ssl.client.auth': {
    apply: (c, v, k) => void (c.sslClientAuth = clientAuth(v, k)),
    help: 'none (default), requested (a client certificate is checked when given) or required, for SSL listeners; a verified client certificate makes the principal User:<subject DN>. As in Kafka (KIP-684), SASL_SSL listeners ignore it (the SASL login names the principal): listener.name.<listener>.ssl.client.auth sets it for one listener, SASL_SSL included (config file or --set)',
  },
  'ssl.principal.mapping.rules': {
    apply: (c, v) => {
      principalMapper(v); // refuses a rule that does not parse, at start
      c.sslPrincipalMappingRules = v;
    },
    help: 'how a client certificate\'s subject DN becomes the principal name, as in Kafka: DEFAULT (the DN, e.g. CN=alice,OU=eng,O=acme) or RULE:pattern/replacement/ with an optional L or U, first match wins; a certificate no rule matches is refused (default DEFAULT)',
  },
  'ssl.enabled.protocols': {
    apply: (c, v, k) => {
      const list = v.split(',').map((x) => x.trim()).filter((x) => x !== '');
      if (list.length === 0 || list.some((x) => x !== 'TLSv1.2' && x !== 'TLSv1.3')) throw new ConfigError(`${k} must list TLSv1.2 and/or TLSv1.3, not "${v}"`);
      c.sslEnabledProtocols = list;
    },
    help: 'TLS versions the SSL listeners accept (default TLSv1.2,TLSv1.3)',
  },
  'ssl.handshake.timeout.ms': { apply: (c, v, k) => void (c.sslHandshakeTimeoutMs = int(1)(v, k)), help: 'a TLS handshake not finished in this time is closed and counted (default 10000)' },
  'sasl.enabled.mechanisms': {
    apply: (c, v, k) => void (c.saslEnabledMechanisms = mechanismList(v, k)),
    help: 'SASL mechanisms the SASL_PLAINTEXT and SASL_SSL listeners offer, comma-separated: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (default SCRAM-SHA-256,SCRAM-SHA-512). PLAIN checks the password against the user\'s SCRAM credential, so it needs one too; use PLAIN only over SASL_SSL. listener.name.<listener>.sasl.enabled.mechanisms overrides it for one listener (config file or --set)',
  },
  'connection.failed.authentication.delay.ms': { apply: (c, v, k) => void (c.connectionFailedAuthenticationDelayMs = int(0, 3_600_000)(v, k)), help: 'a failed SASL login is answered, and its connection closed, this much later, so guessing passwords is slow; other connections are not held up (default 100)' },
  'connections.max.reauth.ms': { apply: (c, v, k) => void (c.connectionsMaxReauthMs = int(0)(v, k)), help: 'lifetime of a SASL session (KIP-368): clients re-authenticate on the same connection before it ends, and a connection that sends anything else after it ends is closed; 0 for sessions that never end (default 0)' },
  'sasl.server.max.receive.size': { apply: (c, v, k) => void (c.saslServerMaxReceiveSize = int(64, 2 ** 31 - 1)(v, k)), help: 'largest request accepted on a SASL listener before the client has logged in; a larger one closes the connection (default 524288)' },
  'http.host': { apply: (c, v) => void (c.httpHost = v), help: 'address of the HTTP side (default: the listener host)' },
  'http.port': { apply: (c, v, k) => void (c.httpPort = int(0, 65535)(v, k)), help: 'port of /healthz, /readyz and /metrics (default 9644; 0 picks a free one)' },
  'data.dir': { apply: (c, v) => void (c.dataDir = v), help: 'directory of the logs and the catalogue (default ./data)' },
  'node.id': { apply: (c, v, k) => void (c.nodeId = int(0, 2147483647)(v, k)), help: 'broker id reported to clients (default 0)' },
  fsync: {
    apply: (c, v, k) => {
      const allowed = Object.values(FsyncPolicy) as string[];
      if (!allowed.includes(v)) throw new ConfigError(`${k} must be one of ${allowed.join(', ')}, not "${v}"`);
      c.fsync = v as FsyncPolicy;
    },
    help: 'acks-all (default): fsync before answering acks=all; always: also before acks=1; never: like Kafka by default',
  },
  'authorizer.class.name': {
    apply: (c, v, k) => {
      if (v !== '' && !KNOWN_AUTHORIZERS.includes(v)) throw new ConfigError(`${k} must be empty (ACLs off) or ${KNOWN_AUTHORIZERS[0]} (ACLs on), not "${v}"`);
      c.authorizerClassName = v;
    },
    help: `empty (default: no ACLs, every client may do everything) or ${KNOWN_AUTHORIZERS[0]} (Kafka's name, accepted as is) to enforce ACLs on every API; administer them with kafka-acls or rivulet acl`,
  },
  'super.users': {
    apply: (c, v, k) => {
      for (const p of parseSuperUsers(v)) if (!/^[^:]+:.+$/.test(p)) throw new ConfigError(`${k} must list principals as User:name separated by ';', not "${p}"`);
      c.superUsers = v;
    },
    help: 'principals every ACL check allows, as User:name;User:other (default none)',
  },
  'allow.everyone.if.no.acl.found': { apply: (c, v, k) => void (c.allowEveryoneIfNoAclFound = bool(v, k)), help: 'with ACLs on, a resource that no ACL names is open to every principal (default false: denied)' },
  'auto.create.topics.enable': { apply: (c, v, k) => void (c.autoCreateTopics = bool(v, k)), help: 'create unknown topics on Metadata and Produce (default true)' },
  'max.partitions': { apply: (c, v, k) => void (c.maxPartitions = int(1, 10_000_000)(v, k)), help: 'most partitions the broker holds, all topics together; creating more is refused with POLICY_VIOLATION (default 10000)' },
  'num.partitions': { apply: (c, v, k) => void (c.numPartitions = int(1, 100000)(v, k)), help: 'partitions of auto-created topics (default 1)' },
  'request.max.entries': { apply: (c, v, k) => void (c.requestMaxEntries = int(1, 2 ** 31 - 1)(v, k)), help: 'most array entries (topics, partitions, group members, ...) one request may hold; a larger request closes its connection (default 100000)' },
  'socket.request.max.bytes': { apply: (c, v, k) => void (c.socketRequestMaxBytes = int(1024, 2 ** 31 - 1)(v, k)), help: 'largest request frame accepted (default 104857600)' },
  'connection.memory.bytes': { apply: (c, v, k) => void (c.connectionMemoryBytes = int(1024)(v, k)), help: 'bytes one connection may hold (requests arriving and in flight, responses not yet read by the client) before reading from it pauses (default 67108864)' },
  'queued.max.request.bytes': {
    apply: (c, v, k) => {
      const n = int(-1)(v, k);
      if (n === 0 || (n > 0 && n < 1024)) throw new ConfigError(`${k} must be -1 (no limit) or at least 1024, not "${v}"`);
      c.queuedMaxRequestBytes = n;
    },
    help: 'bytes held for requests and unread responses over all connections before reading pauses everywhere; -1 for no limit (default 536870912)',
  },
  'socket.request.timeout.ms': { apply: (c, v, k) => void (c.socketRequestTimeoutMs = int(10)(v, k)), help: 'time a request frame has to arrive whole, and a written response to be read by the client, before the connection is closed (default 30000)' },
  'connections.max.idle.ms': {
    apply: (c, v, k) => {
      const n = int(-1)(v, k);
      if (n === 0) throw new ConfigError(`${k} must be -1 (never) or a positive number of milliseconds, not "${v}"`);
      c.connectionsMaxIdleMs = n;
    },
    help: 'close a connection with no request in flight and no bytes received for this long; -1 never (default 540000)',
  },
  'max.connections': { apply: (c, v, k) => void (c.maxConnections = int(1, 2147483647)(v, k)), help: 'client connections open at once; more are closed as they arrive (default: 3/4 of the descriptor limit, 10000 when it cannot be read)' },
  'max.connections.per.ip': { apply: (c, v, k) => void (c.maxConnectionsPerIp = int(1, 2147483647)(v, k)), help: 'client connections open at once from one address (default 2147483647)' },
  'max.connections.per.ip.overrides': {
    apply: (c, v, k) => {
      const parsed = parseIpOverrides(v);
      if (typeof parsed === 'string') throw new ConfigError(`${k}: ${parsed}`);
      c.maxConnectionsPerIpOverrides = v;
    },
    help: 'per-address exceptions to max.connections.per.ip, as address:count pairs, comma-separated (e.g. 10.0.0.7:500,127.0.0.1:50); dynamic (default empty)',
  },
  'max.connection.creation.rate': { apply: (c, v, k) => void (c.maxConnectionCreationRate = int(1, 2147483647)(v, k)), help: 'connections accepted per second, all addresses together, measured over the quota windows; more are closed as they arrive; dynamic (default 2147483647)' },
  'quota.window.num': { apply: (c, v, k) => void (c.quotaWindowNum = int(2, 1000)(v, k)), help: 'windows a client quota\'s rate (and a connection creation rate) is measured over (default 11)' },
  'quota.window.size.seconds': { apply: (c, v, k) => void (c.quotaWindowSizeSeconds = int(1, 3600)(v, k)), help: 'length of one quota window in seconds (default 1)' },
  'decompressed.batch.max.bytes': { apply: (c, v, k) => void (c.decompressedBatchMaxBytes = int(1024, 2 ** 31 - 1)(v, k)), help: 'most bytes one compressed batch may inflate to when the broker reads its records (default 268435456)' },
  'fetch.max.bytes': { apply: (c, v, k) => void (c.fetchMaxBytes = int(1024)(v, k)), help: 'most record bytes in one Fetch answer, whatever the client asks (default 57671680)' },
  'max.incremental.fetch.session.cache.slots': { apply: (c, v, k) => void (c.fetchSessionCacheSlots = int(0, 2147483647)(v, k)), help: 'fetch sessions (KIP-227) kept for consumers, so their fetches name and answer only the partitions that changed; when full, a new session takes an idle or a smaller one\'s place or is refused (the consumer keeps sending full fetches); 0 grants none (default 1000)' },
  'min.incremental.fetch.session.eviction.ms': { apply: (c, v, k) => void (c.fetchSessionEvictionMs = int(0)(v, k)), help: 'a fetch session unused for this long may be evicted for a new one; a session used more recently may be evicted only by a new one with more partitions, and only once created this long ago (default 120000)' },
  'log.tail.cache.bytes': { apply: (c, v, k) => void (c.tailCacheBytes = int(0)(v, k)), help: 'recent bytes per partition served from memory (default 1048576)' },
  'log.open.segments.max': { apply: (c, v, k) => void (c.logOpenSegmentsMax = int(1)(v, k)), help: 'sealed segment files kept open at once across all partitions; the least recently read are closed and reopened on demand (default 256)' },
  'num.recovery.threads.per.data.dir': { apply: (c, v, k) => void (c.numRecoveryThreadsPerDataDir = int(1, 1024)(v, k)), help: 'partition logs opened (start-up, topic creation) or closed (shutdown) at once, which bounds the files they open together (default 8)' },
  'log.retention.check.interval.ms': { apply: (c, v, k) => void (c.retentionCheckIntervalMs = int(100)(v, k)), help: 'how often retention runs (default 30000)' },
  'log.cleaner.backoff.ms': { apply: (c, v, k) => void (c.cleanerBackoffMs = int(10)(v, k)), help: 'pause between two rounds of the log cleaner over the compacted partitions (default 15000)' },
  'group.initial.rebalance.delay.ms': { apply: (c, v, k) => void (c.groupInitialRebalanceDelayMs = int(0)(v, k)), help: 'time the first members of an empty group have to join before the first rebalance (default 3000)' },
  'group.min.session.timeout.ms': { apply: (c, v, k) => void (c.groupMinSessionTimeoutMs = int(1)(v, k)), help: 'smallest session timeout a consumer may ask for (default 6000)' },
  'group.max.session.timeout.ms': { apply: (c, v, k) => void (c.groupMaxSessionTimeoutMs = int(1)(v, k)), help: 'largest session timeout a consumer may ask for (default 1800000)' },
  'group.share.record.lock.duration.ms': { apply: (c, v, k) => void (c.shareRecordLockDurationMs = int(100, 3_600_000)(v, k)), help: 'how long a share group member holds the records it was given before they are offered again (default 30000)' },
  'group.share.delivery.count.limit': { apply: (c, v, k) => void (c.shareDeliveryCountLimit = int(2, 10)(v, k)), help: 'deliveries of a record to share group members before it is archived (default 5)' },
  'group.share.session.timeout.ms': { apply: (c, v, k) => void (c.shareSessionTimeoutMs = int(1000, 3_600_000)(v, k)), help: 'a share group member that does not heartbeat for this long is removed (default 45000)' },
  'group.share.heartbeat.interval.ms': { apply: (c, v, k) => void (c.shareHeartbeatIntervalMs = int(100, 3_600_000)(v, k)), help: 'how often share group members are told to heartbeat (default 5000)' },
  'group.share.partition.max.record.locks': { apply: (c, v, k) => void (c.sharePartitionMaxRecordLocks = int(100, 10_000_000)(v, k)), help: 'records of one share partition acquired at once, all members together; ShareFetch hands out no more until some are acknowledged or released (default 2000)' },
  'group.share.max.size': { apply: (c, v, k) => void (c.shareMaxSize = int(1, 1_000_000)(v, k)), help: 'most members of one share group; more are refused with GROUP_MAX_SIZE_REACHED (default 200)' },
  'share.auto.offset.reset': {
    apply: (c, v, k) => {
      if (v !== 'latest' && v !== 'earliest') throw new ConfigError(`${k} must be latest or earliest, not "${v}"`);
      c.shareAutoOffsetReset = v;
    },
    help: 'where a share group starts on a partition it has never read: latest (default) or earliest',
  },
  'group.max.size': { apply: (c, v, k) => void (c.groupMaxSize = int(0)(v, k)), help: 'most members in one group; 0 for no limit (default 0)' },
  'group.consumer.session.timeout.ms': { apply: (c, v, k) => void (c.groupConsumerSessionTimeoutMs = int(1, 2_147_483_647)(v, k)), help: 'a member of a consumer-protocol group (KIP-848) with no heartbeat for this long is removed and its partitions reassigned (default 45000)' },
  'group.consumer.heartbeat.interval.ms': { apply: (c, v, k) => void (c.groupConsumerHeartbeatIntervalMs = int(1, 2_147_483_647)(v, k)), help: 'how often members of a consumer-protocol group (KIP-848) are told to heartbeat (default 5000)' },
  'offsets.retention.minutes': { apply: (c, v, k) => void (c.offsetsRetentionMinutes = int(1)(v, k)), help: 'how long an empty group keeps its committed offsets (default 10080, 7 days)' },
  'transaction.max.timeout.ms': { apply: (c, v, k) => void (c.transactionMaxTimeoutMs = int(1)(v, k)), help: 'largest transaction.timeout.ms a producer may ask for; InitProducerId answers INVALID_TRANSACTION_TIMEOUT past it (default 900000)' },
  'transactional.id.expiration.ms': { apply: (c, v, k) => void (c.transactionalIdExpirationMs = int(1)(v, k)), help: 'a transactional id with no transaction open for this long is forgotten (default 604800000)' },
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': { apply: (c, v, k) => void (c.transactionCleanupIntervalMs = int(10)(v, k)), help: 'how often transactions open past their timeout are aborted and idle transactional ids expired (default 10000)' },
  'transaction.version': { apply: (c, v, k) => void (c.transactionVersion = int(1, 2)(v, k)), help: 'the transaction.version feature announced to clients: 2 (default) lets Kafka 4 clients use KIP-890 transactions, 1 keeps every client on the classic protocol' },
  'offsets.retention.check.interval.ms': { apply: (c, v, k) => void (c.offsetsRetentionCheckIntervalMs = int(100)(v, k)), help: 'how often expired offsets are removed (default 600000)' },
  'producer.id.expiration.ms': { apply: (c, v, k) => void (c.producerIdExpirationMs = int(1)(v, k)), help: 'forget a producer\'s sequence state once its last write is this old, checked with retention; never while it has a transaction open (default 86400000, 1 day)' },
  'offset.metadata.max.bytes': { apply: (c, v, k) => void (c.offsetMetadataMaxBytes = int(0)(v, k)), help: 'largest metadata string of a committed offset (default 4096)' },
  'log.level': {
    apply: (c, v, k) => {
      if (!['debug', 'info', 'warn', 'error'].includes(v)) throw new ConfigError(`${k} must be debug, info, warn or error, not "${v}"`);
      c.logLevel = v as BrokerConfig['logLevel'];
    },
    help: 'debug, info (default), warn or error',
  },
  ...oauthBearerKeys<BrokerConfig>(int, ConfigError),
};

export function envName(key: string): string {
  return 'RIVULET_' + key.toUpperCase().replace(/[.-]/g, '_');
}

function applyKey(c: BrokerConfig, key: string, value: string, source: string): void {
  const k = key === 'log.dirs' || key === 'log.dir' ? 'data.dir' : key;
  const def = brokerKeys[k];
  const perListener = LISTENER_MECHANISMS.exec(k);
  const perListenerAuth = LISTENER_CLIENT_AUTH.exec(k);
  if (perListener !== null) {
    c.listenerSaslMechanisms[perListener[1]!.toUpperCase()] = mechanismList(value, `${k} (from ${source})`);
  } else if (perListenerAuth !== null) {
    c.listenerSslClientAuth[perListenerAuth[1]!.toUpperCase()] = clientAuth(value.trim(), `${k} (from ${source})`);
  } else if (def) {
    def.apply(c, value.trim(), `${k} (from ${source})`);
  } else if (k in defaultTopicDefaults) {
    c.topicDefaults[k] = value.trim();
  } else {
    throw new ConfigError(`Unknown setting "${key}" in ${source}. Known settings: ${[...Object.keys(brokerKeys), ...Object.keys(defaultTopicDefaults)].join(', ')}`);
  }
}

export function parseProperties(text: string, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(`${source}:${i + 1}: expected key=value, got "${line}"`);
    out[m[1]!] = m[2]!;
  });
  return out;
}

export interface ConfigSources {
  /** Values given as flags, by key. */
  flags: Record<string, string | undefined>;
  env: NodeJS.ProcessEnv;
  configFile?: string;
}

export function loadBrokerConfig(sources: ConfigSources): BrokerConfig {
  const c = defaultBrokerConfig();
  if (sources.configFile) {
    let text: string;
    try {
      text = readFileSync(sources.configFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`The config file ${sources.configFile} cannot be read: ${(e as Error).message}`);
    }
    for (const [k, v] of Object.entries(parseProperties(text, sources.configFile))) applyKey(c, k, v, sources.configFile);
  }
  const known = [...Object.keys(brokerKeys), ...Object.keys(defaultTopicDefaults)];
  for (const key of known) {
    const v = sources.env[envName(key)];
    if (v !== undefined && v !== '') applyKey(c, key, v, `environment variable ${envName(key)}`);
  }
  for (const [key, v] of Object.entries(sources.flags)) if (v !== undefined) applyKey(c, key, v, `flag for ${key}`);
  if (!c.httpHost) c.httpHost = c.host;
  // A Kafka-style PEM keystore (key and certificate chain in one file) stands for both files.
  if (c.sslKeystoreLocation !== '') {
    if (c.sslCertificateLocation === '') c.sslCertificateLocation = c.sslKeystoreLocation;
    if (c.sslKeyLocation === '') c.sslKeyLocation = c.sslKeystoreLocation;
  }
  // Listener mistakes (a SASL protocol, an SSL listener without a certificate) stop the start here.
  resolveListeners(c);
  if (c.queuedMaxRequestBytes > 0 && c.queuedMaxRequestBytes < c.socketRequestMaxBytes) {
    throw new ConfigError(`queued.max.request.bytes (${c.queuedMaxRequestBytes}) must be -1 or at least socket.request.max.bytes (${c.socketRequestMaxBytes}), or a request of the largest accepted size could never be read`);
  }
  return c;
}
