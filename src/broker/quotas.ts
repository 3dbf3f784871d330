// Client quotas, as Kafka's ClientQuotaManager and ConnectionQuotas apply them.
//
// The store: quota values by entity, set with AlterClientQuotas and listed with
// DescribeClientQuotas (kafka-configs --entity-type users/clients/ips). An entity is a user,
// a client id, a user with a client id, or an ip; each name may be the default (null). Kept
// in client-quotas.json in the data directory; a change is on disk before it takes effect.
//
// Enforcement: a request's user (the principal's name: User:alice -> alice) and client id (its
// header) pick, per quota type, the first entity that sets that type's key, in Kafka's order:
//   user+client-id, user+default client-id, user, default user+client-id,
//   default user+default client-id, default user, client-id, default client-id.
// The quota applies to a rate scoped as Kafka scopes it: an entity naming a user (or client
// id) shares one rate among all connections of that user (or client id); a default entity
// gives each user (or client id) a rate of its own. Produce counts request bytes, Fetch response bytes, and every request its
// time on the event loop (request_percentage: percent of one core per second). The rates are
// SampledRate (quota-rate.ts) over quota.window.num windows of quota.window.size.seconds.
//
// Over a quota, the response carries throttleTimeMs and is sent at once; then the connection is
// not read for that long (KIP-219, connection.ts). With no quota set `active` is false and the
// request path costs one check.
//
// Topic changes: controller_mutation_rate counts the partitions CreateTopics, CreatePartitions
// and DeleteTopics create or delete; over it, requests of versions that know
// THROTTLING_QUOTA_EXCEEDED (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+) have
// their topics refused with it, older ones are throttled only (Kafka's strict and permissive modes).
//
// Connections: an ip entity's connection_creation_rate limits the connections accepted from one
// address per second (the address's own entity, else the default ip entity); accept() holds a
// connection beyond it, unread, for its throttle time and then closes it, as Kafka does.

import { isIP } from 'node:net';
import { SerialJsonFile } from './meta-store.js';
import { SampledRate, throttleTimeMs } from './quota-rate.js';

export const EntityType = { USER: 'user', CLIENT_ID: 'client-id', IP: 'ip' } as const;

/** An entity: entity type to name (null: the default entity of that type). */
export type QuotaEntity = ReadonlyMap<string, string | null>;

/** Kafka's quota keys and their config types (QuotaConfig). */
export const QuotaKey = {
  PRODUCER_BYTE_RATE: 'producer_byte_rate',
  CONSUMER_BYTE_RATE: 'consumer_byte_rate',
  REQUEST_PERCENTAGE: 'request_percentage',
  CONTROLLER_MUTATION_RATE: 'controller_mutation_rate',
  CONNECTION_CREATION_RATE: 'connection_creation_rate',
} as const;

const CLIENT_KEYS: ReadonlyMap<string, 'long' | 'double'> = new Map([
  [QuotaKey.PRODUCER_BYTE_RATE, 'long'],
  [QuotaKey.CONSUMER_BYTE_RATE, 'long'],
  [QuotaKey.REQUEST_PERCENTAGE, 'double'],
  [QuotaKey.CONTROLLER_MUTATION_RATE, 'double'],
]);
const IP_KEYS: ReadonlyMap<string, 'int'> = new Map([[QuotaKey.CONNECTION_CREATION_RATE, 'int']]);

/** The quota types enforced on requests: index into the tables below. */
export const QuotaType = { PRODUCE: 0, FETCH: 1, REQUEST: 2, CONTROLLER_MUTATION: 3 } as const;
export type QuotaType = (typeof QuotaType)[keyof typeof QuotaType];
export const QUOTA_TYPE_NAMES = ['produce', 'fetch', 'request', 'controller_mutation'] as const;
const TYPE_KEYS = [QuotaKey.PRODUCER_BYTE_RATE, QuotaKey.CONSUMER_BYTE_RATE, QuotaKey.REQUEST_PERCENTAGE, QuotaKey.CONTROLLER_MUTATION_RATE] as const;

/** The canonical key of an entity: its parts sorted by type, names escaped, the default as <default>. */
export function entityKey(entity: QuotaEntity): string {
  return [...entity.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([t, n]) => `${t}=${n === null ? '<default>' : encodeURIComponent(n)}`)
    .join(',');
}

