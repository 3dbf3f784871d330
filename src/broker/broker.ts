// The broker: one process, one data directory. Owns the listener, the connections, the
// topic registry, the group coordinator and the metrics; handlers reach the services
// they use through their RequestContext (handlers/handler.ts), never the Broker itself.

import { createServer, type Server, type Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import type { FSWatcher } from 'node:fs';
import { resolveListeners, tlsOptions, watchTlsFiles, verifiedSubject, principalMapper, handshakeFailureReason, usesTls, usesSasl, saslMechanismsOf, clientAuthOf, type Listener } from './listeners.js';
import { SaslMechanisms } from './sasl/mechanisms.js';
import { ScramCredentialStore } from './sasl/credentials.js';
import { Connection, type ConnectionHost } from './connection.js';
import type { BrokerServices, ClusterView, HandlerEntry } from './handlers/handler.js';
import { TopicRegistry } from './topics.js';
import { BrokerMetrics } from './metrics.js';
import { ThrottledLog } from './throttled-log.js';
import { Logger } from './logger.js';
import type { BrokerConfig } from './config.js';
import { prepareDataDir, loadIdentity, loadCatalog, lockDataDir } from './meta-store.js';
import { handlerTable } from './handlers/index.js';
import type { OpenLog } from '../storage/log.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { OffsetStore } from './groups/offset-store.js';
import { ConsumerGroupCoordinator } from './groups/consumer-group.js';
import { TransactionCoordinator } from './txn/coordinator.js';
import { FetchSessionCache } from './fetch-sessions.js';
import { ShareCoordinator } from './groups/share-group.js';
import { ShareStateStore } from './groups/share-state-store.js';
import { FeatureTable } from './features.js';
import { DynamicBrokerConfigs } from './dynamic-config.js';
import { GroupConfigStore } from './groups/group-config.js';
import { Authorizer, aclHost } from './acl/authorizer.js';
import { AclOperation, ResourceType } from './acl/acl.js';
import { ClientQuotas, ConnectionRate } from './quotas.js';
import { parseIpOverrides } from './config.js';
import { buildControlBatch } from '../protocol/control-batch.js';
import { FsyncPolicy } from './config.js';
import { visibleWhenFor } from './topic-config.js';
import { join } from 'node:path';
import { setDecompressedLimit } from '../protocol/compression.js';
import type { ApiVersionsResponse } from '../protocol/generated/api-versions.js';

/** The internal logs of committed offsets and of transaction state, in the data directory. */
const OFFSETS_LOG_DIR = '__consumer_offsets-0';
const TXN_LOG_DIR = '__transaction_state-0';
/** The internal log of consumer-protocol (KIP-848) group state. */
const CONSUMER_GROUPS_LOG_DIR = '__consumer_group_state-0';
/** The internal log of share-group state (KIP-932). */
const SHARE_LOG_DIR = '__share_group_state-0';
/** Settings of the internal logs: small segments, kept until their store compacts them. */
const INTERNAL_LOG_CONFIG = {
  segmentBytes: 8 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: -1,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  tailCacheBytes: 256 * 1024,
};

export interface BrokerOptions {
  openLog: OpenLog;
  logger?: Logger;
}

export class Broker implements ConnectionHost, ClusterView {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly metrics: BrokerMetrics;
  readonly topics: TopicRegistry;
  readonly handlers: readonly (HandlerEntry | undefined)[];
  /** Set once start() has replayed the committed offsets. */
  groups!: GroupCoordinator;
  /** Set once start() has replayed the consumer groups' state. */
  consumerGroups!: ConsumerGroupCoordinator;
  /** Set once start() has replayed the transaction state. */
  txns!: TransactionCoordinator;
  /** Set once start() has replayed the share-group state. */
  shares!: ShareCoordinator;
  /** Fetch sessions (KIP-227) of every connection. */
  readonly fetchSessions: FetchSessionCache;
  /** Feature levels (ApiVersions, UpdateFeatures), stored in the data directory. */
  readonly features: FeatureTable;
  /** Broker settings changed at runtime, stored in the data directory. */
  readonly brokerConfigs: DynamicBrokerConfigs;
  /** Per-group configs, stored in the data directory. */
  readonly groupConfigs: GroupConfigStore;
  /** Client quotas, stored in the data directory, and the rates they are enforced on. */
  readonly quotas: ClientQuotas;
  /** What handlers may use; set by start() once the group coordinator exists. */
  services!: BrokerServices;
  clusterId = '';
  nodeId: number;
  /** True once every log is recovered and the listener accepts connections. */
  ready = false;
  /** Set when shutdown begins: parked requests answer at once. */
  closing = false;
  /** The port the first listener actually bound (differs from config.port when that is 0). */
  port = 0;
  /** The listeners, with the ports they bound, by name. */
  readonly listeners = new Map<string, { listener: Listener; port: number }>();

  /** Lines about floods (failed handshakes, refused connections, failed logins): one a second per kind at most. */
  readonly throttledLog: ThrottledLog;
  /** ACLs (authorizer.class.name), stored in acls.json. */
  readonly authz: Authorizer;
  /** Users' SCRAM credentials (scram-credentials.json in the data directory). */
  readonly scramCredentials: ScramCredentialStore;
  /** The SASL mechanisms of the listeners, once started (closed at stop). */
  private saslMechanisms: SaslMechanisms | undefined;

  /** Coarse clock (ms since start) for the connections' timeouts; advanced by the sweep. */
  clock = 0;

  private readonly servers: (Server | TlsServer)[] = [];
  private tlsWatchers: FSWatcher[] = [];
  private readonly connections = new Set<Connection>();
  /** Open connections by peer address (max.connections.per.ip). */
  private readonly connectionsByIp = new Map<string, number>();
  /** Refused connections held open until their close (connection_creation_rate), with their timers. */
  private readonly delayedCloses = new Map<Socket, NodeJS.Timeout>();
  /** Connections accepted per second, all addresses together (max.connection.creation.rate). */
  private readonly connectionRate: ConnectionRate;
  /** max.connections.per.ip.overrides, parsed again when the setting changes. */
  private ipOverrides: { text: string; limits: ReadonlyMap<string, number> } = { text: '', limits: new Map() };
  /** Bytes all connections hold (queued.max.request.bytes). */
  private memoryBytes = 0;
  /** Connections whose next frame waits for memory to be given back. */
  private readonly memoryWaiters = new Set<Connection>();
  private wakeScheduled = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Refused connections not yet logged (one log line per second at most). */
  private retentionTimer: NodeJS.Timeout | null = null;
  private cleanerTimer: NodeJS.Timeout | null = null;
  private cleanerRunning = false;
  private readonly apiVersionsCache = new Map<number, ApiVersionsResponse>();
  private stopping: Promise<void> | null = null;
  private unlockDataDir: (() => Promise<void>) | null = null;
  private readonly openLog: OpenLog;

  constructor(config: BrokerConfig, options: BrokerOptions) {
    this.config = config;
    // Process-wide: the logs' timestamp lookups inflate batches through the protocol layer.
    setDecompressedLimit(config.decompressedBatchMaxBytes);
    this.logger = options.logger ?? new Logger(config.logLevel);
    this.metrics = new BrokerMetrics();
    this.throttledLog = new ThrottledLog(this.logger);
    // Every log the broker opens reports its write and fsync times to the metrics.
    const observeFsync = this.metrics.observeFsync;
    const observeWrite = this.metrics.observeWrite;
    this.openLog = (dir, cfg) =>
      options.openLog(dir, cfg).then((log) => {
        log.fsyncListeners.add(observeFsync);
        log.writeListeners.add(observeWrite);
        return log;
      });
    this.topics = new TopicRegistry(config, this.openLog, this.logger);
    this.fetchSessions = new FetchSessionCache(config.fetchSessionCacheSlots, config.fetchSessionEvictionMs, this.metrics);
    this.handlers = handlerTable;
    this.features = new FeatureTable(config.dataDir, config);
    this.brokerConfigs = new DynamicBrokerConfigs(config.dataDir, config, () => this.topics.brokerDefaultsChanged());
    this.groupConfigs = new GroupConfigStore(config.dataDir);
    this.authz = new Authorizer(config.dataDir, config, this.logger);
    this.scramCredentials = new ScramCredentialStore(config.dataDir);
    this.quotas = new ClientQuotas(config.dataDir, config);
    this.connectionRate = new ConnectionRate(config);
    this.nodeId = config.nodeId;
    this.metrics.attach(this);
  }

  async start(): Promise<void> {
    const t0 = performance.now();
    await prepareDataDir(this.config.dataDir);
    // One writer per data directory: `rivulet storage add-scram` and a second broker refuse while this runs.
    this.unlockDataDir = await lockDataDir(this.config.dataDir);
    const identity = await loadIdentity(this.config.dataDir, this.config.nodeId);
    this.clusterId = identity.clusterId;
    for (const note of await this.features.load()) this.logger.info(note);
    await this.brokerConfigs.load();
    await this.groupConfigs.load();
    await this.authz.load();
    await this.scramCredentials.load();
    await this.quotas.load();
    await this.topics.load(await loadCatalog(this.config.dataDir));
    await this.startGroups();
    await this.startTransactions();
    await this.startShareGroups();
    const listeners = resolveListeners(this.config);
    const saslListeners = listeners.filter((l) => usesSasl(l.protocol)).map((l) => ({ name: l.name, mechanisms: saslMechanismsOf(this.config, l.name) }));
    const saslMechanisms = (this.saslMechanisms = new SaslMechanisms({ config: this.config, credentials: this.scramCredentials, logger: this.logger }, saslListeners));
    this.services = { config: this.config, logger: this.logger, metrics: this.metrics, topics: this.topics, groups: this.groups, consumerGroups: this.consumerGroups, txns: this.txns, cluster: this, fetchSessions: this.fetchSessions, brokerConfigs: this.brokerConfigs, groupConfigs: this.groupConfigs, shares: this.shares, throttledLog: this.throttledLog, saslMechanisms, scramCredentials: this.scramCredentials, authz: this.authz, quotas: this.quotas };
    const ssl = listeners.some((l) => usesTls(l.protocol)) ? tlsOptions(this.config) : null;
    // node:tls is loaded only when a listener needs it (start-up time: DESIGN.md).
    if (ssl !== null) {
      this.tls = await import('node:tls');
      this.principalMapping = principalMapper(this.config.sslPrincipalMappingRules);
    }
    for (const l of listeners) {
      const server = usesTls(l.protocol) ? this.tlsServer(l, ssl!) : createServer({ noDelay: true }, (s) => this.accept(s, l));
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.port, l.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (e) => this.logger.error('listener error', { listener: l.name, error: e }));
      const addr = server.address();
      this.listeners.set(l.name, { listener: l, port: typeof addr === 'object' && addr !== null ? addr.port : l.port });
    }
    if (ssl !== null) this.tlsWatchers = watchTlsFiles(this.config, this.logger, () => this.reloadTls());
    this.noteSaslListeners(listeners, saslListeners);
    this.port = this.listeners.get(listeners[0]!.name)!.port;
    this.retentionTimer = setInterval(() => void this.enforceRetention(), this.config.retentionCheckIntervalMs);
    this.retentionTimer.unref();
    this.cleanerTimer = setInterval(() => void this.runCleaner(), this.config.cleanerBackoffMs);
    this.cleanerTimer.unref();
    this.startSweep();
    this.ready = true;
    const first = listeners[0]!;
    const adv = this.advertisedAddress(first.name);
    this.logger.info('broker ready', {
      listener: `${first.host}:${this.port}`,
      advertised: `${adv.host}:${adv.port}`,
      listeners: [...this.listeners.values()].map((b) => `${b.listener.name}://${b.listener.host}:${b.port}`).join(','),
      dataDir: this.config.dataDir,
      topics: this.topics.byName.size,
      fsync: this.config.fsync,
      startMs: Math.round(performance.now() - t0),
    });
  }

  private async startGroups(): Promise<void> {
    const c = this.config;
    const offsetsLog = await this.openLog(join(c.dataDir, OFFSETS_LOG_DIR), { ...INTERNAL_LOG_CONFIG, visibleWhen: visibleWhenFor(c.fsync) });
    const store = new OffsetStore(offsetsLog, { compactAfterBytes: 4 * 1024 * 1024, fsync: c.fsync !== FsyncPolicy.never });
    await store.load();
    this.groups = new GroupCoordinator(
      {
        initialRebalanceDelayMs: c.groupInitialRebalanceDelayMs,
        minSessionTimeoutMs: c.groupMinSessionTimeoutMs,
        maxSessionTimeoutMs: c.groupMaxSessionTimeoutMs,
        maxSize: c.groupMaxSize,
        offsetsRetentionMs: c.offsetsRetentionMinutes * 60_000,
      },
      store,
      this.logger,
    );
    this.groups.restore();
    this.groups.startExpiry(c.offsetsRetentionCheckIntervalMs);
    const classic = this.groups;
    const topics = this.topics;
    const cgLog = await this.openLog(join(c.dataDir, CONSUMER_GROUPS_LOG_DIR), { ...INTERNAL_LOG_CONFIG, visibleWhen: visibleWhenFor(c.fsync) });
    this.consumerGroups = new ConsumerGroupCoordinator(
      cgLog,
      { compactAfterBytes: 4 * 1024 * 1024, fsync: c.fsync !== FsyncPolicy.never },
      {
        // A group's own configs (resource type GROUP) win over the broker's group.consumer.* settings.
        settingsFor: (id) => {
          const own = this.groupConfigs.overrides(id);
          const session = own['consumer.session.timeout.ms'];
          const heartbeat = own['consumer.heartbeat.interval.ms'];
          return {
            sessionTimeoutMs: session === undefined ? c.groupConsumerSessionTimeoutMs : Number(session),
            heartbeatIntervalMs: heartbeat === undefined ? c.groupConsumerHeartbeatIntervalMs : Number(heartbeat),
          };
        },
        maxSize: c.groupMaxSize,
        mayDescribeTopic: this.authz.enabled ? (principal, host, topic) => this.authz.decide(principal, aclHost(host), AclOperation.DESCRIBE, ResourceType.TOPIC, topic) : undefined,
      },
      {
        topics: () => [...topics.byName.values()].map((t) => ({ name: t.name, id: t.id, partitions: t.partitions.length })),
        byName: (name) => {
          const t = topics.byName.get(name);
          return t === undefined ? undefined : { id: t.id, partitions: t.partitions.length };
        },
        byId: (id) => {
          const t = topics.byId.get(id);
          return t === undefined ? undefined : { name: t.name, partitions: t.partitions.length };
        },
      },
      {
        classicMembers: (id) => {
          const g = classic.groups.get(id);
          return g === undefined ? -1 : g.members.size + g.pendingMembers.size;
        },
        dropEmptyClassic: (id) => classic.dropEmpty(id),
      },
      this.logger,
    );
    await this.consumerGroups.load();
    // A change of ACLs changes which topics a regex subscription resolves to.
    if (this.authz.enabled) this.authz.changeListeners.add(() => this.consumerGroups.topicsChanged());
    classic.hasMembersElsewhere = (id) => this.consumerGroups.hasMembers(id);
    topics.changeListeners.add(() => this.consumerGroups.topicsChanged());
  }

  /** Opens the share-group state (SPSO and in-flight ranges of every share partition). */
  private async startShareGroups(): Promise<void> {
    const c = this.config;
    const log = await this.openLog(join(c.dataDir, SHARE_LOG_DIR), { ...INTERNAL_LOG_CONFIG, visibleWhen: visibleWhenFor(c.fsync) });
    const store = new ShareStateStore(log, { compactAfterBytes: 4 * 1024 * 1024, fsync: c.fsync !== FsyncPolicy.never });
    await store.load();
    const groups = this.groups;
    const groupConfigs = this.groupConfigs;
    this.shares = new ShareCoordinator(c, this.topics, store, this.logger, (id) => groups.groupOrOffsetsOnly(id) !== undefined || this.consumerGroups.groups.has(id), (id) => groupConfigs.overrides(id));
    this.shares.restore();
  }

  /** Opens the transaction state and finishes the transactions a crash left deciding. */
  private async startTransactions(): Promise<void> {
    const c = this.config;
    const fsync = c.fsync !== FsyncPolicy.never;
    const log = await this.openLog(join(c.dataDir, TXN_LOG_DIR), { ...INTERNAL_LOG_CONFIG, visibleWhen: visibleWhenFor(c.fsync) });
    const topics = this.topics;
    const partition = (topic: string, index: number) => {
      const t = topics.byName.get(topic);
      return t === undefined || t.deleted ? undefined : t.partitions[index];
    };
    this.txns = new TransactionCoordinator(
      log,
      { compactAfterBytes: 4 * 1024 * 1024, fsync },
      { maxTimeoutMs: c.transactionMaxTimeoutMs, idExpirationMs: c.transactionalIdExpirationMs, version: c.transactionVersion },
      {
        partitionExists: (topic, index) => partition(topic, index) !== undefined,
        writeMarker: async (topic, index, marker) => {
          const p = partition(topic, index);
          if (p === undefined) return;
          const appended = p.log.append(buildControlBatch(marker));
          await appended.written;
          if (fsync) await p.log.flush();
        },
        allocateProducerId: () => topics.allocateProducerId(),
        offsets: this.groups.offsets,
      },
      this.logger,
    );
    this.txns.completionListeners.add(this.metrics.observeTransaction);
    await this.txns.load();
    this.txns.startTimer(c.transactionCleanupIntervalMs);
  }

  /** Where clients of a listener (the first one by default) should connect, as Metadata and DescribeCluster report it. */
  advertisedAddress(listener?: string): { host: string; port: number } {
    const b = (listener === undefined ? undefined : this.listeners.get(listener)) ?? this.listeners.values().next().value;
    if (b === undefined) return { host: this.config.advertisedHost || this.config.host, port: this.config.advertisedPort || this.config.port };
    return { host: b.listener.advertisedHost, port: b.listener.advertisedPort || b.port };
  }

  listenerList(advertisedToo: boolean): string {
    return [...this.listeners.values()]
      .map((b) => {
        const a = this.advertisedAddress(b.listener.name);
        return advertisedToo ? `${b.listener.name}://${a.host}:${a.port}` : `${b.listener.name}://${b.listener.host}:${b.port}`;
      })
      .join(',');
  }

  /** Says what each SASL listener takes, and warns about setups where logins cannot work or expose passwords. */
  private noteSaslListeners(listeners: Listener[], sasl: Array<{ name: string; mechanisms: string[] }>): void {
    if (sasl.length === 0) return;
    const users = this.scramCredentials.userNames().length;
    for (const l of sasl) {
      this.logger.info('SASL listener', { listener: l.name, mechanisms: l.mechanisms.join(','), users, connectionsMaxReauthMs: this.config.connectionsMaxReauthMs });
      const protocol = listeners.find((x) => x.name === l.name)!.protocol;
      if (protocol === 'SASL_PLAINTEXT' && l.mechanisms.includes('PLAIN')) {
        this.logger.warn('PLAIN on a SASL_PLAINTEXT listener sends passwords unencrypted', { listener: l.name, fix: 'use SASL_SSL for PLAIN, or only SCRAM mechanisms on SASL_PLAINTEXT' });
      }
    }
    if (users === 0 && sasl.some((l) => l.mechanisms.some((m) => m === 'PLAIN' || m.startsWith('SCRAM-')))) {
      this.logger.warn('no user has a SCRAM credential, so no PLAIN or SCRAM login can succeed', { fix: `stop the broker and run rivulet storage add-scram -d ${this.config.dataDir} 'SCRAM-SHA-512=[name=admin,password=...]', or create users with kafka-configs through a PLAINTEXT or SSL listener` });
    }
  }

  /** An SSL listener: connections are accepted once their handshake is done (or closed after ssl.handshake.timeout.ms). */
  private tlsServer(l: Listener, opts: ReturnType<typeof tlsOptions>): TlsServer {
    const c = this.config;
    const server = this.tls!.createServer({
      ...opts,
      requestCert: clientAuthOf(c, l) !== 'none',
      // Checked in acceptTls, which counts and logs a refused certificate with Node's reason.
      rejectUnauthorized: false,
      handshakeTimeout: c.sslHandshakeTimeoutMs,
    }, (socket) => this.acceptTls(socket, l));
    // accept() counts a TLS connection only once its handshake is done; this bounds the
    // handshakes in progress too (Node closes connections past it at once).
    server.maxConnections = c.maxConnections;
    server.on('tlsClientError', (e: Error & { code?: string }, socket: TLSSocket) => {
      const reason = handshakeFailureReason(e);
      const remote = socket.remoteAddress === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`;
      const hint = reason === 'not_tls'
        ? `the client did not start a TLS handshake (a PLAINTEXT client?); listener ${l.name} is SSL: configure the client with security.protocol=SSL`
        : reason === 'timeout'
          ? `the handshake did not finish within ${c.sslHandshakeTimeoutMs} ms (ssl.handshake.timeout.ms)`
          : reason === 'bad_certificate'
            ? `the client certificate was missing or not signed by a CA of ssl.truststore.location (ssl.client.auth=${clientAuthOf(c, l)})`
            : 'the TLS handshake failed';
      this.tlsHandshakeFailed(l, reason, remote, `${hint}: ${e.message}`);
      socket.destroy();
    });
    this.tlsServers.set(server, l);
    return server;
  }

  private readonly tlsServers = new Map<TlsServer, Listener>();
  private tls: typeof import('node:tls') | null = null;
  /** ssl.principal.mapping.rules, parsed: subject DN to principal name (null: no rule matches). */
  private principalMapping: ((dn: string) => string | null) | null = null;

  private acceptTls(socket: TLSSocket, l: Listener): void {
    let principal: string | null = null;
    const auth = clientAuthOf(this.config, l);
    if (auth !== 'none') {
      const dn = verifiedSubject(socket);
      // requested: no certificate is fine, one that does not verify is not (as in Kafka); required: one must verify.
      const given = socket.getPeerX509Certificate?.() !== undefined;
      if (dn !== null) {
        const name = this.principalMapping!(dn);
        if (name === null) {
          this.tlsHandshakeFailed(l, 'principal_mapping', `${socket.remoteAddress}:${socket.remotePort}`, `no rule of ssl.principal.mapping.rules matches the client certificate's subject ${dn}`);
          socket.destroy();
          return;
        }
        principal = `User:${name}`;
      } else if (auth === 'required' || given) {
        const why = given ? `the client certificate does not verify against ssl.truststore.location (${String(socket.authorizationError)})` : 'the client sent no certificate';
        this.tlsHandshakeFailed(l, 'bad_certificate', `${socket.remoteAddress}:${socket.remotePort}`, `${why}; ssl.client.auth=${auth}`);
        socket.destroy();
        return;
      }
    }
    const conn = this.accept(socket, l);
    if (conn !== null && principal !== null) conn.session.principal = principal;
    if (conn !== null) this.logger.debug('TLS connection', { remote: conn.session.remote, listener: l.name, protocol: socket.getProtocol(), principal: conn.session.principal });
  }

  /** Counts a failed TLS handshake; logs at most one line a second. */
  private tlsHandshakeFailed(l: Listener, reason: string, remote: string, message: string): void {
    this.metrics.tlsHandshakeFailed(l.name, reason);
    this.throttledLog.warn(`tls:${reason}`, 'closing connection: TLS handshake failed', { remote, listener: l.name, reason: message });
  }

  /** Reads the PEM files again and gives new handshakes the new context; on failure keeps the old one. */
  private reloadTls(): void {
    if (this.stopping) return;
    try {
      const opts = tlsOptions(this.config);
      this.tls!.createSecureContext(opts); // throws on a key that does not match, a bad PEM, a wrong password
      for (const server of this.tlsServers.keys()) server.setSecureContext(opts);
      this.logger.info('TLS certificates reloaded', { certificate: this.config.sslCertificateLocation });
    } catch (e) {
      this.logger.error('TLS certificates not reloaded; the previous ones stay in use', { error: (e as Error).message });
    }
  }

  private accept(socket: Socket, l: Listener): Connection | null {
    if (this.stopping) {
      socket.destroy();
      return null;
    }
    const c = this.config;
    const ip = socket.remoteAddress ?? '';
    const fromIp = this.connectionsByIp.get(ip) ?? 0;
    if (this.connections.size >= c.maxConnections) {
      this.refuse(socket, 'max_connections', `${this.connections.size} connections are open, the most max.connections allows`);
      return null;
    }
    const perIp = this.perIpLimit(ip);
    if (fromIp >= perIp) {
      const setting = perIp === c.maxConnectionsPerIp ? 'max.connections.per.ip' : 'max.connections.per.ip.overrides';
      this.refuse(socket, 'max_connections_per_ip', `${fromIp} connections from ${ip} are open, the most ${setting} allows`);
      return null;
    }
    // Rates last: a connection refused above is not counted in them.
    const now = performance.now();
    if (c.maxConnectionCreationRate < 2147483647 && !this.connectionRate.admit(c.maxConnectionCreationRate, now)) {
      this.refuse(socket, 'max_connection_creation_rate', `more than ${c.maxConnectionCreationRate} connections a second were opened (max.connection.creation.rate); the client should retry after a backoff`);
      return null;
    }
    const holdMs = this.quotas.ipActive ? this.quotas.admitConnection(aclHost(ip), now) : 0;
    if (holdMs > 0) {
      this.refuse(socket, 'connection_creation_rate', `more than ${this.quotas.ipLimit(aclHost(ip))} connections a second were opened from ${ip} (the connection_creation_rate quota of its ip entity); closed after ${holdMs} ms; the client should retry after a backoff`, holdMs);
      return null;
    }
    this.connectionsByIp.set(ip, fromIp + 1);
    const conn = new Connection(socket, this, l.name, l.protocol);
    this.connections.add(conn);
    this.metrics.connectionsTotal.value++;
    this.metrics.connectionsActive++;
    return conn;
  }

  /** max.connections.per.ip, or the address's own limit from max.connections.per.ip.overrides. */
  private perIpLimit(ip: string): number {
    const c = this.config;
    if (c.maxConnectionsPerIpOverrides === '') return c.maxConnectionsPerIp;
    if (this.ipOverrides.text !== c.maxConnectionsPerIpOverrides) {
      const parsed = parseIpOverrides(c.maxConnectionsPerIpOverrides);
      // Checked when set (settings, dynamic configs); an unparsable value would never get here.
      this.ipOverrides = { text: c.maxConnectionsPerIpOverrides, limits: typeof parsed === 'string' ? new Map() : parsed };
    }
    return this.ipOverrides.limits.get(aclHost(ip)) ?? c.maxConnectionsPerIp;
  }

  /**
   * Closes a connection the limits do not allow, at once or, with `holdMs`, after that long
   * without reading it (Kafka's delayed close of a throttled connection; at most
   * DELAYED_CLOSES_MAX are held, the rest close at once); logs at most one line a second (a
   * flood must not flood the log).
   */
  private refuse(socket: Socket, reason: string, message: string, holdMs = 0): void {
    socket.on('error', () => undefined);
    if (holdMs > 0 && this.delayedCloses.size < DELAYED_CLOSES_MAX && !this.stopping) {
      socket.pause();
      const timer = setTimeout(() => {
        this.delayedCloses.delete(socket);
        socket.destroy();
      }, holdMs);
      this.delayedCloses.set(socket, timer);
      socket.once('close', () => {
        clearTimeout(timer);
        this.delayedCloses.delete(socket);
      });
    } else {
      socket.destroy();
    }
    this.metrics.connectionRefused(reason);
    this.throttledLog.warn('refused', 'connection refused', { remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: message });
  }

  connectionClosed(c: Connection): void {
    if (!this.connections.delete(c)) return;
    this.metrics.connectionsActive--;
    this.memoryWaiters.delete(c);
    const ip = c.session.peerAddress;
    const n = (this.connectionsByIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.connectionsByIp.delete(ip);
    else this.connectionsByIp.set(ip, n);
  }

  admits(bytes: number, own: number): boolean {
    const budget = this.config.queuedMaxRequestBytes;
    return budget < 0 || this.memoryBytes + bytes <= budget || this.memoryBytes === own;
  }

  memoryChanged(delta: number): void {
    this.memoryBytes += delta;
    this.metrics.connectionsMemoryBytes = this.memoryBytes;
    const budget = this.config.queuedMaxRequestBytes;
    if (delta < 0 && this.memoryWaiters.size > 0 && !this.wakeScheduled && (budget < 0 || this.memoryBytes < budget)) {
      // Retried in a later turn: the connection giving memory back may be in the middle of its own work.
      this.wakeScheduled = true;
      setImmediate(() => {
        this.wakeScheduled = false;
        const waiting = [...this.memoryWaiters];
        this.memoryWaiters.clear();
        for (const w of waiting) w.retry();
      });
    }
  }

  waitForMemory(c: Connection): void {
    this.memoryWaiters.add(c);
  }

  /**
   * One timer for every connection's timeouts (socket.request.timeout.ms, connections.max.idle.ms):
   * it advances the clock and visits each connection, a few times per shortest timeout and at
   * most once a second.
   */
  private startSweep(): void {
    const c = this.config;
    const shortest = Math.min(c.socketRequestTimeoutMs, c.connectionsMaxIdleMs > 0 ? c.connectionsMaxIdleMs : Infinity);
    const every = Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
    const t0 = performance.now();
    this.sweepTimer = setInterval(() => {
      this.clock = Math.round(performance.now() - t0);
      for (const conn of this.connections) conn.sweep(this.clock);
    }, every);
    this.sweepTimer.unref();
  }

  apiVersionsResponse(errorCode: number): ApiVersionsResponse {
    let r = this.apiVersionsCache.get(errorCode);
    if (r === undefined || r.finalizedFeaturesEpoch !== this.features.epoch) {
      r = {
        errorCode,
        apiKeys: this.handlers.filter((h): h is HandlerEntry => h !== undefined).map((h) => ({ apiKey: h.codec.key, minVersion: h.minVersion, maxVersion: h.maxVersion })),
        throttleTimeMs: 0,
        supportedFeatures: this.features.supported(),
        finalizedFeaturesEpoch: this.features.epoch,
        finalizedFeatures: this.features.finalized(),
        zkMigrationReady: false,
      };
      this.apiVersionsCache.set(errorCode, r);
    }
    return r;
  }

  /**
   * One round of the log cleaner over the compacted partitions, one partition at a time (the
   * copy work runs in the cleaner thread). Each log rolls a quiet active segment past
   * segment.ms first, so its data becomes cleanable without new appends.
   */
  private async runCleaner(): Promise<void> {
    if (this.cleanerRunning || this.closing) return;
    this.cleanerRunning = true;
    try {
      for (const t of [...this.topics.byName.values()]) {
        if (!t.compacted) continue;
        for (const p of t.partitions) {
          if (this.closing || t.deleted) return;
          try {
            await p.log.rollIfDue(Date.now());
            const stats = await p.log.clean(Date.now());
            if (stats === null) continue;
            this.metrics.cleanerPasses++;
            this.metrics.cleanerBytesReclaimed += stats.bytesBefore - stats.bytesAfter;
            this.metrics.cleanerLastPassSeconds = stats.seconds;
            this.logger.debug('log cleaned', { topic: t.name, partition: p.index, ...stats });
          } catch (e) {
            this.logger.warn('log cleaning failed', { topic: t.name, partition: p.index, error: e });
          }
        }
      }
    } finally {
      this.cleanerRunning = false;
    }
  }

  private async enforceRetention(): Promise<void> {
    const now = Date.now();
    for (const t of [...this.topics.byName.values()]) {
      for (const p of t.partitions) {
        try {
          await p.log.enforceRetention(now);
          p.log.expireProducers(now, this.config.producerIdExpirationMs);
        } catch (e) {
          this.logger.warn('retention failed', { topic: t.name, partition: p.index, error: e });
        }
      }
    }
  }

  /** Graceful stop: refuse new connections, answer what was read, fsync and close every log. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.ready = false;
      this.closing = true;
      for (const t of this.topics.byName.values()) for (const p of t.partitions) p.wake();
      if (this.retentionTimer) clearInterval(this.retentionTimer);
      if (this.cleanerTimer) clearInterval(this.cleanerTimer);
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      for (const w of this.tlsWatchers) w.close();
      this.saslMechanisms?.close();
      for (const [socket, timer] of this.delayedCloses) {
        clearTimeout(timer);
        socket.destroy();
      }
      this.delayedCloses.clear();
      const closed = Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
      await Promise.race([Promise.all([...this.connections].map((c) => c.drain())), delay(5000)]);
      for (const c of this.connections) c.socket.destroy();
      await closed;
      this.groups?.close();
      this.shares?.close();
      try {
        await this.consumerGroups?.close();
      } catch (e) {
        this.logger.warn('consumer-group state log not closed cleanly; the next start recovers it', { error: e });
      }
      try {
        await this.txns?.close();
      } catch (e) {
        this.logger.warn('transaction-state log not closed cleanly; the next start recovers it', { error: e });
      }
      await this.topics.closeAll();
      try {
        await this.groups?.offsets.close();
      } catch (e) {
        this.logger.warn('committed-offsets log not closed cleanly; the next start recovers it', { error: e });
      }
      try {
        await this.shares?.store.close();
      } catch (e) {
        this.logger.warn('share-group state log not closed cleanly; the next start recovers it', { error: e });
      }
      this.metrics.close();
      await this.unlockDataDir?.();
      this.logger.info('broker stopped');
    })();
    return this.stopping;
  }
}

/** Refused connections held open at most at once before their delayed close; more are closed at once, so a flood cannot hold descriptors. */
const DELAYED_CLOSES_MAX = 1000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

