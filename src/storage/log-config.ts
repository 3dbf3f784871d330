// Per-partition log settings, named after the Kafka topic configs a user would look for.

import { StorageError, StorageErrorCode } from './errors.js';

export interface LogConfig {
  /** segment.bytes: roll when the active segment would exceed this. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment's first batch is older than this. */
  segmentMs: number;
  /** retention.ms: delete segments whose newest timestamp is older; -1 = unlimited. */
  retentionMs: number;
  /** retention.bytes: delete the oldest segments while the log is larger; -1 = unlimited. */
  retentionBytes: number;
  /** index.interval.bytes: bytes of log between two offset index entries. */
  indexIntervalBytes: number;
  /** Bytes of recently written batches kept in memory for consumers at the tail. */
  tailCacheBytes: number;
  /**
   * When appended records become visible (high watermark, reads, advance listeners):
   * 'written' (the default) once in the file, 'durable' once fsynced; the log then starts an
   * fsync after every write run by itself.
   */
  visibleWhen?: VisibleWhen;
  /** cleanup.policy holds compact: the cleaner keeps the latest record per key (cleaner.ts). */
  compact?: boolean;
  /** cleanup.policy holds delete (the default): retention.ms and retention.bytes apply. */
  deleteByRetention?: boolean;
  /** min.cleanable.dirty.ratio: clean once dirty bytes / cleanable bytes reach this. */
  minCleanableDirtyRatio?: number;
  /** min.compaction.lag.ms: a segment with a record younger than this is not cleaned yet. */
  minCompactionLagMs?: number;
  /** max.compaction.lag.ms: clean whatever the ratio once the oldest dirty record is older than this. */
  maxCompactionLagMs?: number;
  /** delete.retention.ms: how long a tombstone (and an empty transaction's marker) outlives the pass that first cleaned its segment. */
  deleteRetentionMs?: number;
  /** Most keys one cleaning pass maps (bounds the cleaner thread's memory); a larger dirty range is cleaned over several passes. */
  cleanerMaxKeys?: number;
}

/** Keys one cleaning pass maps by default: a few hundred MB of the cleaner thread's heap at most, with keys of a few dozen bytes. */
export const DEFAULT_CLEANER_MAX_KEYS = 1_000_000;

export const VisibleWhen = { written: 'written', durable: 'durable' } as const;
export type VisibleWhen = (typeof VisibleWhen)[keyof typeof VisibleWhen];

const DAY_MS = 24 * 60 * 60 * 1000;

export const defaultLogConfig: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  tailCacheBytes: 1024 * 1024,
  visibleWhen: VisibleWhen.written,
  compact: false,
  deleteByRetention: true,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  deleteRetentionMs: DAY_MS,
});

/** The compaction settings with their defaults filled in. */
export function compactionSettings(c: LogConfig): { compact: boolean; deleteByRetention: boolean; minCleanableDirtyRatio: number; minCompactionLagMs: number; maxCompactionLagMs: number; deleteRetentionMs: number } {
  return {
    compact: c.compact ?? false,
    deleteByRetention: c.deleteByRetention ?? true,
    minCleanableDirtyRatio: c.minCleanableDirtyRatio ?? 0.5,
    minCompactionLagMs: c.minCompactionLagMs ?? 0,
    maxCompactionLagMs: c.maxCompactionLagMs ?? Number.MAX_SAFE_INTEGER,
    deleteRetentionMs: c.deleteRetentionMs ?? DAY_MS,
  };
}

/** Segment positions are int32 in the index files, so a segment must stay below 2 GiB. */
const MAX_SEGMENT_BYTES = 2147483647;

/** Throws a StorageError naming the first bad field. */
export function checkLogConfig(c: LogConfig): void {
  const bad = (field: string, rule: string): never => {
    throw new StorageError(StorageErrorCode.invalidConfig, `log config ${field}=${String((c as unknown as Record<string, unknown>)[field])} is invalid: ${rule}`);
  };
  const isInt = (v: number): boolean => Number.isSafeInteger(v);
  if (!isInt(c.segmentBytes) || c.segmentBytes < 14 || c.segmentBytes > MAX_SEGMENT_BYTES) bad('segmentBytes', `expected an integer in [14, ${MAX_SEGMENT_BYTES}]`);
  if (!isInt(c.segmentMs) || c.segmentMs < 1) bad('segmentMs', 'expected a positive integer');
  if (!isInt(c.retentionMs) || c.retentionMs < -1) bad('retentionMs', 'expected -1 or a non-negative integer');
  if (!isInt(c.retentionBytes) || c.retentionBytes < -1) bad('retentionBytes', 'expected -1 or a non-negative integer');
  if (!isInt(c.indexIntervalBytes) || c.indexIntervalBytes < 0) bad('indexIntervalBytes', 'expected a non-negative integer');
  if (!isInt(c.tailCacheBytes) || c.tailCacheBytes < 0) bad('tailCacheBytes', 'expected a non-negative integer');
  const ratio = c.minCleanableDirtyRatio;
  if (ratio !== undefined && !(ratio >= 0 && ratio <= 1)) bad('minCleanableDirtyRatio', 'expected a number in [0, 1]');
  if (c.minCompactionLagMs !== undefined && (!isInt(c.minCompactionLagMs) || c.minCompactionLagMs < 0)) bad('minCompactionLagMs', 'expected a non-negative integer');
  if (c.maxCompactionLagMs !== undefined && (!isInt(c.maxCompactionLagMs) || c.maxCompactionLagMs < 1)) bad('maxCompactionLagMs', 'expected a positive integer');
  if (c.deleteRetentionMs !== undefined && (!isInt(c.deleteRetentionMs) || c.deleteRetentionMs < 0)) bad('deleteRetentionMs', 'expected a non-negative integer');
  if (c.cleanerMaxKeys !== undefined && (!isInt(c.cleanerMaxKeys) || c.cleanerMaxKeys < 1)) bad('cleanerMaxKeys', 'expected a positive integer');
  if (c.visibleWhen !== undefined && c.visibleWhen !== VisibleWhen.written && c.visibleWhen !== VisibleWhen.durable) bad('visibleWhen', "expected 'written' or 'durable'");
}
