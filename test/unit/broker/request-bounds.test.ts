// Case 6 of the hardening work: no single request may cost work or memory out of proportion
// to a client's fair share. Each test checks a bound that an unbounded broker breaks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startInProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { createTopicsBody, fetchBody, produceBody } from '../../helpers/requests.js';
import { buildBatch, decodeBatches } from '../../helpers/batches.js';
import { makeTempDir, withTempDir } from '../../helpers/temp.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { TopicRegistry } from '../../../src/broker/topics.js';
import { defaultBrokerConfig } from '../../../src/broker/config.js';
import { Logger } from '../../../src/broker/logger.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';

/** Bytes this process has handed to write(2) so far (Linux). */
function bytesWritten(): number {
  return Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

test('case 6: creating 3,000 topics at once writes the catalogue a few times, not once per topic', () =>
  withTempDir(async (dir) => {
    const topics = new TopicRegistry({ ...defaultBrokerConfig(), dataDir: dir }, async (_d, cfg) => new MemoryLog(cfg), new Logger('error'));
    await topics.load({ topics: [], producerIdHigh: 0 });
    const before = bytesWritten();
    await Promise.all(Array.from({ length: 3000 }, (_, i) => topics.create(`auto-${i}`, 1, {})));
    const written = bytesWritten() - before;
    const catalogue = readFileSync(join(dir, 'catalog.json'), 'utf8');
    assert.equal(JSON.parse(catalogue).topics.length, 3000);
    // One catalogue write per creation would write ~1500 catalogues of growing size (hundreds of MB).
    assert.ok(written < 10 * catalogue.length, `${written} bytes written for a ${catalogue.length}-byte catalogue`);
  }));

test('case 6: a Metadata request auto-creating thousands of topics answers every one and lists them all in the catalogue', async (t) => {
  const b = await startInProcessBroker();
  t.after(() => b.stop());
  const c = await WireClient.connect(b.port);
  t.after(() => c.close());
  const names = Array.from({ length: 2000 }, (_, i) => `md-auto-${i}`);
  const res = await c.request(ApiKey.Metadata, 12, { topics: names.map((name) => ({ name, topicId: null })), allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
  assert.deepEqual(res.topics.map((x: any) => x.name), names, 'answers in request order');
  assert.ok(res.topics.every((x: any) => x.errorCode === ErrorCode.NONE && x.partitions.length === 1));
  const saved = JSON.parse(readFileSync(join(b.dataDir, 'catalog.json'), 'utf8')).topics.map((x: any) => x.name);
  assert.deepEqual(new Set(saved), new Set(names));
});

test('case 6: a request declaring more array entries than request.max.entries closes its connection; other clients are served', async (t) => {
  const b = await startInProcessBroker({ requestMaxEntries: 1000 });
  t.after(() => b.stop());
  const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ name: null, topicId: Buffer.alloc(16, i % 256).toString('base64url') }));
  const ok = await WireClient.connect(b.port);
  t.after(() => ok.close());
  const atLimit = await ok.request(ApiKey.Metadata, 12, { topics: ids(999), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.equal(atLimit.topics.length, 999, 'the topics array and the header fit the limit');
  const over = await WireClient.connect(b.port);
  await assert.rejects(over.request(ApiKey.Metadata, 12, { topics: ids(1001), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }), /connection closed/);
  const av = await ok.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  assert.equal(av.errorCode, ErrorCode.NONE);
});

test('case 6: max.partitions refuses CreateTopics, CreatePartitions and auto-creation beyond it with POLICY_VIOLATION', async (t) => {
  const b = await startInProcessBroker({ maxPartitions: 10 });
  t.after(() => b.stop());
  const c = await WireClient.connect(b.port);
  t.after(() => c.close());
  const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('eight', 8));
  assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
  const tooMany = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('three', 3));
  assert.equal(tooMany.topics[0].errorCode, ErrorCode.POLICY_VIOLATION);
  assert.match(tooMany.topics[0].errorMessage, /past max\.partitions \(10\); it holds 8/);
  const grow = await c.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'eight', count: 11, assignments: null }], timeoutMs: 5000, validateOnly: false });
  assert.equal(grow.results[0].errorCode, ErrorCode.POLICY_VIOLATION);
  const auto = await c.request(ApiKey.Produce, 9, produceBody('auto', buildBatch([{ key: null, value: Buffer.from('x') }])));
  assert.equal(auto.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, 'one more partition fits');
  const autoTwo = await c.request(ApiKey.Metadata, 12, { topics: [{ name: 'auto-2', topicId: null }, { name: 'auto-3', topicId: null }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
  assert.deepEqual(autoTwo.topics.map((x: any) => x.errorCode), [ErrorCode.NONE, ErrorCode.POLICY_VIOLATION], 'the tenth partition, then none');
  const del = await c.request(ApiKey.DeleteTopics, 6, { topics: [{ name: 'eight', topicId: null }], timeoutMs: 5000 });
  assert.equal(del.responses[0].errorCode, ErrorCode.NONE);
  const again = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('three', 3));
  assert.equal(again.topics[0].errorCode, ErrorCode.NONE, 'a deleted topic gives its partitions back');
});

test('two CreatePartitions of one topic at once: each new partition is opened once, and the topic ends with the larger count', async (t) => {
  const dataDir = await makeTempDir('rivulet-grow-');
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  let b = await startInProcessBroker({ dataDir });
  const [c1, c2] = [await WireClient.connect(b.port), await WireClient.connect(b.port)];
  assert.equal((await c1.request(ApiKey.CreateTopics, 7, createTopicsBody('grow', 2))).topics[0].errorCode, ErrorCode.NONE);
  const grow = (c: WireClient, count: number) => c.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'grow', count, assignments: null }], timeoutMs: 5000, validateOnly: false });
  const [to4, to5] = await Promise.all([grow(c1, 4), grow(c2, 5)]);
  assert.equal(to5.results[0].errorCode, ErrorCode.NONE);
  assert.ok([ErrorCode.NONE, ErrorCode.INVALID_PARTITIONS].includes(to4.results[0].errorCode), `the smaller one: ${to4.results[0].errorCode}`);
  const md = await c1.request(ApiKey.Metadata, 12, { topics: [{ name: 'grow', topicId: null }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.deepEqual(md.topics[0].partitions.map((p: any) => p.partitionIndex), [0, 1, 2, 3, 4]);
  for (let p = 0; p < 5; p++) {
    const res = await c1.request(ApiKey.Produce, 9, produceBody('grow', [[p, buildBatch([{ key: null, value: Buffer.from(`v${p}`) }])]]));
    assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  }
  c1.close();
  c2.close();
  await b.stop();
  b = await startInProcessBroker({ dataDir });
  t.after(() => b.stop());
  const c = await WireClient.connect(b.port);
  t.after(() => c.close());
  for (let p = 0; p < 5; p++) {
    const f = await c.request(ApiKey.Fetch, 12, fetchBody('grow', { partition: p }));
    const records = decodeBatches(f.responses[0].partitions[0].records);
    assert.deepEqual(records.map((r) => r.value!.toString()), [`v${p}`], `partition ${p} after a restart`);
  }
});
