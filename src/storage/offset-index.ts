// Sparse offset index of one segment: (offset relative to the segment's base, file position)
// for the batch starting there, one entry every index.interval.bytes of log. Kept in memory
// as two growable typed arrays; the `.index` file (8-byte big-endian entries, Kafka's layout)
// is only written when a segment is sealed or the log closes, and rebuilt from the segment
// when it is missing or fails the sanity checks below.

export const OFFSET_INDEX_ENTRY_SIZE = 8;

export class OffsetIndex {
  private rel: Int32Array;
  private pos: Int32Array;
  length: number;

  constructor(capacity = 16) {
    this.rel = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
    this.length = 0;
  }

  /** Entries must arrive with strictly increasing offsets and positions. */
  append(relOffset: number, position: number): void {
    if (this.length === this.rel.length) {
      const rel = new Int32Array(this.rel.length * 2);
      rel.set(this.rel);
      const pos = new Int32Array(this.pos.length * 2);
      pos.set(this.pos);
      this.rel = rel;
      this.pos = pos;
    }
    this.rel[this.length] = relOffset;
    this.pos[this.length] = position;
    this.length++;
  }

  lastRelOffset(): number {
    return this.length === 0 ? -1 : this.rel[this.length - 1]!;
  }

  /** File position to start scanning for `relOffset`: the last entry at or below it, else 0. */
  lookup(relOffset: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid]! <= relOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? 0 : this.pos[found]!;
  }

  toBuffer(): Buffer {
    const buf = Buffer.allocUnsafe(this.length * OFFSET_INDEX_ENTRY_SIZE);
    for (let i = 0; i < this.length; i++) {
      buf.writeInt32BE(this.rel[i]!, i * 8);
      buf.writeInt32BE(this.pos[i]!, i * 8 + 4);
    }
    return buf;
  }

  /**
   * Parses an `.index` file, or returns null when it cannot be trusted: a size that is not a
   * whole number of entries, offsets or positions not strictly increasing, an offset at or past
   * `relOffsetLimit` (the segment's next offset minus its base) or a position at or past the
   * segment's size. Any of these means a crash or a foreign writer; the caller rebuilds.
   */
  static parse(buf: Buffer, relOffsetLimit: number, segmentSize: number): OffsetIndex | null {
    if (buf.length % OFFSET_INDEX_ENTRY_SIZE !== 0) return null;
    const n = buf.length / OFFSET_INDEX_ENTRY_SIZE;
    const idx = new OffsetIndex(Math.max(16, n));
    let prevRel = -1;
    let prevPos = -1;
    for (let i = 0; i < n; i++) {
      const rel = buf.readInt32BE(i * 8);
      const pos = buf.readInt32BE(i * 8 + 4);
      if (rel <= prevRel || pos <= prevPos || rel >= relOffsetLimit || pos >= segmentSize) return null;
      idx.append(rel, pos);
      prevRel = rel;
      prevPos = pos;
    }
    return idx;
  }
}
