// The stream runtime survives its broker being SIGKILLed and restarted (same data directory
// and port): it logs, keeps retrying, rolls back to the last commit, and under exactly-once
// every key's counts are still output exactly once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { makeTempDir } from '../helpers/temp.js';
import { countTopology, createTopics, produce, readCommitted, countsByKey } from '../helpers/stream-count.js';
import { startPipeline } from '../../src/stream/runtime/index.js';

const P = 2;

test('exactly-once: the broker SIGKILLed and restarted under a running pipeline; it recovers and every count is output exactly once', { timeout: 180_000 }, async () => {
  const dataDir = await makeTempDir('rivulet-broker-');
  const stateDir = await makeTempDir('rivulet-stream-');
  let broker: BrokerProcess = await startBroker({ dataDir, args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
  const port = broker.port;
  const logs: string[] = [];
  const logger = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(`WARN ${m}`), error: (m: string) => logs.push(`ERROR ${m}`) };
  const expected = new Map<string, number>();
  const send = async (round: number) => {
    const recs: Array<[string, string]> = [];
    for (let k = 0; k < 6; k++) for (let i = 0; i < 5; i++) recs.push([`k${k}`, `r${round}-${i}`]);
    for (const [k] of recs) expected.set(k, (expected.get(k) ?? 0) + 1);
    await produce(broker.bootstrap, 'br-in', recs);
  };
  const ctx = () => `--- runtime log (tail) ---\n${logs.slice(-20).join('\n')}\n--- broker log (tail) ---\n${brokerTail(broker, 20)}`;
  await createTopics(broker.bootstrap, ['br-in', 'br-out'], P);
  const pipeline = await startPipeline(countTopology('br', 'br-in', 'br-out'), {
    bootstrap: broker.bootstrap, stateDir, instanceId: 'a', commitIntervalMs: 50, logger,
  });
  try {
    for (let round = 0; round < 3; round++) await send(round);
    await waitFor('the first rounds counted', async () => countsByKey(await readCommitted(port, 'br-out', P)).get('k0')?.at(-1) === 15, 30_000, ctx);

    await broker.kill();
    // Down longer than the clients' own retries (5 x 500 ms), so the runtime itself must retry.
    await sleep(5000);
    broker = await startBroker({ dataDir, args: ['--port', String(port), '--set', 'group.initial.rebalance.delay.ms=0'] });
    assert.equal(broker.port, port, 'the broker came back on its port');
    for (let round = 3; round < 6; round++) await send(round);

    let got = new Map<string, number[]>();
    await waitFor('every key counted to its total after the restart', async () => {
      got = countsByKey(await readCommitted(port, 'br-out', P));
      return [...expected].every(([k, n]) => got.get(k)?.at(-1) === n);
    }, 90_000, () => `got ${JSON.stringify([...got].map(([k, l]) => [k, l.length, l.at(-1)]))}\n${ctx()}`);
    for (const [k, n] of expected) assert.deepEqual(got.get(k), Array.from({ length: n }, (_, i) => i + 1), `key ${k}: each count exactly once`);
    assert.equal(pipeline.isLive(), true, 'the pipeline is still alive');
    // Logged by the runtime's loop (a failed fetch or commit: "retrying") or the group member (a failed heartbeat).
    assert.ok(logs.some((l) => /retrying|failed/.test(l)), `the outage was logged\n${ctx()}`);
  } finally {
    await pipeline.stop();
    await broker.stop();
    await broker.cleanup();
    await rm(dataDir, { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  }
});
