// A log kept only in memory: the reference behaviour of the Log interface without files.
// Used by tests that inject faults, and by `rivulet start --storage memory` for throwaway runs.

import type { Log, LogConfig, RecoveredProducerBatch } from './log.js';
import { batchSize, lastOffsetDelta, maxTimestamp, setBaseOffset, setPartitionLeaderEpoch } from '../protocol/record-batch.js';

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
  onAdvance: (() => void) | null = null;
  readonly recoveredProducerBatches: readonly RecoveredProducerBatch[] = [];
  readonly recoveryNotes: readonly string[] = [];
  config: LogConfig;
  private entries: Entry[] = [];
  private maxTs = { offset: -1, timestamp: -1 };

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
      this.entries.push({ base: this.logEndOffset, last, maxTs: ts, bytes: view });
      if (ts > this.maxTs.timestamp) this.maxTs = { offset: last, timestamp: ts };
      this.logEndOffset = last + 1;
      pos += size;
    }
    const end = this.logEndOffset;
    const written = Promise.resolve().then(() => {
      if (end > this.highWatermark) {
        this.highWatermark = end;
        this.onAdvance?.();
      }
    });
    return { baseOffset, lastOffset: end - 1, written };
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  async read(offset: number, maxBytes: number): Promise<Buffer[]> {
    if (offset < this.logStartOffset || offset > this.highWatermark) throw new RangeError(`offset ${offset} is out of range`);
    const out: Buffer[] = [];
    let total = 0;
    for (const e of this.entries) {
      if (e.last < offset || e.base >= this.highWatermark) continue;
      if (out.length > 0 && total + e.bytes.length > maxBytes) break;
      out.push(e.bytes);
      total += e.bytes.length;
      if (total >= maxBytes) break;
    }
    return out;
  }

  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    for (const e of this.entries) if (e.maxTs >= ts && e.last >= this.logStartOffset) return { offset: Math.max(e.base, this.logStartOffset), timestamp: e.maxTs };
    return null;
  }

  maxTimestampInfo(): { offset: number; timestamp: number } {
    return { ...this.maxTs };
  }

  async deleteRecordsBefore(offset: number): Promise<number> {
    if (offset > this.logStartOffset) this.logStartOffset = Math.min(offset, this.highWatermark);
    this.entries = this.entries.filter((e) => e.last >= this.logStartOffset);
    return this.logStartOffset;
  }

  async enforceRetention(): Promise<void> {}

  sizeBytes(): number {
    return this.entries.reduce((n, e) => n + e.bytes.length, 0);
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {
    this.entries = [];
  }
}
