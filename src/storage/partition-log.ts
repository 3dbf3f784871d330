// A partition's log: segments of whole v2 batches named by base offset, appends with
// coalesced writes and group-committed fsyncs, reads by offset (from the in-memory tail or
// the segment files) and by timestamp, retention and DeleteRecords.
//
// Event-loop rule: every state change (offsets, positions, segment list, watermarks) happens
// synchronously within one turn; only file I/O is awaited. Offsets are assigned in append(),
// so the order of appends is the order of offsets whatever the disk does.
//
// Four positions move forward: logEndOffset (assigned), the written offset (in the file), the
// durable offset (fsynced) and highWatermark (visible to reads): the written offset, or with
// visibleWhen 'durable' the durable one, every write run then starting an fsync by itself. A
// failed write rolls logEndOffset back to the written offset and cuts the file there, so the
// log stays whole and later appends work.
//
// Producer state (sequences, open transactions) is updated in append() from batch headers, in
// the same turn, and rolled back with logEndOffset. A transaction stays unstable (holds the last
// stable offset back) until its marker is visible, so read_committed never passes data whose
// fate the log does not show yet.
//
// A failed fsync is different: the OS may have dropped the dirty pages it could not write, so
// what the page cache shows past the durable offset says nothing about the disk. The log goes
// offline (appends, reads and flushes fail with RIV_ERR_STORAGE), its high watermark drops to
// the durable offset, and it is recovered from disk: the files are cut back to the last
// successful fsync and reopened through recovery. Nothing past that point stays readable, so
// a producer told the append failed can retry and its records land once.

import { join } from 'node:path';
import {
  BATCH_HEADER_SIZE,
  baseOffset as batchBaseOffset,
  batchSize,
  lastOffsetDelta,
  maxTimestamp as batchMaxTimestamp,
  setBaseOffset,
  setPartitionLeaderEpoch,
} from '../protocol/record-batch.js';
import { ProducerStates } from './producer-state.js';
import { abortedEntry, collectAborted, txnIndexToBuffer } from './txn-index.js';
import { DataError, firstRecordAtOrAfter, offsetOfMaxTimestamp } from '../protocol/records.js';
import { CLEAN_SHUTDOWN_MARKER, replaceFile, writeLogStartOffset } from './checkpoint.js';
import { StorageError, StorageErrorCode, ioError, offsetOutOfRange } from './errors.js';
import { OpenMode, nodeFileOps, type FileOps, type LogFile } from './file-ops.js';
import { VisibleWhen, checkLogConfig, defaultLogConfig, type LogConfig } from './log-config.js';
import { recoverLog, type RecoveredLog } from './recovery.js';
import { MAX_RELATIVE_OFFSET, Segment, fitsRelativeOffset, lastOffsetOf, readFully } from './segment.js';
import { TailCache } from './tail-cache.js';
import { OpenSegments, sharedOpenSegments } from './open-segments.js';
import type { AbortedTransaction } from './log.js';
import type { AbortedTxnEntry } from './txn-index.js';

export { StorageError, StorageErrorCode } from './errors.js';
export { defaultLogConfig, checkLogConfig, VisibleWhen, type LogConfig } from './log-config.js';
export { nodeFileOps, OpenMode, type FileOps, type LogFile } from './file-ops.js';
export { ProducerStates } from './producer-state.js';
export { OpenSegments, DEFAULT_OPEN_SEGMENTS_MAX } from './open-segments.js';

export interface PartitionLogOptions {
  /** File operations; tests substitute one that counts fsyncs or fails on demand. */
  fileOps?: FileOps;
  /** Milliseconds since the epoch, for segment.ms. */
  clock?: () => number;
  /** The bounded set of open sealed-segment files this log shares with others (log.open.segments.max). */
  openSegments?: OpenSegments;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** Resolves once the bytes are in the file (not fsynced); rejects with a StorageError. */
  written: Promise<void>;
}

interface PendingWrite {
  segment: Segment;
  position: number;
  buf: Buffer;
  baseOffset: number;
  /** One past the last offset. */
  endOffset: number;
  /** performance.now() at append, when write listeners are set (else 0): for the append-to-written time. */
  appendedAt: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface HeaderHit {
  buf: Buffer;
  /** Position of the batch header in `buf`. */
  pos: number;
  /** Position of the batch in the segment file. */
  filePos: number;
}

interface FlushWaiter {
  target: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A transaction whose marker is appended but not yet visible: it still holds the last stable offset at its first offset. */
interface ClosingTransaction {
  firstOffset: number;
  markerOffset: number;
}

/** The largest timestamp of a write run, applied to maxTimestampInfo once the run is visible. */
interface PendingMaxTimestamp {
  endOffset: number;
  timestamp: number;
  offset: number;
}

const noop = (): void => undefined;

/** A failed fsync while sealing: the writer takes the log offline rather than only rolling back. */
class FsyncFailure extends Error {
  readonly error: StorageError;
  constructor(error: StorageError) {
    super(error.message);
    this.error = error;
  }
}

export class PartitionLog {
  readonly dir: string;
  /** Called synchronously when the high watermark or the log start moves (see Log.advanceListeners). */
  readonly advanceListeners: Set<() => void>;
  /** Called with the seconds each data fsync took (group commits and segment seals). */
  readonly fsyncListeners: Set<(seconds: number) => void>;
  /** Called with the seconds each append took from append() to written (queued behind the write in flight, then written). */
  readonly writeListeners: Set<(seconds: number) => void>;
  /** Sequences, epochs and open transactions of the producers writing here; append() keeps it current. */
  readonly producers: ProducerStates;
  /** What recovery found and repaired at open, one sentence each. */
  readonly recoveryNotes: string[];

