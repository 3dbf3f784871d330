// The settings a share group runs with. Kafka lets each group override them (group configs,
// resource type GROUP); until the broker keeps per-group configs, every group gets the broker's
// settings. This function is the one place the share-group code reads them, so per-group
// overrides plug in here.

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

export function shareGroupConfig(config: BrokerConfig, _groupId: string): ShareGroupConfig {
  return {
    recordLockDurationMs: config.shareRecordLockDurationMs,
    deliveryCountLimit: config.shareDeliveryCountLimit,
    sessionTimeoutMs: config.shareSessionTimeoutMs,
    heartbeatIntervalMs: config.shareHeartbeatIntervalMs,
    autoOffsetReset: config.shareAutoOffsetReset,
    maxRecordLocks: config.sharePartitionMaxRecordLocks,
    maxSize: config.shareMaxSize,
  };
}
