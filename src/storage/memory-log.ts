// A log kept only in memory: the reference behaviour of the Log interface without files.
// Used by tests: the log contract suite runs against it, and unit tests that need no disk.
// Nothing here is fsynced, so records are visible once written whatever visibleWhen says.

import type { AbortedTransaction, Log, LogConfig } from './log.js';
import { ProducerStates } from './producer-state.js';
import { abortedEntry, collectAborted, type AbortedTxnEntry } from './txn-index.js';
import { batchSize, lastOffsetDelta, maxTimestamp, setBaseOffset, setPartitionLeaderEpoch } from '../protocol/record-batch.js';
import { DataError, firstRecordAtOrAfter, offsetOfMaxTimestamp } from '../protocol/records.js';

interface Entry {
  base: number;
  last: number;
  maxTs: number;
  bytes: Buffer;
}

export class MemoryLog implements Log {
  logStartOffset = 0;
  logEndOffset = 0;
  highWatermark = 0;
  /** The first offset of the oldest open transaction (or one whose marker is not yet visible), or the high watermark. */
  get lastStableOffset(): number {
    let lso = this.highWatermark;
    const open = this.producers.firstOpenOffset();
    if (open >= 0 && open < lso) lso = open;
    for (const c of this.closing) if (c.firstOffset < lso) lso = c.firstOffset;
    return lso;
  }
  readonly advanceListeners = new Set<() => void>();
  /** Never called: nothing here is fsynced. */
  readonly fsyncListeners = new Set<(seconds: number) => void>();
  /** Never called: there is no file to write. */
  readonly writeListeners = new Set<(seconds: number) => void>();
  readonly producers = new ProducerStates();
  readonly recoveryNotes: readonly string[] = [];
  config: LogConfig;
  private entries: Entry[] = [];
  /** First entry with the largest maxTimestamp; its record is resolved on demand. */
  private maxEntry: Entry | null = null;
  private aborted: AbortedTxnEntry[] = [];
  /** Transactions whose marker is appended but not yet visible. */
  private closing: Array<{ firstOffset: number; markerOffset: number }> = [];

  constructor(config: LogConfig) {
    this.config = config;
  }

  append(batches: Buffer): { baseOffset: number; lastOffset: number; written: Promise<void> } {
    const baseOffset = this.logEndOffset;
    let pos = 0;
    while (pos < batches.length) {
      const size = batchSize(batches, pos);
      const view = batches.subarray(pos, pos + size);
      setBaseOffset(view, 0, this.logEndOffset);
      setPartitionLeaderEpoch(view, 0, 0);
      const last = this.logEndOffset + lastOffsetDelta(view, 0);
      const ts = maxTimestamp(view, 0);
      const closed = this.producers.apply(view, 0, size, pos > 0);
      if (closed !== null) {
        this.closing.push({ firstOffset: closed.firstOffset, markerOffset: closed.lastOffset });
        if (closed.aborted) this.aborted.push(abortedEntry(closed, this.producers));
      }
      this.entries.push({ base: this.logEndOffset, last, maxTs: ts, bytes: view });
      if (ts >= 0 && (this.maxEntry === null || ts > this.maxEntry.maxTs)) this.maxEntry = this.entries[this.entries.length - 1]!;
      this.logEndOffset = last + 1;
      pos += size;
    }
    const end = this.logEndOffset;
    const written = Promise.resolve().then(() => {
      if (end > this.highWatermark) {
        this.highWatermark = end;
        this.closing = this.closing.filter((c) => c.markerOffset >= end);
        for (const l of this.advanceListeners) l();
      }
    });
    return { baseOffset, lastOffset: end - 1, written };
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  abortedTransactions(from: number, upTo: number): AbortedTransaction[] {
    return collectAborted([this.aborted], from, upTo);
  }

  expireProducers(now: number, expirationMs: number): void {
    this.producers.expire(now, expirationMs);
  }

  async read(offset: number, maxBytes: number, upTo?: number): Promise<Buffer[]> {
    if (offset < this.logStartOffset || offset > this.highWatermark) throw new RangeError(`offset ${offset} is out of range`);
    const end = upTo === undefined ? this.highWatermark : Math.min(upTo, this.highWatermark);
    if (offset >= end) return [];
    const out: Buffer[] = [];
    let total = 0;
    for (const e of this.entries) {
      if (e.last < offset) continue;
      if (e.base >= end) break;
      if (out.length > 0 && total + e.bytes.length > maxBytes) break;
      out.push(e.bytes);
      total += e.bytes.length;
      if (total >= maxBytes) break;
    }
    return out;
  }

  /** First record at or above the log start with timestamp >= `ts` (see PartitionLog). */
  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    for (const e of this.entries.slice()) {
      if (e.maxTs < ts || e.last < this.logStartOffset || e.base >= this.highWatermark) continue;
      const start = this.logStartOffset;
      try {
        const hit = await firstRecordAtOrAfter(e.bytes, ts, start);
        if (hit !== null) return hit;
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        return { offset: Math.max(e.base, start), timestamp: e.maxTs };
      }
    }
    return null;
  }

  /** First record holding the largest timestamp, or {-1, -1}. */
  async maxTimestampInfo(): Promise<{ offset: number; timestamp: number }> {
    const e = this.maxEntry;
    if (e === null) return { offset: -1, timestamp: -1 };
    const fallback = { offset: e.last, timestamp: e.maxTs };
    try {
      return (await offsetOfMaxTimestamp(e.bytes)) ?? fallback;
    } catch (err) {
      if (err instanceof DataError) return fallback;
      throw err;
    }
  }

  async deleteRecordsBefore(offset: number): Promise<number> {
    if (offset > this.logStartOffset) {
      this.logStartOffset = Math.min(offset, this.highWatermark);
      for (const l of this.advanceListeners) l();
    }
    this.entries = this.entries.filter((e) => e.last >= this.logStartOffset);
    this.maxEntry = null;
    for (const e of this.entries) if (e.maxTs >= 0 && (this.maxEntry === null || e.maxTs > this.maxEntry.maxTs)) this.maxEntry = e;
    return this.logStartOffset;
  }

  async enforceRetention(): Promise<void> {}

  sizeBytes(): number {
    return this.entries.reduce((n, e) => n + e.bytes.length, 0);
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {
    this.entries = [];
    this.maxEntry = null;
  }
}
