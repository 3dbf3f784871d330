// Nexmark q5, hot items (model.ts): per hopping window (10 s advancing 2 s), the auction(s)
// with the most bids, ties all reported, to nexmark-q5-out keyed by auction, once the window
// closes. Bids are keyed by auction, so a bid task counts its auctions completely; the combiner
// (global-windows.ts) takes the maximum over the tasks' counts.
//
//   rivulet run dist/src/nexmark/queries/q5.js      (or src/nexmark/queries/q5.ts)

import { pipeline, serdes, type Pipeline } from 'rivulet/stream';
import { WINDOW, outputTopic, type Q5Result, type QueryOptions } from '../model.js';
import { bids, optionsFromEnv, resolve } from './common.js';
import { globalWindows } from './global-windows.js';

/** Bids per auction id in a window. */
type Counts = Record<string, number>;

export function build(options?: QueryOptions): Pipeline {
  const o = resolve('q5', options);
  const p = pipeline(o.applicationId);
  globalWindows<Counts, Q5Result>(p, bids(p, o), {
    size: WINDOW.q5SizeMs,
    advance: WINDOW.q5AdvanceMs,
    graceMs: o.graceMs,
    maxOutOfOrderMs: o.maxOutOfOrderMs,
    init: () => ({}),
    add(counts, b) {
      counts[b.auction] = (counts[b.auction] ?? 0) + 1;
      return counts;
    },
    results(partials, windowStart, windowEnd) {
      const counts = new Map<number, number>();
      for (const c of partials) for (const [a, n] of Object.entries(c)) counts.set(Number(a), (counts.get(Number(a)) ?? 0) + n);
      const max = Math.max(...counts.values());
      const out: Array<{ key: string; value: Q5Result }> = [];
      for (const [auction, count] of counts) if (count === max) out.push({ key: String(auction), value: { auction, count, windowStart, windowEnd } });
      return out;
    },
  }).to(outputTopic('q5'), { key: serdes.string, value: serdes.json<Q5Result>() });
  return p;
}

export default build(optionsFromEnv());
