// Dynamic broker configs: the broker settings Kafka lets AlterConfigs and
// IncrementalAlterConfigs change at runtime (resource BROKER, name "0" for this broker or ""
// for the cluster-wide default) that this broker really uses. A change is stored in
// broker-configs.json in the data directory, then applied to the live BrokerConfig (and the
// topics re-read their defaults). Precedence, as in Kafka: this broker's value, then the
// cluster default, then the setting given at start (flags, RIVULET_*, config file), then the
// built-in default. Every other setting stays static: changing it is refused with a message
// naming how to set it.

import { defaultBrokerConfig, parseIpOverrides, type BrokerConfig } from './config.js';
import { SerialJsonFile } from './meta-store.js';
import { topicConfigDefs, type ConfigType } from './topic-config.js';

export interface DynamicKey {
  readonly name: string;
  readonly type: ConfigType;
  readonly validate: (v: string) => string | null;
  readonly read: (c: BrokerConfig) => string;
  readonly write: (c: BrokerConfig, v: string) => void;
}

/** Broker defaults of topic configs the logs use (retention, segments, batch size, timestamps). */
const TOPIC_DEFAULTS = ['log.retention.ms', 'log.retention.bytes', 'log.segment.bytes', 'log.roll.ms', 'log.index.interval.bytes', 'message.max.bytes', 'log.message.timestamp.type'];

function topicDefault(name: string): DynamicKey {
  const def = topicConfigDefs.find((d) => d.brokerName === name)!;
  return { name, type: def.type, validate: def.validate, read: (c) => c.topicDefaults[name] ?? '', write: (c, v) => void (c.topicDefaults[name] = v) };
}

const positiveInt = (v: string): string | null => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 2147483647 ? null : 'must be an integer from 1 to 2147483647');

const keys: DynamicKey[] = [
  ...TOPIC_DEFAULTS.map(topicDefault),
  // Checked on every accept.
  { name: 'max.connections', type: 'int', validate: positiveInt, read: (c) => String(c.maxConnections), write: (c, v) => void (c.maxConnections = Number(v)) },
  { name: 'max.connections.per.ip', type: 'int', validate: positiveInt, read: (c) => String(c.maxConnectionsPerIp), write: (c, v) => void (c.maxConnectionsPerIp = Number(v)) },
  { name: 'max.connections.per.ip.overrides', type: 'string', validate: (v) => { const p = parseIpOverrides(v); return typeof p === 'string' ? p : null; }, read: (c) => c.maxConnectionsPerIpOverrides, write: (c, v) => void (c.maxConnectionsPerIpOverrides = v) },
  { name: 'max.connection.creation.rate', type: 'int', validate: positiveInt, read: (c) => String(c.maxConnectionCreationRate), write: (c, v) => void (c.maxConnectionCreationRate = Number(v)) },
];

export const dynamicKeys: ReadonlyMap<string, DynamicKey> = new Map(keys.map((k) => [k.name, k]));

/**
 * Kafka's replication throttles: one broker has no replication to throttle. Tools delete them
 * after a reassignment (kafka-reassign-partitions --verify), which is accepted (they are never
 * set); setting one is refused.
 */
export const REPLICATION_THROTTLES = new Set(['leader.replication.throttled.rate', 'follower.replication.throttled.rate', 'replica.alter.log.dirs.io.max.bytes.per.second']);

export type Scope = 'broker' | 'default';
export const BrokerSource = { DYNAMIC_BROKER_CONFIG: 2, DYNAMIC_DEFAULT_BROKER_CONFIG: 3, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const;

const FILE = 'broker-configs.json';

export class DynamicBrokerConfigs {
  private stored: Record<Scope, Record<string, string>> = { broker: {}, default: {} };
  /** Each dynamic key's value as set at start, and built in. */
  private readonly startValues = new Map<string, string>();
  private readonly builtinValues = new Map<string, string>();
  private readonly file: SerialJsonFile<Record<Scope, Record<string, string>>>;

  constructor(dataDir: string, private readonly config: BrokerConfig, private readonly onChange: () => void) {
    this.file = new SerialJsonFile(dataDir, FILE);
    const builtin = defaultBrokerConfig();
    for (const k of dynamicKeys.values()) {
      this.startValues.set(k.name, k.read(config));
      this.builtinValues.set(k.name, k.read(builtin));
    }
  }

  async load(): Promise<void> {
    const saved = await this.file.read();
    if (saved === null) return;
    this.stored = { broker: saved.broker ?? {}, default: saved.default ?? {} };
    this.apply();
  }

  overrides(scope: Scope): Readonly<Record<string, string>> {
    return this.stored[scope];
  }

  /**
   * Changes one scope's dynamic configs: `next` computes the new set from the current one (or
   * says why it cannot); it is checked, stored, then applied. One change at a time. Returns the
   * problem, or null when the change is (or, with validateOnly, would be) made.
   */
  change(scope: Scope, next: (current: Readonly<Record<string, string>>) => Record<string, string> | string, validateOnly: boolean): Promise<string | null> {
    return this.file.change(async (write) => {
      const overrides = next(this.stored[scope]);
      if (typeof overrides === 'string') return overrides;
      const problem = problemOf(overrides);
      if (problem !== null || validateOnly) return problem;
      const stored = { ...this.stored, [scope]: overrides };
      await write(stored);
      this.stored = stored;
      this.apply();
      return null;
    });
  }

  /**
   * Where a dynamic key's value comes from, most specific first, as DescribeConfigs lists
   * synonyms: this broker's value, the cluster default, the setting at start (when it differs
   * from the built-in one), the built-in default. Null for a key that is not dynamic.
   */
  layers(name: string): { name: string; value: string; source: number }[] | null {
    if (!dynamicKeys.has(name)) return null;
    const out = [];
    const broker = this.stored.broker[name];
    const cluster = this.stored.default[name];
    const atStart = this.startValues.get(name)!;
    const builtin = this.builtinValues.get(name)!;
    if (broker !== undefined) out.push({ name, value: broker, source: BrokerSource.DYNAMIC_BROKER_CONFIG });
    if (cluster !== undefined) out.push({ name, value: cluster, source: BrokerSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
    if (atStart !== builtin) out.push({ name, value: atStart, source: BrokerSource.STATIC_BROKER_CONFIG });
    out.push({ name, value: builtin, source: BrokerSource.DEFAULT_CONFIG });
    return out;
  }

  private apply(): void {
    for (const k of dynamicKeys.values()) k.write(this.config, this.stored.broker[k.name] ?? this.stored.default[k.name] ?? this.startValues.get(k.name)!);
    this.onChange();
  }
}

/** Why a set of dynamic broker configs cannot be stored, or null. */
function problemOf(overrides: Readonly<Record<string, string>>): string | null {
  for (const [name, value] of Object.entries(overrides)) {
    if (REPLICATION_THROTTLES.has(name)) return `${name}: one broker has no replication to throttle; it can only be deleted`;
    const key = dynamicKeys.get(name);
    if (key === undefined) {
      return `${name} cannot change at runtime on this broker (dynamic: ${[...dynamicKeys.keys()].join(', ')}); set it with a flag, a RIVULET_* variable or the config file and restart`;
    }
    const problem = key.validate(value);
    if (problem !== null) return `Invalid value ${value} for configuration ${name}: ${problem}`;
  }
  return null;
}
