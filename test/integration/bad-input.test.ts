// Bad input never takes the broker down: each case gets the protocol's error code or a
// closed connection, and afterwards a normal client on another connection is served.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { cliPath } from '../helpers/paths.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { WireClient } from '../helpers/wire-client.js';
import * as lz4 from 'lz4-napi';
import { buildBatch, sealBatch, withRecordsSection } from '../helpers/batches.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { createTopicsBody, fetchBody, produceBody } from '../helpers/requests.js';

let broker: BrokerProcess;

before(async () => {
  broker = await startBroker({ args: ['--set', 'socket.request.max.bytes=1048576', '--set', 'auto.create.topics.enable=false', '--set', 'fetch.max.bytes=65536', '--set', 'decompressed.batch.max.bytes=1048576'] });
});
after(async () => {
  await broker.cleanup();
});

/** A fresh, well-behaved client: ApiVersions then Metadata must both succeed. */
async function assertStillServing(): Promise<void> {
  const c = await WireClient.connect(broker.port);
  try {
    const av = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    assert.equal(av.errorCode, 0);
    const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.brokers.length, 1);
    assert.equal(md.brokers[0].port, broker.port);
  } finally {
    c.close();
  }
}

/** A request frame holding only a v1 header (null client id): enough to reach dispatch. */
function headerOnlyFrame(apiKey: number, version: number, correlationId: number): Buffer {
  const frame = Buffer.alloc(4 + 10);
  frame.writeInt32BE(10, 0);
  frame.writeInt16BE(apiKey, 4);
  frame.writeInt16BE(version, 6);
  frame.writeInt32BE(correlationId, 8);
  frame.writeInt16BE(-1, 12);
  return frame;
}

async function createTopic(name: string, partitions = 1): Promise<void> {
  const c = await WireClient.connect(broker.port);
  const res = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(name, partitions));
  c.close();
  assert.equal(res.topics[0].errorCode, 0, res.topics[0].errorMessage);
}

test('a frame larger than socket.request.max.bytes is refused before it is buffered', async () => {
  const series = 'rivulet_connections_closed_bad_input_total{reason="frame_size"}';
  const before = (await scrapeMetrics(broker.httpPort)).get(series) ?? 0;
  const c = await WireClient.connect(broker.port);
  const header = Buffer.alloc(4);
  header.writeInt32BE(200 * 1024 * 1024);
  c.writeRaw(header);
  await c.waitClosed();
  await assertStillServing();
  assert.equal((await scrapeMetrics(broker.httpPort)).must(series), before + 1, 'the close is counted under its reason');
});

test('a negative frame size closes the connection', async () => {
  const c = await WireClient.connect(broker.port);
  c.writeRaw(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]));
  await c.waitClosed();
  await assertStillServing();
});

test('a frame cut short by the client closing is dropped', async () => {
  const c = await WireClient.connect(broker.port);
  const frame = Buffer.alloc(24);
  frame.writeInt32BE(100, 0);
  c.writeRaw(frame);
  c.close();
  await assertStillServing();
});

test('a request whose fields run past its frame closes the connection', async () => {
  const c = await WireClient.connect(broker.port);
  // ApiVersions v1 header with a client id claiming 500 bytes in a 14-byte frame.
  const frame = Buffer.alloc(4 + 14);
  frame.writeInt32BE(14, 0);
  frame.writeInt16BE(ApiKey.ApiVersions, 4);
  frame.writeInt16BE(1, 6);
  frame.writeInt32BE(7, 8);
  frame.writeInt16BE(500, 12);
  c.writeRaw(frame);
  await c.waitClosed();
  await assertStillServing();
});

test('garbage bytes close the connection', async () => {
  const c = await WireClient.connect(broker.port);
  const garbage = Buffer.alloc(64);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 37 + 11) & 0xff;
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 64]), garbage]);
  frame.writeInt16BE(ApiKey.Produce, 4);
  frame.writeInt16BE(9, 6); // v9: flexible, so the garbage is read as compact fields
  c.writeRaw(frame);
  await c.waitClosed();
  await assertStillServing();
});

