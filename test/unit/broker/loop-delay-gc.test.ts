// GC pauses and event-loop delay (rivulet_gc_pause_seconds, rivulet_event_loop_delay_seconds):
// the fold of monitorEventLoopDelay's percentiles into cumulative buckets is checked on a
// histogram filled with known values, and a BrokerMetrics counts GC pauses by kind from the
// moment it is built. No assertion depends on how long anything took.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHistogram } from 'node:perf_hooks';
import { BrokerMetrics, FastHistogram, foldIntervalHistogram } from '../../../src/broker/metrics.js';
import { parseMetrics } from '../../helpers/metrics.js';
import { waitFor } from '../../helpers/wait.js';

const BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const RES = 20e6;

/** Cumulative counts per bound, then +Inf, as Prometheus prints them. */
function cumulative(counts: Float64Array): number[] {
  let acc = 0;
  return [...counts].map((c) => (acc += c));
}

test('event-loop delay samples fold into cumulative buckets, less the resolution', () => {
  const h = createHistogram();
  const late = (ns: number, times: number) => {
    for (let i = 0; i < times; i++) h.record(RES + ns);
  };
  late(-500_000, 3); // re-armed from libuv's millisecond clock: under the resolution, late by 0
  late(50_000, 10);
  late(300_000, 5);
  late(3_000_000, 2);
  late(2_000_000_000, 1);
  const child = new FastHistogram('d', 'd', BOUNDS).child();
  const max = foldIntervalHistogram(h, RES, BOUNDS, child);

  //                                 100µ 250µ 500µ 1m  2.5m 5m  10m 25m 50m 100m 250m 500m 1   +Inf
  assert.deepEqual(cumulative(child.counts), [13, 13, 18, 18, 18, 20, 20, 20, 20, 20, 20, 20, 20, 21]);
  assert.equal(child.count, 21);
  assert.ok(Math.abs(child.sum - 2.0065) < 0.005, `sum of the delays ${child.sum}`);
  assert.ok(Math.abs(max - 2) < 0.005, `largest delay ${max}`);
  assert.equal(h.count, 0, 'the monitor is reset');

  // Nothing new: nothing added, no maximum.
  assert.equal(foldIntervalHistogram(h, RES, BOUNDS, child), 0);
  assert.equal(child.count, 21);

  // The next interval adds to the running totals.
  late(700_000, 4);
  const max2 = foldIntervalHistogram(h, RES, BOUNDS, child);
  assert.deepEqual(cumulative(child.counts), [13, 13, 18, 22, 22, 24, 24, 24, 24, 24, 24, 24, 24, 25]);
  assert.equal(child.count, 25);
  assert.ok(Math.abs(max2 - 0.0007) < 0.00005, `largest delay of the second interval ${max2}`);
});

test('one sample per bucket: every bound splits exactly', () => {
  const h = createHistogram();
  // One sample inside each bound, by more than the histogram's precision (3 significant
  // digits of resolution + delay: 16 µs at 20 ms).
  for (const b of BOUNDS) h.record(Math.round(RES + b * 1e9 * 0.9 - 20_000));
  h.record(RES + 5e9);
  const child = new FastHistogram('d', 'd', BOUNDS).child();
  foldIntervalHistogram(h, RES, BOUNDS, child);
  assert.deepEqual([...child.counts], Array(BOUNDS.length + 1).fill(1));
});

test('GC pauses are counted by kind from construction, before any scrape', async () => {
  const m = new BrokerMetrics();
  try {
    // Short-lived garbage (kept in a ring so it escapes) fills the young generation many times over.
    const ring: { i: number; s: string }[] = new Array(1024);
    for (let i = 0; i < 400_000; i++) ring[i & 1023] = { i, s: String(i) };
    assert.equal(ring[5]!.i % 1024, 5);
    // Observers are told after the GC, on a later turn.
    let s = parseMetrics((await m.scrape()).text);
    await waitFor('a minor GC observed', async () => (s = parseMetrics((await m.scrape()).text)).must('rivulet_gc_pause_seconds_count{kind="minor"}') > 0, 10_000);
    let pauses = 0;
    for (const kind of ['minor', 'major', 'incremental', 'weakcb']) {
      const count = s.must(`rivulet_gc_pause_seconds_count{kind="${kind}"}`);
      assert.equal(s.must(`rivulet_gc_pause_seconds_bucket{kind="${kind}",le="+Inf"}`), count);
      pauses += count;
    }
    assert.ok(s.must('rivulet_gc_pause_seconds_count{kind="minor"}') > 0, 'minor GCs counted');
    assert.ok(pauses > 0);
    assert.ok(s.must('rivulet_event_loop_delay_seconds_count') >= 0);
    assert.equal(s.types.get('rivulet_nodejs_gc_duration_seconds'), undefined, "prom-client's GC histogram is not exported twice");
    assert.equal(s.types.get('rivulet_nodejs_eventloop_lag_p99_seconds'), undefined);
  } finally {
    m.close();
  }
});
