// q7 highest bid (model.ts): per tumbling window (10 s), the bid(s) with the highest price, ties
// all reported, keyed by auction.

import { WINDOW, type Bid, type NexmarkEvent, type Q7Result } from '../model.js';
import { windowClosed, type QueryResult, type ReferenceOptions } from './types.js';

export function q7(events: readonly NexmarkEvent[], options?: ReferenceOptions): QueryResult<Q7Result>[] {
  const size = WINDOW.q7SizeMs;
  const best = new Map<number, Bid[]>(); // window start -> the highest bids
  for (const e of events) {
    if (e.type !== 'bid') continue;
    const start = e.bid.dateTime - (((e.bid.dateTime % size) + size) % size);
    const top = best.get(start);
    if (!top || e.bid.price > top[0]!.price) best.set(start, [e.bid]);
    else if (e.bid.price === top[0]!.price) top.push(e.bid);
  }
  const out: QueryResult<Q7Result>[] = [];
  for (const [start, bids] of best) {
    if (!windowClosed(start + size, options)) continue;
    for (const b of bids) out.push({ key: String(b.auction), value: { auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, windowStart: start, windowEnd: start + size } });
  }
  return out;
}
