// q5 hot items (model.ts): per hopping window (10 s, advancing 2 s), the auction(s) with the
// most bids, ties all reported; one result per (window, hot auction).

import { WINDOW, type NexmarkEvent, type Q5Result } from '../model.js';
import { windowClosed, type QueryResult, type ReferenceOptions } from './types.js';

/** Starts of the hopping windows [s, s + size) holding `ts`, aligned to epoch 0. */
export function hoppingStarts(ts: number, size: number, advance: number): number[] {
  const out: number[] = [];
  const last = ts - (((ts % advance) + advance) % advance);
  for (let s = last; s > ts - size; s -= advance) out.unshift(s);
  return out;
}

export function q5(events: readonly NexmarkEvent[], options?: ReferenceOptions): QueryResult<Q5Result>[] {
  const size = WINDOW.q5SizeMs;
  const counts = new Map<number, Map<number, number>>(); // window start -> auction -> bids
  for (const e of events) {
    if (e.type !== 'bid') continue;
    for (const s of hoppingStarts(e.bid.dateTime, size, WINDOW.q5AdvanceMs)) {
      let w = counts.get(s);
      if (!w) counts.set(s, (w = new Map()));
      w.set(e.bid.auction, (w.get(e.bid.auction) ?? 0) + 1);
    }
  }
  const out: QueryResult<Q5Result>[] = [];
  for (const [start, w] of counts) {
    if (!windowClosed(start + size, options)) continue;
    const max = Math.max(...w.values());
    for (const [auction, count] of w) if (count === max) out.push({ key: String(auction), value: { auction, count, windowStart: start, windowEnd: start + size } });
  }
  return out;
}
