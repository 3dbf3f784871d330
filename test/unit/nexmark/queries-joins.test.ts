// The join queries (q3, q4, q6, q8) in Rivulet Streams, run by the TestDriver on inputs piped
// in timestamp order, against the references: small hand-made cases, then a seeded data set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serdes, TestDriver } from '../../../src/stream/index.js';
import { outputTopic, type NexmarkEvent, type Q3Result, type Q4Result } from '../../../src/nexmark/model.js';
import { referenceQ3 } from '../../../src/nexmark/reference/q3.js';
import { referenceQ4 } from '../../../src/nexmark/reference/q4.js';
import { build as buildQ3 } from '../../../src/nexmark/queries/q3.js';
import { build as buildQ4 } from '../../../src/nexmark/queries/q4.js';
import { auction, bid, buildEvents, lastValues, partitions, person, pipeEvents, sortedResults } from './join-events.js';

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
