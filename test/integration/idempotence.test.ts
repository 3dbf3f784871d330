// Idempotent produce: a retried batch is acknowledged with its first offset and stored
// once; a gap in sequences is refused with OUT_OF_ORDER_SEQUENCE_NUMBER.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch, decodeBatches } from '../helpers/batches.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { fetchBody, produceBody } from '../helpers/requests.js';

let broker: BrokerProcess;
let c: WireClient;

before(async () => {
  broker = await startBroker();
  c = await WireClient.connect(broker.port);
});
after(async () => {
  c.close();
  await broker.cleanup();
  await rm(broker.dataDir, { recursive: true, force: true });
});

const produce = (topic: string, records: Buffer) =>
  c.request(ApiKey.Produce, 9, produceBody(topic, records));

test('InitProducerId hands out distinct ids', async () => {
  const a = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  const b = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  assert.equal(a.errorCode, 0);
  assert.notEqual(a.producerId, b.producerId);
  assert.equal(a.producerEpoch, 0);
  // A producer naming an id (KIP-360, or a client that sends 0/0 at first) gets a new one, as
  // from Kafka: two producers naming the same id must not share it.
  const again = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: a.producerId, producerEpoch: 0 });
  const other = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: a.producerId, producerEpoch: 0 });
  assert.equal(again.producerEpoch, 0);
  assert.notEqual(again.producerId, a.producerId);
  assert.notEqual(other.producerId, again.producerId);
});

test('a retried batch keeps its offset and is stored once; a gap is refused', async () => {
  const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  const pid = init.producerId;
  const batch = (seq: number, n: number) =>
    buildBatch(Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${seq + i}`) })), { producerId: pid, producerEpoch: 0, baseSequence: seq });
  const first = await produce('idem', batch(0, 3));
  assert.equal(first.responses[0].partitionResponses[0].errorCode, 0);
  assert.equal(first.responses[0].partitionResponses[0].baseOffset, 0);
  const second = await produce('idem', batch(3, 2));
  assert.equal(second.responses[0].partitionResponses[0].baseOffset, 3);
  const retry = await produce('idem', batch(0, 3));
  assert.equal(retry.responses[0].partitionResponses[0].errorCode, 0);
  assert.equal(retry.responses[0].partitionResponses[0].baseOffset, 0, 'the retry is answered with the offset it was first given');
  const gap = await produce('idem', batch(7, 1));
  assert.equal(gap.responses[0].partitionResponses[0].errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const fetched = await c.request(ApiKey.Fetch, 12, fetchBody('idem'));
  const p = fetched.responses[0].partitions[0];
  assert.equal(p.highWatermark, 5);
  const records = decodeBatches(p.records);
  assert.deepEqual(records.map((r) => r.value!.toString()), ['v0', 'v1', 'v2', 'v3', 'v4']);
  assert.deepEqual(records.map((r) => r.offset), [0, 1, 2, 3, 4]);
});

test('a retry after a broker restart is still recognised as a duplicate', async () => {
  const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  const pid = init.producerId;
  const batch = buildBatch([{ key: null, value: Buffer.from('once') }], { producerId: pid, producerEpoch: 0, baseSequence: 0 });
  const first = await produce('idem-restart', Buffer.from(batch));
  assert.equal(first.responses[0].partitionResponses[0].errorCode, 0);
  assert.equal(first.responses[0].partitionResponses[0].baseOffset, 0);
  c.close();
  assert.equal(await broker.stop(), 0, 'graceful stop exits 0');
  broker = await startBroker({ dataDir: broker.dataDir });
  c = await WireClient.connect(broker.port);
  const retry = await produce('idem-restart', Buffer.from(batch));
  assert.equal(retry.responses[0].partitionResponses[0].errorCode, 0);
  assert.equal(retry.responses[0].partitionResponses[0].baseOffset, first.responses[0].partitionResponses[0].baseOffset);
  const next = await produce('idem-restart', buildBatch([{ key: null, value: Buffer.from('twice') }], { producerId: pid, producerEpoch: 0, baseSequence: 1 }));
  assert.equal(next.responses[0].partitionResponses[0].baseOffset, 1, 'the retry took no offset');
});
