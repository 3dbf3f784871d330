// Windows and joins on the Kafka runtime against a real broker (exactly-once):
//  - a tumbling windowed count (emit final) runs, stops with windows still open, and a second
//    run on fresh local state restores them from the changelog: every window's final count
//    comes out exactly once and equals the count computed here from the input;
//  - a stream-table enrichment joins a stream with a table read from a co-partitioned topic.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { makeTempDir } from '../helpers/temp.js';
import { createTopics, produce, readCommitted } from '../helpers/stream-count.js';
import { startPipeline, type RuntimeConfig, type RunningPipeline } from '../../src/stream/runtime/index.js';
import { pipeline, serdes, tumbling, type Rec } from '../../src/stream/index.js';

const P = 3;
let broker: BrokerProcess;
const dirs: string[] = [];
const running: RunningPipeline[] = [];

before(async () => {
  broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
});
after(async () => {
  for (const r of running) await r.stop().catch(() => undefined);
  await broker.stop();
  await broker.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function config(instanceId: string): Promise<RuntimeConfig> {
  const stateDir = await makeTempDir('rivulet-windows-');
  dirs.push(stateDir);
  return { bootstrap: broker.bootstrap, stateDir, instanceId, commitIntervalMs: 50 };
}

/** Input values are event times (ms) as text. */
function windowedCount(app: string, input: string, output: string) {
  const p = pipeline(app);
  p.stream(input, { key: serdes.string, value: serdes.string, timestamp: (r: Rec<string, string>) => Number(r.value) })
    .groupByKey()
    .windowedBy(tumbling(1_000))
    .count({ emit: 'final', name: 'wcount' })
    .toStream()
    .map((r) => ({ key: `${r.key.key}@${r.key.window.start}`, value: String(r.value) }))
    .to(output, { key: serdes.string, value: serdes.string });
  return p.build();
}

test('windowed count, exactly-once: open windows survive a restart on fresh local state (restored from the changelog); each final count exactly once', { timeout: 120_000 }, async () => {
  await createTopics(broker.bootstrap, ['w-in', 'w-out'], P);
  const expected = new Map<string, number>();
  const send = async (records: Array<[string, string]>) => {
    for (const [k, v] of records) {
      const w = `${k}@${Math.floor(Number(v) / 1000) * 1000}`;
      expected.set(w, (expected.get(w) ?? 0) + 1);
    }
    await produce(broker.bootstrap, 'w-in', records);
  };
  const keys = Array.from({ length: 6 }, (_, i) => `k${i}`);
  // Run 1: event times 0..2499 (windows 0 and 1000 close, 2000 stays open).
  // In event-time order across keys (a partition's watermark is its highest time: no record is late).
  await send(Array.from({ length: 25 }, (_, j) => keys.map((k, i) => [k, String(j * 100 + i)] as [string, string])).flat());
  const r1 = await startPipeline(windowedCount('w1', 'w-in', 'w-out'), await config('a'));
  running.push(r1);
  const finals = async () => new Map((await readCommitted(broker.port, 'w-out', P)).map(([k, v]) => [k, v]));
  let got = new Map<string, string | null>();
  let dlq: Array<[string, string | null]> = [];
  await waitFor('windows 0 and 1000 of every key', async () => {
    got = await finals();
    dlq = await readCommitted(broker.port, 'w1-dlq', 1);
    return keys.every((k) => got.has(`${k}@0`) && got.has(`${k}@1000`));
  }, 30_000, () => `out ${JSON.stringify([...got])} dead letters ${JSON.stringify(dlq)}\n--- broker log ---\n${brokerTail(broker, 30)}`);
  await r1.stop();
  // Run 2, elsewhere (empty state directory): the open windows come back from the changelog.
  for (const t of ['2600', '2999', '3500']) await send(keys.map((k) => [k, t] as [string, string]));
  await send(keys.map((k) => [k, '100000'] as [string, string])); // closes every earlier window
  const r2 = await startPipeline(windowedCount('w1', 'w-in', 'w-out'), await config('b'));
  running.push(r2);
  const want = [...expected].filter(([w]) => !w.endsWith('@100000'));
  await waitFor('every closed window', async () => {
    const got = await finals();
    return want.every(([w]) => got.has(w));
  }, 30_000, () => `--- broker log ---\n${brokerTail(broker, 30)}`);
  await r2.stop();
  const out = await readCommitted(broker.port, 'w-out', P);
  const seen = new Map<string, number>();
  for (const [k] of out) seen.set(k, (seen.get(k) ?? 0) + 1);
  assert.deepEqual([...seen].filter(([, n]) => n !== 1), [], 'each window exactly once');
  assert.deepEqual(new Map(out.map(([k, v]) => [k, Number(v)])), new Map(want));
  assert.equal(Number(out.find(([k]) => k === 'k0@2000')![1]), 7, 'window 2000: 5 records from run 1 and 2 from run 2');
});

test('stream-table enrichment on the runtime: orders joined with the users table of a co-partitioned topic', { timeout: 60_000 }, async () => {
  await createTopics(broker.bootstrap, ['j-users', 'j-orders', 'j-out'], P);
  await produce(broker.bootstrap, 'j-users', [['u1', 'Ada'], ['u2', 'Bob']]);
  const p = pipeline('j1');
  const users = p.table('j-users', { key: serdes.string, value: serdes.string });
  p.stream('j-orders', { key: serdes.string, value: serdes.string })
    .leftJoin(users, (item, name) => `${name ?? '?'} ordered ${item}`)
    .to('j-out', { key: serdes.string, value: serdes.string });
  const r = await startPipeline(p.build(), await config('j'));
  running.push(r);
  await r.ready;
  // Orders must meet the users already in the table: wait until the table's changelog holds them.
  await waitFor('the users table loaded', async () => (await readCommitted(broker.port, 'j1-j-users-table-changelog', P)).length >= 2, 30_000);
  await produce(broker.bootstrap, 'j-orders', [['u1', 'tea'], ['u2', 'jam'], ['u3', 'pie']]);
  let got: string[] = [];
  await waitFor('three enriched orders', async () => {
    got = (await readCommitted(broker.port, 'j-out', P)).map(([, v]) => v ?? '');
    return got.length >= 3;
  }, 30_000, () => `got ${JSON.stringify(got)}`);
  assert.deepEqual(got.sort(), ['? ordered pie', 'Ada ordered tea', 'Bob ordered jam']);
  await r.stop();
});
