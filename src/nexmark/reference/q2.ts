// q2 selection (model.ts): bids whose auction % 123 === 0, as { auction, price }.

import type { NexmarkEvent, Q2Result } from '../model.js';
import type { QueryResult } from './types.js';

export const Q2_MODULUS = 123;

export function q2(events: readonly NexmarkEvent[]): QueryResult<Q2Result>[] {
  const out: QueryResult<Q2Result>[] = [];
  for (const e of events) {
    if (e.type === 'bid' && e.bid.auction % Q2_MODULUS === 0) out.push({ key: String(e.bid.auction), value: { auction: e.bid.auction, price: e.bid.price } });
  }
  return out;
}