function part(type: string, name: string | null): string {
  return `${type}=${name === null ? '<default>' : encodeURIComponent(name)}`;
}

/**
 * Why an entity cannot carry quotas (Kafka's ClientQuotaControlManager.validateEntity), with
 * the error code to answer, or null.
 */
export function entityProblem(parts: readonly { entityType: string; entityName: string | null }[]): { code: 'INVALID_REQUEST' | 'UNSUPPORTED_VERSION'; message: string } | null {
  if (parts.length === 0) return { code: 'INVALID_REQUEST', message: 'Invalid empty client quota entity' };
  const seen = new Set<string>();
  for (const p of parts) {
    if (seen.has(p.entityType)) return { code: 'INVALID_REQUEST', message: `Invalid empty client quota entity, duplicate entity entry ${p.entityType}` };
    seen.add(p.entityType);
    if (p.entityType !== EntityType.USER && p.entityType !== EntityType.CLIENT_ID && p.entityType !== EntityType.IP) {
      return { code: 'UNSUPPORTED_VERSION', message: `Unhandled client quota entity type: ${p.entityType} (the types are user, client-id and ip)` };
    }
    if (p.entityName !== null && p.entityName === '') return { code: 'INVALID_REQUEST', message: `Empty ${p.entityType} not supported` };
    if (p.entityType === EntityType.IP && p.entityName !== null && isIP(p.entityName) === 0) {
      return { code: 'INVALID_REQUEST', message: `Unknown host: ${p.entityName} (an ip entity is an IPv4 or IPv6 address, or the default)` };
    }
  }
  if (seen.has(EntityType.IP) && seen.size > 1) return { code: 'INVALID_REQUEST', message: 'Invalid quota entity combination, IP entity should not be combined with User or ClientId' };
  return null;
}

/** Why `value` cannot be set for `key` on an entity (ip or not), or null (Kafka's validateQuotaKeyValue). */
export function valueProblem(isIpEntity: boolean, key: string, value: number): string | null {
  const type = isIpEntity ? IP_KEYS.get(key) : CLIENT_KEYS.get(key);
  if (type === undefined) {
    const valid = [...(isIpEntity ? IP_KEYS : CLIENT_KEYS).keys()].join(', ');
    return `Invalid configuration key ${key}; ${isIpEntity ? 'an ip entity' : 'a user or client-id entity'} takes ${valid}`;
  }
  if (!Number.isFinite(value) || value <= 0) return `Quota ${key} must be greater than 0, not ${value}`;
  if (type === 'double') return null;
  if (type === 'int' && value > 2147483647) return `Proposed value for ${key} is too large for an INT.`;
  if (type === 'long' && value > Number.MAX_SAFE_INTEGER) return `Proposed value for ${key} is too large for a LONG.`;
  if (!Number.isInteger(value)) return `${key} must be an integer, not ${value}`;
  return null;
}

interface StoredEntry {
  entity: [string, string | null][];
  values: Record<string, number>;
}

/** One quota entity's values. */
export interface QuotaEntry {
  readonly entity: QuotaEntity;
  readonly values: Readonly<Record<string, number>>;
}

/** One rate of one quota type, shared by the requests its entity covers. */
class Sensor {
  readonly rate: SampledRate;
  constructor(
    /** The quota; updated in place when an admin changes it (the rate measured so far stays, as in Kafka). */
    public limit: number,
    samples: number,
    windowMs: number,
  ) {
    this.rate = new SampledRate(samples, windowMs);
  }
}

export interface QuotaSettings {
  /** quota.window.num */
  readonly quotaWindowNum: number;
  /** quota.window.size.seconds */
  readonly quotaWindowSizeSeconds: number;
}

const FILE = 'client-quotas.json';

/**
 * Rates kept at most per quota type (and for addresses). Past it, new scopes share one overflow
 * rate until idle ones are purged: a flood of new client ids under a default quota cannot grow
 * memory without bound, and evicting a live rate (which would let its client start afresh) never
 * happens. Sharing errs on the strict side: those clients are throttled together.
 */
export const MAX_SENSORS = 10_000;
const OVERFLOW = '\0overflow';

