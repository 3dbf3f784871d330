// Group configs (resource type GROUP in DescribeConfigs and (Incremental)AlterConfigs, KIP-848
// and KIP-932): per-group overrides of the consumer, share and streams group settings, with
// Kafka 4's names, defaults and bounds. Stored in group-configs.json in the data directory
// before they take effect. The group coordinators read a group's values with effective() or
// int(); a group need not exist for its configs to be set (as in Kafka).

import { SerialJsonFile } from '../meta-store.js';
import type { ConfigType } from '../topic-config.js';

export interface GroupConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  /** Kafka's default (the broker setting's default, where Kafka has one). */
  readonly default: string;
  /** The broker setting that supplies the default in Kafka, listed as the synonym; '' when none. */
  readonly brokerName: string;
  readonly doc: string;
  readonly validate: (v: string) => string | null;
}

const intIn = (min: number, max: number) => (v: string): string | null =>
  /^-?\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max ? null : `must be an integer from ${min} to ${max}`;
const atLeast = (min: number) => intIn(min, Number.MAX_SAFE_INTEGER);
const bool = (v: string): string | null => (v.trim() === 'true' || v.trim() === 'false' ? null : 'must be true or false');
const oneOf = (...allowed: string[]) => (v: string): string | null => (allowed.includes(v.trim()) ? null : `must be one of ${allowed.join(', ')}`);
const any = (): string | null => null;
/** latest, earliest or by_duration:<ISO-8601 duration>, as Kafka's share.auto.offset.reset. */
const resetStrategy = (v: string): string | null =>
  v === 'latest' || v === 'earliest' || /^by_duration:P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/.test(v) ? null : 'must be latest, earliest or by_duration:PnDTnHnMn.nS';

// Bounds are Kafka 4's broker defaults (group.consumer.min.session.timeout.ms and friends),
// which Kafka checks group configs against.
export const groupConfigDefs: readonly GroupConfigDef[] = [
  { name: 'consumer.session.timeout.ms', type: 'int', default: '45000', brokerName: 'group.consumer.session.timeout.ms', doc: 'Consumer group (KIP-848) member session timeout.', validate: intIn(45000, 60000) },
  { name: 'consumer.heartbeat.interval.ms', type: 'int', default: '5000', brokerName: 'group.consumer.heartbeat.interval.ms', doc: 'Consumer group (KIP-848) member heartbeat interval.', validate: intIn(5000, 15000) },
  { name: 'consumer.assignment.interval.ms', type: 'int', default: '1000', brokerName: 'group.consumer.assignment.interval.ms', doc: 'Least time between two consumer group assignments.', validate: atLeast(0) },
  { name: 'consumer.assignor.offload.enable', type: 'boolean', default: 'true', brokerName: 'group.consumer.assignor.offload.enable', doc: 'Whether consumer group assignments may run off the coordinator.', validate: bool },
  { name: 'share.session.timeout.ms', type: 'int', default: '45000', brokerName: 'group.share.session.timeout.ms', doc: 'Share group (KIP-932) member session timeout.', validate: intIn(45000, 60000) },
  { name: 'share.heartbeat.interval.ms', type: 'int', default: '5000', brokerName: 'group.share.heartbeat.interval.ms', doc: 'Share group (KIP-932) member heartbeat interval.', validate: intIn(5000, 15000) },
  { name: 'share.record.lock.duration.ms', type: 'int', default: '30000', brokerName: 'group.share.record.lock.duration.ms', doc: 'How long a share group consumer holds a record it was given.', validate: intIn(15000, 3600000) },
  { name: 'share.delivery.count.limit', type: 'int', default: '5', brokerName: 'group.share.delivery.count.limit', doc: 'Deliveries of a record to a share group before it is archived.', validate: intIn(2, 10) },
  { name: 'share.partition.max.record.locks', type: 'int', default: '2000', brokerName: 'group.share.partition.max.record.locks', doc: 'Records of a partition a share group may hold at once.', validate: intIn(100, 10000) },
  { name: 'share.auto.offset.reset', type: 'string', default: 'latest', brokerName: '', doc: 'Where a share group starts on a partition it has no position for: latest, earliest or by_duration:<ISO-8601 duration>.', validate: resetStrategy },
  { name: 'share.isolation.level', type: 'string', default: 'read_uncommitted', brokerName: '', doc: 'Which records a share group reads: read_committed or read_uncommitted.', validate: oneOf('read_committed', 'read_uncommitted') },
  { name: 'share.renew.acknowledge.enable', type: 'boolean', default: 'true', brokerName: '', doc: 'Whether share consumers may renew a record lock with a RENEW acknowledgement.', validate: bool },
  { name: 'share.assignment.interval.ms', type: 'int', default: '1000', brokerName: 'group.share.assignment.interval.ms', doc: 'Least time between two share group assignments.', validate: atLeast(0) },
  { name: 'share.assignor.offload.enable', type: 'boolean', default: 'true', brokerName: 'group.share.assignor.offload.enable', doc: 'Whether share group assignments may run off the coordinator.', validate: bool },
  { name: 'streams.session.timeout.ms', type: 'int', default: '45000', brokerName: 'group.streams.session.timeout.ms', doc: 'Streams group (KIP-1071) member session timeout.', validate: intIn(45000, 60000) },
  { name: 'streams.heartbeat.interval.ms', type: 'int', default: '5000', brokerName: 'group.streams.heartbeat.interval.ms', doc: 'Streams group (KIP-1071) member heartbeat interval.', validate: intIn(5000, 15000) },
  { name: 'streams.num.standby.replicas', type: 'int', default: '0', brokerName: 'group.streams.num.standby.replicas', doc: 'Standby replicas per streams task.', validate: intIn(0, 2) },
  { name: 'streams.num.warmup.replicas', type: 'int', default: '2', brokerName: 'group.streams.num.warmup.replicas', doc: 'Warm-up replicas per streams task.', validate: atLeast(0) },
  { name: 'streams.initial.rebalance.delay.ms', type: 'int', default: '3000', brokerName: 'group.streams.initial.rebalance.delay.ms', doc: 'Delay of a new streams group\'s first assignment.', validate: atLeast(0) },
  { name: 'streams.assignment.interval.ms', type: 'int', default: '1000', brokerName: 'group.streams.assignment.interval.ms', doc: 'Least time between two streams group assignments.', validate: atLeast(0) },
  { name: 'streams.assignor.offload.enable', type: 'boolean', default: 'true', brokerName: 'group.streams.assignor.offload.enable', doc: 'Whether streams group assignments may run off the coordinator.', validate: bool },
  { name: 'streams.task.offset.interval.ms', type: 'int', default: '60000', brokerName: 'group.streams.task.offset.interval.ms', doc: 'How often streams members report task offsets.', validate: atLeast(1) },
  { name: 'streams.acceptable.recovery.lag', type: 'long', default: '10000', brokerName: 'group.streams.acceptable.recovery.lag', doc: 'Lag under which a streams task counts as caught up.', validate: atLeast(0) },
  { name: 'streams.rack.aware.assignment.tags', type: 'list', default: '', brokerName: 'group.streams.rack.aware.assignment.tags', doc: 'Client tags the streams assignor spreads standbys over.', validate: any },
  { name: 'streams.assignor.name', type: 'string', default: '', brokerName: 'group.streams.assignors', doc: 'The streams group assignor to use.', validate: any },
  { name: 'errors.deadletterqueue.topic.name', type: 'string', default: '', brokerName: '', doc: 'Dead-letter topic of a share group.', validate: any },
  { name: 'errors.deadletterqueue.copy.record.enable', type: 'boolean', default: 'false', brokerName: '', doc: 'Whether a share group copies records to its dead-letter topic.', validate: bool },
];

