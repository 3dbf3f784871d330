// Event time: each input partition of a task keeps the highest event time it has seen; its
// watermark trails that by maxOutOfOrderMs (bounded out-of-orderness). The task's watermark
// is the minimum over its partitions that are not idle, so one quiet partition (no record for
// idleTimeoutMs of processing time, noticed on TaskProcessor.tick) does not hold every window
// open. The task's watermark never goes back; a partition that wakes up behind it delivers
// late records, which the operators that care (windows) count and drop or divert.

export interface WatermarkOptions {
  /** How far behind the highest event time seen a record may still arrive on time, ms (default 0). */
  maxOutOfOrderMs?: number;
  /** A partition with no record for this long (processing time) stops holding the watermark back, ms (default 10000). */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

/** One input partition's event-time progress. */
export class PartitionClock {
  maxEventTime = -Infinity;
  lastActive: number;
  idle = false;
  readonly maxOutOfOrderMs: number;
  readonly idleTimeoutMs: number;

  constructor(options: WatermarkOptions | undefined, now: number) {
    this.maxOutOfOrderMs = options?.maxOutOfOrderMs ?? 0;
    this.idleTimeoutMs = options?.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (!(this.maxOutOfOrderMs >= 0) || !(this.idleTimeoutMs > 0)) {
      throw new Error(`watermark options need maxOutOfOrderMs >= 0 and idleTimeoutMs > 0; got ${JSON.stringify(options)}`);
    }
    // A partition that never delivers anything holds the watermark only until it is idle.
    this.lastActive = now;
  }

  observe(eventTime: number, now: number): void {
    if (eventTime > this.maxEventTime) this.maxEventTime = eventTime;
    this.lastActive = now;
    this.idle = false;
  }

  /** Marks the partition idle once it has been quiet for idleTimeoutMs. */
  checkIdle(now: number): void {
    if (!this.idle && now - this.lastActive >= this.idleTimeoutMs) this.idle = true;
  }

  watermark(): number {
    return this.maxEventTime - this.maxOutOfOrderMs;
  }
}

/**
 * The task's watermark from its partitions' clocks: the minimum over the active ones, never
 * lower than `current`. When every partition is idle the watermark stays where it is.
 */
export function taskWatermark(clocks: readonly PartitionClock[], current: number): number {
  let min = Infinity;
  for (let i = 0; i < clocks.length; i++) {
    const c = clocks[i]!;
    if (c.idle) continue;
    const w = c.watermark();
    if (w < min) min = w;
  }
  if (min === Infinity) return current;
  return min > current ? min : current;
}