export class ClientQuotas {
  private entries = new Map<string, QuotaEntry>();
  private readonly file: SerialJsonFile<StoredEntry[]>;
  /** True when some user or client-id entity sets a request quota: only then do requests pay for quotas. */
  active = false;
  /** True when some ip entity sets connection_creation_rate. */
  ipActive = false;
  /** Per quota type: resolved sensor by `user\0clientId` (null: no quota applies). Cleared on every change. */
  private readonly resolved: Map<string, Sensor | null>[] = [new Map(), new Map(), new Map(), new Map()];
  /** Per quota type: sensor by the key of the (user, client id) scope the quota applies to. */
  private readonly sensors: Map<string, Sensor>[] = [new Map(), new Map(), new Map(), new Map()];
  /** Per-address connection rates. */
  private readonly ipSensors = new Map<string, Sensor>();
  private lastPurge = 0;
  /** MAX_SENSORS; changeable for tests. */
  maxSensors = MAX_SENSORS;

  constructor(
    dataDir: string,
    private readonly settings: QuotaSettings,
  ) {
    this.file = new SerialJsonFile(dataDir, FILE);
  }

  private get windowMs(): number {
    return this.settings.quotaWindowSizeSeconds * 1000;
  }

  private get samples(): number {
    return this.settings.quotaWindowNum;
  }

  async load(): Promise<void> {
    const stored = await this.file.read();
    const entries = new Map<string, QuotaEntry>();
    for (const e of stored ?? []) {
      const entity = new Map(e.entity);
      entries.set(entityKey(entity), { entity, values: e.values });
    }
    this.install(entries);
  }

  /** Rates kept now, all quota types and addresses together (bounded by MAX_SENSORS each). */
  sensorCount(): number {
    return this.sensors.reduce((n, m) => n + m.size, this.ipSensors.size);
  }

  /** Every entity with quotas. */
  list(): Iterable<QuotaEntry> {
    return this.entries.values();
  }

  /**
   * Sets and removes the values of several entities at once. Written to disk, then in effect;
   * one change at a time. Validation is the caller's (the handler answers per entry).
   */
  alter(changes: readonly { entity: QuotaEntity; set: Readonly<Record<string, number>>; remove: readonly string[] }[]): Promise<void> {
    return this.file.change(async (write) => {
      const next = new Map(this.entries);
      for (const c of changes) {
        const key = entityKey(c.entity);
        const values: Record<string, number> = { ...(next.get(key)?.values ?? {}) };
        for (const k of c.remove) delete values[k];
        Object.assign(values, c.set);
        if (Object.keys(values).length === 0) next.delete(key);
        else next.set(key, { entity: c.entity, values });
      }
      await write([...next.values()].map((e) => ({ entity: [...e.entity.entries()], values: { ...e.values } })));
      this.install(next);
    });
  }

  private install(entries: Map<string, QuotaEntry>): void {
    this.entries = entries;
    let active = false;
    let ipActive = false;
    for (const e of entries.values()) {
      if (e.entity.has(EntityType.IP)) ipActive ||= e.values[QuotaKey.CONNECTION_CREATION_RATE] !== undefined;
      else active ||= TYPE_KEYS.some((k) => e.values[k] !== undefined);
    }
    this.active = active;
    this.ipActive = ipActive;
    // Limits changed: requests resolve their quota again; the rates measured so far stay (sensor()).
    for (const m of this.resolved) m.clear();
  }

  private value(key: string, type: QuotaType): number | undefined {
    return this.entries.get(key)?.values[TYPE_KEYS[type]];
  }

  /**
   * The quota of a type for a user and client id, and the scope its rate is kept for, in
   * Kafka's order of precedence (DefaultQuotaCallback); null when no entity sets it.
   */
  resolve(type: QuotaType, user: string, clientId: string): { limit: number; scope: string } | null {
    const u = part(EntityType.USER, user);
    const du = part(EntityType.USER, null);
    const c = part(EntityType.CLIENT_ID, clientId);
    const dc = part(EntityType.CLIENT_ID, null);
    // entityKey sorts client-id before user.
    const candidates: [string, string][] = [
      [`${c},${u}`, `${user}\0${clientId}`],
      [`${dc},${u}`, `${user}\0${clientId}`],
      [u, `${user}\0`],
      [`${c},${du}`, `${user}\0${clientId}`],
      [`${dc},${du}`, `${user}\0${clientId}`],
      [du, `${user}\0`],
      [c, `\0${clientId}`],
      [dc, `\0${clientId}`],
    ];
    for (const [key, scope] of candidates) {
      const limit = this.value(key, type);
      if (limit !== undefined) return { limit, scope };
    }
    return null;
  }