  private cfg: LogConfig;
  private readonly ops: FileOps;
  private readonly openSegments: OpenSegments;
  private readonly clock: () => number;
  private segments: Segment[];
  /** Log start offset (Kafka's "LSO" is the last stable offset, which transactions add; this is not it). */
  private startOffset: number;
  private leo: number;
  /** One past the last offset a completed write put in the file. */
  private written: number;
  private hw: number;
  private durable: number;
  private closing: ClosingTransaction[];
  private pendingMax: PendingMaxTimestamp[];
  private maxTs: number;
  private maxTsOffset: number;
  private readonly cache: TailCache;
  private queue: PendingWrite[];
  private writing: boolean;
  /** Segment holding the last written byte: the file a group commit must fsync. */
  private lastWritten: Segment;
  private dirDirty: boolean;
  private syncing: boolean;
  private flushWaiters: FlushWaiter[];
  private drainWaiters: Array<() => void>;
  private metaChain: Promise<void>;
  private state: 'open' | 'closing' | 'closed';
  private closePromise: Promise<void> | null;
  /** Segment and byte position of the durable offset, where recovery after a failed fsync cuts. */
  private durableBase: number;
  private durableSize: number;
  /** Set while the log is offline after a failed fsync: what every request is told until recovery ends. */
  private failure: StorageError | null;
  private recovering: Promise<void> | null;
  private syncDone: Promise<void>;

  private constructor(dir: string, config: LogConfig, ops: FileOps, openSegments: OpenSegments, clock: () => number, segments: Segment[], logStart: number, producers: ProducerStates, notes: string[]) {
    this.dir = dir;
    this.cfg = config;
    this.openSegments = openSegments;
    this.advanceListeners = new Set();
    this.fsyncListeners = new Set();
    this.writeListeners = new Set();
    this.producers = producers;
    this.recoveryNotes = notes;
    this.ops = ops;
    this.clock = clock;
    this.segments = segments;
    const last = segments[segments.length - 1]!;
    this.startOffset = logStart;
    this.leo = last.writtenNextOffset;
    this.written = this.leo;
    this.hw = this.leo;
    // Recovery cut the tail at what the disk holds; everything there counts as durable.
    this.durable = this.leo;
    this.closing = [];
    this.pendingMax = [];
    this.durableBase = last.baseOffset;
    this.durableSize = last.writtenSize;
    this.maxTs = -1;
    this.maxTsOffset = -1;
    this.cache = new TailCache(config.tailCacheBytes);
    this.queue = [];
    this.writing = false;
    this.lastWritten = last;
    this.dirDirty = false;
    this.syncing = false;
    this.flushWaiters = [];
    this.drainWaiters = [];
    this.metaChain = Promise.resolve();
    this.state = 'open';
    this.closePromise = null;
    this.failure = null;
    this.recovering = null;
    this.syncDone = Promise.resolve();
    this.recomputeMaxTimestamp();
  }

  /** Opens or creates the partition directory and recovers it (see recovery.ts). */
  static async open(dir: string, config: LogConfig = defaultLogConfig, options: PartitionLogOptions = {}): Promise<PartitionLog> {
    checkLogConfig(config);
    const ops = options.fileOps ?? nodeFileOps;
    const clock = options.clock ?? Date.now;
    const r = await recoverLog(dir, ops, config, clock());
    return new PartitionLog(dir, { ...config }, ops, options.openSegments ?? sharedOpenSegments, clock, r.segments, r.logStartOffset, r.producers, r.notes);
  }

  get logStartOffset(): number {
    return this.startOffset;
  }
  get logEndOffset(): number {
    return this.leo;
  }
  get highWatermark(): number {
    return this.hw;
  }
  /** The first offset of the oldest unstable transaction (open, or its marker not yet visible), or the high watermark. */
  get lastStableOffset(): number {
    let lso = this.hw;
    const open = this.producers.firstOpenOffset();
    if (open >= 0 && open < lso) lso = open;
    for (const c of this.closing) if (c.firstOffset < lso) lso = c.firstOffset;
    return lso;
  }

  abortedTransactions(from: number, upTo: number): AbortedTransaction[] {
    const first = this.segmentIndexFor(from);
    const indexes: AbortedTxnEntry[][] = [];
    for (let i = first; i < this.segments.length; i++) indexes.push(this.segments[i]!.abortedTxns);
    return collectAborted(indexes, from, upTo);
  }

  expireProducers(now: number, expirationMs: number): void {
    this.producers.expire(now, expirationMs);
  }