test('an unknown API key closes the connection', async () => {
  const c = await WireClient.connect(broker.port);
  const frame = headerOnlyFrame(999, 0, 1);
  c.writeRaw(frame);
  await c.waitClosed();
  await assertStillServing();
});

test('ApiVersions with an unknown version is answered in v0 with UNSUPPORTED_VERSION and our ranges', async () => {
  const c = await WireClient.connect(broker.port);
  const frame = headerOnlyFrame(ApiKey.ApiVersions, 99, 42);
  const answer = new Promise<Buffer>((resolve) => c.socket.once('data', resolve));
  c.writeRaw(frame);
  const res = await answer;
  assert.equal(res.readInt32BE(4), 42, 'correlation id');
  assert.equal(res.readInt16BE(8), ErrorCode.UNSUPPORTED_VERSION);
  const count = res.readInt32BE(10);
  const keys = Array.from({ length: count }, (_, i) => res.readInt16BE(14 + i * 6));
  assert.ok(keys.includes(0) && keys.includes(1) && keys.includes(18), `keys ${keys}`);
  c.close();
  await assertStillServing();
});

test('an unsupported version of another API closes the connection', async () => {
  const c = await WireClient.connect(broker.port);
  const frame = headerOnlyFrame(ApiKey.Produce, 99, 1);
  c.writeRaw(frame);
  await c.waitClosed();
  await assertStillServing();
});

test('a batch with a bad CRC gets CORRUPT_MESSAGE and nothing is appended', async () => {
  await createTopic('crc-topic');
  const c = await WireClient.connect(broker.port);
  const batch = buildBatch([{ key: null, value: Buffer.from('hello') }]);
  batch[batch.length - 1] ^= 0xff;
  const res = await c.request(ApiKey.Produce, 9, produceBody('crc-topic', batch));
  assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
  const good = await c.request(ApiKey.Produce, 9, produceBody('crc-topic', buildBatch([{ key: null, value: Buffer.from('ok') }])));
  assert.equal(good.responses[0].partitionResponses[0].errorCode, 0);
  assert.equal(good.responses[0].partitionResponses[0].baseOffset, 0, 'the corrupt batch took no offset');
  c.close();
  await assertStillServing();
});

test('a batch whose length runs past the data gets CORRUPT_MESSAGE', async () => {
  await createTopic('short-topic');
  const c = await WireClient.connect(broker.port);
  const batch = buildBatch([{ key: null, value: Buffer.from('hello') }]);
  const res = await c.request(ApiKey.Produce, 9, produceBody('short-topic', batch.subarray(0, batch.length - 3)));
  assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
  c.close();
  await assertStillServing();
});