export const groupConfigByName: ReadonlyMap<string, GroupConfigDef> = new Map(groupConfigDefs.map((d) => [d.name, d]));

/** The first problem of a complete set of overrides, or null. */
export function validateGroupConfigs(overrides: Readonly<Record<string, string>>): string | null {
  for (const [name, value] of Object.entries(overrides)) {
    const def = groupConfigByName.get(name);
    if (def === undefined) return `Unknown group config name: ${name}`;
    const problem = def.validate(value);
    if (problem !== null) return `Invalid value ${value} for configuration ${name}: ${problem}`;
  }
  return null;
}

export function effectiveGroupConfigs(overrides: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of groupConfigDefs) out[d.name] = overrides[d.name] ?? d.default;
  return out;
}

const FILE = 'group-configs.json';

/** Every group's overrides, stored in the data directory. */
export class GroupConfigStore {
  private groups = new Map<string, Record<string, string>>();
  private readonly file: SerialJsonFile<Record<string, Record<string, string>>>;

  constructor(dataDir: string) {
    this.file = new SerialJsonFile(dataDir, FILE);
  }

  async load(): Promise<void> {
    const saved = await this.file.read();
    if (saved !== null) this.groups = new Map(Object.entries(saved));
  }

  /** The group's own overrides (empty when none). */
  overrides(group: string): Readonly<Record<string, string>> {
    return this.groups.get(group) ?? {};
  }

  /** The groups that have configs set. */
  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  /** Every group config's value for the group: its override, else Kafka's default. */
  effective(group: string): Record<string, string> {
    return effectiveGroupConfigs(this.overrides(group));
  }

  /** One integer config of a group, for the coordinators (e.g. consumer.session.timeout.ms). */
  int(group: string, name: string): number {
    return Number(this.overrides(group)[name] ?? groupConfigByName.get(name)?.default);
  }

  /**
   * Changes a group's overrides: `next` computes the new set from the current one (or returns
   * why it cannot); the set is checked, stored, then in effect (a failed save changes
   * nothing). Changes run one at a time, each seeing the one before. Returns the problem, or
   * null when the change is (or, with validateOnly, would be) made.
   */
  change(group: string, next: (current: Readonly<Record<string, string>>) => Record<string, string> | string, validateOnly: boolean): Promise<string | null> {
    return this.file.change(async (write) => {
      const overrides = next(this.overrides(group));
      if (typeof overrides === 'string') return overrides;
      const problem = validateGroupConfigs(overrides);
      if (problem !== null || validateOnly) return problem;
      const groups = new Map(this.groups);
      if (Object.keys(overrides).length === 0) groups.delete(group);
      else groups.set(group, { ...overrides });
      await write(Object.fromEntries(groups));
      this.groups = groups;
      return null;
    });
  }
}