  /** Offsets below this are fsynced. */
  get durableOffset(): number {
    return this.durable;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** Current settings; assigning applies them (same as setConfig). */
  get config(): LogConfig {
    return this.cfg;
  }
  set config(config: LogConfig) {
    this.setConfig(config);
  }

  /** Applies changed topic configs; takes effect for the next append, read and retention pass. Throws on invalid values. */
  setConfig(config: LogConfig): void {
    checkLogConfig(config);
    // A copy, so the caller mutating its object later cannot bypass the checks.
    this.cfg = { ...config };
    this.cache.setLimit(config.tailCacheBytes);
    if (!this.durableVisibility) this.makeVisible(this.written);
    else this.maybeSync();
  }

  private get durableVisibility(): boolean {
    return this.cfg.visibleWhen === VisibleWhen.durable;
  }

  append(batches: Buffer): AppendResult {
    this.assertOpen();
    this.assertOnline();
    if (batches.length < BATCH_HEADER_SIZE) {
      throw new StorageError(StorageErrorCode.corrupt, `append of ${batches.length} bytes holds no whole record batch; validate batches before appending`);
    }
    const now = this.clock();
    let seg = this.segments[this.segments.length - 1]!;
    // Relative offsets are int32 in the indexes: roll before an append they could not express.
    const last = lastOffsetOf(batches, this.leo);
    if (seg.size > 0 && (seg.size + batches.length > this.cfg.segmentBytes || now - seg.rollStartMs >= this.cfg.segmentMs || !fitsRelativeOffset(seg.baseOffset, last))) {
      // The previous segment is sealed by the writer before any byte goes to this one, and
      // the producer state as of this offset is stored with it, so recovery starts from there.
      seg = new Segment(this.dir, this.leo);
      seg.snapshot = this.producers.toSnapshot();
      this.segments.push(seg);
    }
    if (!fitsRelativeOffset(seg.baseOffset, last)) {
      throw new StorageError(StorageErrorCode.corrupt, `append of batches spanning offsets ${this.leo} to ${last} does not fit one segment (at most ${MAX_RELATIVE_OFFSET + 1} offsets); validate batches before appending`);
    }
    const base = this.leo;
    let next = base;
    for (let p = 0; p < batches.length; ) {
      const size = batchSize(batches, p);
      setBaseOffset(batches, p, next);
      setPartitionLeaderEpoch(batches, p, 0);
      next += lastOffsetDelta(batches, p) + 1;
      const closed = this.producers.apply(batches, p, size, p > 0);
      if (closed !== null) {
        this.closing.push({ firstOffset: closed.firstOffset, markerOffset: closed.lastOffset });
        if (closed.aborted) seg.abortedTxns.push(abortedEntry(closed, this.producers));
      }
      p += size;
    }
    const position = seg.size;
    seg.size += batches.length;
    seg.nextOffset = next;
    if (seg.rollStartMs < 0) seg.rollStartMs = now;
    this.leo = next;
    let resolve = noop;
    let reject: (err: Error) => void = noop;
    const written = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A caller that ignores `written` (acks=0) must not turn a disk error into an unhandled rejection.
    written.catch(noop);
    this.queue.push({ segment: seg, position, buf: batches, baseOffset: base, endOffset: next, appendedAt: this.writeListeners.size === 0 ? 0 : performance.now(), resolve, reject });
    if (!this.writing) {
      this.writing = true;
      // Start after the current turn so appends made in the same turn share one writev.
      queueMicrotask(() => void this.pump());
    }
    return { baseOffset: base, lastOffset: next - 1, written };
  }

  /** Group commit: resolves once everything appended before the call is fsynced. */
  flush(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    if (this.failure !== null) return Promise.reject(this.offlineError());
    const target = this.leo;
    if (target <= this.durable) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.flushWaiters.push({ target, resolve, reject });
      this.maybeSync();
    });
  }

  /**
   * Whole batches starting with the one holding `offset`, up to `maxBytes` but at least one,
   * and only batches starting below `upTo` (read_committed passes the last stable offset) and
   * the high watermark. Each returned Buffer holds one or more whole batches. The first batch
   * may start before `offset` (the client skips records it did not ask for), as Kafka does.
   */
  async read(offset: number, maxBytes: number, upTo?: number): Promise<Buffer[]> {
    this.assertNotClosed();
    this.assertOnline();
    if (offset < this.startOffset || offset > this.hw) throw offsetOutOfRange(offset, this.startOffset, this.hw);
    // The file and the tail cache hold written batches the high watermark may not cover yet.
    const end = upTo === undefined ? this.hw : Math.min(upTo, this.hw);
    if (offset >= end) return [];
    const cached = this.cache.read(offset, maxBytes, end);
    if (cached !== null) return cached;
    const seg = this.segmentFor(offset);
    seg.readers++;
    try {
      return await this.readSegment(seg, offset, maxBytes, end);
    } finally {
      this.releaseReader(seg);
    }
  }

  /**
   * ListOffsets by timestamp, as Kafka answers it: the first record at or above the log start
   * whose timestamp is >= `timestamp`, with that record's timestamp. The time index and batch
   * headers find the first batch whose maxTimestamp qualifies; only that batch's records are
   * decoded (inflated if compressed). A batch whose records cannot be decoded answers with its
   * base offset and maxTimestamp, the best its header can say.
   */
  async offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    this.assertNotClosed();
    this.assertOnline();
    // A copy: retention may drop segments while this awaits.
    for (const seg of this.segments.slice()) {
      if (seg.maxTimestamp < timestamp || seg.writtenNextOffset <= this.startOffset) continue;
      const rel = Math.max(seg.timeIndex.lookupBefore(timestamp), this.startOffset - seg.baseOffset, 0);
      let from = seg.offsetIndex.lookup(rel);
      seg.readers++;
      try {
        for (;;) {
          const found = await this.scanHeaders(seg, from, (buf, p) => {
            const end = batchBaseOffset(buf, p) + lastOffsetDelta(buf, p) + 1;
            return end > this.startOffset && batchMaxTimestamp(buf, p) >= timestamp;
          });
          if (found === null) break;
          const batch = await this.wholeBatch(seg, found);
          // Written but not yet visible (visibleWhen 'durable'): as if absent.
          if (batchBaseOffset(batch, 0) >= this.hw) return null;
          const logStart = this.startOffset;
          let hit: { offset: number; timestamp: number } | null;
          try {
            hit = await firstRecordAtOrAfter(batch, timestamp, logStart);
          } catch (err) {
            if (!(err instanceof DataError)) throw err;
            hit = { offset: Math.max(batchBaseOffset(batch, 0), logStart), timestamp: batchMaxTimestamp(batch, 0) };
          }
          // None when the qualifying records sit below the log start: go on to the next batch.
          if (hit !== null) return hit;
          from = found.filePos + batch.length;
        }
      } finally {
        this.releaseReader(seg);
      }
    }
    return null;
  }