  private sensor(type: QuotaType, user: string, clientId: string, nowMs: number): Sensor | null {
    const resolved = this.resolved[type]!;
    const key = `${user}\0${clientId}`;
    let s = resolved.get(key);
    if (s !== undefined) return s;
    if (resolved.size > 10_000) resolved.clear();
    this.purgeIdle(nowMs);
    const r = this.resolve(type, user, clientId);
    if (r === null) s = null;
    else {
      const sensors = this.sensors[type]!;
      const scope = sensors.has(r.scope) || sensors.size < this.maxSensors ? r.scope : OVERFLOW;
      s = sensors.get(scope);
      if (s === undefined) sensors.set(scope, (s = new Sensor(r.limit, this.samples, this.windowMs)));
      else s.limit = r.limit;
    }
    resolved.set(key, s);
    return s;
  }

  /** Forgets rates idle longer than the quota window span (they hold nothing): memory stays bounded by the clients seen lately. */
  private purgeIdle(nowMs: number): void {
    const span = this.samples * this.windowMs;
    if (nowMs - this.lastPurge < span) return;
    this.lastPurge = nowMs;
    let dropped = false;
    for (const m of this.sensors) {
      for (const [k, s] of m) {
        if (nowMs - s.rate.lastRecordMs > span) {
          m.delete(k);
          dropped = true;
        }
      }
    }
    if (dropped) for (const m of this.resolved) m.clear();
    for (const [k, s] of this.ipSensors) if (nowMs - s.rate.lastRecordMs > span) this.ipSensors.delete(k);
  }

  /**
   * Records `value` against the quota of `type` that applies to the principal and client id,
   * and returns how long to throttle them (ms; 0 when within the quota or none applies).
   */
  record(type: QuotaType, principal: string, clientId: string, value: number, nowMs: number): number {
    const user = userOf(principal);
    const s = this.sensor(type, user, clientId, nowMs);
    if (s === null) return 0;
    s.rate.record(value, nowMs);
    const rate = s.rate.rate(nowMs);
    if (rate <= s.limit) return 0;
    // The request quota's throttle is bounded by one window (as Kafka's ClientRequestQuotaManager);
    // the byte rates' by the whole span the rate is taken over.
    const cap = type === QuotaType.REQUEST ? this.windowMs : this.samples * this.windowMs;
    return throttleTimeMs(rate, s.limit, s.rate.spanMs(nowMs), cap);
  }

  /**
   * controller_mutation_rate (KIP-599): partitions created or deleted per second. Before a
   * topic change, the throttle time when the client's rate is over its quota already (ms; 0:
   * go ahead). Requests that support THROTTLING_QUOTA_EXCEEDED refuse the change then; the
   * change that takes the rate over is let through, as Kafka's strict mode does.
   */
  mutationThrottle(principal: string, clientId: string, nowMs: number): number {
    if (!this.active) return 0;
    const s = this.sensor(QuotaType.CONTROLLER_MUTATION, userOf(principal), clientId, nowMs);
    if (s === null) return 0;
    const rate = s.rate.rate(nowMs);
    return rate <= s.limit ? 0 : Math.max(1, throttleTimeMs(rate, s.limit, s.rate.spanMs(nowMs), this.samples * this.windowMs));
  }

  /** Counts `partitions` mutated against controller_mutation_rate; returns the throttle time after it (ms). */
  recordMutation(principal: string, clientId: string, partitions: number, nowMs: number): number {
    if (!this.active || partitions <= 0) return 0;
    return this.record(QuotaType.CONTROLLER_MUTATION, principal, clientId, partitions, nowMs);
  }

  /** Takes back a recorded value (a throttled Fetch answers without its data). */
  unrecord(type: QuotaType, principal: string, clientId: string, value: number, nowMs: number): void {
    const s = this.sensor(type, userOf(principal), clientId, nowMs);
    if (s !== null) s.rate.unrecord(value, nowMs);
  }

