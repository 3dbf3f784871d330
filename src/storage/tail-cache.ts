// The most recently written batches, kept as the Buffer views append() received, so consumers
// at the tail are served without touching the disk. Only written batches enter (on write
// completion), in offset order, so the cache always holds a contiguous run ending at the
// high watermark. A ring of parallel arrays avoids per-entry objects and Array#shift.

export class TailCache {
  private bases: Float64Array;
  private ends: Float64Array;
  private bufs: Array<Buffer | null>;
  private head: number;
  private count: number;
  bytes: number;
  limit: number;

  constructor(limit: number) {
    this.bases = new Float64Array(64);
    this.ends = new Float64Array(64);
    this.bufs = new Array<Buffer | null>(64).fill(null);
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
    this.limit = limit;
  }

  /** First offset of the oldest cached batch, or -1 when empty. */
  firstOffset(): number {
    return this.count === 0 ? -1 : this.bases[this.head]!;
  }

  /** Adds one written batch covering offsets [base, end). */
  push(base: number, end: number, batch: Buffer): void {
    if (batch.length > this.limit) {
      // Too big to keep; the cache must stay contiguous, so drop everything before it too.
      this.clear();
      return;
    }
    if (this.count === this.bufs.length) this.grow();
    const i = (this.head + this.count) % this.bufs.length;
    this.bases[i] = base;
    this.ends[i] = end;
    this.bufs[i] = batch;
    this.count++;
    this.bytes += batch.length;
    this.evict();
  }

  setLimit(limit: number): void {
    this.limit = limit;
    this.evict();
  }

  clear(): void {
    this.bufs.fill(null);
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
  }

  /**
   * Whole batches starting with the one holding `offset`, up to `maxBytes` (at least one),
   * none starting at or past `end`. Returns null when `offset` is older than the cache.
   */
  read(offset: number, maxBytes: number, end: number): Buffer[] | null {
    if (this.count === 0 || offset < this.bases[this.head]!) return null;
    const cap = this.bufs.length;
    // Binary search over the ring for the first batch whose end is past `offset`.
    let lo = 0;
    let hi = this.count - 1;
    let found = this.count;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[(this.head + mid) % cap]! > offset) {
        found = mid;
        hi = mid - 1;
      } else {
        lo = mid + 1;
      }
    }
    const out: Buffer[] = [];
    let total = 0;
    for (let k = found; k < this.count; k++) {
      if (k > found && this.bases[(this.head + k) % cap]! >= end) break;
      const b = this.bufs[(this.head + k) % cap]!;
      if (total > 0 && total + b.length > maxBytes) break;
      out.push(b);
      total += b.length;
      if (total >= maxBytes) break;
    }
    return out;
  }

  private evict(): void {
    const cap = this.bufs.length;
    while (this.count > 0 && this.bytes > this.limit) {
      this.bytes -= this.bufs[this.head]!.length;
      this.bufs[this.head] = null;
      this.head = (this.head + 1) % cap;
      this.count--;
    }
  }

  private grow(): void {
    const cap = this.bufs.length;
    const bases = new Float64Array(cap * 2);
    const ends = new Float64Array(cap * 2);
    const bufs = new Array<Buffer | null>(cap * 2).fill(null);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % cap;
      bases[k] = this.bases[i]!;
      ends[k] = this.ends[i]!;
      bufs[k] = this.bufs[i]!;
    }
    this.bases = bases;
    this.ends = ends;
    this.bufs = bufs;
    this.head = 0;
  }
}
