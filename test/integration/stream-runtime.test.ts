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
import { rm } from 'node:fs/promises';
import { Admin } from '@platformatic/kafka';
import { Registry } from 'prom-client';
import { startBroker, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { makeTempDir } from '../helpers/temp.js';
import { readIsolated, committedOffsets, IsolationLevel } from '../helpers/txn-wire.js';
import { countTopology, createTopics, produce, readCommitted, countsByKey, metricSum } from '../helpers/stream-count.js';
import type { StoreFactory, Topology } from '../../src/stream/types.js';
import { MemoryStoreFactory } from '../../src/stream/state/memory-store.js';
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
  await rm(stateDir, { recursive: true, force: true });
});

const ctx = () => `--- broker log (tail) ---\n${brokerTail(broker, 30)}`;

function config(instanceId: string, extra: Partial<RuntimeConfig> = {}): RuntimeConfig {
  // STREAM_TEST_LOG=1 prints the runtime's log lines.
  const logger = process.env.STREAM_TEST_LOG ? { info: (m: string) => console.error(`[${instanceId}] ${m}`), warn: (m: string) => console.error(`[${instanceId}] WARN ${m}`), error: (m: string) => console.error(`[${instanceId}] ERROR ${m}`) } : undefined;
  return { bootstrap: broker.bootstrap, stateDir, instanceId, commitIntervalMs: 50, logger, ...extra };
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
  // Caught up: every input partition's lag is 0 (one gauge per partition), nothing left to restore.
  await waitFor('consumer lag 0 on every partition', async () => {
    const lag = (await registry.getSingleMetric('rivulet_stream_consumer_lag')!.get()).values;
    return lag.length === P && lag.every((v) => v.value === 0);
  }, 10_000);
  assert.equal(await metricSum(registry, 'rivulet_stream_restore_remaining_records'), 0);
  // The stores commit just after the transaction whose outputs the check above saw.
  await waitFor('state size: 10 keys over the tasks', async () => (await metricSum(registry, 'rivulet_stream_state_entries')) === 10, 10_000);
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

/** Committed data records in a topic (markers and aborted records excluded). */
async function committedCount(topic: string): Promise<number> {
  return (await readCommitted(broker.port, topic, P)).length;
}

test('a restart with local state (lmdb) restores only the changelog tail written since its checkpoint; fresh or deleted local state restores the whole changelog; counts stay exact', { timeout: 120_000 }, async () => {
  await createTopics(broker.bootstrap, ['c2-in', 'c2-out'], P);
  const here = await makeTempDir('rivulet-stream-a-'); // this machine's state directory
  const elsewhere = await makeTempDir('rivulet-stream-b-');
  const expected = new Map<string, number>();
  const add = (recs: Array<[string, string]>) => {
    for (const [k] of recs) expected.set(k, (expected.get(k) ?? 0) + 1);
    return recs;
  };
  const run = async (instance: string, dir: string) => {
    const registry = new Registry();
    const r = await start('c2', 'c2-in', 'c2-out', config(instance, { stateDir: dir, metricsRegistry: registry }));
    await expectExactCounts('c2-out', expected);
    await r.stop();
    return metricSum(registry, 'rivulet_stream_restore_records_total');
  };

  // Run 1 here.
  await produce(broker.bootstrap, 'c2-in', add(keyed(8, 10)));
  assert.equal(await run('a', here), 0, 'an empty changelog: nothing to restore');
  const afterRun1 = await committedCount('c2-counts-changelog');
  assert.ok(afterRun1 > 0);

  // Run 2 elsewhere (no local state): restores the whole changelog, then counts on.
  await produce(broker.bootstrap, 'c2-in', add(keyed(8, 5)));
  assert.equal(await run('b', elsewhere), afterRun1, 'fresh state: the whole changelog restored');
  const afterRun2 = await committedCount('c2-counts-changelog');
  assert.ok(afterRun2 > afterRun1);

  // Run 3 back here: only what run 2 wrote is read.
  await produce(broker.bootstrap, 'c2-in', add(keyed(8, 3)));
  assert.equal(await run('a', here), afterRun2 - afterRun1, 'local checkpoint: only the changelog tail restored');
  const afterRun3 = await committedCount('c2-counts-changelog');

  // Run 4 here with the state directory deleted: the whole changelog again.
  await rm(here, { recursive: true, force: true });
  await produce(broker.bootstrap, 'c2-in', add(keyed(8, 1)));
  assert.equal(await run('a', here), afterRun3, 'deleted state directory: the whole changelog restored');
  await rm(elsewhere, { recursive: true, force: true });
});

test('exactly-once: a second instance joining takes over partitions while records flow, and every count is output exactly once', { timeout: 120_000 }, async () => {
  await createTopics(broker.bootstrap, ['c3-in', 'c3-out'], P);
  const expected = new Map<string, number>();
  const send = async (recs: Array<[string, string]>) => {
    for (const [k] of recs) expected.set(k, (expected.get(k) ?? 0) + 1);
    await produce(broker.bootstrap, 'c3-in', recs);
  };
  const regA = new Registry();
  const regB = new Registry();
  const a = await start('c3', 'c3-in', 'c3-out', config('a', { metricsRegistry: regA }));
  await a.ready;
  await send(keyed(12, 10));
  const b = await start('c3', 'c3-in', 'c3-out', config('b', { metricsRegistry: regB, stateDir: await makeTempDir('rivulet-stream-b-') }));
  // Records keep flowing while b joins and takes over partitions, until b has processed some.
  for (let round = 0; (await metricSum(regB, 'rivulet_stream_records_in_total')) === 0; round++) {
    assert.ok(round < 300, `b processed nothing after ${round} rounds\n${ctx()}`);
    await send(keyed(12, 5, 'k').map(([k, v]) => [k, `${v}-r${round}`]));
    await sleep(50);
  }
  for (let round = 0; round < 5; round++) await send(keyed(12, 5, 'k').map(([k, v]) => [k, `${v}-s${round}`]));
  await expectExactCounts('c3-out', expected);
  const inA = await metricSum(regA, 'rivulet_stream_records_in_total');
  const inB = await metricSum(regB, 'rivulet_stream_records_in_total');
  assert.ok(inA > 0 && inB > 0, `both processed records (a ${inA}, b ${inB})`);
  await b.stop();
  await a.stop();
});

test('dead-letter: a poison record goes to the dead-letter topic with its error in headers, and the records around it are counted', { timeout: 90_000 }, async () => {
  await createTopics(broker.bootstrap, ['c4-in', 'c4-out'], P);
  await produce(broker.bootstrap, 'c4-in', [['a', '1'], ['a', 'poison'], ['a', '2']]);
  const registry = new Registry();
  const r = await start('c4', 'c4-in', 'c4-out', config('a', { metricsRegistry: registry }));
  await expectExactCounts('c4-out', new Map([['a', 2]]));
  let dlq: Awaited<ReturnType<typeof readIsolated>>['records'] = [];
  await waitFor('the poison record in the dead-letter topic', async () => {
    dlq = (await readIsolated(broker.port, 'c4-dlq', 0, IsolationLevel.READ_COMMITTED)).records;
    return dlq.length > 0;
  }, 30_000, ctx);
  await r.stop();
  assert.equal(dlq.length, 1);
  const rec = dlq[0]!;
  assert.equal(rec.key?.toString(), 'a');
  assert.equal(rec.value?.toString(), 'poison');
  const h = new Map(rec.headers.map(([k, v]) => [k, v.toString()]));
  assert.equal(h.get('rivulet.error.operator'), 'count');
  assert.equal(h.get('rivulet.error.message'), 'this record is poison');
  assert.match(h.get('rivulet.error.stack') ?? '', /this record is poison/);
  assert.equal(h.get('rivulet.error.topic'), 'c4-in');
  const partition = Number(h.get('rivulet.error.partition'));
  assert.ok(partition >= 0 && partition < P);
  assert.equal(h.get('rivulet.error.offset'), '1');
  assert.equal(await metricSum(registry, 'rivulet_stream_dead_letters_total'), 1);
});

test('onError stop: a poison record stops the pipeline with a message naming the operator, topic, partition and offset; its offset is not committed', { timeout: 90_000 }, async () => {
  await createTopics(broker.bootstrap, ['c5-in', 'c5-out'], 1);
  await produce(broker.bootstrap, 'c5-in', [['a', '1'], ['a', '2']]);
  const r = await start('c5', 'c5-in', 'c5-out', config('a', { onError: 'stop' }));
  await waitFor('the first records counted', async () => (await readCommitted(broker.port, 'c5-out', 1)).length === 2, 30_000, ctx);
  await produce(broker.bootstrap, 'c5-in', [['a', 'poison'], ['a', '3']]);
  const err = await r.closed;
  assert.ok(err instanceof Error, 'closed settles with the error');
  assert.match(err.message, /operator "count" failed on the record at offset 2 of c5-in partition 0: this record is poison/);
  assert.equal((err as Error & { code?: string }).code, 'RIV_ERR_STREAM_POISON_RECORD');
  assert.equal(r.isLive(), false);
  const committed = await committedOffsets(broker.port, 'c5', 'c5-in', [0], true);
  assert.ok(committed[0]!.offset <= 2, `committed offset ${committed[0]!.offset} stays at or before the poison record`);
  assert.deepEqual((await readCommitted(broker.port, 'c5-out', 1)).map(([, v]) => v), ['1', '2'], 'nothing after the poison record was output');
});

test('at-least-once: every record is counted (nothing lost)', { timeout: 90_000 }, async () => {
  await createTopics(broker.bootstrap, ['c6-in', 'c6-out'], P);
  await produce(broker.bootstrap, 'c6-in', keyed(10, 15));
  const r = await start('c6', 'c6-in', 'c6-out', config('a', { guarantee: 'at_least_once' }));
  await expectExactCounts('c6-out', new Map(Array.from({ length: 10 }, (_, k) => [`k${k}`, 15])));
  await r.stop();
  // Restarted, it resumes from the committed offsets: nothing is counted twice after a clean stop.
  await produce(broker.bootstrap, 'c6-in', keyed(10, 1));
  const r2 = await start('c6', 'c6-in', 'c6-out', config('a', { guarantee: 'at_least_once' }));
  await expectExactCounts('c6-out', new Map(Array.from({ length: 10 }, (_, k) => [`k${k}`, 16])));
  await r2.stop();
});

/**
 * Two sub-topologies through a repartition topic: sub-topology 0 re-keys each record by its
 * value's first letter and sends it to `<app>-bykey-repartition`; sub-topology 1 counts per new key.
 */
function repartitionTopology(app: string, input: string, output: string): Topology {
  const repartition = `${app}-bykey-repartition`;
  const counting = countTopology(app, repartition, output).subtopologies[0]!;
  return {
    application: app,
    stores: [{ name: 'counts', subtopology: 1, changelog: true }],
    internalTopics: [{ name: repartition, partitions: 3 }],
    sinks: [output],
    describe: () => `${input} -> re-key -> ${repartition} -> count -> ${output}`,
    subtopologies: [
      {
        id: 0,
        sources: [input],
        createTask(ctx) {
          return {
            process(r) {
              ctx.send({ topic: repartition, key: Buffer.from(r.value!.toString().slice(0, 1)), value: r.value, timestamp: r.timestamp });
            },
            tick() {},
            async flush() {},
            close() {},
          };
        },
      },
      { ...counting, id: 1 },
    ],
  };
}

test('exactly-once through a repartition topic: the runtime creates it, sub-topology 1 reads it read_committed, counts are exact', { timeout: 90_000 }, async () => {
  await createTopics(broker.bootstrap, ['c7-in', 'c7-out'], P);
  const recs: Array<[string, string]> = [];
  for (let i = 0; i < 60; i++) recs.push([`any${i}`, `${'abcde'[i % 5]}${i}`]);
  await produce(broker.bootstrap, 'c7-in', recs);
  const r = await startPipeline(repartitionTopology('c7', 'c7-in', 'c7-out'), config('a'));
  running.push(r);
  await expectExactCounts('c7-out', new Map([...'abcde'].map((k) => [k, 12])));
  await r.stop();
  const repartitioned = (await readCommitted(broker.port, 'c7-bykey-repartition', 3)).length;
  assert.equal(repartitioned, 60, 'every record went through the repartition topic once');
  const admin = new Admin({ clientId: 'stream-test', bootstrapBrokers: [broker.bootstrap] });
  try {
    const meta = await admin.metadata({ topics: ['c7-bykey-repartition', 'c7-counts-changelog'] });
    assert.equal(meta.topics.get('c7-bykey-repartition')?.partitionsCount, 3, 'the repartition topic has the partitions its spec asks for');
    assert.equal(meta.topics.get('c7-counts-changelog')?.partitionsCount, 3, 'the changelog has the partitions of the sub-topology that owns the store');
  } finally {
    await admin.close();
  }
});

test('sources of one sub-topology with different partition counts: start fails naming the topics and their counts', { timeout: 30_000 }, async () => {
  await createTopics(broker.bootstrap, ['c8-left'], 2);
  await createTopics(broker.bootstrap, ['c8-right'], 3);
  const t = countTopology('c8', 'c8-left', 'c8-out');
  t.subtopologies[0]!.sources.push('c8-right');
  await assert.rejects(startPipeline(t, config('a')), /sub-topology 0 of c8 must have the same number of partitions .*c8-left=2, c8-right=3/);
});

test('a long changelog is restored in chunks: the store commits as the restore goes (a crash mid-restore resumes from there), then at the changelog end', { timeout: 90_000 }, async () => {
  const records = 25_000;
  await createTopics(broker.bootstrap, ['c9-in', 'c9-out'], 1);
  const admin = new Admin({ clientId: 'stream-test', bootstrapBrokers: [broker.bootstrap] });
  try {
    await admin.createTopics({ topics: ['c9-counts-changelog'], partitions: 1, replicas: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }] });
  } finally {
    await admin.close();
  }
  await produce(broker.bootstrap, 'c9-counts-changelog', Array.from({ length: records }, (_, i) => [`key-${i}`, '1']));
  // Every store commit's checkpoint, in order; a memory store as the local state.
  const checkpoints: bigint[] = [];
  const readyAtCommit: boolean[] = [];
  let pipeline: RunningPipeline | undefined;
  const memory = new MemoryStoreFactory();
  const storeFactory: StoreFactory = {
    async open(taskId, name) {
      const store = await memory.open(taskId, name);
      const commit = store.commit.bind(store);
      store.commit = (checkpoint) => {
        checkpoints.push(checkpoint);
        if (pipeline !== undefined) readyAtCommit.push(pipeline.isReady());
        return commit(checkpoint);
      };
      return store;
    },
  };
  const registry = new Registry();
  const r = await start('c9', 'c9-in', 'c9-out', config('a', { storeFactory, metricsRegistry: registry }));
  pipeline = r;
  await r.ready;
  const duringRestore = [...checkpoints];
  assert.ok(readyAtCommit.length > 0 && readyAtCommit.every((ready) => !ready), `not ready (/readyz 503) while restoring: ${readyAtCommit.join(', ')}`);
  assert.equal(r.isReady(), true);
  await r.stop();
  assert.equal(await metricSum(registry, 'rivulet_stream_restore_records_total'), records);
  assert.ok(duringRestore.length >= 3, `the restore committed in chunks, not once at the end: checkpoints ${duringRestore.join(', ')}`);
  for (let i = 1; i < duringRestore.length; i++) assert.ok(duringRestore[i]! > duringRestore[i - 1]!, `checkpoints rise: ${duringRestore.join(', ')}`);
  assert.equal(duringRestore.at(-1), BigInt(records), 'the last one at the changelog end');
  assert.equal((await memory.open('0_0', 'counts')).approximateSize(), records, 'every key restored');
});

