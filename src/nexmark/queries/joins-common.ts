// What the join queries (q3, q4, q6, q8) share: options with their defaults, the input
// topics as streams and tables with model.ts's encodings, and the winning price per auction
// (q4 and q6).
import { serdes, type KStream, type KTable, type Pipeline } from '../../stream/index.js';
import { TOPICS, type Auction, type Bid, type Person, type QueryName, type QueryOptions } from '../model.js';

export interface ResolvedOptions {
  applicationId: string;
  graceMs: number;
  maxOutOfOrderMs: number;
}

export function resolveOptions(query: QueryName, options: QueryOptions = {}): ResolvedOptions {
  const graceMs = options.graceMs ?? 0;
  const maxOutOfOrderMs = options.maxOutOfOrderMs ?? 0;
  for (const [name, v] of [['graceMs', graceMs], ['maxOutOfOrderMs', maxOutOfOrderMs]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`Nexmark ${query}: ${name} must be a whole number of milliseconds >= 0, got ${v}`);
  }
  return { applicationId: options.applicationId ?? `nexmark-${query}`, graceMs, maxOutOfOrderMs };
}

/** Options from the environment, for `rivulet run`: RIVULET_APPLICATION_ID, RIVULET_NEXMARK_GRACE_MS, RIVULET_NEXMARK_MAX_OUT_OF_ORDER_MS. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): QueryOptions {
  const ms = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number of milliseconds >= 0, got "${v}"`);
    return n;
  };
  const o: QueryOptions = {};
  if (env.RIVULET_APPLICATION_ID !== undefined && env.RIVULET_APPLICATION_ID !== '') o.applicationId = env.RIVULET_APPLICATION_ID;
  const grace = ms('RIVULET_NEXMARK_GRACE_MS');
  if (grace !== undefined) o.graceMs = grace;
  const skew = ms('RIVULET_NEXMARK_MAX_OUT_OF_ORDER_MS');
  if (skew !== undefined) o.maxOutOfOrderMs = skew;
  return o;
}

/** Input streams: keys are decimal ids as text, values JSON, event time the dateTime. */
export function personStream(p: Pipeline, o: ResolvedOptions): KStream<string, Person> {
  return p.stream(TOPICS.person, { key: serdes.string, value: serdes.json<Person>(), timestamp: (r) => r.value.dateTime, watermark: { maxOutOfOrderMs: o.maxOutOfOrderMs } });
}

export function auctionStream(p: Pipeline, o: ResolvedOptions): KStream<string, Auction> {
  return p.stream(TOPICS.auction, { key: serdes.string, value: serdes.json<Auction>(), timestamp: (r) => r.value.dateTime, watermark: { maxOutOfOrderMs: o.maxOutOfOrderMs } });
}

export function bidStream(p: Pipeline, o: ResolvedOptions): KStream<string, Bid> {
  return p.stream(TOPICS.bid, { key: serdes.string, value: serdes.json<Bid>(), timestamp: (r) => r.value.dateTime, watermark: { maxOutOfOrderMs: o.maxOutOfOrderMs } });
}

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
 * table yet is dropped: the contract's timestamp order puts every auction before its bids.
 */
export function winningPrices(p: Pipeline, o: ResolvedOptions): KTable<string, WinningBid> {
  const auctions = p.table(TOPICS.auction, { key: serdes.string, value: serdes.json<Auction>(), name: 'auctions' });
  return bidStream(p, o)
    .join(
      auctions,
      (bid, a): WinningBid | null => (bid.dateTime >= a.dateTime && bid.dateTime <= a.expires ? { auction: a.id, seller: a.seller, category: a.category, dateTime: a.dateTime, price: bid.price } : null),
      { name: 'bids-with-auction' },
    )
    .flatMapValues((r) => (r.value === null ? [] : [r.value]), { name: 'in-time-range' })
    .groupByKey({ key: serdes.string })
    .reduce((best, b) => (b.price > best.price ? b : best), { name: 'winning-prices', value: serdes.json<WinningBid>() });
}
