// Topic-level configs the broker understands, with Kafka's names, defaults and checks.
// A topic stores only its overrides; everything else falls back to the broker default.

import type { LogConfig } from '../storage/log.js';
import { VisibleWhen } from '../storage/log-config.js';
import { FsyncPolicy } from './config.js';

export type ConfigType = 'boolean' | 'string' | 'int' | 'short' | 'long' | 'double' | 'list' | 'class' | 'password';

/** DescribeConfigs configType codes (KIP-569). */
export const ConfigTypeCode: Record<ConfigType, number> = {
  boolean: 1, string: 2, int: 3, short: 4, long: 5, double: 6, list: 7, class: 8, password: 9,
};

export interface TopicConfigDef {
  readonly name: string;
  /** The broker-level property that supplies the default (Kafka's synonym), e.g. log.retention.ms; '' when Kafka has none. */
  readonly brokerName: string;
  /** Kafka's default, for configs whose broker property Rivulet does not take as a setting. */
  readonly default?: string;
  readonly type: ConfigType;
  readonly doc: string;
  /** Returns an error message when the value is not acceptable. */
  readonly validate: (v: string) => string | null;
}

const long = (min: number) => (v: string): string | null =>
  /^-?\d+$/.test(v.trim()) && Number(v) >= min ? null : `must be an integer >= ${min}`;
const oneOf = (...allowed: string[]) => (v: string): string | null =>
  allowed.includes(v.trim()) ? null : `must be one of ${allowed.join(', ')}`;
const intIn = (min: number, max: number) => (v: string): string | null =>
  /^-?\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max ? null : `must be an integer from ${min} to ${max}`;
const bool = (v: string): string | null => (v.trim() === 'true' || v.trim() === 'false' ? null : 'must be true or false');
/** Kafka's throttled-replica lists: `*` or partition:broker pairs (ignored: there is no replication to throttle). */
const replicaList = (v: string): string | null =>
  v.trim() === '' || v.trim() === '*' || v.split(',').every((x) => /^\s*\d+\s*:\s*\d+\s*$/.test(x)) ? null : 'must be * or a list of partition:broker pairs';
const listOf = (...allowed: string[]) => (v: string): string | null =>
  v.split(',').every((x) => allowed.includes(x.trim())) ? null : `must be a list of ${allowed.join(', ')}`;

