// Request stages (rivulet_request_stage_seconds): every answered request gets one queue,
// handler and flush observation under its own API, even when responses wait behind a
// parked Fetch and leave in one corked write (the write callbacks, one per response, are
// matched to responses in order); only the Fetch that parked gets a parked observation.
// Counts only: no assertion depends on how long anything took.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessBroker, type InProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { buildBatch } from '../../helpers/batches.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { createTopicsBody, fetchBody, produceBody } from '../../helpers/requests.js';
import type { ApiStats } from '../../../src/broker/metrics.js';

let b: InProcessBroker;

before(async () => {
  b = await startInProcessBroker();
});
after(() => b.stop());

type Counts = { queue: number; handler: number; parked: number | null; flush: number; duration: number };
function counts(api: number): Counts {
  const a: ApiStats | undefined = b.broker.metrics.apis[api];
  if (a === undefined) return { queue: 0, handler: 0, parked: null, flush: 0, duration: 0 };
  return { queue: a.queue.count, handler: a.handler.count, parked: a.parked === null ? null : a.parked.count, flush: a.flush.count, duration: a.duration.count };
}
const grew = (a: Counts, z: Counts): Counts => ({
  queue: z.queue - a.queue,
  handler: z.handler - a.handler,
  parked: z.parked === null ? null : z.parked - (a.parked ?? 0),
  flush: z.flush - a.flush,
  duration: z.duration - a.duration,
});

test('pipelined requests behind a parked Fetch: one observation per stage and request, parked only for the Fetch', async () => {
  const c = await WireClient.connect(b.port);
  const producer = await WireClient.connect(b.port);
  try {
    const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('stages'));
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const f0 = counts(ApiKey.Fetch);
    const v0 = counts(ApiKey.ApiVersions);
    const p0 = counts(ApiKey.Produce);

    const fetched = c.request(ApiKey.Fetch, 12, fetchBody('stages', { maxWaitMs: 10_000 }));
    const versions = [1, 2, 3].map(() => c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }));
    await waitFor('the fetch to park', () => b.broker.metrics.fetchParked === 1);
    await sleep(50);
    assert.equal(grew(v0, counts(ApiKey.ApiVersions)).flush, 0, 'responses behind the parked Fetch are not written yet');

    const res = await producer.request(ApiKey.Produce, 9, produceBody('stages', buildBatch([{ key: null, value: Buffer.from('wake') }])));
    assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    assert.equal((await fetched).responses[0].partitions[0].errorCode, ErrorCode.NONE);
    for (const v of await Promise.all(versions)) assert.equal(v.errorCode, ErrorCode.NONE);

    // The write callbacks come a turn after the responses reach the client at the earliest.
    await waitFor('every response written', () => grew(v0, counts(ApiKey.ApiVersions)).flush === 3 && grew(f0, counts(ApiKey.Fetch)).flush === 1 && grew(p0, counts(ApiKey.Produce)).flush === 1);
    assert.deepEqual(grew(f0, counts(ApiKey.Fetch)), { queue: 1, handler: 1, parked: 1, flush: 1, duration: 1 });
    assert.deepEqual(grew(v0, counts(ApiKey.ApiVersions)), { queue: 3, handler: 3, parked: null, flush: 3, duration: 3 });
    assert.deepEqual(grew(p0, counts(ApiKey.Produce)), { queue: 1, handler: 1, parked: null, flush: 1, duration: 1 });

    // A Fetch answered at once does not park.
    const f1 = counts(ApiKey.Fetch);
    const now = await c.request(ApiKey.Fetch, 12, fetchBody('stages', { maxWaitMs: 0 }));
    assert.equal(now.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    await waitFor('the fetch written', () => grew(f1, counts(ApiKey.Fetch)).flush === 1);
    assert.deepEqual(grew(f1, counts(ApiKey.Fetch)), { queue: 1, handler: 1, parked: 0, flush: 1, duration: 1 });
  } finally {
    c.close();
    producer.close();
  }
});

test('an acks=0 Produce has no response to flush', async () => {
  const c = await WireClient.connect(b.port);
  try {
    const p0 = counts(ApiKey.Produce);
    c.send(ApiKey.Produce, 9, produceBody('stages-acks0', buildBatch([{ key: null, value: Buffer.from('x') }]), { acks: 0 }));
    await waitFor('the produce handled', () => grew(p0, counts(ApiKey.Produce)).handler === 1);
    // A request with a response after it: its flush is observed, the acks=0 one's never is.
    const v = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    assert.equal(v.errorCode, ErrorCode.NONE);
    await sleep(50);
    assert.deepEqual(grew(p0, counts(ApiKey.Produce)), { queue: 1, handler: 1, parked: null, flush: 0, duration: 1 });
  } finally {
    c.close();
  }
});
