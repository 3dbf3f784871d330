// The rate arithmetic of Kafka's client quotas, as its metrics library computes it (Rate over
// a WindowedSum SampledStat): values are summed into `samples` windows of `windowMs` each; a
// window starts when the first value after the previous one's end is recorded; windows older
// than samples * windowMs are forgotten. The rate is the sum over the windows kept divided by
// the time they span, taken as at least samples - 1 whole windows so that a first burst does
// not read as a huge rate. When a value pushes the rate over the quota, the client is
// throttled for (rate - quota) / quota * span: the time after which the rate, with nothing
// more recorded, is back at the quota (Kafka's QuotaUtils.throttleTime).
//
// No allocation per record: the windows are two fixed arrays.

export class SampledRate {
  private readonly sums: Float64Array;
  private readonly starts: Float64Array;
  /** Index of the window values are added to; -1 before the first value. */
  private current = -1;
  /** Windows that hold a start (grows to `samples`, as Kafka's sample list does). */
  private used = 0;
  /** When a value was last recorded: a rate idle longer than the span holds nothing. */
  lastRecordMs = 0;

  constructor(
    readonly samples: number,
    readonly windowMs: number,
  ) {
    this.sums = new Float64Array(samples);
    this.starts = new Float64Array(samples);
  }

  /** Adds `value` at `nowMs`. */
  record(value: number, nowMs: number): void {
    this.purge(nowMs);
    if (this.current < 0) {
      this.current = 0;
      this.used = 1;
      this.starts[0] = nowMs;
      this.sums[0] = 0;
    } else if (nowMs - this.starts[this.current]! >= this.windowMs) {
      this.current = (this.current + 1) % this.samples;
      if (this.used < this.samples) this.used++;
      this.starts[this.current] = nowMs;
      this.sums[this.current] = 0;
    }
    this.sums[this.current]! += value;
    this.lastRecordMs = nowMs;
  }

  /** Takes back a value recorded at `nowMs` (Kafka unrecords a throttled Fetch, whose data is not sent). */
  unrecord(value: number, nowMs: number): void {
    if (this.current >= 0) this.sums[this.current] = Math.max(0, this.sums[this.current]! - value);
    this.lastRecordMs = nowMs;
  }

  /** Windows that ended samples * windowMs ago or more are reset to start now, holding nothing (Kafka's purgeObsoleteSamples). */
  private purge(nowMs: number): void {
    const expire = this.samples * this.windowMs;
    for (let i = 0; i < this.used; i++) {
      if (nowMs - this.starts[i]! >= expire) {
        this.starts[i] = nowMs;
        this.sums[i] = 0;
      }
    }
  }

  /** The time the rate is taken over (ms): since the oldest window started, at least samples - 1 whole windows, at least 1 ms. */
  spanMs(nowMs: number): number {
    this.purge(nowMs);
    let oldest = nowMs;
    for (let i = 0; i < this.used; i++) if (this.starts[i]! < oldest) oldest = this.starts[i]!;
    let elapsed = nowMs - oldest;
    const full = Math.floor(elapsed / this.windowMs);
    const minFull = this.samples - 1;
    if (full < minFull) elapsed += (minFull - full) * this.windowMs;
    return Math.max(elapsed, 1);
  }

  /** The rate, per second, at `nowMs`. */
  rate(nowMs: number): number {
    this.purge(nowMs);
    let sum = 0;
    for (let i = 0; i < this.used; i++) sum += this.sums[i]!;
    return sum / (this.spanMs(nowMs) / 1000);
  }
}

/**
 * Milliseconds a client whose measured rate is `rate` must wait for it to fall back to
 * `quota`, the rate taken over `spanMs`; 0 when within the quota. Capped at `capMs`.
 */
export function throttleTimeMs(rate: number, quota: number, spanMs: number, capMs: number): number {
  if (!(rate > quota) || !(quota > 0)) return 0;
  return Math.min(capMs, Math.round(((rate - quota) / quota) * spanMs));
}