test('invalid topic names get INVALID_TOPIC_EXCEPTION', async () => {
  const c = await WireClient.connect(broker.port);
  const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('bad/name', 1, { timeoutMs: 1000 }));
  assert.equal(created.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  const long = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('x'.repeat(250), 1, { timeoutMs: 1000 }));
  assert.equal(long.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  const md = await c.request(ApiKey.Metadata, 12, { topics: [{ name: 'no spaces allowed', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
  assert.equal(md.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  const produced = await c.request(ApiKey.Produce, 9, produceBody('..', buildBatch([{ key: null, value: Buffer.from('x') }])));
  assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  c.close();
  await assertStillServing();
});

test('produce to a missing topic with auto-create off gets UNKNOWN_TOPIC_OR_PARTITION', async () => {
  const c = await WireClient.connect(broker.port);
  const res = await c.request(ApiKey.Produce, 9, produceBody('never-created', buildBatch([{ key: null, value: Buffer.from('x') }])));
  assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const md = await c.request(ApiKey.Metadata, 12, { topics: [{ name: 'never-created', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
  assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'auto-create is off');
  c.close();
  await assertStillServing();
});

test('a data directory that cannot be written stops start-up with a clear error', async () => {
  const dir = await makeTempDir();
  const file = join(dir, 'not-a-dir');
  await writeFile(file, 'x');
  const child = spawn(process.execPath, [cliPath, 'start', '--port', '0', '--http-port', '0', '--data-dir', join(file, 'data')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(err, /data directory .*not-a-dir\/data cannot be used/);
  await assertStillServing();
});

test('a fetch asking for gigabytes gets at most fetch.max.bytes', async () => {
  await createTopic('big-ask');
  const c = await WireClient.connect(broker.port);
  for (let i = 0; i < 40; i++) {
    const res = await c.request(ApiKey.Produce, 9, produceBody('big-ask', buildBatch([{ key: null, value: Buffer.alloc(8000, i) }])));
    assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
  }
  const res = await c.request(ApiKey.Fetch, 12, fetchBody('big-ask', { maxBytes: 0x7fffffff }));
  const p = res.responses[0].partitions[0];
  assert.equal(p.errorCode, 0);
  assert.equal(p.highWatermark, 40);
  assert.ok(p.records.length > 0 && p.records.length <= 65536, `${p.records.length} bytes returned`);
  c.close();
  await assertStillServing();
});

test('case 3: a batch whose lastOffsetDelta is far larger than its record count is refused with INVALID_RECORD and takes no offsets', async () => {
  await createTopic('forged-delta');
  const c = await WireClient.connect(broker.port);
  const forged = buildBatch([{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }]);
  forged.writeInt32BE(2 ** 31 - 1, 23); // lastOffsetDelta
  sealBatch(forged);
  const res = await c.request(ApiKey.Produce, 9, produceBody('forged-delta', forged));
  const p = res.responses[0].partitionResponses[0];
  assert.equal(p.errorCode, ErrorCode.INVALID_RECORD);
  assert.match(p.errorMessage, /lastOffsetDelta 2147483647 for 2 records/);
  const good = await c.request(ApiKey.Produce, 9, produceBody('forged-delta', buildBatch([{ key: null, value: Buffer.from('ok') }])));
  assert.equal(good.responses[0].partitionResponses[0].errorCode, 0);
  assert.equal(good.responses[0].partitionResponses[0].baseOffset, 0, 'the forged batch took no offset');
  c.close();
  await assertStillServing();
});

test('case 7: a zstd bomb in the log is not inflated past decompressed.batch.max.bytes; timestamp lookups still answer', async () => {
  await createTopic('bombs');
  const c = await WireClient.connect(broker.port);
  const t0 = 1_700_000_000_000;
  const recs = (ts: number) => [0, 1, 2].map((i) => ({ key: null, value: Buffer.from(`v${i}`), timestamp: ts + i }));
  // A real lz4 batch (inflated by the bundled broker's worker), then 3 records over a 24 KB zstd frame of 768 MB.
  const plain = buildBatch(recs(t0), { baseTimestamp: t0 });
  const lz4Batch = withRecordsSection(plain, lz4.compressFrameSync(plain.subarray(61)), 3);
  const head = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (17 - 10) << 3])];
  for (let i = 0; i < 6144; i++) {
    const h = (i === 6143 ? 1 : 0) | (1 << 1) | (131072 << 3);
    head.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x61]));
  }
  const bomb = withRecordsSection(buildBatch(recs(t0 + 100), { baseTimestamp: t0 + 100 }), Buffer.concat(head), 4);
  for (const b of [lz4Batch, bomb]) {
    const r = await c.request(ApiKey.Produce, 9, produceBody('bombs', b));
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0, r.responses[0].partitionResponses[0].errorMessage);
  }
  const lo = async (timestamp: number) =>
    (await c.request(ApiKey.ListOffsets, 9, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'bombs', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] })).topics[0].partitions[0];
  const inLz4 = await lo(t0 + 1);
  assert.deepEqual([inLz4.errorCode, Number(inLz4.offset), Number(inLz4.timestamp)], [0, 1, t0 + 1], 'the lz4 batch inflated and its second record found');
  // The bomb cannot be inflated within the limit: the answer is what its header says.
  const inBomb = await lo(t0 + 101);
  assert.deepEqual([inBomb.errorCode, Number(inBomb.offset), Number(inBomb.timestamp)], [0, 3, t0 + 102]);
  c.close();
  await assertStillServing();
});
