// q0 pass-through (model.ts): every bid, unchanged, keyed by its auction.

import type { Bid, NexmarkEvent } from '../model.js';
import type { QueryResult } from './types.js';

export function q0(events: readonly NexmarkEvent[]): QueryResult<Bid>[] {
  const out: QueryResult<Bid>[] = [];
  for (const e of events) if (e.type === 'bid') out.push({ key: String(e.bid.auction), value: e.bid });
  return out;
}
