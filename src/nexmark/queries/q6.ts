// Nexmark q6, average selling price by seller (model.ts): per seller, Math.floor of the mean
// of the winning prices of their last 10 auctions that have one ("last" by the auction's
// dateTime, then id), updated on every change.
//
//   RIVULET_APPLICATION_ID=nexmark-q6 npx rivulet run dist/src/nexmark/queries/q6.js
//
// The winning price per auction is a table (winning-prices.ts), regrouped by seller
// (KTable.groupBy, repartition topic `<app>-by-seller-repartition`). Each seller's aggregate
// is their newest 10 priced auctions: an auction's new price replaces its old one (the
// subtractor takes it out, the adder puts it back, in one step). Keeping only 10 is exact
// because an auction never loses its winning price: one that falls out of the newest 10 can
// never be among them again.
import { pipeline, serdes, type Pipeline } from 'rivulet/stream';
import { outputTopic, type Q6Result, type QueryOptions } from '../model.js';
import { Q6_LAST } from '../reference/q6.js';
import { optionsFromEnv, resolve } from './common.js';
import { winningPrices } from './winning-prices.js';

interface Priced {
  auction: number;
  dateTime: number;
  price: number;
}

const older = (a: Priced, b: Priced): number => a.dateTime - b.dateTime || a.auction - b.auction;

/** The list with `p` in its place (oldest first), cut to the newest Q6_LAST. */
function addPriced(list: readonly Priced[], p: Priced): Priced[] {
  const out = list.filter((x) => x.auction !== p.auction);
  let i = out.length;
  while (i > 0 && older(out[i - 1]!, p) > 0) i--;
  out.splice(i, 0, p);
  return out.length > Q6_LAST ? out.slice(out.length - Q6_LAST) : out;
}

export function build(options?: QueryOptions): Pipeline {
  const o = resolve('q6', options);
  const p = pipeline(o.applicationId);
  winningPrices(p, o)
    .groupBy((_auction, w) => ({ key: String(w.seller), value: { auction: w.auction, dateTime: w.dateTime, price: w.price } }), { key: serdes.string, value: serdes.json<Priced>(), name: 'by-seller' })
    .aggregate<Priced[]>(
      () => [],
      (list, priced) => addPriced(list, priced),
      (list, priced) => list.filter((x) => x.auction !== priced.auction),
      { name: 'seller-last-auctions', value: serdes.json<Priced[]>() },
    )
    .toStream()
    .flatMapValues((r): Q6Result[] => {
      const n = r.value.length;
      if (n === 0) return [];
      const sum = r.value.reduce((s, x) => s + x.price, 0);
      return [{ seller: Number(r.key), avgPrice: Math.floor(sum / n), auctions: n }];
    }, { name: 'average' })
    .to(outputTopic('q6'), { key: serdes.string, value: serdes.json<Q6Result>() });
  return p;
}

export default build(optionsFromEnv());
