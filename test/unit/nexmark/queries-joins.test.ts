// The join queries (q3, q4, q6, q8) in Rivulet Streams, run by the TestDriver on inputs piped
// in timestamp order, against the references: small hand-made cases, then a seeded data set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serdes, TestDriver } from '../../../src/stream/index.js';
import { outputTopic, type NexmarkEvent, type QueryOptions, type Q3Result, type Q4Result, type Q6Result, type Q8Result } from '../../../src/nexmark/model.js';
import { referenceQ3 } from '../../../src/nexmark/reference/q3.js';
import { referenceQ4 } from '../../../src/nexmark/reference/q4.js';
import { referenceQ6 } from '../../../src/nexmark/reference/q6.js';
import { q8WindowStart, referenceQ8 } from '../../../src/nexmark/reference/q8.js';
import { build as buildQ3 } from '../../../src/nexmark/queries/q3.js';
import { build as buildQ4 } from '../../../src/nexmark/queries/q4.js';
import { build as buildQ6 } from '../../../src/nexmark/queries/q6.js';
import { build as buildQ8 } from '../../../src/nexmark/queries/q8.js';
import { auction, bid, buildEvents, lastValues, partitions, person, pipeEvents, sortedResults, timeOf } from './join-events.js';

const BIG = buildEvents(7, 3000);

async function runQ3(events: readonly NexmarkEvent[], n: number): Promise<Array<{ key: string; value: Q3Result }>> {
  const d = new TestDriver(buildQ3(), { partitions: partitions(n) });
  await pipeEvents(d, events);
  const out = d.output(outputTopic('q3'), serdes.string, serdes.json<Q3Result>()).readKeyValues().map(([key, value]) => ({ key, value }));
  assert.deepEqual(d.deadLetters(), []);
  await d.close();
  return out;
}

async function runQ4(events: readonly NexmarkEvent[], n: number): Promise<{ last: Map<string, Q4Result>; driver: TestDriver }> {
  const d = new TestDriver(buildQ4(), { partitions: partitions(n) });
  await pipeEvents(d, events);
  const last = lastValues<Q4Result>(d, outputTopic('q4'));
  assert.deepEqual(d.deadLetters(), []);
  return { last, driver: d };
}

test('q3: one result per category-10 auction of a seller in OR, ID or CA, keyed by auction id', async () => {
  const events = [person(1, 100, 'OR'), person(2, 110, 'WA'), person(3, 120, 'CA'), auction(100, 1, 200), auction(101, 2, 210), auction(102, 3, 220, { category: 11 }), auction(103, 3, 230), auction(104, 99, 240), auction(105, 1, 250)];
  const got = await runQ3(events, 3);
  assert.deepEqual(sortedResults(got), sortedResults(referenceQ3(events)));
  assert.deepEqual(got.map((r) => r.key).sort(), ['100', '103', '105']);
});

test('q3 joins an auction that reaches the join before its seller (records of other tasks interleave after a repartition)', async () => {
  const events = [auction(200, 7, 100), auction(201, 8, 110), person(7, 120, 'ID'), person(8, 130, 'NY'), auction(202, 7, 140)];
  const got = await runQ3(events, 2);
  assert.deepEqual(sortedResults(got), sortedResults(referenceQ3(events)));
  assert.deepEqual(got.map((r) => r.key).sort(), ['200', '202']);
});

test('q3 on a seeded data set equals the reference', async () => {
  const expected = referenceQ3(BIG);
  assert.ok(expected.length >= 20, `the data set should give q3 results; got ${expected.length}`);
  assert.deepEqual(sortedResults(await runQ3(BIG, 3)), sortedResults(expected));
});

test('q4: the average follows a higher bid; bids outside the auction time range and ties change nothing', async () => {
  const events = [
    auction(10, 1, 1000, { category: 1, expires: 2000 }),
    auction(11, 1, 1000, { category: 1, expires: 5000 }),
    auction(12, 1, 1500, { category: 2, expires: 3000 }),
    bid(10, 50, 1000),
    bid(11, 31, 1100),
    bid(11, 31, 1200),
    bid(12, 7, 1600),
  ];
  const { last, driver } = await runQ4(events, 2);
  assert.deepEqual(last, referenceQ4(events));
  assert.deepEqual(last.get('1'), { category: 1, avgPrice: 40, auctions: 2 });
  const more = [bid(10, 70, 2000), bid(10, 999, 2001)];
  await pipeEvents(driver, more);
  const after = lastValues<Q4Result>(driver, outputTopic('q4'));
  assert.deepEqual(after.get('1'), { category: 1, avgPrice: 50, auctions: 2 });
  assert.deepEqual(referenceQ4([...events, ...more]).get('1'), after.get('1'));
  await driver.close();
});

test('q4 on a seeded data set equals the reference', async () => {
  const expected = referenceQ4(BIG);
  assert.ok(expected.size >= 4, `the data set should cover every category; got ${expected.size}`);
  const { last, driver } = await runQ4(BIG, 3);
  assert.deepEqual(last, expected);
  await driver.close();
});

async function runQ6(events: readonly NexmarkEvent[], n: number): Promise<Map<string, Q6Result>> {
  const d = new TestDriver(buildQ6(), { partitions: partitions(n) });
  await pipeEvents(d, events);
  const last = lastValues<Q6Result>(d, outputTopic('q6'));
  assert.deepEqual(d.deadLetters(), []);
  await d.close();
  return last;
}

