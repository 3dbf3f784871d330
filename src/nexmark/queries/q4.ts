// Nexmark q4, average price per category (model.ts): per category, Math.floor of the mean of
// the winning prices of its auctions, updated on every change.
//
//   RIVULET_APPLICATION_ID=nexmark-q4 npx rivulet run dist/src/nexmark/queries/q4.js
//
// The winning price per auction is a table (winning-prices.ts); regrouped by category
// (KTable.groupBy, repartition topic `<app>-by-category-repartition`), each update takes the
// auction's previous price out of its category's sum and puts the new one in.
import { pipeline, serdes, type Pipeline } from 'rivulet/stream';
import { outputTopic, type Q4Result, type QueryOptions } from '../model.js';
import { optionsFromEnv, resolve } from './common.js';
import { winningPrices } from './winning-prices.js';

interface CategorySum {
  sum: number;
  auctions: number;
}

export function build(options?: QueryOptions): Pipeline {
  const o = resolve('q4', options);
  const p = pipeline(o.applicationId);
  winningPrices(p, o)
    .groupBy((_auction, w) => ({ key: String(w.category), value: w.price }), { key: serdes.string, value: serdes.long, name: 'by-category' })
    .aggregate<CategorySum>(
      () => ({ sum: 0, auctions: 0 }),
      (s, price) => ({ sum: s.sum + price, auctions: s.auctions + 1 }),
      (s, price) => ({ sum: s.sum - price, auctions: s.auctions - 1 }),
      { name: 'category-prices', value: serdes.json<CategorySum>() },
    )
    .toStream()
    // A category whose auctions all left has no average (winning prices never go away, so it does not happen).
    .flatMapValues((r): Q4Result[] => (r.value.auctions === 0 ? [] : [{ category: Number(r.key), avgPrice: Math.floor(r.value.sum / r.value.auctions), auctions: r.value.auctions }]), { name: 'average' })
    .to(outputTopic('q4'), { key: serdes.string, value: serdes.json<Q4Result>() });
  return p;
}

export default build(optionsFromEnv());
