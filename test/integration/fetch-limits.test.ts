// Fetch answers stay within what the client asked for (KIP-74): the request's maxBytes
// bounds the whole answer, the first partition included; each partition's own limit
// bounds it; partitions are filled in request order; only a single batch larger than the
// limits may go over, so a consumer always progresses. Reads come from disk (no tail
// cache) so several partitions are read at once. The records are produced with acks=all:
// under the default fsync policy a record is visible once on disk, and acks=all is
// answered only then, so every fetch sees all of them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { fetchBody, produceBody } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const BATCH_VALUE = 10_000;
let broker: BrokerProcess;
let c: WireClient;

before(async () => {
  broker = await startBroker({ args: ['--set', 'log.tail.cache.bytes=0', '--set', 'num.partitions=4'] });
  c = await WireClient.connect(broker.port);
  // 4 partitions x 50 batches of ~10 KB.
  for (let p = 0; p < 4; p++) {
    for (let i = 0; i < 50; i++) {
      const res = await c.request(ApiKey.Produce, 9, produceBody('limits', [[p, buildBatch([{ key: null, value: Buffer.alloc(BATCH_VALUE, i) }])]], { acks: -1 }));
      assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
  }
  const big = buildBatch([{ key: null, value: Buffer.alloc(200_000, 7) }]);
  const res = await c.request(ApiKey.Produce, 9, produceBody('one-big', big, { acks: -1 }));
  assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
});
after(async () => {
  c.close();
  await broker.cleanup();
});

function fetchAll(topic: string, partitions: number[], maxBytes: number, partitionMaxBytes: number): Promise<any> {
  return c.request(ApiKey.Fetch, 12, fetchBody(topic, { partitions, maxBytes, partitionMaxBytes }));
}

const sizes = (res: any): number[] => res.responses[0].partitions.map((p: any) => (p.records as Buffer | null)?.length ?? 0);

test('case 10: fetch.max.bytes far below max.partition.fetch.bytes bounds the first partition too', async () => {
  const res = await fetchAll('limits', [0], 100_000, 20_000_000);
  const [n] = sizes(res);
  assert.ok(n! > 0 && n! <= 100_000, `${n} bytes for a request limit of 100000`);
});

test('the answer over several partitions stays within the request limit, filled in request order', async () => {
  const res = await fetchAll('limits', [0, 1, 2, 3], 250_000, 120_000);
  const s = sizes(res);
  const total = s.reduce((a, b) => a + b, 0);
  assert.ok(total <= 250_000, `${total} bytes in all: ${s.join(', ')}`);
  for (const n of s.slice(0, 2)) assert.ok(n > 100_000 && n <= 120_000, `the first two partitions are filled up to their limit: ${s.join(', ')}`);
  assert.ok(s[3]! < s[0]!, `later partitions get what is left: ${s.join(', ')}`);
});

test('every partition is served when the request limit allows', async () => {
  const res = await fetchAll('limits', [3, 2, 1, 0], 10_000_000, 1_000_000);
  const s = sizes(res);
  for (const n of s) assert.ok(n > 50 * BATCH_VALUE, `each partition's 50 batches: ${s.join(', ')}`);
  assert.deepEqual(res.responses[0].partitions.map((p: any) => p.partitionIndex), [3, 2, 1, 0]);
});

test('a single batch larger than both limits is returned whole so the consumer progresses', async () => {
  const res = await fetchAll('one-big', [0], 50_000, 50_000);
  const [n] = sizes(res);
  assert.ok(n! > 200_000, `the whole 200 KB batch: ${n}`);
});
