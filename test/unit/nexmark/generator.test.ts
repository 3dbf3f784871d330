// The Nexmark generator: deterministic from its seed, Nexmark's proportions and sizes, the
// contract's invariants (sellers exist, bids after their auctions), event-time spacing, the
// out-of-order bound, and the Kafka records of model.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NexmarkGenerator, encodeEvent, decodeEvent, eventTime, US_STATES, FIRST_CATEGORY_ID, NUM_CATEGORIES } from '../../../src/nexmark/generator.js';
import { TOPICS, type NexmarkEvent } from '../../../src/nexmark/model.js';

const T0 = 1_700_000_000_000;
const N = 50_000;

test('the same seed gives the same events; another seed other events', () => {
  const a = new NexmarkGenerator({ seed: 42, eventsPerSecond: 1000, firstEventTime: T0 }).events(2000);
  const b = new NexmarkGenerator({ seed: 42, eventsPerSecond: 1000, firstEventTime: T0 }).events(2000);
  const c = new NexmarkGenerator({ seed: 43, eventsPerSecond: 1000, firstEventTime: T0 }).events(2000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('proportions 1:3:46, Nexmark sizes, prices, states and categories over 50,000 events', () => {
  const events = new NexmarkGenerator({ seed: 1, eventsPerSecond: 10_000, firstEventTime: T0 }).events(N);
  const count = { person: 0, auction: 0, bid: 0 };
  const bytes = { person: 0, auction: 0, bid: 0 };
  for (const e of events) {
    count[e.type]++;
    bytes[e.type] += encodeEvent(e).value.length;
  }
  assert.deepEqual(count, { person: N / 50, auction: (N / 50) * 3, bid: (N / 50) * 46 });
  const avg = (k: keyof typeof count) => bytes[k] / count[k];
  // Padding brings each kind to Nexmark's average within a few percent.
  assert.ok(Math.abs(avg('person') - 200) < 10, `person average ${avg('person')} B`);
  assert.ok(Math.abs(avg('auction') - 500) < 20, `auction average ${avg('auction')} B`);
  // A bid's JSON without padding is already over Nexmark's 100 B (field names): never padded.
  assert.ok(avg('bid') >= 100 && avg('bid') < 150, `bid average ${avg('bid')} B`);
  const people = events.flatMap((e) => (e.type === 'person' ? [e.person] : []));
  const auctions = events.flatMap((e) => (e.type === 'auction' ? [e.auction] : []));
  const bids = events.flatMap((e) => (e.type === 'bid' ? [e.bid] : []));
  assert.ok(people.every((p) => (US_STATES as readonly string[]).includes(p.state)));
  assert.deepEqual(new Set(auctions.map((a) => a.category)), new Set(Array.from({ length: NUM_CATEGORIES }, (_, i) => FIRST_CATEGORY_ID + i)));
  assert.ok(auctions.every((a) => a.reserve > a.initialBid && a.expires > a.dateTime));
  assert.ok(bids.every((b) => Number.isSafeInteger(b.price) && b.price >= 100 && b.price <= 100_000_000));
  // Hot auctions: with ratio 2 about half the bids go to the hot auction of their time; the
  // busiest auction gets far more than an even share over ~100 in flight.
  const perAuction = new Map<number, number>();
  for (const b of bids) perAuction.set(b.auction, (perAuction.get(b.auction) ?? 0) + 1);
  const hottest = Math.max(...perAuction.values());
  assert.ok(hottest > 20 * (bids.length / perAuction.size), `hottest auction has ${hottest} bids, mean ${bids.length / perAuction.size}`);
  // Hot sellers: ratio 4, about three quarters of auctions by a seller whose base-0 id is a multiple of 100.
  const hotSellers = auctions.filter((a) => (a.seller - 1000) % 100 === 0).length / auctions.length;
  assert.ok(hotSellers > 0.7 && hotSellers < 0.8, `hot sellers ${hotSellers}`);
});

test('every seller and bidder exists before use; every bid is at or after its auction and on an existing one', () => {
  // Checked against the events' dateTimes (emission order is shuffled by the delay); the first N
  // emitted, looked up among a few more (an event delayed past the N-th is emitted after it).
  const all = new NexmarkGenerator({ seed: 7, eventsPerSecond: 5000, firstEventTime: T0, delayedFraction: 0.3, outOfOrderMs: 500 }).events(N + 5000);
  const events = all.slice(0, N);
  const personTime = new Map<number, number>();
  const auctionTime = new Map<number, number>();
  for (const e of all) {
    if (e.type === 'person') personTime.set(e.person.id, e.person.dateTime);
    if (e.type === 'auction') auctionTime.set(e.auction.id, e.auction.dateTime);
  }
  let bids = 0;
  for (const e of events) {
    if (e.type === 'auction') {
      const t = personTime.get(e.auction.seller);
      assert.ok(t !== undefined && t <= e.auction.dateTime, `auction ${e.auction.id}: seller ${e.auction.seller} unknown or later`);
    }
    if (e.type === 'bid') {
      bids++;
      const a = auctionTime.get(e.bid.auction);
      assert.ok(a !== undefined && a <= e.bid.dateTime, `bid at ${e.bid.dateTime} on auction ${e.bid.auction} (${a})`);
      const p = personTime.get(e.bid.bidder);
      assert.ok(p !== undefined && p <= e.bid.dateTime, `bidder ${e.bid.bidder}`);
    }
  }
  assert.ok(bids > (N / 50) * 45, `${bids} bids`);
});

test('event n is at firstEventTime + n * 1000 / rate: in order without delay', () => {
  const g = new NexmarkGenerator({ seed: 3, eventsPerSecond: 400, firstEventTime: T0 });
  const times = g.events(4000).map(eventTime);
  for (let n = 0; n < times.length; n++) assert.equal(times[n], T0 + Math.floor((n * 1000) / 400));
  assert.equal(times.at(-1)! - times[0]!, 9997);
});

test('out of order: a fraction of events comes out late, never later than the bound, keeping its dateTime', () => {
  const bound = 300;
  const g = new NexmarkGenerator({ seed: 5, eventsPerSecond: 2000, firstEventTime: T0, delayedFraction: 0.2, outOfOrderMs: bound });
  const events = g.events(20_000);
  let maxSeen = -Infinity;
  let late = 0;
  let worst = 0;
  for (const e of events) {
    const t = eventTime(e);
    if (t < maxSeen) {
      late++;
      worst = Math.max(worst, maxSeen - t);
    }
    maxSeen = Math.max(maxSeen, t);
  }
  assert.ok(worst <= bound, `an event came out ${worst} ms behind a later one (bound ${bound})`);
  assert.ok(worst > bound / 2, `the delay is used: worst ${worst}`);
  // Delayed events (20%) are overtaken by later ones: the later undelayed ones come out first.
  assert.ok(late > 0.1 * events.length && late < 0.3 * events.length, `late ${late}`);
  // Nothing lost or duplicated: the same events as without delay, in another order.
  const plain = new NexmarkGenerator({ seed: 5, eventsPerSecond: 2000, firstEventTime: T0, delayedFraction: 0.2, outOfOrderMs: bound });
  assert.equal(new Set(events.map((e) => JSON.stringify(e))).size, events.length);
  assert.deepEqual(plain.events(20_000), events);
});

test('records: topic, key (the id; a bid: its auction), JSON value, timestamp = dateTime; decoded back', () => {
  const events: NexmarkEvent[] = new NexmarkGenerator({ seed: 9, eventsPerSecond: 1000, firstEventTime: T0 }).events(100);
  for (const e of events) {
    const r = encodeEvent(e);
    assert.equal(r.timestamp, eventTime(e));
    assert.deepEqual(decodeEvent(r.topic, r.value), e);
    if (e.type === 'person') assert.deepEqual([r.topic, r.key.toString()], [TOPICS.person, String(e.person.id)]);
    if (e.type === 'auction') assert.deepEqual([r.topic, r.key.toString()], [TOPICS.auction, String(e.auction.id)]);
    if (e.type === 'bid') assert.deepEqual([r.topic, r.key.toString()], [TOPICS.bid, String(e.bid.auction)]);
  }
  assert.throws(() => decodeEvent('other', Buffer.from('{}')), /not a Nexmark input topic/);
});
