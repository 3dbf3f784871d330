// Reference q4 (average price per category, model.ts): per category, Math.floor of the mean
// of the winning prices of its auctions that have one. Key: the category; the final value.
import type { NexmarkEvent, Q4Result } from '../model.js';
import { winningPrices } from './winning-prices.js';

export function referenceQ4(events: readonly NexmarkEvent[]): Map<string, Q4Result> {
  const sums = new Map<number, { sum: number; auctions: number }>();
  for (const w of winningPrices(events).values()) {
    const s = sums.get(w.auction.category) ?? { sum: 0, auctions: 0 };
    s.sum += w.price;
    s.auctions++;
    sums.set(w.auction.category, s);
  }
  const out = new Map<string, Q4Result>();
  for (const [category, s] of sums) out.set(String(category), { category, avgPrice: Math.floor(s.sum / s.auctions), auctions: s.auctions });
  return out;
}
