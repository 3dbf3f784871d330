// Commit on drain (src/stream/runtime/commit-cycle.ts, drainCommitAt) against a real broker,
// with the counting topology of test/helpers/stream-count.ts and a commit interval (30 s)
// far longer than each check:
//  - exactly-once: a single record's output becomes visible to a read_committed reader
//    while no interval commit can have happened yet (less than 30 s since the start); with
//    commitOnDrain false the processed record stays uncommitted and invisible;
//  - a trickle of records is not committed one transaction per record: commits on drain keep
//    commitOnDrainSpacingMs between their starts (counted by rivulet_stream_commits_total).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { Registry } from 'prom-client';
import { startBroker, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { makeTempDir } from '../helpers/temp.js';
import { committedOffsets } from '../helpers/txn-wire.js';
import { countTopology, createTopics, produce, readCommitted, metricSum } from '../helpers/stream-count.js';
import { startPipeline, type RuntimeConfig, type RunningPipeline } from '../../src/stream/runtime/index.js';

const P = 2;
const INTERVAL_MS = 30_000;
let broker: BrokerProcess;
let stateDir: string;
const running: RunningPipeline[] = [];

before(async () => {
  broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
  stateDir = await makeTempDir('rivulet-stream-drain-');
});
after(async () => {
  for (const r of running) await r.stop().catch(() => undefined);
  await broker.stop();
  await broker.cleanup();
  await rm(stateDir, { recursive: true, force: true });
});

const ctx = () => `--- broker log (tail) ---\n${brokerTail(broker, 30)}`;

async function start(app: string, registry: Registry, extra: Partial<RuntimeConfig> = {}): Promise<RunningPipeline> {
  await createTopics(broker.bootstrap, [`${app}-in`, `${app}-out`], P);
  const r = await startPipeline(countTopology(app, `${app}-in`, `${app}-out`), {
    bootstrap: broker.bootstrap, stateDir, instanceId: 'a', commitIntervalMs: INTERVAL_MS, metricsRegistry: registry, ...extra,
  });
  running.push(r);
  await r.ready;
  return r;
}

test('exactly-once, commit on drain (the default): one record\'s output is visible read_committed long before a 30 s commit interval could end; without it, it is not', { timeout: 90_000 }, async () => {
  const started = Date.now();
  const reg = new Registry();
  await start('d1', reg);
  await produce(broker.bootstrap, 'd1-in', [['k', 'v']]);
  await waitFor('the output visible to a read_committed reader', async () => (await readCommitted(broker.port, 'd1-out', P)).length === 1, INTERVAL_MS / 2, ctx);
  // The pipeline's first commit (nothing to commit) came after `started`: the next one the interval makes is 30 s after it.
  assert.ok(Date.now() - started < INTERVAL_MS, 'visible before the first interval commit could have happened');
  assert.deepEqual(await readCommitted(broker.port, 'd1-out', P), [['k', '1']]);
  assert.ok((await metricSum(reg, 'rivulet_stream_commits_total')) >= 1, 'a commit counted');
  const offsets = await committedOffsets(broker.port, 'd1', 'd1-in', [0, 1], true);
  assert.equal(offsets.reduce((n, p) => n + Math.max(0, p.offset), 0), 1, `the input offset committed: ${JSON.stringify(offsets)}`);

  // The same with commitOnDrain false: processed, not committed, so not visible.
  const off = new Registry();
  await start('d2', off, { commitOnDrain: false, instanceId: 'b' });
  await produce(broker.bootstrap, 'd2-in', [['k', 'v']]);
  await waitFor('the record processed', async () => (await metricSum(off, 'rivulet_stream_records_in_total')) === 1, 30_000, ctx);
  await sleep(1500);
  assert.deepEqual(await readCommitted(broker.port, 'd2-out', P), [], 'nothing visible before the interval');
  assert.equal(await metricSum(off, 'rivulet_stream_commits_total'), 0, 'no commit without commitOnDrain');
});

test('a trickle of records: commits on drain keep their spacing from each other, so a transaction carries many records', { timeout: 120_000 }, async () => {
  const SPACING_MS = 200;
  const N = 400;
  const reg = new Registry();
  const started = Date.now();
  await start('d3', reg, { commitOnDrainSpacingMs: SPACING_MS, instanceId: 'c' });
  const producer = new Producer({ clientId: 'stream-test', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
  try {
    // One record at a time, each acknowledged before the next: the pipeline drains between them.
    for (let i = 0; i < N; i++) {
      await producer.send({ acks: -1, messages: [{ topic: 'd3-in', key: `k${i % 10}`, value: String(i) }] });
      await sleep(5);
    }
  } finally {
    await producer.close();
  }
  await waitFor('every output visible read_committed', async () => (await readCommitted(broker.port, 'd3-out', P)).length === N, 30_000, ctx);
  const elapsed = Date.now() - started;
  const commits = await metricSum(reg, 'rivulet_stream_commits_total');
  assert.ok(elapsed < INTERVAL_MS, `within one commit interval (${elapsed} ms): only commits on drain made the outputs visible`);
  assert.ok(commits >= 2, `committed on drain while the records came (${commits} commits)`);
  // Commits on drain start at least SPACING_MS apart: over `elapsed` there can be at most this many (plus the first one and one on the interval).
  assert.ok(commits <= Math.floor(elapsed / SPACING_MS) + 2, `${commits} commits in ${elapsed} ms: closer than ${SPACING_MS} ms apart`);
  assert.ok(commits < N / 4, `${commits} commits for ${N} records: not one transaction per record`);
});