  /**
   * ListOffsets MAX_TIMESTAMP (KIP-734, Kafka 4 semantics): the first record holding the
   * largest timestamp in the log, with that timestamp; {-1, -1} when no batch has one.
   * Appends only track which batch holds it (the first if several tie); the record is found
   * here by decoding that one batch.
   */
  async maxTimestampInfo(): Promise<{ offset: number; timestamp: number }> {
    this.assertNotClosed();
    this.assertOnline();
    const ts = this.maxTs;
    // The last offset of the first batch carrying `ts`.
    const last = this.maxTsOffset;
    if (ts < 0) return { offset: -1, timestamp: -1 };
    const fallback = { offset: last, timestamp: ts };
    const seg = this.segmentFor(last);
    if (last < seg.baseOffset || last >= seg.writtenNextOffset) return fallback;
    seg.readers++;
    try {
      const found = await this.scanHeaders(seg, seg.offsetIndex.lookup(last - seg.baseOffset), (buf, p) => batchBaseOffset(buf, p) + lastOffsetDelta(buf, p) >= last);
      if (found === null) return fallback;
      const batch = await this.wholeBatch(seg, found);
      if (batchBaseOffset(batch, 0) > last || batchMaxTimestamp(batch, 0) !== ts) return fallback;
      try {
        return (await offsetOfMaxTimestamp(batch)) ?? fallback;
      } catch (err) {
        if (err instanceof DataError) return fallback;
        throw err;
      }
    } finally {
      this.releaseReader(seg);
    }
  }

  /** DeleteRecords: raises the log start offset (persisted), removes segments wholly below it. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    this.assertOpen();
    this.assertOnline();
    if (offset < 0 || offset > this.hw) throw offsetOutOfRange(offset, this.startOffset, this.hw);
    if (offset <= this.startOffset) return this.startOffset;
    this.startOffset = offset;
    this.notifyAdvance();
    const doomed: Segment[] = [];
    while (this.segments.length > 1) {
      const seg = this.segments[0]!;
      if (!seg.sealed || this.segments[1]!.baseOffset > offset) break;
      doomed.push(this.segments.shift()!);
    }
    await this.dropSegments(doomed);
    return this.startOffset;
  }

  /** Deletes whole old segments past retention.ms / retention.bytes; never the active segment. */
  async enforceRetention(now: number): Promise<void> {
    if (this.state !== 'open' || this.failure !== null) return;
    const { retentionMs, retentionBytes } = this.cfg;
    let size = this.sizeBytes();
    const doomed: Segment[] = [];
    while (this.segments.length > 1) {
      const seg = this.segments[0]!;
      // Unsealed means the writer has not finished with it yet.
      if (!seg.sealed) break;
      const newest = seg.maxTimestamp >= 0 ? seg.maxTimestamp : seg.lastModifiedMs;
      const byTime = retentionMs >= 0 && now - newest > retentionMs;
      const bySize = retentionBytes >= 0 && size - seg.writtenSize >= retentionBytes;
      if (!byTime && !bySize) break;
      doomed.push(this.segments.shift()!);
      size -= seg.writtenSize;
    }
    if (doomed.length === 0) return;
    const start = this.startOffset;
    this.startOffset = Math.max(start, this.segments[0]!.baseOffset);
    if (this.startOffset !== start) this.notifyAdvance();
    await this.dropSegments(doomed);
  }

  /** Bytes in the segment files (written data only). */
  sizeBytes(): number {
    let n = 0;
    for (const seg of this.segments) n += seg.writtenSize;
    return n;
  }

  /** Waits for writes, fsyncs, closes files, marks a clean shutdown. Rejects when a step failed; the next open recovers the log. */
  close(): Promise<void> {
    if (this.closePromise === null) this.closePromise = this.doClose();
    return this.closePromise;
  }

  /** Closes and removes the partition directory (DeleteTopics). */
  async destroy(): Promise<void> {
    await this.close().catch(noop);
    try {
      await this.ops.rmdir(this.dir);
    } catch (err) {
      throw ioError(`removing partition directory ${this.dir}`, err);
    }
  }

