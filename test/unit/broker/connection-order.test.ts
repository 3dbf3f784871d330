// Responses leave a connection in request order whatever order the handlers finish in
// (DESIGN.md, concurrency rules): a Fetch parked on an empty partition holds back the
// answers to the requests pipelined behind it, even those whose handlers answer at once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessBroker, type InProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { buildBatch, decodeBatches } from '../../helpers/batches.js';
import { sleep } from '../../helpers/wait.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { createTopicsBody, fetchBody, produceBody } from '../../helpers/requests.js';

let b: InProcessBroker;

before(async () => {
  b = await startInProcessBroker();
});
after(() => b.stop());

const metadataBody = (topic: string) => ({ topics: [{ topicId: '', name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });

async function createTopic(c: WireClient, name: string): Promise<void> {
  const res = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(name));
  assert.equal(res.topics[0].errorCode, ErrorCode.NONE);
}

test('requests behind a parked Fetch are answered after it, in request order, once an append wakes it', async () => {
  const c = await WireClient.connect(b.port);
  const producer = await WireClient.connect(b.port);
  try {
    await createTopic(c, 'order-woken');
    const first = c.nextCorrelationId;
    const fetched = c.request(ApiKey.Fetch, 12, fetchBody('order-woken', { maxWaitMs: 10_000 }));
    const versions = c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    const metadata = c.request(ApiKey.Metadata, 12, metadataBody('order-woken'));
    // ApiVersions and Metadata finish within their turn; the Fetch waits for data.
    await sleep(200);
    assert.deepEqual(c.received.slice(first - 1), [], 'nothing is answered while the first request is parked');
    const produced = await producer.request(ApiKey.Produce, 9, produceBody('order-woken', buildBatch([{ key: null, value: Buffer.from('wake') }])));
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const [f, v, m] = await Promise.all([fetched, versions, metadata]);
    assert.deepEqual(c.received.slice(first - 1), [first, first + 1, first + 2], 'answers leave in request order');
    assert.deepEqual(decodeBatches(f.responses[0].partitions[0].records).map((r) => r.value!.toString()), ['wake'], 'the Fetch was woken by the append');
    assert.equal(v.errorCode, ErrorCode.NONE);
    assert.equal(m.topics[0].name, 'order-woken');
  } finally {
    c.close();
    producer.close();
  }
});

test('a Fetch that runs out its maxWaitMs still goes out before the requests pipelined behind it', async () => {
  const c = await WireClient.connect(b.port);
  try {
    await createTopic(c, 'order-timeout');
    const first = c.nextCorrelationId;
    const t0 = performance.now();
    const fetched = c.request(ApiKey.Fetch, 12, fetchBody('order-timeout', { maxWaitMs: 300 }));
    const metadata = c.request(ApiKey.Metadata, 12, metadataBody('order-timeout'));
    const versions = c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    const [f] = await Promise.all([fetched, metadata, versions]);
    const waited = performance.now() - t0;
    assert.deepEqual(c.received.slice(first - 1), [first, first + 1, first + 2]);
    assert.equal(f.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.equal(decodeBatches(f.responses[0].partitions[0].records ?? Buffer.alloc(0)).length, 0, 'the Fetch found nothing');
    assert.ok(waited >= 250, `the Fetch parked for its maxWaitMs (answered after ${waited.toFixed(0)} ms)`);
  } finally {
    c.close();
  }
});

test('another connection is not held back by a parked Fetch', async () => {
  const parked = await WireClient.connect(b.port);
  const other = await WireClient.connect(b.port);
  try {
    await createTopic(parked, 'order-independent');
    const fetched = parked.request(ApiKey.Fetch, 12, fetchBody('order-independent', { maxWaitMs: 10_000 }));
    const v = await other.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    assert.equal(v.errorCode, ErrorCode.NONE);
    assert.equal(parked.received.length, 1, 'only the CreateTopics answer has reached the parked connection');
    parked.close();
    await assert.rejects(fetched, /connection closed/);
  } finally {
    parked.close();
    other.close();
  }
});
