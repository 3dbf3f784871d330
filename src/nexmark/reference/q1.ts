// q1 currency conversion (model.ts): every bid, price in euros: Math.floor(price * 908 / 1000).

import type { Bid, NexmarkEvent } from '../model.js';
import type { QueryResult } from './types.js';

/** Dollars to euros in integer arithmetic, identical in every engine. */
export const toEuros = (price: number): number => Math.floor((price * 908) / 1000);

export function q1(events: readonly NexmarkEvent[]): QueryResult<Bid>[] {
  const out: QueryResult<Bid>[] = [];
  for (const e of events) if (e.type === 'bid') out.push({ key: String(e.bid.auction), value: { ...e.bid, price: toEuros(e.bid.price) } });
  return out;
}