test('q6: the mean of the newest 10 priced auctions per seller (dateTime, then id), following higher bids', async () => {
  const events: NexmarkEvent[] = [person(1, 0), person(2, 0)];
  // Seller 1: auctions 201..212 (212 opens with 201: the id orders them), priced 10..120.
  for (let i = 0; i < 12; i++) events.push(auction(201 + i, 1, i === 11 ? 1000 : 1000 + i * 100));
  for (let i = 0; i < 12; i++) events.push(bid(201 + i, (i + 1) * 10, 3000 + i));
  // The newest auction of seller 1 is priced only after it expired: it does not count.
  events.push(auction(213, 1, 5000, { expires: 6000 }), bid(213, 10_000, 6001));
  events.push(auction(300, 2, 1000), auction(301, 2, 1100), bid(300, 15, 2000), bid(301, 16, 2000), bid(301, 12, 2100));
  const ordered = events.map((e, i) => ({ e, i })).sort((a, b) => timeOf(a.e) - timeOf(b.e) || a.i - b.i).map((x) => x.e);
  const got = await runQ6(ordered, 2);
  assert.deepEqual(got, referenceQ6(ordered));
  assert.deepEqual(got.get('1'), { seller: 1, avgPrice: 65, auctions: 10 });
  assert.deepEqual(got.get('2'), { seller: 2, avgPrice: 15, auctions: 2 });
  // A higher bid on one of the newest 10 moves the mean; one on the 11th newest (201) does not.
  const more = [...ordered, bid(211, 210, 7000), bid(201, 5000, 7001)];
  const after = await runQ6(more, 2);
  assert.deepEqual(after.get('1'), { seller: 1, avgPrice: 75, auctions: 10 });
  assert.deepEqual(after, referenceQ6(more));
});

test('q6 on a seeded data set equals the reference', async () => {
  const expected = referenceQ6(BIG);
  assert.ok([...expected.values()].some((v) => v.auctions === 10), 'the data set should have sellers with 10 or more priced auctions');
  assert.deepEqual(await runQ6(BIG, 3), expected);
});

async function runQ8(events: readonly NexmarkEvent[], n: number, options?: QueryOptions): Promise<Array<{ key: string; value: Q8Result }>> {
  const d = new TestDriver(buildQ8(options), { partitions: partitions(n) });
  await pipeEvents(d, events);
  const out = d.output(outputTopic('q8'), serdes.string, serdes.json<Q8Result>()).readKeyValues().map(([key, value]) => ({ key, value }));
  assert.deepEqual(d.deadLetters(), []);
  assert.deepEqual(d.metrics.lateRecords, {});
  await d.close();
  return out;
}

test('q8: a person with auctions in their creation window, once; auctions in the next window do not count', async () => {
  const events = [
    auction(5, 4, 9_999), // by a person not created yet
    person(1, 10_000),
    auction(1, 1, 12_000),
    person(2, 19_000),
    auction(2, 1, 19_999), // person 1's second auction in the window: no second result
    auction(3, 2, 20_000), // person 2's, one window later
    person(3, 25_000),
    person(4, 26_000), // no auction
    auction(4, 3, 29_999),
    // After a repartition an auction can reach the window before its seller does (records of
    // other upstream tasks interleave): the window completes when the person arrives.
    auction(6, 5, 30_100),
    person(5, 30_100),
  ];
  const got = await runQ8(events, 2);
  assert.deepEqual(got, [
    { key: '1', value: { id: 1, name: 'p1', windowStart: 10_000, windowEnd: 20_000 } },
    { key: '3', value: { id: 3, name: 'p3', windowStart: 20_000, windowEnd: 30_000 } },
    { key: '5', value: { id: 5, name: 'p5', windowStart: 30_000, windowEnd: 40_000 } },
  ]);
  assert.deepEqual(sortedResults(got), sortedResults(referenceQ8(events)));
});

test('q8 on a seeded data set equals the reference', async () => {
  const expected = referenceQ8(BIG);
  assert.ok(expected.length >= 20, `the data set should give q8 results; got ${expected.length}`);
  assert.deepEqual(sortedResults(await runQ8(BIG, 3)), sortedResults(expected));
});

test('q8 with events up to 400 ms out of order: graceMs covers them and the result is the reference', async () => {
  // The persons and auctions (what q8 reads), with neighbours less than 400 ms apart swapped
  // where they straddle a window boundary: the later one closes the earlier one's window
  // unless the grace covers it.
  const shuffled = BIG.filter((e) => e.type !== 'bid');
  let swaps = 0;
  for (let i = 0; i + 1 < shuffled.length; i++) {
    const [a, b] = [timeOf(shuffled[i]!), timeOf(shuffled[i + 1]!)];
    if (b - a < 400 && q8WindowStart(a) !== q8WindowStart(b)) {
      [shuffled[i], shuffled[i + 1]] = [shuffled[i + 1]!, shuffled[i]!];
      swaps++;
      i++;
    }
  }
  assert.ok(swaps >= 2, `the data set should straddle window boundaries; swapped ${swaps}`);
  const got = await runQ8(shuffled, 3, { graceMs: 400, applicationId: 'q8-late' });
  assert.deepEqual(sortedResults(got), sortedResults(referenceQ8(BIG)));
});
