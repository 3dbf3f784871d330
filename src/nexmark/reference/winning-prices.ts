// The winning price of each auction, as q4 and q6 define it (model.ts): the highest price
// among its bids whose dateTime is in [auction.dateTime, auction.expires], both ends
// included. Auctions without such a bid have none. Order of the events does not matter:
// this is the unbounded join's result once every event has been seen.
import type { Auction, NexmarkEvent } from '../model.js';

export interface Winning {
  auction: Auction;
  price: number;
}

/** Auction id -> its auction and winning price, for auctions that have one. */
export function winningPrices(events: readonly NexmarkEvent[]): Map<number, Winning> {
  const auctions = new Map<number, Auction>();
  for (const e of events) if (e.type === 'auction') auctions.set(e.auction.id, e.auction);
  const out = new Map<number, Winning>();
  for (const e of events) {
    if (e.type !== 'bid') continue;
    const a = auctions.get(e.bid.auction);
    if (a === undefined || e.bid.dateTime < a.dateTime || e.bid.dateTime > a.expires) continue;
    const w = out.get(a.id);
    if (w === undefined) out.set(a.id, { auction: a, price: e.bid.price });
    else if (e.bid.price > w.price) w.price = e.bid.price;
  }
  return out;
}
