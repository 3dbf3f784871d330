// Event helpers for the join queries' tests: terse constructors for hand-made cases, and a
// small seeded builder of a larger data set that keeps model.ts's contract (a person before
// their auctions, every bid after its auction's dateTime). The full generator
// (src/nexmark/generator.ts) replaces the builder once it exists.
import { TOPICS, type Auction, type Bid, type NexmarkEvent, type Person } from '../../../src/nexmark/model.js';
import { serdes, type TestDriver } from '../../../src/stream/index.js';
import { Prng } from '../../../src/nexmark/generator.js';

export function person(id: number, dateTime: number, state = 'OR', name = `p${id}`): NexmarkEvent {
  const p: Person = { id, name, emailAddress: `${name}@example.com`, creditCard: '0000 0000 0000 0000', city: `city${id}`, state, dateTime, extra: '' };
  return { type: 'person', person: p };
}

export function auction(id: number, seller: number, dateTime: number, o: { category?: number; expires?: number } = {}): NexmarkEvent {
  const a: Auction = { id, itemName: `item${id}`, description: '', initialBid: 1, reserve: 1, dateTime, expires: o.expires ?? dateTime + 100_000, seller, category: o.category ?? 10, extra: '' };
  return { type: 'auction', auction: a };
}

export function bid(auctionId: number, price: number, dateTime: number, bidder = 1): NexmarkEvent {
  const b: Bid = { auction: auctionId, bidder, price, channel: 'web', url: 'https://example.com/', dateTime, extra: '' };
  return { type: 'bid', bid: b };
}

export const timeOf = (e: NexmarkEvent): number => (e.type === 'person' ? e.person.dateTime : e.type === 'auction' ? e.auction.dateTime : e.bid.dateTime);

const STATES = ['OR', 'ID', 'CA', 'WA', 'AZ', 'NY'];

/**
 * `count` events in timestamp order: about 1 person : 3 auctions : 16 bids, 1-30 ms apart.
 * Sellers are known persons; bids go to open or recently opened auctions, some after their
 * auction expired (outside its time range); categories 9-12; some prices tie.
 */
export function buildEvents(seed: number, count: number): NexmarkEvent[] {
  const prng = new Prng(seed);
  const rnd = (): number => prng.float();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const events: NexmarkEvent[] = [];
  const people: number[] = [];
  const auctions: Auction[] = [];
  let t = 1_000;
  let nextPerson = 1000;
  let nextAuction = 5000;
  while (events.length < count) {
    t += 1 + Math.floor(rnd() * 30);
    const r = rnd();
    if (people.length === 0 || r < 0.05) {
      const id = nextPerson++;
      people.push(id);
      events.push(person(id, t, pick(STATES)));
    } else if (auctions.length === 0 || r < 0.2) {
      // Mostly recent people, so q8 finds sellers created in the same window.
      const seller = rnd() < 0.5 ? people[people.length - 1]! : pick(people);
      const e = auction(nextAuction++, seller, t, { category: 9 + Math.floor(rnd() * 4), expires: t + 200 + Math.floor(rnd() * 2_000) });
      auctions.push((e as { auction: Auction }).auction);
      events.push(e);
    } else {
      const a = rnd() < 0.7 ? auctions[Math.max(0, auctions.length - 1 - Math.floor(rnd() * 20))]! : pick(auctions);
      events.push(bid(a.id, 1 + Math.floor(rnd() * 50) * 10, t, pick(people)));
    }
  }
  return events;
}

/** Pipes each event, in the given (timestamp) order, to its input topic, if the query reads it. */
export async function pipeEvents(d: TestDriver, events: readonly NexmarkEvent[]): Promise<void> {
  const reads = (topic: string): boolean => d.topology.subtopologies.some((s) => s.sources.includes(topic));
  const input = <T>(topic: string) => (reads(topic) ? d.input(topic, serdes.string, serdes.json<T>()) : null);
  const persons = input<Person>(TOPICS.person);
  const auctions = input<Auction>(TOPICS.auction);
  const bids = input<Bid>(TOPICS.bid);
  for (const e of events) {
    if (e.type === 'person') await persons?.pipe(String(e.person.id), e.person, { timestamp: e.person.dateTime });
    else if (e.type === 'auction') await auctions?.pipe(String(e.auction.id), e.auction, { timestamp: e.auction.dateTime });
    else await bids?.pipe(String(e.bid.auction), e.bid, { timestamp: e.bid.dateTime });
  }
}

/** Every partition count a test runs the queries with: each input topic gets `n`. */
export const partitions = (n: number): Record<string, number> => ({ [TOPICS.person]: n, [TOPICS.auction]: n, [TOPICS.bid]: n });

/** Sorts (key, value) results into one order, to compare multisets. */
export const sortedResults = <V>(xs: Array<{ key: string; value: V }>): Array<{ key: string; value: V }> =>
  xs.map((x) => ({ s: JSON.stringify(x), x })).sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0)).map((y) => y.x);

/** The last value per key of a query's output topic. */
export function lastValues<V>(d: TestDriver, topic: string): Map<string, V> {
  const out = new Map<string, V>();
  for (const [k, v] of d.output(topic, serdes.string, serdes.json<V>()).readKeyValues()) out.set(k, v);
  return out;
}
