// The HTTP side: /healthz, /readyz and /metrics, whose counters move with traffic.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { produceBody } from '../helpers/requests.js';

let broker: BrokerProcess;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.cleanup();
});

const metrics = () => scrapeMetrics(broker.httpPort);

test('healthz and readyz answer 200 on a ready broker; unknown paths 404', async () => {
  assert.equal((await fetch(`http://127.0.0.1:${broker.httpPort}/healthz`)).status, 200);
  const ready = await fetch(`http://127.0.0.1:${broker.httpPort}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(await ready.text(), 'ready\n');
  assert.equal((await fetch(`http://127.0.0.1:${broker.httpPort}/nope`)).status, 404);
});

test('metrics count connections, requests, errors and bytes', async () => {
  const before = await metrics();
  const c = await WireClient.connect(broker.port);
  const batch = buildBatch([{ key: null, value: Buffer.alloc(1000, 1) }]);
  for (let i = 0; i < 5; i++) {
    const res = await c.request(ApiKey.Produce, 9, produceBody('m', Buffer.from(batch)));
    assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
  }
  const bad = await c.request(ApiKey.Produce, 9, produceBody('m', [[7, Buffer.from(batch)]]));
  assert.equal(bad.responses[0].partitionResponses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const during = await metrics();
  assert.equal(during.get('rivulet_connections_active'), (before.get('rivulet_connections_active') ?? 0) + 1);
  c.close();
  const after = await metrics();
  const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  assert.equal(delta('rivulet_requests_total{api="Produce"}'), 6);
  assert.equal(delta('rivulet_requests_total{api="Metadata"}'), 0, 'only the Produce requests were sent');
  assert.equal(delta('rivulet_response_errors_total{api="Produce",error="UNKNOWN_TOPIC_OR_PARTITION"}'), 1);
  assert.equal(delta('rivulet_topic_bytes_in_total{topic="m"}'), 5 * batch.length);
  assert.ok(delta('rivulet_network_bytes_in_total') > 6 * batch.length);
  assert.ok(delta('rivulet_network_bytes_out_total') > 0);
  assert.equal(delta('rivulet_connections_total'), 1, 'one Kafka connection was opened');
  assert.ok((after.get('rivulet_process_resident_memory_bytes') ?? 0) > 0, 'process metrics are there');
});
