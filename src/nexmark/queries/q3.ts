// Nexmark q3, local item suggestion (model.ts): each auction of category 10 whose seller
// lives in OR, ID or CA, with the seller's name, city and state.
//
//   RIVULET_APPLICATION_ID=nexmark-q3 npx rivulet run dist/src/nexmark/queries/q3.js
//
// The sellers of interest are a table (persons in those states, keyed by id, store
// `q3-sellers`). Auctions of category 10 are re-keyed by seller (repartition topic
// `<app>-auctions-by-seller-repartition`) to meet it in one task, joined, and keyed by auction
// id again. An auction is an event, never updated, so it joins the table as a stream (one
// result per auction, each auction kept nowhere): the contract's timestamp order puts a
// person before their auctions, so the seller is in the table when the auction arrives. A
// table-table join keyed by seller would keep only a seller's latest auction.
import { pipeline, serdes, type Pipeline } from '../../stream/index.js';
import { outputTopic, type Person, type Q3Result, type QueryOptions } from '../model.js';
import { Q3_CATEGORY, Q3_STATES } from '../reference/q3.js';
import { auctionStream, optionsFromEnv, personStream, resolveOptions } from './joins-common.js';

export function build(options?: QueryOptions): Pipeline {
  const o = resolveOptions('q3', options);
  const p = pipeline(o.applicationId);
  const sellers = personStream(p, o)
    .filter((r) => Q3_STATES.includes(r.value.state), { name: 'in-states' })
    .groupByKey({ key: serdes.string })
    .reduce((_previous, person) => person, { name: 'q3-sellers', value: serdes.json<Person>() });
  auctionStream(p, o)
    .filter((r) => r.value.category === Q3_CATEGORY, { name: 'category' })
    .keyBy((r) => String(r.value.seller), { key: serdes.string, name: 'auctions-by-seller' })
    .join(sellers, (a, seller): Q3Result => ({ name: seller.name, city: seller.city, state: seller.state, id: a.id }), { name: 'with-seller' })
    .map((r) => ({ key: String(r.value.id), value: r.value }), { name: 'by-auction' })
    .to(outputTopic('q3'), { key: serdes.string, value: serdes.json<Q3Result>() });
  return p;
}

export default build(optionsFromEnv());
