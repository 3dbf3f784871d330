// Graceful shutdown: on SIGTERM a parked fetch is answered at once, the process exits 0,
// and everything acknowledged is there after a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { readPartition } from '../helpers/read-all.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { sleep } from '../helpers/wait.js';
import { fetchBody, produceBody } from '../helpers/requests.js';

test('SIGTERM answers parked requests, exits 0 and keeps the data', async () => {
  const broker = await startBroker({ args: ['--fsync', 'never'] });
  const c = await WireClient.connect(broker.port);
  const values = Array.from({ length: 50 }, (_, i) => `v${i}`);
  const res = await c.request(ApiKey.Produce, 9, produceBody('s', buildBatch(values.map((v) => ({ key: null, value: Buffer.from(v) }))), { acks: 1 }));
  assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
  const parked = c.request(ApiKey.Fetch, 12, fetchBody('s', { offset: 50, maxWaitMs: 60_000 }));
  await sleep(100);
  const exit = broker.stop();
  const answer = await parked;
  assert.equal(answer.responses[0].partitions[0].errorCode, 0);
  assert.equal(answer.responses[0].partitions[0].highWatermark, 50);
  assert.equal(await exit, 0);
  assert.match(broker.output(), /broker stopped/);
  c.close();
  const again = await startBroker({ dataDir: broker.dataDir });
  try {
    assert.deepEqual((await readPartition(again.port, 's', 0)).map((r) => r.value!.toString()), values);
  } finally {
    await again.stop();
    await rm(broker.dataDir, { recursive: true, force: true });
  }
});
