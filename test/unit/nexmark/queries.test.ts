// Each Rivulet Nexmark query in the in-memory TestDriver on a generated data set, its output
// checked with check.ts against the reference.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NexmarkGenerator } from '../../../src/nexmark/generator.js';
import { MemoryStoreFactory } from '../../../src/stream/index.js';
import { checkQuery } from '../../../src/nexmark/check.js';
import { CHECKS } from '../../../src/nexmark/reference/index.js';
import { build as q0 } from '../../../src/nexmark/queries/q0.js';
import { build as q1 } from '../../../src/nexmark/queries/q1.js';
import { build as q2 } from '../../../src/nexmark/queries/q2.js';
import { build as q3 } from '../../../src/nexmark/queries/q3.js';
import { build as q4 } from '../../../src/nexmark/queries/q4.js';
import { build as q6 } from '../../../src/nexmark/queries/q6.js';
import { build as q8 } from '../../../src/nexmark/queries/q8.js';
import { build as q5 } from '../../../src/nexmark/queries/q5.js';
import { build as q7 } from '../../../src/nexmark/queries/q7.js';
import { closingBids } from '../../../src/nexmark/writer.js';
import { eventTime } from '../../../src/nexmark/generator.js';
import type { NexmarkEvent } from '../../../src/nexmark/model.js';
import { runOnDriver } from './driver.js';

// 100 events/s of event time: 6000 events span a minute, several windows of every query.
const events = new NexmarkGenerator({ seed: 11, eventsPerSecond: 100, firstEventTime: 1_700_000_000_000 }).events(6000);

for (const [name, build] of [['q0', q0], ['q1', q1], ['q2', q2], ['q3', q3], ['q4', q4], ['q6', q6], ['q8', q8]] as const) {
  test(`${name} in the TestDriver equals the reference`, async () => {
    const actual = await runOnDriver(name, build(), events);
    const outcome = checkQuery(CHECKS[name], events, actual);
    assert.ok(outcome.ok, outcome.summary);
    assert.ok(actual.length > 0, 'the query wrote something');
  });
}

// Windowed queries: closing bids (one per partition, a minute after the data) close every window
// of the data; the reference then has exactly the windows that closed.
for (const [name, build] of [['q5', q5], ['q7', q7]] as const) {
  test(`${name} in the TestDriver equals the reference (final results of every closed window)`, async () => {
    const end = Math.max(...events.map(eventTime)) + 60_000;
    const input = [...events, ...closingBids(end, 3)];
    const actual = await runOnDriver(name, build(), input);
    const outcome = checkQuery(CHECKS[name], input, actual, { watermark: end });
    assert.ok(outcome.ok, outcome.summary);
    // Every window of the data (a minute of bids) has a result.
    const windows = new Set(actual.map((r) => (r.value as { windowStart: number }).windowStart));
    assert.ok(windows.size >= (name === 'q5' ? 30 : 6), `${windows.size} windows`);
  });
}

for (const [name, build] of [['q5', q5], ['q7', q7]] as const) {
  test(`${name} with out-of-order input: a grace that covers the delay loses nothing`, async () => {
    const delayed = new NexmarkGenerator({ seed: 12, eventsPerSecond: 100, firstEventTime: 1_700_000_000_000, delayedFraction: 0.2, outOfOrderMs: 3000 }).events(3000);
    const end = Math.max(...delayed.map(eventTime)) + 60_000;
    const input = [...delayed, ...closingBids(end, 3)];
    const actual = await runOnDriver(name, build({ graceMs: 3000 }), input);
    const outcome = checkQuery(CHECKS[name], input, actual, { watermark: end, graceMs: 3000 });
    assert.ok(outcome.ok, outcome.summary);
  });

  test(`${name} restarted halfway from its committed state: every window once, equal to the reference`, async () => {
    const end = Math.max(...events.map(eventTime)) + 60_000;
    const input = [...events, ...closingBids(end, 3)];
    const stores = new MemoryStoreFactory();
    const half = Math.floor(events.length / 2);
    const first = await runOnDriver(name, build(), input.slice(0, half), 3, stores);
    assert.ok(first.length > 0, 'windows closed before the restart');
    const second = await runOnDriver(name, build(), input.slice(half), 3, stores);
    const outcome = checkQuery(CHECKS[name], input, [...first, ...second], { watermark: end });
    assert.ok(outcome.ok, outcome.summary);
  });
}

test('q5 and q7 report every tie, across bid partitions', async () => {
  const bid = (auction: number, price: number, dateTime: number): NexmarkEvent => ({ type: 'bid', bid: { auction, bidder: 1, price, channel: 'c', url: 'u', dateTime, extra: '' } });
  // Auctions 1000..1003 spread over the 3 partitions; two bids each on 1000 and 1001, price 70 twice.
  const hand = [bid(1000, 70, 1000), bid(1001, 70, 2000), bid(1000, 5, 3000), bid(1001, 6, 4000), bid(1002, 1, 5000), bid(1003, 70, 6000)];
  const input = [...hand, ...closingBids(100_000, 3)];
  for (const [name, build] of [['q5', q5], ['q7', q7]] as const) {
    const actual = await runOnDriver(name, build(), input);
    const outcome = checkQuery(CHECKS[name], input, actual, { watermark: 100_000 });
    assert.ok(outcome.ok, outcome.summary);
  }
  const q7out = await runOnDriver('q7', q7(), input);
  assert.deepEqual(q7out.map((r) => r.key).sort(), ['1000', '1001', '1003']);
});

test('a query module run by rivulet run takes its options from the RIVULET_* environment; bad values say which variable', async () => {
  const { optionsFromEnv } = await import('../../../src/nexmark/queries/common.js');
  assert.deepEqual(optionsFromEnv({ RIVULET_APPLICATION_ID: 'nx', RIVULET_NEXMARK_GRACE_MS: '2000', RIVULET_NEXMARK_MAX_OUT_OF_ORDER_MS: '500' }), { applicationId: 'nx', graceMs: 2000, maxOutOfOrderMs: 500 });
  assert.deepEqual(optionsFromEnv({}), {});
  assert.throws(() => optionsFromEnv({ RIVULET_NEXMARK_GRACE_MS: '-1' }), /RIVULET_NEXMARK_GRACE_MS must be a whole number of milliseconds >= 0, got "-1"/);
  assert.equal(q7({ applicationId: 'nx' }).build().application, 'nx');
  assert.equal(q0().build().application, 'nexmark-q0');
  assert.ok(q5().build().internalTopics.some((t) => t.name === 'nexmark-q5-windows-repartition' && t.partitions === 1));
});

test('q5 and q7: a jump of years in event time costs no work per empty window', { timeout: 20_000 }, async () => {
  const hand = new NexmarkGenerator({ seed: 4, eventsPerSecond: 100, firstEventTime: 1_700_000_000_000 }).events(500);
  const far = 1_700_000_000_000 + 10 * 365 * 86_400_000;
  const input = [...hand, ...closingBids(far, 3)];
  for (const [name, build] of [['q5', q5], ['q7', q7]] as const) {
    const outcome = checkQuery(CHECKS[name], input, await runOnDriver(name, build(), input), { watermark: far });
    assert.ok(outcome.ok, outcome.summary);
  }
});
