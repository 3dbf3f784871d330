// Nexmark q3, local item suggestion (model.ts): each auction of category 10 whose seller
// lives in OR, ID or CA, with the seller's name, city and state.
//
//   RIVULET_APPLICATION_ID=nexmark-q3 npx rivulet run dist/src/nexmark/queries/q3.js
//
// Two tables joined: the persons in those states (keyed by id) and the auctions of category
// 10, re-keyed by seller (repartition topic `<app>-auctions-by-seller-repartition`). Persons
// and auctions are only ever inserted, so the join is an unbounded stream-stream join
// (`within: Infinity`, store `q3-join`): both sides are kept, and a seller meets each of
// their auctions once, whichever arrives first; results are keyed by auction id again. A
// table-table join keyed by seller would keep only each seller's latest auction. The state
// holds every matching person and category-10 auction, as Flink's regular join does.
import { pipeline, serdes, type Pipeline } from 'rivulet/stream';
import { outputTopic, type Auction, type Person, type Q3Result, type QueryOptions } from '../model.js';
import { Q3_CATEGORY, Q3_STATES } from '../reference/q3.js';
import { auctions, optionsFromEnv, persons, resolve } from './common.js';

export function build(options?: QueryOptions): Pipeline {
  const o = resolve('q3', options);
  const p = pipeline(o.applicationId);
  const sellers = persons(p, o).filter((r) => Q3_STATES.includes(r.value.state), { name: 'in-states' });
  auctions(p, o)
    .filter((r) => r.value.category === Q3_CATEGORY, { name: 'category' })
    .keyBy((r) => String(r.value.seller), { key: serdes.string, name: 'auctions-by-seller' })
    .join(sellers, (a, seller): Q3Result => ({ name: seller.name, city: seller.city, state: seller.state, id: a.id }), {
      within: Infinity,
      name: 'q3-join',
      leftValue: serdes.json<Auction>(),
      rightValue: serdes.json<Person>(),
    })
    .map((r) => ({ key: String(r.value.id), value: r.value }), { name: 'by-auction' })
    .to(outputTopic('q3'), { key: serdes.string, value: serdes.json<Q3Result>() });
  return p;
}

export default build(optionsFromEnv());