  /**
   * Most bytes a Fetch may return under the consumer_byte_rate quota of this principal and
   * client id: what the quota allows over samples - 1 windows (Kafka's getMaxValueInQuotaWindow).
   */
  fetchCap(principal: string, clientId: string, nowMs: number): number {
    const s = this.sensor(QuotaType.FETCH, userOf(principal), clientId, nowMs);
    return s === null ? Number.MAX_SAFE_INTEGER : Math.max(1, Math.floor(s.limit * (this.samples - 1) * this.settings.quotaWindowSizeSeconds));
  }

  /** The connection_creation_rate that applies to an address: its own ip entity, else the default one. */
  ipLimit(ip: string): number | undefined {
    return this.entries.get(part(EntityType.IP, ip))?.values[QuotaKey.CONNECTION_CREATION_RATE] ?? this.entries.get(part(EntityType.IP, null))?.values[QuotaKey.CONNECTION_CREATION_RATE];
  }

  /**
   * Counts a connection from `ip` and returns 0; or, when it would take the address's rate over
   * its connection_creation_rate, does not count it and returns how long to hold it before
   * closing it (ms, at least 1): Kafka delays closing a throttled connection so that its client
   * does not come straight back.
   */
  admitConnection(ip: string, nowMs: number): number {
    const limit = this.ipLimit(ip);
    if (limit === undefined) return 0;
    let s = this.ipSensors.get(ip);
    if (s === undefined) {
      this.purgeIdle(nowMs);
      const key = this.ipSensors.size < this.maxSensors ? ip : OVERFLOW;
      s = this.ipSensors.get(key);
      if (s === undefined) this.ipSensors.set(key, (s = new Sensor(limit, this.samples, this.windowMs)));
    }
    s.rate.record(1, nowMs);
    const rate = s.rate.rate(nowMs);
    if (rate <= limit) return 0;
    const ms = throttleTimeMs(rate, limit, s.rate.spanMs(nowMs), this.samples * this.windowMs);
    s.rate.unrecord(1, nowMs);
    return Math.max(1, ms);
  }
}

/**
 * controller_mutation_rate for one CreateTopics, CreatePartitions or DeleteTopics request:
 * admit() each topic's partitions before changing it; throttleMs is what to answer and mute for.
 */
export class MutationQuota {
  throttleMs = 0;
  constructor(
    private readonly quotas: ClientQuotas,
    private readonly principal: string,
    private readonly clientId: string,
    /** The request version supports THROTTLING_QUOTA_EXCEEDED: refuse while over the quota. */
    private readonly strict: boolean,
  ) {}

  /** False: refuse this topic with THROTTLING_QUOTA_EXCEEDED (nothing counted). True: counted, go ahead. */
  admit(partitions: number): boolean {
    const now = performance.now();
    if (this.strict) {
      const t = this.quotas.mutationThrottle(this.principal, this.clientId, now);
      if (t > 0) {
        this.throttleMs = Math.max(this.throttleMs, t);
        return false;
      }
    }
    this.throttleMs = Math.max(this.throttleMs, this.quotas.recordMutation(this.principal, this.clientId, partitions, now));
    return true;
  }

  /** Hands the throttle to the connection (response throttleTimeMs, muting, the metric). */
  apply(ctx: { throttleMs: number; throttleType: number }): void {
    if (this.throttleMs <= 0) return;
    ctx.throttleMs = Math.max(ctx.throttleMs, this.throttleMs);
    ctx.throttleType = QuotaType.CONTROLLER_MUTATION;
  }
}

/** Kafka's message for THROTTLING_QUOTA_EXCEEDED. */
export const THROTTLED_MESSAGE = 'The throttling quota has been exceeded.';

/** The user entity name of a principal: `User:alice` -> `alice` (Kafka's sanitized user is the principal's name). */
export function userOf(principal: string): string {
  const i = principal.indexOf(':');
  return i < 0 ? principal : principal.slice(i + 1);
}

/** A broker-wide rate of accepted connections (max.connection.creation.rate). */
export class ConnectionRate {
  private readonly rate: SampledRate;
  constructor(settings: QuotaSettings) {
    this.rate = new SampledRate(settings.quotaWindowNum, settings.quotaWindowSizeSeconds * 1000);
  }

  /** Counts a connection; false (and not counted) when it would take the rate over `limit`. */
  admit(limit: number, nowMs: number): boolean {
    this.rate.record(1, nowMs);
    if (this.rate.rate(nowMs) <= limit) return true;
    this.rate.unrecord(1, nowMs);
    return false;
  }
}
