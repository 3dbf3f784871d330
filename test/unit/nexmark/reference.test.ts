// The reference implementations on small hand-made inputs with answers worked out by hand,
// and check.ts's comparisons (what it reports missing, unexpected, duplicated, different).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Auction, Bid, NexmarkEvent, Person } from '../../../src/nexmark/model.js';
import { q0 } from '../../../src/nexmark/reference/q0.js';
import { q1 } from '../../../src/nexmark/reference/q1.js';
import { q2 } from '../../../src/nexmark/reference/q2.js';
import { q5, hoppingStarts } from '../../../src/nexmark/reference/q5.js';
import { q7 } from '../../../src/nexmark/reference/q7.js';
import { compare, canonical } from '../../../src/nexmark/check.js';

const bid = (auction: number, price: number, dateTime: number, bidder = 1): NexmarkEvent => ({ type: 'bid', bid: { auction, bidder, price, channel: 'c', url: 'u', dateTime, extra: '' } });
const person: NexmarkEvent = { type: 'person', person: { id: 1, name: 'A B', emailAddress: 'a@b', creditCard: '1', city: 'Boise', state: 'ID', dateTime: 0, extra: '' } as Person };
const auction: NexmarkEvent = { type: 'auction', auction: { id: 246, itemName: 'i', description: 'd', initialBid: 1, reserve: 2, dateTime: 0, expires: 10, seller: 1, category: 10, extra: '' } as Auction };
const b = (e: NexmarkEvent): Bid => (e as { bid: Bid }).bid;

test('q0 passes bids through keyed by auction; q1 converts prices with Math.floor(price * 908 / 1000); q2 keeps auction % 123 === 0', () => {
  const events = [person, auction, bid(246, 1000, 5), bid(7, 999, 6), bid(123, 1, 7)];
  assert.deepEqual(q0(events), [
    { key: '246', value: b(events[2]!) },
    { key: '7', value: b(events[3]!) },
    { key: '123', value: b(events[4]!) },
  ]);
  // 1000 * 0.908 = 908; 999 * 0.908 = 907.092 -> 907; 1 * 0.908 -> 0.
  assert.deepEqual(q1(events).map((r) => [r.key, r.value.price]), [['246', 908], ['7', 907], ['123', 0]]);
  assert.deepEqual(q2(events), [
    { key: '246', value: { auction: 246, price: 1000 } },
    { key: '123', value: { auction: 123, price: 1 } },
  ]);
});

test('q5: per 10 s window advancing 2 s, the auctions with the most bids, ties all reported', () => {
  assert.deepEqual(hoppingStarts(9_999, 10_000, 2_000), [0, 2_000, 4_000, 6_000, 8_000]);
  assert.deepEqual(hoppingStarts(10_000, 10_000, 2_000), [2_000, 4_000, 6_000, 8_000, 10_000]);
  // Auction 1: bids at 1000, 1500, 3000; auction 2: bids at 3500, 9000; auction 3: 11000.
  const events = [bid(1, 5, 1000), bid(1, 5, 1500), bid(1, 5, 3000), bid(2, 5, 3500), bid(2, 5, 9000), bid(3, 5, 11_000)];
  // Windows (start): -8000: {1:2}; -6000, -4000, -2000, 0: {1:3, 2:.. only if >= start}:
  //   -8000 [-8000,2000): 1x2 -> 1 (2)
  //   -6000, -4000 [.., 4000): 1x3, 2x1 -> 1 (3)
  //   -2000 [-2000,8000): 1x3, 2x1 -> 1 (3)
  //   0 [0,10000): 1x3, 2x2 -> 1 (3)
  //   2000 [2000,12000): 1x1, 2x2, 3x1 -> 2 (2)
  //   4000 [4000,14000): 2x1, 3x1 -> tie 2 and 3 (1)
  //   6000, 8000: 2x1, 3x1 -> ties; 10000: 3x1 -> 3 (1)
  const got = q5(events).map((r) => `${r.value.windowStart}:${r.key}:${r.value.count}`).sort();
  const want = ['-8000:1:2', '-6000:1:3', '-4000:1:3', '-2000:1:3', '0:1:3', '2000:2:2', '4000:2:1', '4000:3:1', '6000:2:1', '6000:3:1', '8000:2:1', '8000:3:1', '10000:3:1'].sort();
  assert.deepEqual(got, want);
  assert.ok(q5(events).every((r) => r.value.windowEnd === r.value.windowStart + 10_000 && r.key === String(r.value.auction)));
  // Closed by a watermark at 12000: windows ending by 12000 only ([2000, 12000) is the last).
  assert.deepEqual(q5(events, { watermark: 12_000 }).map((r) => r.value.windowStart).sort((x, y) => x - y).at(-1), 2_000);
  assert.equal(q5(events, { watermark: 12_000, graceMs: 1 }).filter((r) => r.value.windowStart === 2_000).length, 0);
});

