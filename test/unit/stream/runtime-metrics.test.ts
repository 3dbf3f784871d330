// The record counters: a task counts into plain numbers and the counters add them in whenever
// the registry is read (their collect), so a scrape sees every record counted so far.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { RuntimeMetrics } from '../../../src/stream/runtime/metrics.js';

async function values(registry: Registry, name: string): Promise<Array<{ labels: Record<string, unknown>; value: number }>> {
  const m = registry.getSingleMetric(name);
  assert.ok(m, `${name} is registered`);
  return (await m.get()).values as Array<{ labels: Record<string, unknown>; value: number }>;
}

test('records counted by a task show in the counters on every read of the registry', async () => {
  const registry = new Registry();
  const m = new RuntimeMetrics(registry, 'app');
  const t = m.forTask('0_0');
  t.recordsIn(3);
  t.recordsIn(1);
  t.recordsOut('out', 2);
  t.recordsOut('other', 1);
  assert.deepEqual((await values(registry, 'rivulet_stream_records_in_total')).map((v) => [v.labels.task, v.value]), [['0_0', 4]]);
  const out = (await values(registry, 'rivulet_stream_records_out_total')).map((v) => [v.labels.topic, v.value]).sort();
  assert.deepEqual(out, [['other', 1], ['out', 2]]);
  // Counted once: a second read adds nothing, later records add on.
  t.recordsIn(5);
  assert.equal((await values(registry, 'rivulet_stream_records_in_total'))[0]!.value, 9);
  assert.match(await registry.metrics(), /rivulet_stream_records_in_total\{application="app",task="0_0"\} 9/);
});

test('a task rebuilt under the same id keeps the counts of the one it replaces; two runtimes on one registry both flush', async () => {
  const registry = new Registry();
  const a = new RuntimeMetrics(registry, 'a');
  const b = new RuntimeMetrics(registry, 'b');
  a.forTask('0_0').recordsIn(2);
  a.forTask('0_0').recordsIn(3);
  b.forTask('0_1').recordsIn(7);
  const byApp = Object.fromEntries((await values(registry, 'rivulet_stream_records_in_total')).map((v) => [`${v.labels.application}/${v.labels.task}`, v.value]));
  assert.deepEqual(byApp, { 'a/0_0': 5, 'b/0_1': 7 });
});
