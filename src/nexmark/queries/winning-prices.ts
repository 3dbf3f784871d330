// The winning price per auction, which q4 and q6 share.

import { serdes, type KTable, type Pipeline } from 'rivulet/stream';
import { TOPICS, type Auction } from '../model.js';
import { bids, type ResolvedOptions } from './common.js';

/** An auction's highest bid within its time range so far. */
export interface WinningBid {
  auction: number;
  seller: number;
  category: number;
  /** The auction's dateTime (q6 orders auctions by it). */
  dateTime: number;
  price: number;
}

/**
 * The winning price per auction (model.ts, q4): bids (keyed by auction id) joined with the
 * auction table (keyed by auction id, so co-partitioned: no repartition), kept when
 * dateTime is in [auction.dateTime, auction.expires], and the highest per auction as a table
 * (store `winning-prices`), updated as higher bids arrive. A bid whose auction is not in the
 * table yet is dropped: the contract's timestamp order puts every auction before its bids
 * (the table is declared first, so it wins a tie with a bid of the same millisecond).
 */
export function winningPrices(p: Pipeline, o: ResolvedOptions): KTable<string, WinningBid> {
  const auctions = p.table(TOPICS.auction, { key: serdes.string, value: serdes.json<Auction>(), name: 'auctions' });
  return bids(p, o)
    .join(
      auctions,
      (bid, a): WinningBid | null => (bid.dateTime >= a.dateTime && bid.dateTime <= a.expires ? { auction: a.id, seller: a.seller, category: a.category, dateTime: a.dateTime, price: bid.price } : null),
      { name: 'bids-with-auction' },
    )
    .flatMapValues((r) => (r.value === null ? [] : [r.value]), { name: 'in-time-range' })
    .groupByKey({ key: serdes.string })
    .reduce((best, b) => (b.price > best.price ? b : best), { name: 'winning-prices', value: serdes.json<WinningBid>() });
}
