// Nexmark q7, highest bid (model.ts): per tumbling window of 10 s, the bid(s) with the highest
// price, ties all reported, to nexmark-q7-out keyed by auction, once the window closes.
// A global maximum per window: global-windows.ts (a maximum per bid task, then one combiner).
//
//   rivulet run dist/src/nexmark/queries/q7.js      (or src/nexmark/queries/q7.ts)

import { pipeline, serdes, type Pipeline } from 'rivulet/stream';
import { WINDOW, outputTopic, type Q7Result, type QueryOptions } from '../model.js';
import { bids, optionsFromEnv, resolve } from './common.js';
import { globalWindows } from './global-windows.js';

type Top = Array<{ auction: number; bidder: number; price: number; dateTime: number }>;

export function build(options?: QueryOptions): Pipeline {
  const o = resolve('q7', options);
  const p = pipeline(o.applicationId);
  globalWindows<Top, Q7Result>(p, bids(p, o), {
    size: WINDOW.q7SizeMs,
    advance: WINDOW.q7SizeMs,
    graceMs: o.graceMs,
    maxOutOfOrderMs: o.maxOutOfOrderMs,
    init: () => [],
    add(top, b) {
      const bid = { auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime };
      if (top.length === 0 || b.price > top[0]!.price) return [bid];
      if (b.price === top[0]!.price) top.push(bid);
      return top;
    },
    results(tops, windowStart, windowEnd) {
      const all = tops.flat();
      const max = Math.max(...all.map((b) => b.price));
      return all.filter((b) => b.price === max).map((b) => ({ key: String(b.auction), value: { ...b, windowStart, windowEnd } }));
    },
  }).to(outputTopic('q7'), { key: serdes.string, value: serdes.json<Q7Result>() });
  return p;
}

export default build(optionsFromEnv());