test('revocation commits: partitions handed to a joining instance carry the first one\'s work committed, so the newcomer redoes none of it', { timeout: 120_000 }, async () => {
  await createTopics(broker.bootstrap, ['c10-in', 'c10-out'], P);
  const expected = new Map<string, number>();
  const records = keyed(12, 20);
  for (const [k] of records) expected.set(k, (expected.get(k) ?? 0) + 1);
  await produce(broker.bootstrap, 'c10-in', records);
  const regA = new Registry();
  const regB = new Registry();
  // A commit interval far longer than the test, no commit on drain: only a revocation (or the stop) commits.
  const slow = { commitIntervalMs: 600_000, commitOnDrain: false };
  const a = await start('c10', 'c10-in', 'c10-out', config('a', { ...slow, metricsRegistry: regA }));
  await waitFor('a processed every record', async () => (await metricSum(regA, 'rivulet_stream_records_in_total')) === records.length, 30_000, ctx);
  const uncommitted = await committedOffsets(broker.port, 'c10', 'c10-in', [0, 1, 2, 3]);
  assert.ok(uncommitted.every((p) => p.offset <= 0), `nothing committed yet: ${JSON.stringify(uncommitted)}`);
  const b = await start('c10', 'c10-in', 'c10-out', config('b', { ...slow, metricsRegistry: regB, stateDir: await makeTempDir('rivulet-stream-b-') }));
  await waitFor('b owns partitions', async () => ((await regB.getSingleMetric('rivulet_stream_consumer_lag')?.get())?.values.length ?? 0) > 0, 30_000, ctx);
  // What a handed-over partition carries: a's work, committed by a before it let go.
  const committed = await committedOffsets(broker.port, 'c10', 'c10-in', [0, 1, 2, 3], true);
  assert.ok(committed.some((p) => p.offset > 0), `a committed on revocation: ${JSON.stringify(committed)}`);
  await sleep(1000);
  assert.equal(await metricSum(regB, 'rivulet_stream_records_in_total'), 0, 'b processed none of a\'s records again');
  await a.stop();
  await b.stop();
  await expectExactCounts('c10-out', expected);
});
