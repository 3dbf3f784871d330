// The Kafka runtime of Rivulet Streams against a real broker, with a hand-made counting
// topology (test/helpers/stream-count.ts):
//  - exactly-once: every key's outputs are exactly 1..n (nothing missing, nothing twice),
//    the changelog holds the counts, and commits are measured;
//  - a restart with the local state resumes from its checkpoint (restores only the changelog
//    tail another instance wrote meanwhile); fresh local state restores the whole changelog;
//  - a second instance joining takes over partitions and the counts stay exact;
//  - a poison record goes to the dead-letter topic with its error in headers, or, under
//    onError 'stop', stops the pipeline with a message naming the record;
//  - at-least-once loses nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startBroker, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { makeTempDir } from '../helpers/temp.js';
import { countTopology, createTopics, produce, readCommitted, countsByKey, metricSum } from '../helpers/stream-count.js';
import { startPipeline, type RuntimeConfig, type RunningPipeline } from '../../src/stream/runtime/index.js';

const P = 4;
let broker: BrokerProcess;
let stateDir: string;
const running: RunningPipeline[] = [];

before(async () => {
  broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
  stateDir = await makeTempDir('rivulet-stream-');
});
after(async () => {
  for (const r of running) await r.stop().catch(() => undefined);
  await broker.stop();
  await broker.cleanup();
});

const ctx = () => `--- broker log (tail) ---\n${brokerTail(broker, 30)}`;

function config(instanceId: string, extra: Partial<RuntimeConfig> = {}): RuntimeConfig {
  return { bootstrap: broker.bootstrap, stateDir, instanceId, commitIntervalMs: 50, sessionTimeoutMs: 6000, ...extra };
}

async function start(app: string, input: string, output: string, cfg: RuntimeConfig): Promise<RunningPipeline> {
  const r = await startPipeline(countTopology(app, input, output), cfg);
  running.push(r);
  return r;
}

/** n records per key over `keys` keys, values "<key>-<i>". */
function keyed(keys: number, n: number, prefix = 'k'): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) for (let k = 0; k < keys; k++) out.push([`${prefix}${k}`, `${prefix}${k}-${i}`]);
  return out;
}

/** Waits until every key's last output is `expected`, then checks it received exactly 1..expected. */
async function expectExactCounts(output: string, expected: Map<string, number>): Promise<void> {
  let got = new Map<string, number[]>();
  await waitFor('every key counted to its total', async () => {
    got = countsByKey(await readCommitted(broker.port, output, P));
    return [...expected].every(([k, n]) => got.get(k)?.at(-1) === n);
  }, 30_000, () => `got ${JSON.stringify([...got].map(([k, l]) => [k, l.length, l.at(-1)]))}\n${ctx()}`);
  for (const [k, n] of expected) {
    assert.deepEqual(got.get(k), Array.from({ length: n }, (_, i) => i + 1), `key ${k}: each count exactly once, in order`);
  }
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), 'no other keys');
}

test('exactly-once: a stateful count pipeline outputs every count of every key exactly once; the changelog holds the latest counts', { timeout: 90_000 }, async () => {
  await createTopics(broker.bootstrap, ['c1-in', 'c1-out'], P);
  await produce(broker.bootstrap, 'c1-in', keyed(10, 20));
  const registry = new Registry();
  const r = await start('c1', 'c1-in', 'c1-out', config('a', { metricsRegistry: registry }));
  await r.ready;
  assert.equal(r.isReady(), true);
  assert.equal(r.isLive(), true);
  await expectExactCounts('c1-out', new Map(Array.from({ length: 10 }, (_, k) => [`k${k}`, 20])));
  await r.stop();
  assert.equal(await r.closed, undefined);
  assert.equal(r.isLive(), false);
  // The changelog's last value per key is the count.
  const latest = new Map<string, string | null>();
  for (const [k, v] of await readCommitted(broker.port, 'c1-counts-changelog', P)) latest.set(k, v);
  assert.deepEqual([...latest].sort(), Array.from({ length: 10 }, (_, k) => [`k${k}`, '20']).sort());
  assert.ok((await metricSum(registry, 'rivulet_stream_commits_total')) > 0, 'commits counted');
  assert.equal(await metricSum(registry, 'rivulet_stream_records_in_total'), 200);
  const latency = (await registry.getSingleMetric('rivulet_stream_commit_latency_seconds')!.get()).values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'));
  assert.ok(latency && latency.value > 0, 'commit latency observed');
});