  // --- writing ---

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const items = this.queue;
        this.queue = [];
        let i = 0;
        while (i < items.length) {
          if (this.failure !== null) {
            // Offline since these were taken off the queue: none of them may become readable.
            for (let k = i; k < items.length; k++) items[k]!.reject(this.failure);
            break;
          }
          const seg = items[i]!.segment;
          let j = i + 1;
          while (j < items.length && items[j]!.segment === seg) j++;
          try {
            await this.prepareSegment(seg);
            await this.writeRun(seg, items, i, j);
          } catch (err) {
            await this.failWrites(seg, items, i, err);
            if (err instanceof FsyncFailure) this.goOffline(err.error);
            break;
          }
          if (this.failure !== null) continue; // the check above rejects them
          this.completeRun(seg, items, i, j);
          i = j;
        }
      }
    } catch (err) {
      // Only a bug lands here; fail what is pending rather than leave callers hanging.
      const e = err instanceof Error ? err : new Error(String(err));
      for (const w of this.queue.splice(0)) w.reject(e);
    } finally {
      this.writing = false;
      for (const d of this.drainWaiters.splice(0)) d();
    }
  }

  /** Before the first write to a segment: seal the previous one, create the file, cut any failed tail. */
  private async prepareSegment(seg: Segment): Promise<void> {
    if (seg.file !== null && !seg.needsTruncate) return;
    const idx = this.segments.indexOf(seg);
    const prev = idx > 0 ? this.segments[idx - 1]! : null;
    if (prev !== null && !prev.sealed) await this.seal(prev);
    if (seg.snapshot !== null) {
      await replaceFile(this.ops, seg.snapshotPath, seg.snapshot);
      seg.snapshot = null;
    }
    if (seg.file === null) {
      seg.file = await this.ops.open(seg.logPath, OpenMode.create);
      this.dirDirty = true;
    }
    if (seg.needsTruncate) {
      await seg.file.truncate(seg.writtenSize);
      seg.needsTruncate = false;
    }
  }

  /** Index files written and data fsynced, so recovery never has to scan this segment. */
  private async seal(seg: Segment): Promise<void> {
    seg.finishTimeIndex();
    await replaceFile(this.ops, seg.indexPath, seg.offsetIndex.toBuffer());
    await replaceFile(this.ops, seg.timeIndexPath, seg.timeIndex.toBuffer());
    await replaceFile(this.ops, seg.txnIndexPath, txnIndexToBuffer(seg.abortedTxns));
    if (seg.file !== null) {
      try {
        await this.timedSync(seg.file);
      } catch (err) {
        throw new FsyncFailure(ioError(`fsync of ${seg.logPath} while sealing it`, err));
      }
    }
    seg.sealed = true;
    // Not after another fsync of this log failed: its success cannot be trusted then.
    if (this.failure === null && seg.writtenNextOffset > this.durable) {
      this.setDurable(seg.writtenNextOffset, seg);
      if (this.durableVisibility) this.makeVisible(this.durable);
    }
    // Its handle now counts against log.open.segments.max like any sealed segment's.
    if (seg.file !== null) this.openSegments.use(seg);
  }

  private async writeRun(seg: Segment, items: PendingWrite[], i: number, j: number): Promise<void> {
    const file = seg.file!;
    let bufs: Buffer[] = [];
    let total = 0;
    for (let k = i; k < j; k++) {
      bufs.push(items[k]!.buf);
      total += items[k]!.buf.length;
    }
    const position = items[i]!.position;
    let done = await file.writev(bufs, position);
    while (done < total) {
      // A short write (rare; e.g. the disk filled mid-way): continue with what is left.
      let skip = done;
      const rest: Buffer[] = [];
      for (const b of bufs) {
        if (skip >= b.length) {
          skip -= b.length;
        } else {
          rest.push(skip > 0 ? b.subarray(skip) : b);
          skip = 0;
        }
      }
      bufs = rest;
      const n = await file.writev(bufs, position + done);
      if (n <= 0) throw new Error(`write made no progress at byte ${position + done}`);
      done += n;
    }
  }

  private completeRun(seg: Segment, items: PendingWrite[], i: number, j: number): void {
    const interval = this.cfg.indexIntervalBytes;
    const cacheOn = this.cache.limit > 0;
    for (let k = i; k < j; k++) {
      const w = items[k]!;
      seg.recordWritten(w.buf, 0, w.buf.length, w.position, interval);
      if (cacheOn) {
        for (let p = 0; p < w.buf.length; ) {
          const size = batchSize(w.buf, p);
          const base = batchBaseOffset(w.buf, p);
          this.cache.push(base, base + lastOffsetDelta(w.buf, p) + 1, w.buf, p, size);
          p += size;
        }
      }
    }
    seg.lastModifiedMs = this.clock();
    this.lastWritten = seg;
    this.written = items[j - 1]!.endOffset;
    const top = this.pendingMax.length > 0 ? this.pendingMax[this.pendingMax.length - 1]!.timestamp : this.maxTs;
    if (seg.maxTimestamp > top) {
      if (this.durableVisibility) {
        this.pendingMax.push({ endOffset: this.written, timestamp: seg.maxTimestamp, offset: seg.offsetOfMaxTimestamp });
      } else {
        this.maxTs = seg.maxTimestamp;
        this.maxTsOffset = seg.offsetOfMaxTimestamp;
      }
    }
    for (let k = i; k < j; k++) items[k]!.resolve();
    if (this.writeListeners.size > 0) this.reportWrites(items, i, j);
    if (!this.durableVisibility) this.makeVisible(this.written);
    this.maybeSync();
  }

  /** Moves the high watermark up to `offset`, with what waited for it, and tells the listeners. */
  private makeVisible(offset: number): void {
    if (offset <= this.hw) return;
    this.hw = offset;
    while (this.pendingMax.length > 0 && this.pendingMax[0]!.endOffset <= offset) {
      const m = this.pendingMax.shift()!;
      if (m.timestamp > this.maxTs) {
        this.maxTs = m.timestamp;
        this.maxTsOffset = m.offset;
      }
    }
    if (this.closing.length > 0) this.closing = this.closing.filter((c) => c.markerOffset >= offset);
    this.notifyAdvance();
  }

  /** Rejects the failed run and everything queued after it, and rolls the log back to the high watermark. */
  private async failWrites(seg: Segment, items: PendingWrite[], i: number, cause: unknown): Promise<void> {
    const error = cause instanceof FsyncFailure ? cause.error : ioError(`writing to ${seg.logPath} at byte ${items[i]!.position}`, cause);
    const failed = items.slice(i).concat(this.queue);
    this.queue = [];
    const idx = this.segments.indexOf(seg);
    // Segments rolled for the failed appends were never opened: the writer stopped before them.
    if (idx >= 0) this.segments.length = idx + 1;
    seg.size = seg.writtenSize;
    seg.nextOffset = seg.writtenNextOffset;
    if (seg.writtenSize === 0) seg.rollStartMs = -1;
    seg.needsTruncate = seg.file !== null;
    this.leo = seg.writtenNextOffset;
    this.forgetFrom(this.leo);
    for (const w of failed) w.reject(error);
    const keep: FlushWaiter[] = [];
    for (const f of this.flushWaiters) {
      if (f.target > this.leo) f.reject(error);
      else keep.push(f);
    }
    this.flushWaiters = keep;
    if (seg.file !== null) {
      try {
        await seg.file.truncate(seg.writtenSize);
        seg.needsTruncate = false;
      } catch {
        // Still set: the next write to this segment cuts the file first.
      }
    }
  }

  /** Forgets what appends at or above `offset` did to producer and transaction state: they were rolled back. */
  private forgetFrom(offset: number): void {
    this.producers.truncateFrom(offset);
    this.closing = this.closing.filter((c) => c.markerOffset < offset);
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const seg = this.segments[i]!;
      seg.abortedTxns = seg.abortedTxns.filter((e) => e.lastOffset < offset);
      if (seg.baseOffset <= offset) break;
    }
  }

  /** Tells the write listeners how long each append of a completed run took, append() to written. */
  private reportWrites(items: PendingWrite[], i: number, j: number): void {
    const now = performance.now();
    for (let k = i; k < j; k++) {
      const at = items[k]!.appendedAt;
      if (at === 0) continue;
      const seconds = (now - at) / 1000;
      for (const listener of this.writeListeners) {
        try {
          listener(seconds);
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
  }

  /** fsyncs a data file, reporting how long it took to the fsync listeners (only successful ones). */
  private async timedSync(file: LogFile): Promise<void> {
    if (this.fsyncListeners.size === 0) return file.sync();
    const t0 = performance.now();
    await file.sync();
    const seconds = (performance.now() - t0) / 1000;
    for (const listener of this.fsyncListeners) {
      try {
        listener(seconds);
      } catch (err) {
        // A listener's bug must not count as a failed fsync (which takes the log offline).
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /**
   * Starts an fsync, when none is in flight, if a waiter's bytes are written or (visibleWhen
   * 'durable') anything written is not yet fsynced: appends arriving meanwhile ride the next.
   */
  private maybeSync(): void {
    if (this.syncing || this.failure !== null) return;
    // A waiter whose write is still in flight is started for by the write's completion.
    const waiterReady = this.flushWaiters.length > 0 && this.flushWaiters[0]!.target <= this.written;
    const visibilityWaits = this.durableVisibility && this.written > this.durable;
    if (!waiterReady && !visibilityWaits) return;
    const upTo = this.written;
    const seg = this.lastWritten;
    const size = seg.writtenSize;
    const syncDir = this.dirDirty;
    this.dirDirty = false;
    this.syncing = true;
    this.syncDone = (async () => {
      let error: StorageError | null = null;
      try {
        // A sealed segment was fsynced when sealed, before any write reached the next one.
        if (!seg.sealed && seg.file !== null) await this.timedSync(seg.file);
        if (syncDir) await this.ops.syncDir(this.dir);
      } catch (err) {
        if (syncDir) this.dirDirty = true;
        error = ioError(`fsync of ${seg.logPath}`, err);
      }
      this.syncing = false;
      if (error !== null) {
        // Rejects every flush waiter and whatever is queued, with this error.
        this.goOffline(error);
        return;
      }
      // Another fsync failed meanwhile (a seal of this file): the log is offline and what
      // this one reports cannot be trusted, since pages dropped by that failure count as clean.
      if (this.failure !== null) return;
      if (upTo > this.durable) {
        this.durable = upTo;
        this.durableBase = seg.baseOffset;
        this.durableSize = size;
      }
      // Visible before the flush waiters hear of it: a caller that flushed may rely on reading it.
      if (this.durableVisibility) this.makeVisible(this.durable);
      let n = 0;
      while (n < this.flushWaiters.length && this.flushWaiters[n]!.target <= upTo) n++;
      const done = this.flushWaiters.splice(0, n);
      for (const f of done) f.resolve();
      this.maybeSync();
    })();
  }

  private setDurable(offset: number, seg: Segment): void {
    this.durable = offset;
    this.durableBase = seg.baseOffset;
    this.durableSize = seg.writtenSize;
  }

  // --- offline after a failed fsync, and recovery from disk ---

  /**
   * Takes the log offline: nothing past the durable offset stays readable or is acknowledged,
   * every waiting caller gets `error`, and recovery from disk starts.
   */
  private goOffline(error: StorageError): void {
    if (this.failure === null) this.failure = error;
    const failure = this.offlineError();
    this.hw = Math.min(this.hw, this.durable);
    this.written = Math.min(this.written, this.durable);
    this.leo = this.written;
    this.pendingMax = [];
    // A retry must not be taken for a duplicate of what is lost.
    this.forgetFrom(this.leo);
    this.cache.clear();
    for (const w of this.queue.splice(0)) w.reject(failure);
    for (const f of this.flushWaiters.splice(0)) f.reject(failure);
    // Parked fetches look again and see the lowered high watermark.
    this.notifyAdvance();
    void this.startRecovery();
  }

  /** One recovery at a time; a failed one leaves the log offline and the next request tries again. */
  private startRecovery(): Promise<void> {
    if (this.recovering === null && this.failure !== null && this.state !== 'closed') {
      this.recovering = this.recoverFromDisk().finally(() => {
        this.recovering = null;
      });
    }
    return this.recovering ?? Promise.resolve();
  }

  private async recoverFromDisk(): Promise<void> {
    if (this.writing) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    await this.syncDone;
    await this.metaChain;
    const segments = this.segments;
    for (const seg of segments) {
      this.openSegments.forget(seg);
      const file = seg.file;
      seg.file = null;
      if (file !== null) await file.close().catch(noop);
    }
    try {
      // Cut everything after the last successful fsync, then reopen as after a crash.
      let kept = false;
      for (const seg of segments) {
        if (seg.baseOffset < this.durableBase) continue;
        if (seg.baseOffset === this.durableBase || !kept) {
          const stat = await this.ops.stat(seg.logPath);
          if (stat !== null) {
            const file = await this.ops.open(seg.logPath, OpenMode.readWrite);
            try {
              await file.truncate(seg.baseOffset === this.durableBase ? this.durableSize : 0);
              await file.sync();
            } finally {
              await file.close().catch(noop);
            }
          }
          kept = true;
        } else {
          await Promise.all(seg.filePaths().map((path) => this.ops.unlink(path)));
        }
      }
      await this.ops.syncDir(this.dir);
      const r = await recoverLog(this.dir, this.ops, this.cfg, this.clock());
      if (this.state === 'closed') {
        for (const seg of r.segments) if (seg.file !== null) await seg.file.close().catch(noop);
        return;
      }
      const cut = this.failure;
      this.adopt(r);
      this.recoveryNotes.push(`recovered from disk after a failed fsync (${cut?.message ?? ''}); the log now ends at offset ${this.leo}`, ...r.notes);
      this.failure = null;
      this.notifyAdvance();
    } catch (err) {
      // Still offline; the files are reopened by the next attempt.
      this.failure = ioError(`recovering ${this.dir} after a failed fsync`, err);
    }
  }

  /** Takes over the state recovery rebuilt from disk. */
  private adopt(r: RecoveredLog): void {
    this.segments = r.segments;
    const last = r.segments[r.segments.length - 1]!;
    this.startOffset = r.logStartOffset;
    this.leo = last.writtenNextOffset;
    this.written = this.leo;
    this.hw = this.leo;
    this.setDurable(this.leo, last);
    this.producers.replaceWith(r.producers);
    this.closing = [];
    this.pendingMax = [];
    this.cache.clear();
    this.lastWritten = last;
    this.dirDirty = false;
    this.recomputeMaxTimestamp();
  }

  private notifyAdvance(): void {
    for (const listener of this.advanceListeners) {
      try {
        listener();
      } catch (err) {
        // The writer must keep going; surface the listener's bug as an uncaught exception.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  // --- reading ---

  /** The segment whose base offset is the largest at or below `offset`. */
  private segmentFor(offset: number): Segment {
    return this.segments[this.segmentIndexFor(offset)]!;
  }

  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The segment's open file, opened on demand; the caller holds seg.readers so it stays open. */
  private async fileFor(seg: Segment): Promise<LogFile> {
    if (seg.file === null) {
      let file: LogFile;
      try {
        file = await this.ops.open(seg.logPath, OpenMode.read);
      } catch (err) {
        throw ioError(`opening ${seg.logPath}`, err);
      }
      // Another read may have opened it meanwhile; keep one handle.
      if (seg.file === null) seg.file = file;
      else await file.close().catch(noop);
    }
    // A deleted segment's file is closed by its last reader instead.
    if (seg.sealed && !seg.deleted) this.openSegments.use(seg);
    return seg.file;
  }

  private releaseReader(seg: Segment): void {
    seg.readers--;
    if (seg.readers > 0) return;
    if (seg.deleted) this.closeSegmentFile(seg);
    else if (this.openSegments.size > this.openSegments.limit) this.openSegments.trim();
  }

  private async readSegment(seg: Segment, offset: number, maxBytes: number, end: number): Promise<Buffer[]> {
    const file = await this.fileFor(seg);
    const limit = seg.writtenSize;
    const window = this.cfg.indexIntervalBytes + Math.max(maxBytes, 0) + BATCH_HEADER_SIZE;
    let pos = seg.offsetIndex.lookup(offset - seg.baseOffset);
    let buf: Buffer = Buffer.alloc(0);
    let bufPos = pos;
    // Walk batch headers from the index entry to the batch that holds `offset`.
    for (;;) {
      if (limit - pos < BATCH_HEADER_SIZE) throw this.corruptAt(seg, pos, offset);
      if (pos + BATCH_HEADER_SIZE > bufPos + buf.length) {
        buf = await this.readRange(seg, file, pos, Math.min(limit - pos, window));
        bufPos = pos;
      }
      const rel = pos - bufPos;
      if (batchBaseOffset(buf, rel) + lastOffsetDelta(buf, rel) + 1 > offset) break;
      pos += batchSize(buf, rel);
    }
    const first = batchSize(buf, pos - bufPos);
    const want = Math.min(limit - pos, Math.max(maxBytes, first));
    if (first > limit - pos) throw this.corruptAt(seg, pos, offset);
    let data: Buffer;
    if (pos + want <= bufPos + buf.length) data = buf.subarray(pos - bufPos, pos - bufPos + want);
    else data = await this.readRange(seg, file, pos, want);
    // Keep whole batches starting below `end`; the first always qualifies (it holds `offset`).
    let p = 0;
    while (data.length - p >= BATCH_HEADER_SIZE) {
      const size = batchSize(data, p);
      if (size < BATCH_HEADER_SIZE || p + size > data.length || (p > 0 && batchBaseOffset(data, p) >= end)) break;
      p += size;
    }
    return [data.subarray(0, p)];
  }

  private async readRange(seg: Segment, file: LogFile, pos: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let got: number;
    try {
      got = await readFully(file, buf, length, pos);
    } catch (err) {
      throw ioError(`reading ${length} bytes of ${seg.logPath} at byte ${pos}`, err);
    }
    if (got < length) throw new StorageError(StorageErrorCode.corrupt, `segment ${seg.logPath} ended at byte ${pos + got}; expected ${pos + length}`);
    return buf;
  }

  private corruptAt(seg: Segment, pos: number, offset: number): StorageError {
    return new StorageError(StorageErrorCode.corrupt, `no batch holding offset ${offset} in ${seg.logPath} (scan reached byte ${pos} of ${seg.writtenSize})`);
  }

  /**
   * Walks headers from `from` to the written end; returns the first batch `match` accepts:
   * the buffer holding its header, the header's position there and in the file.
   */
  private async scanHeaders(seg: Segment, from: number, match: (buf: Buffer, pos: number) => boolean): Promise<HeaderHit | null> {
    const file = await this.fileFor(seg);
    const limit = seg.writtenSize;
    const window = Math.max(64 * 1024, this.cfg.indexIntervalBytes + BATCH_HEADER_SIZE);
    let pos = from;
    let buf: Buffer = Buffer.alloc(0);
    let bufPos = pos;
    while (limit - pos >= BATCH_HEADER_SIZE) {
      if (pos + BATCH_HEADER_SIZE > bufPos + buf.length) {
        buf = await this.readRange(seg, file, pos, Math.min(limit - pos, window));
        bufPos = pos;
      }
      const rel = pos - bufPos;
      if (match(buf, rel)) return { buf, pos: rel, filePos: pos };
      pos += batchSize(buf, rel);
    }
    return null;
  }

  /** The whole batch whose header scanHeaders found, read from the file if the window cut it. */
  private async wholeBatch(seg: Segment, hit: HeaderHit): Promise<Buffer> {
    const size = batchSize(hit.buf, hit.pos);
    if (size < BATCH_HEADER_SIZE || size > seg.writtenSize - hit.filePos) {
      throw new StorageError(StorageErrorCode.corrupt, `batch at byte ${hit.filePos} of ${seg.logPath} declares ${size} bytes; ${seg.writtenSize - hit.filePos} are written`);
    }
    if (hit.pos + size <= hit.buf.length) return hit.buf.subarray(hit.pos, hit.pos + size);
    return this.readRange(seg, await this.fileFor(seg), hit.filePos, size);
  }

  // --- segment removal, metadata, closing ---

  private async dropSegments(doomed: Segment[]): Promise<void> {
    if (doomed.length > 0) this.recomputeMaxTimestamp();
    // The start offset is stored before any file goes, so a crash in between only leaves
    // files that recovery removes as being below it.
    await this.persistLogStart();
    for (const seg of doomed) {
      seg.deleted = true;
      if (seg.readers === 0) this.closeSegmentFile(seg);
      try {
        await Promise.all(seg.filePaths().map((path) => this.ops.unlink(path)));
      } catch (err) {
        throw ioError(`deleting segment ${seg.logPath}`, err);
      }
    }
    if (doomed.length > 0) await this.ops.syncDir(this.dir).catch(noop);
  }

  private closeSegmentFile(seg: Segment): void {
    this.openSegments.forget(seg);
    const file = seg.file;
    seg.file = null;
    if (file !== null) file.close().catch(noop);
  }

  private persistLogStart(): Promise<void> {
    // Chained so writes never overlap; each writes the value current when it runs.
    const next = this.metaChain.then(() => writeLogStartOffset(this.ops, this.dir, this.startOffset));
    this.metaChain = next.catch(noop);
    return next.catch((err: unknown) => {
      throw ioError(`writing the log start offset of ${this.dir}`, err);
    });
  }

  private recomputeMaxTimestamp(): void {
    this.maxTs = -1;
    this.maxTsOffset = -1;
    for (const seg of this.segments) {
      if (seg.maxTimestamp > this.maxTs) {
        this.maxTs = seg.maxTimestamp;
        this.maxTsOffset = seg.offsetOfMaxTimestamp;
      }
    }
  }

  private async doClose(): Promise<void> {
    this.state = 'closing';
    if (this.writing) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    // Offline after a failed fsync: cut back to the durable offset before anything else, so
    // what the producer was told failed does not come back at the next start.
    if (this.failure !== null) await this.startRecovery();
    let failure: unknown = null;
    try {
      await this.flush();
      await this.metaChain;
    } catch (err) {
      failure = err;
    }
    // The closing fsync itself failed: cut back to the durable offset before the files close
    // (and the process perhaps exits), or the next start would find those records again.
    if (this.failure !== null) await this.startRecovery();
    // No index file is written here: the active segment's indexes are rebuilt from its scan at
    // every open, and older segments wrote theirs when sealed. So closing opens no file but the
    // marker, and a full disk or a vanished directory cannot leave a damaged index behind.
    for (const seg of this.segments) {
      this.openSegments.forget(seg);
      const file = seg.file;
      seg.file = null;
      if (file !== null) await file.close().catch(noop);
    }
    this.cache.clear();
    this.state = 'closed';
    if (failure !== null) throw failure instanceof StorageError ? failure : ioError(`closing ${this.dir}`, failure);
    // Only a log whose data is fsynced gets the marker; recovery then skips the CRC pass.
    try {
      await this.ops.writeFile(join(this.dir, CLEAN_SHUTDOWN_MARKER), Buffer.alloc(0), true);
      await this.ops.syncDir(this.dir);
    } catch (err) {
      throw ioError(`writing the clean-shutdown marker in ${this.dir}`, err);
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw this.closedError();
  }

  private assertNotClosed(): void {
    if (this.state === 'closed') throw this.closedError();
  }

  /** Offline after a failed fsync: refuse, and make sure a recovery is under way. */
  private assertOnline(): void {
    if (this.failure === null) return;
    void this.startRecovery();
    throw this.offlineError();
  }

  private offlineError(): StorageError {
    const f = this.failure;
    return new StorageError(
      StorageErrorCode.io,
      `partition log ${this.dir} is offline after a failed fsync and is being recovered from disk; records past offset ${this.durable} were not stored, retry (${f?.message ?? ''})`,
      f ?? undefined,
    );
  }

  private closedError(): StorageError {
    return new StorageError(StorageErrorCode.closed, `partition log ${this.dir} is closed; reopen it before use`);
  }
}