export const topicConfigDefs: readonly TopicConfigDef[] = [
  { name: 'cleanup.policy', brokerName: 'log.cleanup.policy', type: 'list', doc: 'delete or compact (compaction is not implemented yet; compact is stored and reported)', validate: listOf('delete', 'compact') },
  { name: 'compression.type', brokerName: 'compression.type', type: 'string', doc: 'Batches are stored as the producer sent them (producer).', validate: oneOf('producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd') },
  { name: 'retention.ms', brokerName: 'log.retention.ms', type: 'long', doc: 'How long to keep a segment after its newest batch; -1 keeps forever.', validate: long(-1) },
  { name: 'retention.bytes', brokerName: 'log.retention.bytes', type: 'long', doc: 'Largest size of a partition before old segments are deleted; -1 means no limit.', validate: long(-1) },
  { name: 'segment.bytes', brokerName: 'log.segment.bytes', type: 'int', doc: 'Size at which a segment file is rolled.', validate: long(14) },
  { name: 'segment.ms', brokerName: 'log.roll.ms', type: 'long', doc: 'Age at which a segment file is rolled.', validate: long(1) },
  { name: 'segment.index.bytes', brokerName: 'log.index.size.max.bytes', type: 'int', doc: 'Accepted for compatibility; indexes grow as needed.', validate: long(4) },
  { name: 'index.interval.bytes', brokerName: 'log.index.interval.bytes', type: 'int', doc: 'Bytes of log between two offset index entries.', validate: long(0) },
  { name: 'max.message.bytes', brokerName: 'message.max.bytes', type: 'int', doc: 'Largest record batch accepted.', validate: long(0) },
  { name: 'message.timestamp.type', brokerName: 'log.message.timestamp.type', type: 'string', doc: 'CreateTime keeps the producer timestamps; LogAppendTime stamps each batch with the broker time when it is appended.', validate: oneOf('CreateTime', 'LogAppendTime') },
  { name: 'min.insync.replicas', brokerName: 'min.insync.replicas', type: 'int', doc: 'A single broker always has one in-sync replica.', validate: oneOf('1') },
  { name: 'flush.messages', brokerName: 'log.flush.interval.messages', type: 'long', doc: 'Accepted for compatibility; durability follows the broker fsync policy.', validate: long(1) },
  { name: 'flush.ms', brokerName: 'log.flush.interval.ms', type: 'long', doc: 'Accepted for compatibility; durability follows the broker fsync policy.', validate: long(0) },
  { name: 'delete.retention.ms', brokerName: 'log.cleaner.delete.retention.ms', type: 'long', doc: 'Accepted for compatibility (compaction).', validate: long(0) },
  { name: 'file.delete.delay.ms', brokerName: 'log.segment.delete.delay.ms', type: 'long', doc: 'Accepted for compatibility.', validate: long(0) },
  { name: 'unclean.leader.election.enable', brokerName: 'unclean.leader.election.enable', type: 'boolean', doc: 'Meaningless on one broker; accepted for compatibility.', validate: oneOf('true', 'false') },
  // The rest of Kafka 4's topic configs: accepted at creation and reported with Kafka's
  // defaults, so its tools and clients find every name they expect. Only
  // message.timestamp.after.max.ms changes what this broker does; each other doc says why not.
  { name: 'compression.gzip.level', brokerName: 'compression.gzip.level', default: '-1', type: 'int', doc: 'Accepted for compatibility; batches are stored as the producer compressed them.', validate: intIn(-1, 9) },
  { name: 'compression.lz4.level', brokerName: 'compression.lz4.level', default: '9', type: 'int', doc: 'Accepted for compatibility; batches are stored as the producer compressed them.', validate: intIn(1, 17) },
  { name: 'compression.zstd.level', brokerName: 'compression.zstd.level', default: '3', type: 'int', doc: 'Accepted for compatibility; batches are stored as the producer compressed them.', validate: intIn(-131072, 22) },
  { name: 'errors.deadletterqueue.group.enable', brokerName: '', default: 'false', type: 'boolean', doc: 'Accepted for compatibility (share groups).', validate: bool },
  { name: 'follower.replication.throttled.replicas', brokerName: '', default: '', type: 'list', doc: 'Accepted for compatibility; one broker has no followers to throttle.', validate: replicaList },
  { name: 'leader.replication.throttled.replicas', brokerName: '', default: '', type: 'list', doc: 'Accepted for compatibility; one broker has no followers to throttle.', validate: replicaList },
  { name: 'local.retention.bytes', brokerName: 'log.local.retention.bytes', default: '-2', type: 'long', doc: 'Tiered storage only; there is none here, so retention.bytes applies.', validate: long(-2) },
  { name: 'local.retention.ms', brokerName: 'log.local.retention.ms', default: '-2', type: 'long', doc: 'Tiered storage only; there is none here, so retention.ms applies.', validate: long(-2) },
  { name: 'max.decompressed.message.bytes', brokerName: 'max.decompressed.message.bytes', default: '2147483639', type: 'int', doc: 'Accepted for compatibility; the broker setting decompressed.batch.max.bytes bounds decompression.', validate: long(0) },
  { name: 'message.timestamp.after.max.ms', brokerName: 'log.message.timestamp.after.max.ms', default: '3600000', type: 'long', doc: 'A CreateTime batch whose newest record is more than this ahead of the broker clock is refused (INVALID_TIMESTAMP).', validate: long(0) },
  { name: 'message.timestamp.before.max.ms', brokerName: 'log.message.timestamp.before.max.ms', default: '9223372036854775807', type: 'long', doc: 'Accepted for compatibility; old record timestamps are not refused (that would need every record\'s timestamp read).', validate: long(0) },
  { name: 'preallocate', brokerName: 'log.preallocate', default: 'false', type: 'boolean', doc: 'Accepted for compatibility; segment files grow as written.', validate: bool },
  { name: 'remote.copy.lag.bytes', brokerName: 'log.remote.copy.lag.bytes', default: '-1', type: 'long', doc: 'Tiered storage only; there is none here.', validate: long(-1) },
  { name: 'remote.copy.lag.ms', brokerName: 'log.remote.copy.lag.ms', default: '0', type: 'long', doc: 'Tiered storage only; there is none here.', validate: long(0) },
  { name: 'remote.log.copy.disable', brokerName: '', default: 'false', type: 'boolean', doc: 'Tiered storage only; there is none here.', validate: bool },
  { name: 'remote.log.delete.on.disable', brokerName: '', default: 'false', type: 'boolean', doc: 'Tiered storage only; there is none here.', validate: bool },
  { name: 'remote.storage.enable', brokerName: '', default: 'false', type: 'boolean', doc: 'Tiered storage is not available on this broker: only false is accepted.', validate: (v) => (v.trim() === 'false' ? null : 'tiered storage is not available on this broker (as with remote.log.storage.system.enable=false on Kafka); leave it false') },
  { name: 'segment.jitter.ms', brokerName: 'log.roll.jitter.ms', default: '0', type: 'long', doc: 'Accepted for compatibility; segments roll at segment.ms exactly.', validate: long(0) },
];

export const topicConfigByName: ReadonlyMap<string, TopicConfigDef> = new Map(topicConfigDefs.map((d) => [d.name, d]));

/** Checks a set of topic overrides; returns the first problem as a message, or null. */
export function validateTopicConfigs(configs: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(configs)) {
    const def = topicConfigByName.get(name);
    if (!def) return `Unknown topic config name: ${name}`;
    const problem = def.validate(value);
    if (problem) return `Invalid value ${value} for configuration ${name}: ${problem}`;
  }
  return null;
}

/** The effective value of every topic config: the override, else the broker default. */
export function effectiveTopicConfigs(brokerDefaults: Readonly<Record<string, string>>, overrides: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of topicConfigDefs) out[d.name] = overrides[d.name] ?? brokerDefaults[d.brokerName] ?? d.default ?? '';
  return out;
}

/**
 * Under the acks-all and always fsync policies a record is visible only once fsynced (a
 * consumer never acts on what a crash can take back); under never, once written.
 */
export function visibleWhenFor(fsync: FsyncPolicy): VisibleWhen {
  return fsync === FsyncPolicy.never ? VisibleWhen.written : VisibleWhen.durable;
}

export function logConfigFrom(effective: Readonly<Record<string, string>>, tailCacheBytes: number, visibleWhen: VisibleWhen): LogConfig {
  return {
    segmentBytes: Number(effective['segment.bytes']),
    segmentMs: Number(effective['segment.ms']),
    retentionMs: Number(effective['retention.ms']),
    retentionBytes: Number(effective['retention.bytes']),
    indexIntervalBytes: Number(effective['index.interval.bytes']),
    tailCacheBytes,
    visibleWhen,
  };
}
