// One segment of a partition log: the `.log` file of whole batches starting at `baseOffset`,
// its in-memory offset and time indexes, and the counters the log needs to place appends and
// answer reads. A segment tracks two sizes: `size` includes appends still queued for writing
// (assigned synchronously in append), `writtenSize` only what a completed write covered.
// Indexes and timestamps are updated on write completion, so a failed write has nothing
// in them to undo.

import { join } from 'node:path';
import {
  BATCH_HEADER_SIZE,
  Off,
  baseOffset as batchBaseOffset,
  batchSize,
  crcMatches,
  lastOffsetDelta,
  maxTimestamp as batchMaxTimestamp,
} from '../protocol/record-batch.js';
import type { LogFile } from './file-ops.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import type { AbortedTxnEntry } from './txn-index.js';

export const FileSuffix = {
  log: '.log',
  index: '.index',
  timeIndex: '.timeindex',
  txnIndex: '.txnindex',
  snapshot: '.snapshot',
} as const;

/** Kafka names segment files by their base offset, zero-padded to 20 digits. */
export function segmentFileName(base: number, suffix: string): string {
  return String(base).padStart(20, '0') + suffix;
}

/** The base offset a `.log` file name encodes, or -1 when the name is not a segment's. */
export function parseSegmentFileName(name: string): number {
  const m = /^(\d{20})\.log$/.exec(name);
  if (m === null) return -1;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : -1;
}

export class Segment {
  readonly baseOffset: number;
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  readonly txnIndexPath: string;
  /** Producer state as of baseOffset. */
  readonly snapshotPath: string;
  /** Open handle; null until first needed (new segments are created by the writer). */
  file: LogFile | null;
  /** Bytes assigned to this segment, including queued writes. */
  size: number;
  /** Bytes a completed write covered. */
  writtenSize: number;
  /** Next offset to assign in this segment. */
  nextOffset: number;
  /** Next offset after the last written batch. */
  writtenNextOffset: number;
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
  bytesSinceIndexEntry: number;
  /** Largest batch maxTimestamp written here, and the last offset of that batch. */
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
  /** When the first batch was appended (segment.ms counts from here); -1 while empty. */
  rollStartMs: number;
  /** Time of the last write, for retention of batches without timestamps. */
  lastModifiedMs: number;
  /** Index files written and data fsynced; no more appends go here. */
  sealed: boolean;
  /** The file is known to hold bytes past writtenSize (a failed write); cut them before writing. */
  needsTruncate: boolean;
  /** Reads in flight; a deleted segment's file is closed when they finish. */
  readers: number;
  deleted: boolean;
  /** Aborted transactions whose ABORT marker lies in this segment, in marker order. */
  abortedTxns: AbortedTxnEntry[];
  /** Producer state as of baseOffset, taken when the segment was rolled; written (then dropped) before its first write. */
  snapshot: Buffer | null;
  /** The seal in progress, so the writer and a time-based roll do not seal twice. */
  sealing: Promise<void> | null;

  constructor(dir: string, baseOffset: number) {
    this.baseOffset = baseOffset;
    this.logPath = join(dir, segmentFileName(baseOffset, FileSuffix.log));
    this.indexPath = join(dir, segmentFileName(baseOffset, FileSuffix.index));
    this.timeIndexPath = join(dir, segmentFileName(baseOffset, FileSuffix.timeIndex));
    this.txnIndexPath = join(dir, segmentFileName(baseOffset, FileSuffix.txnIndex));
    this.snapshotPath = join(dir, segmentFileName(baseOffset, FileSuffix.snapshot));
    this.file = null;
    this.size = 0;
    this.writtenSize = 0;
    this.nextOffset = baseOffset;
    this.writtenNextOffset = baseOffset;
    this.offsetIndex = new OffsetIndex();
    this.timeIndex = new TimeIndex();
    this.bytesSinceIndexEntry = 0;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.rollStartMs = -1;
    this.lastModifiedMs = 0;
    this.sealed = false;
    this.needsTruncate = false;
    this.readers = 0;
    this.deleted = false;
    this.abortedTxns = [];
    this.snapshot = null;
    this.sealing = null;
  }

  /** Every file of this segment, for deleting it. */
  filePaths(): string[] {
    return [this.logPath, this.indexPath, this.timeIndexPath, this.txnIndexPath, this.snapshotPath];
  }

  /**
   * Accounts for whole batches now in the file at `filePosition` (`buf` from `pos` to `end`):
   * index entries every indexIntervalBytes, running max timestamp, written size and offset.
   */
  recordWritten(buf: Buffer, pos: number, end: number, filePosition: number, indexIntervalBytes: number): void {
    let p = pos;
    let fp = filePosition;
    while (p < end) {
      const size = batchSize(buf, p);
      const base = batchBaseOffset(buf, p);
      const last = base + lastOffsetDelta(buf, p);
      const ts = batchMaxTimestamp(buf, p);
      if (ts > this.maxTimestamp) {
        this.maxTimestamp = ts;
        this.offsetOfMaxTimestamp = last;
      }
      // Same rule as Kafka: an entry for this batch once more than the interval has passed
      // since the last one, so the first batch (position 0) is found without an entry.
      // A segment written before appends rolled at the int32 boundary may hold offsets past
      // it: those get no entry (a lookup scans from the last entry) rather than a wrapped one.
      if (this.bytesSinceIndexEntry > indexIntervalBytes && fitsRelativeOffset(this.baseOffset, last)) {
        this.offsetIndex.append(base - this.baseOffset, fp);
        this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
        this.bytesSinceIndexEntry = 0;
      }
      this.bytesSinceIndexEntry += size;
      this.writtenNextOffset = last + 1;
      p += size;
      fp += size;
    }
    this.writtenSize = fp;
  }

