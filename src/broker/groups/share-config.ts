// The settings a share group runs with: the group's own config (resource type GROUP, see
// group-config.ts) where one is set, else the broker setting. This function is the one place
// the share-group code reads them.

import type { BrokerConfig } from '../config.js';

export type ShareAutoOffsetReset = 'latest' | 'earliest';

export interface ShareGroupConfig {
  /** share.record.lock.duration.ms (broker default group.share.record.lock.duration.ms) */
  recordLockDurationMs: number;
  /** share.delivery.count.limit (broker default group.share.delivery.count.limit) */
  deliveryCountLimit: number;
  /** share.session.timeout.ms (broker default group.share.session.timeout.ms) */
  sessionTimeoutMs: number;
  /** share.heartbeat.interval.ms (broker default group.share.heartbeat.interval.ms) */
  heartbeatIntervalMs: number;
  /** share.auto.offset.reset: where a group starts on a partition it has never read */
  autoOffsetReset: ShareAutoOffsetReset;
  /** group.share.partition.max.record.locks (broker-wide in Kafka too) */
  maxRecordLocks: number;
  /** group.share.max.size (broker-wide in Kafka too) */
  maxSize: number;
}

/** `overrides`: the group's configs (validated when they were set). */
export function shareGroupConfig(config: BrokerConfig, overrides: Readonly<Record<string, string>>): ShareGroupConfig {
  const int = (name: string, fallback: number): number => (overrides[name] === undefined ? fallback : Number(overrides[name]));
  const reset = overrides['share.auto.offset.reset'];
  return {
    recordLockDurationMs: int('share.record.lock.duration.ms', config.shareRecordLockDurationMs),
    deliveryCountLimit: int('share.delivery.count.limit', config.shareDeliveryCountLimit),
    sessionTimeoutMs: int('share.session.timeout.ms', config.shareSessionTimeoutMs),
    heartbeatIntervalMs: int('share.heartbeat.interval.ms', config.shareHeartbeatIntervalMs),
    // by_duration:... is not supported yet: the group starts at the end, as with latest.
    autoOffsetReset: reset === 'earliest' || reset === 'latest' ? reset : config.shareAutoOffsetReset,
    maxRecordLocks: int('share.partition.max.record.locks', config.sharePartitionMaxRecordLocks),
    maxSize: config.shareMaxSize,
  };
}
