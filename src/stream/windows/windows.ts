// Event-time window definitions and their assignment math, with Kafka Streams' semantics:
//   tumbling(size) / hopping(size, advance): fixed windows [start, start + size), aligned to the epoch;
//   slidingWindows(maxDiff): windows [start, start + maxDiff] (both ends inclusive) created on record arrival;
//   sessionWindows(gap): [first, last] record times of a key, merged when a record falls within gap of them.
// A window is open while watermark < end + grace; once the watermark reaches end + grace it is
// closed: its final result is emitted and its state deleted; a record for it is late.

export type WindowKind = 'time' | 'sliding' | 'session';

/** Default grace (ms) when none is given: Kafka Streams 3.x's `ofSizeWithNoGrace` is 0, ours too. */
const NO_GRACE = 0;

function checkMs(name: string, ms: number, min: number): void {
  if (!Number.isSafeInteger(ms) || ms < min) {
    throw new RangeError(`${name} must be a whole number of milliseconds >= ${min}, got ${ms}`);
  }
}

/** Tumbling (advance = size) or hopping (advance < size) windows. */
export class TimeWindows {
  readonly kind = 'time' as const;
  constructor(
    readonly size: number,
    readonly advance: number,
    readonly graceMs: number = NO_GRACE,
  ) {
    checkMs('window size', size, 1);
    checkMs('window advance', advance, 1);
    checkMs('grace', graceMs, 0);
    if (advance > size) throw new RangeError(`hopping window advance (${advance} ms) must not exceed its size (${size} ms): records between windows would belong to none`);
  }
  /** The same windows with a grace period: records up to `ms` after a window's end still count. */
  grace(ms: number): TimeWindows {
    return new TimeWindows(this.size, this.advance, ms);
  }
  /**
   * Writes the start of every window containing `ts` into `out` (ascending), returns how many.
   * `out` is reused by the caller: no allocation per record.
   */
  windowStartsFor(ts: number, out: number[]): number {
    const a = this.advance;
    const first = ts - this.size + a;
    let start = first - (((first % a) + a) % a);
    let n = 0;
    for (; start <= ts; start += a) out[n++] = start;
    return n;
  }
  /** How many windows a record belongs to at most (sizes the caller's buffer). */
  get maxWindowsPerRecord(): number {
    return Math.ceil(this.size / this.advance);
  }
}

/** Sliding windows (Kafka Streams' SlidingWindows): windows of maxDiff ms, both ends inclusive. */
export class SlidingWindows {
  readonly kind = 'sliding' as const;
  constructor(
    readonly maxDiff: number,
    readonly graceMs: number = NO_GRACE,
  ) {
    checkMs('sliding window time difference', maxDiff, 1);
    checkMs('grace', graceMs, 0);
  }
  grace(ms: number): SlidingWindows {
    return new SlidingWindows(this.maxDiff, ms);
  }
}

/** Session windows: a key's records closer than `gap` ms belong to one session. */
export class SessionWindows {
  readonly kind = 'session' as const;
  constructor(
    readonly gap: number,
    readonly graceMs: number = NO_GRACE,
  ) {
    checkMs('session gap', gap, 1);
    checkMs('grace', graceMs, 0);
  }
  grace(ms: number): SessionWindows {
    return new SessionWindows(this.gap, ms);
  }
}

export type Windows = TimeWindows | SlidingWindows | SessionWindows;

/** Non-overlapping windows of `sizeMs`: each record belongs to exactly one. */
export function tumbling(sizeMs: number): TimeWindows {
  return new TimeWindows(sizeMs, sizeMs);
}

/** Windows of `sizeMs` starting every `advanceMs`: a record belongs to size/advance windows. */
export function hopping(sizeMs: number, advanceMs: number): TimeWindows {
  return new TimeWindows(sizeMs, advanceMs);
}

/** Kafka Streams' SlidingWindows.ofTimeDifference: every distinct set of records at most `maxDiffMs` apart. */
export function slidingWindows(maxDiffMs: number): SlidingWindows {
  return new SlidingWindows(maxDiffMs);
}

/** Sessions of activity separated by at least `gapMs` of inactivity, per key. */
export function sessionWindows(gapMs: number): SessionWindows {
  return new SessionWindows(gapMs);
}

/** A window as outputs carry it: start inclusive; end exclusive for time windows, inclusive for sliding and session windows (as Kafka Streams). */
export interface Window {
  start: number;
  end: number;
}

/** The key of a windowed result. */
export interface Windowed<K> {
  key: K;
  window: Window;
}