  /** Final time index entry carrying the segment's largest timestamp, so the last entry is its max. */
  finishTimeIndex(): void {
    if (this.maxTimestamp >= 0 && fitsRelativeOffset(this.baseOffset, this.offsetOfMaxTimestamp)) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp - this.baseOffset);
  }
}

/** Largest offset a segment can hold relative to its base: index entries store it as an int32, as Kafka's do. */
export const MAX_RELATIVE_OFFSET = 2147483647;

/** Whether `offset` can be indexed in the segment starting at `segmentBase`. */
export function fitsRelativeOffset(segmentBase: number, offset: number): boolean {
  return offset - segmentBase <= MAX_RELATIVE_OFFSET;
}

/** Last offset `batches` (whole batches, back to back) take when the first is given offset `base`. */
export function lastOffsetOf(batches: Buffer, base: number): number {
  let next = base;
  for (let p = 0; p < batches.length; p += batchSize(batches, p)) next += lastOffsetDelta(batches, p) + 1;
  return next - 1;
}

export interface ScanResult {
  /** Bytes of whole, valid batches from the start of the file. */
  validSize: number;
  /** Next offset after the last valid batch. */
  nextOffset: number;
  /** Why the scan stopped before the end of the file, or '' when it reached it cleanly. */
  problem: string;
}

const SCAN_CHUNK = 1024 * 1024;

/**
 * Walks the batches of a segment file from its start, checking each header (length, magic 2,
 * offsets contiguous from `baseOffset`) and, with `verifyCrc`, its CRC32C. Stops at the first
 * batch that fails, which recovery treats as the torn tail. `visit` sees every valid batch.
 */
export async function scanSegment(
  file: LogFile,
  fileSize: number,
  baseOffset: number,
  verifyCrc: boolean,
  visit: (buf: Buffer, pos: number, end: number, filePosition: number) => void,
): Promise<ScanResult> {
  let filePos = 0;
  let expected = baseOffset;
  let chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(fileSize, 1)));
  const result: ScanResult = { validSize: 0, nextOffset: baseOffset, problem: '' };
  while (filePos < fileSize) {
    const want = Math.min(chunk.length, fileSize - filePos);
    const got = await readFully(file, chunk, want, filePos);
    let p = 0;
    while (p < got) {
      if (got - p < BATCH_HEADER_SIZE) break;
      const size = batchSize(chunk, p);
      const problem = checkHeader(chunk, p, size, expected, fileSize - filePos - p);
      if (problem !== '') {
        if (p > 0) visit(chunk, 0, p, filePos);
        result.validSize = filePos + p;
        result.nextOffset = expected;
        result.problem = problem;
        return result;
      }
      if (size > got - p) break; // the batch continues past this chunk
      if (verifyCrc && !crcMatches(chunk, p, size)) {
        if (p > 0) visit(chunk, 0, p, filePos);
        result.validSize = filePos + p;
        result.nextOffset = expected;
        result.problem = `CRC32C mismatch in the batch at offset ${expected}`;
        return result;
      }
      expected += lastOffsetDelta(chunk, p) + 1;
      p += size;
    }
    if (p > 0) visit(chunk, 0, p, filePos);
    if (p === 0) {
      // Not even one whole batch fits: the tail is torn, or one batch is larger than the chunk.
      if (got - p >= BATCH_HEADER_SIZE && batchSize(chunk, 0) <= fileSize - filePos) {
        chunk = Buffer.allocUnsafe(batchSize(chunk, 0));
        continue;
      }
      result.validSize = filePos;
      result.nextOffset = expected;
      result.problem = `torn batch (${fileSize - filePos} bytes) at the end of the segment`;
      return result;
    }
    // Visitors read the chunk synchronously, so it can be reused for the next read.
    filePos += p;
  }
  result.validSize = filePos;
  result.nextOffset = expected;
  return result;
}

function checkHeader(buf: Buffer, p: number, size: number, expected: number, bytesLeft: number): string {
  const magic = buf.readInt8(p + Off.magic);
  if (magic !== 2) return `magic ${magic} at offset ${expected}`;
  if (size < BATCH_HEADER_SIZE) return `batch length ${size} below the header size at offset ${expected}`;
  if (size > bytesLeft) return `torn batch at offset ${expected}: ${size} bytes declared, ${bytesLeft} in the file`;
  const base = batchBaseOffset(buf, p);
  if (base !== expected) return `batch base offset ${base} where ${expected} was expected`;
  if (lastOffsetDelta(buf, p) < 0) return `negative lastOffsetDelta at offset ${expected}`;
  return '';
}

/** Reads exactly `length` bytes at `position` (fewer only at end of file). */
export async function readFully(file: LogFile, into: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await file.read(into, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