test('q7: per 10 s tumbling window, the bids with the highest price, ties all reported', () => {
  const events = [bid(1, 50, 100, 7), bid(2, 80, 9_999, 8), bid(3, 80, 5_000, 9), bid(4, 90, 10_000), bid(5, 10, 19_999), bid(6, 1, 20_000)];
  const got = q7(events).map((r) => canonical(r)).sort();
  const want = [
    { key: '2', value: { auction: 2, bidder: 8, price: 80, dateTime: 9_999, windowStart: 0, windowEnd: 10_000 } },
    { key: '3', value: { auction: 3, bidder: 9, price: 80, dateTime: 5_000, windowStart: 0, windowEnd: 10_000 } },
    { key: '4', value: { auction: 4, bidder: 1, price: 90, dateTime: 10_000, windowStart: 10_000, windowEnd: 20_000 } },
    { key: '6', value: { auction: 6, bidder: 1, price: 1, dateTime: 20_000, windowStart: 20_000, windowEnd: 30_000 } },
  ].map((r) => canonical(r)).sort();
  assert.deepEqual(got, want);
  assert.deepEqual(q7(events, { watermark: 29_999 }).map((r) => r.key).sort(), ['2', '3', '4']);
});

test('check, multiset: missing, unexpected and duplicated results, field order ignored', () => {
  const expected = [{ key: '1', value: { a: 1, b: 2 } }, { key: '1', value: { a: 1, b: 2 } }, { key: '2', value: { a: 3, b: 4 } }, { key: '3', value: { a: 5, b: 6 } }];
  assert.equal(compare('qx', 'multiset', expected, [{ key: '3', value: { b: 6, a: 5 } }, { key: '1', value: { b: 2, a: 1 } }, { key: '2', value: { a: 3, b: 4 } }, { key: '1', value: { a: 1, b: 2 } }]).ok, true);
  const r = compare('qx', 'multiset', expected, [{ key: '1', value: { a: 1, b: 2 } }, { key: '2', value: { a: 3, b: 4 } }, { key: '2', value: { a: 3, b: 4 } }, { key: '3', value: { a: 5, b: 7 } }]);
  assert.equal(r.ok, false);
  assert.deepEqual(r.missing.map((m) => canonical(m)), [canonical({ key: '1', value: { a: 1, b: 2 } }), canonical({ key: '3', value: { a: 5, b: 6 } })]);
  assert.deepEqual(r.unexpected, [{ key: '3', value: { a: 5, b: 7 } }]);
  assert.deepEqual(r.duplicated, [{ key: '2', value: { a: 3, b: 4 }, times: 2, expectedTimes: 1 }]);
  assert.match(r.summary, /missing: 2\n.*1 -> \{"a":1,"b":2\}/);
  assert.match(r.summary, /duplicated: 1\n.*\(2 times, expected 1\)/);
  // A long list shows only the first few.
  const many = Array.from({ length: 20 }, (_, i) => ({ key: String(i), value: i }));
  assert.match(compare('qx', 'multiset', many, []).summary, /missing: 20, the first 5/);
});

test('check, last-per-key: only the last value of each key counts', () => {
  const expected = [{ key: 'a', value: 1 }, { key: 'a', value: 2 }, { key: 'b', value: 3 }];
  assert.equal(compare('q4', 'last-per-key', expected, [{ key: 'b', value: 3 }, { key: 'a', value: 9 }, { key: 'a', value: 2 }]).ok, true);
  const r = compare('q4', 'last-per-key', expected, [{ key: 'a', value: 2 }, { key: 'a', value: 1 }, { key: 'c', value: 5 }]);
  assert.deepEqual(r.different, [{ key: 'a', expected: 2, actual: 1 }]);
  assert.deepEqual(r.missing, [{ key: 'b', value: 3 }]);
  assert.deepEqual(r.unexpected, [{ key: 'c', value: 5 }]);
  assert.match(r.summary, /different last value: 1\n\s+a: expected 2, got 1/);
});
