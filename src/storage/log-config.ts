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
}

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
});

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
  if (c.visibleWhen !== undefined && c.visibleWhen !== VisibleWhen.written && c.visibleWhen !== VisibleWhen.durable) bad('visibleWhen', "expected 'written' or 'durable'");
}
