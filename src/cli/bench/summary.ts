// Latency histograms (HdrHistogram, microseconds, 3 significant digits) and the result
// object of a run, computed the same way for produce, consume and e2e.

import hdr from 'hdr-histogram-js';
import type { BenchResult, LatencySummary } from './types.js';

export type Histogram = ReturnType<typeof hdr.build>;

export const MB = 1024 * 1024;

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a latency given in milliseconds (kept in microseconds). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

export function summarize(h: Histogram): LatencySummary | null {
  if (h.totalCount === 0) return null;
  // A percentile is reported as the highest value equivalent to it; keep p <= max.
  const max = round3(h.maxValue / 1000);
  const at = (p: number): number => Math.min(max, round3(h.getValueAtPercentile(p) / 1000));
  return { count: h.totalCount, min: Math.min(max, round3(h.minNonZeroValue / 1000)), mean: round3(h.mean / 1000), p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max };
}


/** The result of a run: rates from the counts and the duration, numbers rounded to 3 decimals. */
export function result(mode: BenchResult['mode'], topic: string, config: BenchResult['config'], f: Omit<BenchResult, 'schema' | 'mode' | 'topic' | 'config' | 'msgsPerSec' | 'mbPerSec'>): BenchResult {
  const secs = f.durationMs / 1000;
  return {
    schema: 'rivulet.bench/1',
    mode,
    topic,
    config,
    ...f,
    durationMs: round3(f.durationMs),
    msgsPerSec: secs > 0 ? round3(f.messages / secs) : 0,
    mbPerSec: secs > 0 ? round3(f.bytes / MB / secs) : 0,
  };
}
