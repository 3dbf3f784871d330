// Reference q6 (average selling price by seller, model.ts): per seller, Math.floor of the
// mean of the winning prices of their last 10 auctions that have one, "last" ordered by the
// auction's dateTime, then id. Key: the seller id; the final value.
// model.ts's "their last 10 auctions that have one" is read as: of the seller's auctions with
// a winning price, the newest 10 (not: of the seller's newest 10 auctions, those priced).
import type { NexmarkEvent, Q6Result } from '../model.js';
import { winningPrices, type Winning } from './winning-prices.js';

export const Q6_LAST = 10;

export function referenceQ6(events: readonly NexmarkEvent[]): Map<string, Q6Result> {
  const bySeller = new Map<number, Winning[]>();
  for (const w of winningPrices(events).values()) {
    const list = bySeller.get(w.auction.seller) ?? [];
    list.push(w);
    bySeller.set(w.auction.seller, list);
  }
  const out = new Map<string, Q6Result>();
  for (const [seller, list] of bySeller) {
    list.sort((a, b) => a.auction.dateTime - b.auction.dateTime || a.auction.id - b.auction.id);
    const last = list.slice(-Q6_LAST);
    const sum = last.reduce((s, w) => s + w.price, 0);
    out.set(String(seller), { seller, avgPrice: Math.floor(sum / last.length), auctions: last.length });
  }
  return out;
}
