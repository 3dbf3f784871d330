// The most recently written batches, so consumers at the tail are served without touching the
// disk. Only written batches enter (on write completion), in offset order, so the cache always
// holds a contiguous run ending at the high watermark.
//
// Small batches are copied into slabs (a few large Buffers per partition) instead of being
// kept as the views append() received. A view pins the whole socket read it came from and is
// one more object that lives for seconds: at thousands of batches a second those objects are
// promoted and make the old generation grow until a mark-compact pauses the loop for
// milliseconds, which was the largest source of tail latency at moderate load. A slab is one
// object for hundreds of batches, never written again once full, and dropped when its last
// batch is evicted; batches adjacent in a slab are returned as one view. Large batches are
// few, so they are kept as they came. A ring of parallel arrays indexes the batches without
// per-entry objects or Array#shift.

/** The first slab of a cache; each next one doubles, up to a quarter of the limit. */
const FIRST_SLAB = 16 * 1024;
const MAX_SLAB = 1024 * 1024;

export class TailCache {
  private bases: Float64Array;
  private ends: Float64Array;
  /** Where each batch lies: a slab (or the batch's own Buffer) and its byte range there. */
  private bufs: Array<Buffer | null>;
  private starts: Float64Array;
  private sizes: Float64Array;
  private head: number;
  private count: number;
  /** Slab being filled, and its first free byte. */
  private slab: Buffer | null;
  private slabUsed: number;
  bytes: number;
  limit: number;

  constructor(limit: number) {
    this.bases = new Float64Array(64);
    this.ends = new Float64Array(64);
    this.bufs = new Array<Buffer | null>(64).fill(null);
    this.starts = new Float64Array(64);
    this.sizes = new Float64Array(64);
    this.head = 0;
    this.count = 0;
    this.slab = null;
    this.slabUsed = 0;
    this.bytes = 0;
    this.limit = limit;
  }

  /** First offset of the oldest cached batch, or -1 when empty. */
  firstOffset(): number {
    return this.count === 0 ? -1 : this.bases[this.head]!;
  }

  /**
   * Adds one written batch covering offsets [base, end): `size` bytes of `buf` from `at`.
   * Small ones are copied; a large one is kept as a view of `buf`.
   */
  push(base: number, end: number, buf: Buffer, at: number, size: number): void {
    if (size > this.limit) {
      // Too big to keep; the cache must stay contiguous, so drop everything before it too.
      this.clear();
      return;
    }
    if (this.count === this.bufs.length) this.grow();
    const i = (this.head + this.count) % this.bufs.length;
    this.bases[i] = base;
    this.ends[i] = end;
    this.sizes[i] = size;
    const slabMax = Math.min(MAX_SLAB, Math.max(FIRST_SLAB, this.limit >>> 2));
    if (size > slabMax >>> 2) {
      this.bufs[i] = buf;
      this.starts[i] = at;
    } else {
      if (this.slab === null || this.slab.length - this.slabUsed < size) {
        const next = this.slab === null ? FIRST_SLAB : Math.min(slabMax, this.slab.length * 2);
        // allocUnsafeSlow: outside Node's shared pool, so an evicted slab frees its memory.
        this.slab = Buffer.allocUnsafeSlow(Math.max(next, size));
        this.slabUsed = 0;
      }
      buf.copy(this.slab, this.slabUsed, at, at + size);
      this.bufs[i] = this.slab;
      this.starts[i] = this.slabUsed;
      this.slabUsed += size;
    }
    this.count++;
    this.bytes += size;
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
    this.slab = null;
    this.slabUsed = 0;
  }

  /**
   * Whole batches starting with the one holding `offset`, up to `maxBytes` (at least one),
   * none starting at or past `end`, as views: one per run of batches adjacent in memory.
   * Returns null when `offset` is older than the cache.
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
    let runBuf: Buffer | null = null;
    let runStart = 0;
    let runEnd = 0;
    for (let k = found; k < this.count; k++) {
      const i = (this.head + k) % cap;
      if (k > found && this.bases[i]! >= end) break;
      const size = this.sizes[i]!;
      if (total > 0 && total + size > maxBytes) break;
      const buf = this.bufs[i]!;
      const start = this.starts[i]!;
      if (buf === runBuf && start === runEnd) {
        runEnd += size;
      } else {
        if (runBuf !== null) out.push(runBuf.subarray(runStart, runEnd));
        runBuf = buf;
        runStart = start;
        runEnd = start + size;
      }
      total += size;
      if (total >= maxBytes) break;
    }
    if (runBuf !== null) out.push(runBuf.subarray(runStart, runEnd));
    return out;
  }

  private evict(): void {
    const cap = this.bufs.length;
    while (this.count > 0 && this.bytes > this.limit) {
      this.bytes -= this.sizes[this.head]!;
      this.bufs[this.head] = null;
      this.head = (this.head + 1) % cap;
      this.count--;
    }
  }

  private grow(): void {
    const cap = this.bufs.length;
    const bases = new Float64Array(cap * 2);
    const ends = new Float64Array(cap * 2);
    const starts = new Float64Array(cap * 2);
    const sizes = new Float64Array(cap * 2);
    const bufs = new Array<Buffer | null>(cap * 2).fill(null);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % cap;
      bases[k] = this.bases[i]!;
      ends[k] = this.ends[i]!;
      starts[k] = this.starts[i]!;
      sizes[k] = this.sizes[i]!;
      bufs[k] = this.bufs[i]!;
    }
    this.bases = bases;
    this.ends = ends;
    this.starts = starts;
    this.sizes = sizes;
    this.bufs = bufs;
    this.head = 0;
  }
}
