// The join queries' references (q3, q4, q6, q8) on small hand-made inputs with answers
// worked out by hand, edge cases included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referenceQ3 } from '../../../src/nexmark/reference/q3.js';
import { referenceQ4 } from '../../../src/nexmark/reference/q4.js';
import { referenceQ6 } from '../../../src/nexmark/reference/q6.js';
import { referenceQ8 } from '../../../src/nexmark/reference/q8.js';
import { auction, bid, person } from './join-events.js';

test('reference q3: category-10 auctions of sellers in OR, ID or CA; other states, categories and unknown sellers are left out', () => {
  const events = [
    person(1, 100, 'OR'),
    person(2, 110, 'WA'),
    person(3, 120, 'CA'),
    person(4, 130, 'ID'),
    auction(100, 1, 200),
    auction(101, 2, 210), // seller in WA
    auction(102, 3, 220, { category: 11 }),
    auction(103, 3, 230),
    auction(104, 99, 240), // seller unknown
    auction(105, 1, 250), // a second auction of seller 1
    auction(106, 4, 260),
  ];
  assert.deepEqual(referenceQ3(events), [
    { key: '100', value: { name: 'p1', city: 'city1', state: 'OR', id: 100 } },
    { key: '103', value: { name: 'p3', city: 'city3', state: 'CA', id: 103 } },
    { key: '105', value: { name: 'p1', city: 'city1', state: 'OR', id: 105 } },
    { key: '106', value: { name: 'p4', city: 'city4', state: 'ID', id: 106 } },
  ]);
});

test('reference q4: winning prices within [dateTime, expires] (both ends), ties, auctions without bids, Math.floor of the mean', () => {
  const events = [
    auction(10, 1, 1000, { category: 1, expires: 2000 }),
    auction(11, 1, 1000, { category: 1, expires: 5000 }),
    auction(12, 1, 1500, { category: 2, expires: 3000 }),
    auction(13, 1, 1500, { category: 2, expires: 3000 }), // no bid at all
    bid(10, 999, 999), // before the auction opened
    bid(10, 50, 1000), // at its start: counts
    bid(11, 31, 1100),
    bid(11, 31, 1200), // a tie
    bid(12, 7, 1600),
    bid(14, 500, 1700), // an auction that does not exist
    bid(10, 70, 2000), // at expires: counts, and raises the average
    bid(10, 999, 2001), // after it expired
  ];
  // Before the 70: category 1 = floor((50 + 31) / 2).
  assert.deepEqual(referenceQ4(events.slice(0, 10)).get('1'), { category: 1, avgPrice: 40, auctions: 2 });
  const got = referenceQ4(events);
  assert.deepEqual([...got.entries()].sort(), [
    ['1', { category: 1, avgPrice: 50, auctions: 2 }], // floor((70 + 31) / 2)
    ['2', { category: 2, avgPrice: 7, auctions: 1 }],
  ]);
});

test('reference q6: the last 10 auctions with a winning price per seller, by dateTime then id', () => {
  const events = [person(1, 0), person(2, 0)];
  // Seller 1: auctions 201..212; 212 opens at the same time as 201 (the id breaks the tie),
  // so the order is 201, 212, 202, ..., 211 and the last 10 are 202..211.
  for (let i = 0; i < 12; i++) events.push(auction(201 + i, 1, i === 11 ? 1000 : 1000 + i * 100));
  for (let i = 0; i < 12; i++) events.push(bid(201 + i, (i + 1) * 10, 3000));
  // The newest auction of seller 1 has only a bid after it expired: no winning price.
  events.push(auction(213, 1, 5000, { expires: 6000 }), bid(213, 10_000, 6001));
  events.push(auction(300, 2, 1000), auction(301, 2, 1100), bid(300, 15, 2000), bid(301, 16, 2000), bid(301, 12, 2100));
  const got = referenceQ6(events);
  // 20 + 30 + ... + 110 = 650 over 10 auctions.
  assert.deepEqual(got.get('1'), { seller: 1, avgPrice: 65, auctions: 10 });
  assert.deepEqual(got.get('2'), { seller: 2, avgPrice: 15, auctions: 2 });
  assert.equal(got.size, 2);
  // With only 202..211's bids, 201 and 212 have no price: the same 10 auctions.
  const without = events.filter((e) => !(e.type === 'bid' && (e.bid.auction === 201 || e.bid.auction === 212)));
  assert.deepEqual(referenceQ6(without).get('1'), { seller: 1, avgPrice: 65, auctions: 10 });
  // With 201's price but not 212's: 201 is the 11th newest, still out.
  const with201 = events.filter((e) => !(e.type === 'bid' && e.bid.auction === 212));
  assert.deepEqual(referenceQ6(with201).get('1'), { seller: 1, avgPrice: 65, auctions: 10 });
  // Only 3 of seller 1's auctions have a price: the mean of those 3.
  const few = events.filter((e) => !(e.type === 'bid' && e.bid.auction >= 201 && e.bid.auction <= 209));
  assert.deepEqual(referenceQ6(few).get('1'), { seller: 1, avgPrice: 110, auctions: 3 }); // 210, 211, 212
});

test('reference q8: a person who opened an auction in the window they were created in, once per person and window', () => {
  const events = [
    person(1, 10_000),
    auction(1, 1, 12_000),
    auction(2, 1, 19_999), // a second auction in the same window: still one result
    person(2, 19_000),
    auction(3, 2, 20_000), // the next window
    person(3, 25_000),
    auction(4, 3, 29_999),
    person(4, 26_000), // no auction
    auction(5, 4, 9_999), // before person 4 existed, another window
  ];
  assert.deepEqual(referenceQ8(events), [
    { key: '1', value: { id: 1, name: 'p1', windowStart: 10_000, windowEnd: 20_000 } },
    { key: '3', value: { id: 3, name: 'p3', windowStart: 20_000, windowEnd: 30_000 } },
  ]);
});
