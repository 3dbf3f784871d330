// Sparse time index of one segment: (largest timestamp seen so far, offset relative to the
// segment's base of the last record of the batch that carried it). Timestamps are strictly
// increasing, so a binary search finds where to start scanning for a ListOffsets timestamp.
// The `.timeindex` file holds 12-byte big-endian entries (int64 timestamp, int32 relative
// offset), as Kafka lays it out. When a segment is sealed its largest timestamp is appended
// as a final entry, so the last entry is the segment's maximum.

import { readInt64, writeInt64 } from '../protocol/record-batch.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export class TimeIndex {
  private ts: Float64Array;
  private rel: Int32Array;
  length: number;

  constructor(capacity = 16) {
    this.ts = new Float64Array(capacity);
    this.rel = new Int32Array(capacity);
    this.length = 0;
  }

  lastTimestamp(): number {
    return this.length === 0 ? -1 : this.ts[this.length - 1]!;
  }

  lastRelOffset(): number {
    return this.length === 0 ? -1 : this.rel[this.length - 1]!;
  }

  /** Adds an entry when `timestamp` is newer than the last one; otherwise does nothing. */
  maybeAppend(timestamp: number, relOffset: number): void {
    if (timestamp <= this.lastTimestamp()) return;
    if (this.length === this.ts.length) {
      const ts = new Float64Array(this.ts.length * 2);
      ts.set(this.ts);
      const rel = new Int32Array(this.rel.length * 2);
      rel.set(this.rel);
      this.ts = ts;
      this.rel = rel;
    }
    this.ts[this.length] = timestamp;
    this.rel[this.length] = relOffset;
    this.length++;
  }

  /**
   * Relative offset of the last entry whose timestamp is below `timestamp`, or -1. Every batch
   * up to that entry's batch has maxTimestamp < `timestamp`, so a scan may start there.
   */
  lookupBefore(timestamp: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! < timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? -1 : this.rel[found]!;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.length * TIME_INDEX_ENTRY_SIZE);
    for (let i = 0; i < this.length; i++) {
      writeInt64(buf, i * 12, this.ts[i]!);
      buf.writeInt32BE(this.rel[i]!, i * 12 + 8);
    }
    return buf;
  }

  /** Parses a `.timeindex` file, or null when it cannot be trusted (see OffsetIndex.parse). */
  static parse(buf: Buffer, relOffsetLimit: number): TimeIndex | null {
    if (buf.length % TIME_INDEX_ENTRY_SIZE !== 0) return null;
    const n = buf.length / TIME_INDEX_ENTRY_SIZE;
    const idx = new TimeIndex(Math.max(16, n));
    let prevTs = -Infinity;
    let prevRel = -1;
    for (let i = 0; i < n; i++) {
      const ts = readInt64(buf, i * 12);
      const rel = buf.readInt32BE(i * 12 + 8);
      if (ts <= prevTs || rel < prevRel || rel < 0 || rel >= relOffsetLimit) return null;
      idx.maybeAppend(ts, rel);
      prevTs = ts;
      prevRel = rel;
    }
    return idx;
  }
}
