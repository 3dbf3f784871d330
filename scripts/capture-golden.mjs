#!/usr/bin/env node
// Captures golden request frames from real Kafka clients (kafkajs, @platformatic/kafka).
//
//   npx tsc -p . && node scripts/capture-golden.mjs [--out DIR]
//
// Run by hand; the tests only read what it writes. It starts a tiny broker stand-in on
// 127.0.0.1 (a free port), answers with our own generated codec just enough for each
// client to go on (ApiVersions, Metadata pointing back at itself, CreateTopics,
// InitProducerId, Produce, ListOffsets, FindCoordinator, JoinGroup, SyncGroup,
// OffsetFetch, Fetch with no records...), and records the first request frame of every
// API and version each client sends. Frames are written whole (4-byte size included) to
// test/fixtures/protocol/<client>/<api>-v<version>.bin, with index.json beside them.
// CAPTURE_DEBUG=1 also prints every request seen, in order.

import { createServer } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIdx = process.argv.indexOf('--out');
const outDir = outIdx > 0 ? resolve(process.argv[outIdx + 1]) : join(root, 'test', 'fixtures', 'protocol');

const dist = (p) => new URL(`../dist/src/protocol/${p}`, import.meta.url).href;
const { Reader } = await import(dist('reader.js'));
const { readRequestHeader, isFlexible, responseHeaderFlexible, encodeResponse } = await import(dist('header.js'));
const { codecs, ApiKey } = await import(dist('generated/index.js'));

const kebab = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const topicIdOf = (name) => createHash('sha256').update(name).digest().subarray(0, 16).toString('base64url');

// ------------------------------------------------------------------ the stand-in broker

const captured = new Map(); // `${client}/${apiKey}/${version}` -> { client, apiKey, version, frame, header }
const topics = new Map(); // name -> partitions
const seen = []; // log of [client, api, version]
let currentClient = 'unknown';
let port = 0;

function partitionsOf(name) {
  if (!topics.has(name)) topics.set(name, 2);
  return topics.get(name);
}

function answer(h, req) {
  const host = '127.0.0.1';
  switch (h.apiKey) {
    case ApiKey.ApiVersions:
      return {
        errorCode: 0,
        apiKeys: codecs.filter(Boolean).map((c) => ({ apiKey: c.key, minVersion: c.minVersion, maxVersion: c.maxVersion })),
        throttleTimeMs: 0,
        supportedFeatures: [],
        finalizedFeaturesEpoch: -1,
        finalizedFeatures: [],
        zkMigrationReady: false,
      };
    case ApiKey.Metadata: {
      const names = req.topics === null ? [...topics.keys()] : req.topics.map((t) => t.name);
      return {
        throttleTimeMs: 0,
        brokers: [{ nodeId: 1, host, port, rack: null }],
        clusterId: 'golden-cluster',
        controllerId: 1,
        clusterAuthorizedOperations: -2147483648,
        topics: names.map((name) => ({
          errorCode: 0,
          name,
          topicId: topicIdOf(name),
          isInternal: false,
          topicAuthorizedOperations: -2147483648,
          partitions: Array.from({ length: partitionsOf(name) }, (_, i) => ({
            errorCode: 0,
            partitionIndex: i,
            leaderId: 1,
            leaderEpoch: 0,
            replicaNodes: [1],
            isrNodes: [1],
            offlineReplicas: [],
          })),
        })),
      };
    }
    case ApiKey.CreateTopics:
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => {
          topics.set(t.name, t.numPartitions > 0 ? t.numPartitions : 1);
          return {
            name: t.name,
            topicId: topicIdOf(t.name),
            errorCode: 0,
            errorMessage: null,
            numPartitions: topics.get(t.name),
            replicationFactor: 1,
            configs: [],
          };
        }),
      };
    case ApiKey.InitProducerId:
      return { throttleTimeMs: 0, errorCode: 0, producerId: 4242, producerEpoch: 0 };
    case ApiKey.Produce:
      if (req.acks === 0) return undefined;
      return {
        throttleTimeMs: 0,
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({
            index: p.index,
            errorCode: 0,
            baseOffset: 0,
            logAppendTimeMs: -1,
            logStartOffset: 0,
            recordErrors: [],
            errorMessage: null,
          })),
        })),
      };
    case ApiKey.ListOffsets:
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: 0,
            oldStyleOffsets: [0],
            timestamp: -1,
            offset: 0,
            leaderEpoch: 0,
          })),
        })),
      };
    case ApiKey.Fetch:
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: req.topics.map((t) => ({
          topic: t.topic,
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partition,
            errorCode: 0,
            highWatermark: 0,
            lastStableOffset: 0,
            logStartOffset: 0,
            abortedTransactions: [],
            preferredReadReplica: -1,
            records: Buffer.alloc(0),
          })),
        })),
      };
    case ApiKey.FindCoordinator:
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        nodeId: 1,
        host,
        port,
        coordinators: (req.coordinatorKeys ?? []).map((key) => ({ key, nodeId: 1, host, port, errorCode: 0, errorMessage: null })),
      };
    case ApiKey.JoinGroup: {
      const memberId = req.memberId || `${h.clientId ?? 'member'}-1`;
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        generationId: 1,
        protocolType: req.protocolType,
        protocolName: req.protocols[0]?.name ?? '',
        leader: memberId,
        skipAssignment: false,
        memberId,
        members: [{ memberId, groupInstanceId: req.groupInstanceId ?? null, metadata: req.protocols[0]?.metadata ?? Buffer.alloc(0) }],
      };
    }
    case ApiKey.SyncGroup:
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        protocolType: req.protocolType ?? null,
        protocolName: req.protocolName ?? null,
        assignment: req.assignments.find((a) => a.memberId === req.memberId)?.assignment ?? Buffer.alloc(0),
      };
    case ApiKey.OffsetFetch: {
      const topicsOf = (ts) =>
        (ts ?? []).map((t) => ({
          name: t.name,
          partitions: (t.partitionIndexes ?? []).map((i) => ({ partitionIndex: i, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 })),
        }));
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        topics: topicsOf(req.topics),
        groups: (req.groups ?? []).map((g) => ({ groupId: g.groupId, topics: topicsOf(g.topics), errorCode: 0 })),
      };
    }
    case ApiKey.OffsetCommit:
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })),
      };
    case ApiKey.Heartbeat:
      return { throttleTimeMs: 0, errorCode: 0 };
    case ApiKey.LeaveGroup:
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        members: (req.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, errorCode: 0 })),
      };
    default:
      return undefined;
  }
}

function onFrame(socket, frame) {
  const r = new Reader(frame, 4);
  const h = readRequestHeader(r);
  const codec = codecs[h.apiKey];
  if (!codec || h.apiVersion < codec.minVersion || h.apiVersion > codec.maxVersion) {
    console.error(`capture: ${currentClient} sent API ${h.apiKey} v${h.apiVersion}, which we do not know; no answer`);
    return;
  }
  if (isFlexible(h.apiKey, h.apiVersion)) r.skipTaggedFields();
  const req = codec.readRequest[h.apiVersion](r);
  if (r.bad) console.error(`capture: could not decode ${codec.name} v${h.apiVersion}: ${r.reason}`);
  seen.push(`${currentClient} ${codec.name} v${h.apiVersion}`);
  const key = `${currentClient}/${h.apiKey}/${h.apiVersion}`;
  if (!captured.has(key)) captured.set(key, { client: currentClient, apiKey: h.apiKey, name: codec.name, version: h.apiVersion, header: h, frame: Buffer.from(frame) });
  const body = r.bad ? undefined : answer(h, req);
  if (body === undefined) return;
  const out = encodeResponse(h.correlationId, responseHeaderFlexible(h.apiKey, h.apiVersion), codec.writeResponse[h.apiVersion], body);
  // Fetch answers come back after a pause, as a broker with nothing to send would, so clients do not spin.
  const delay = h.apiKey === ApiKey.Fetch ? Math.min(req.maxWaitMs, 100) : 0;
  setTimeout(() => {
    if (!socket.destroyed) socket.write(Buffer.concat(out));
  }, delay);
}

const sockets = new Set();
const server = createServer((socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const size = pending.readInt32BE(0);
      if (pending.length < 4 + size) break;
      onFrame(socket, pending.subarray(0, 4 + size));
      pending = pending.subarray(4 + size);
    }
  });
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
port = server.address().port;
const broker = `127.0.0.1:${port}`;

const has = (client, apiKey) => [...captured.values()].some((c) => c.client === client && c.apiKey === apiKey);
async function until(cond, what, ms = 15000) {
  for (let waited = 0; !cond(); waited += 50) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}
async function step(what, fn) {
  try {
    await fn();
  } catch (err) {
    console.error(`capture: ${currentClient}: ${what} failed: ${err?.message ?? err}`);
  }
}

// ------------------------------------------------------------------ kafkajs

{
  currentClient = 'kafkajs';
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const kafka = new Kafka({ clientId: 'golden-kafkajs', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const topic = 'golden-kafkajs';
  const admin = kafka.admin();
  await step('admin', async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
    await admin.fetchTopicOffsets(topic);
  });
  await admin.disconnect().catch(() => {});
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await step('producer', async () => {
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'key-1', value: 'hello golden', partition: 0, headers: { 'trace-id': 'abc' } },
        { key: null, value: 'second ünïcode ✓', partition: 0 },
      ],
    });
  });
  await producer.disconnect().catch(() => {});
  const consumer = kafka.consumer({ groupId: 'golden-kafkajs-group', maxWaitTimeInMs: 100 });
  await step('consumer', async () => {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    await until(() => has('kafkajs', ApiKey.Fetch), 'a kafkajs Fetch');
  });
  await consumer.disconnect().catch(() => {});
}

// ------------------------------------------------------------------ @platformatic/kafka

{
  currentClient = 'platformatic';
  const { Admin, Producer, Consumer, ProduceAcks, stringSerializers, stringDeserializers } = await import('@platformatic/kafka');
  const base = { clientId: 'golden-platformatic', bootstrapBrokers: [broker], retries: 1 };
  const topic = 'golden-platformatic';
  const admin = new Admin(base);
  await step('admin', async () => {
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
  });
  await admin.close().catch(() => {});
  const producer = new Producer({ ...base, idempotent: true, serializers: stringSerializers });
  await step('producer', async () => {
    await producer.send({
      acks: ProduceAcks.ALL,
      messages: [
        { topic, partition: 0, key: 'key-1', value: 'hello golden', headers: new Map([['trace-id', 'abc']]) },
        { topic, partition: 0, value: 'second ünïcode ✓' },
      ],
    });
  });
  await producer.close().catch(() => {});
  const consumer = new Consumer({ ...base, groupId: 'golden-platformatic-group', deserializers: stringDeserializers, maxWaitTime: 100 });
  await step('listOffsets', () => consumer.listOffsets({ topics: [topic] }));
  let stream;
  await step('consume', async () => {
    stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
    stream.on('error', () => {});
    stream.on('data', () => {});
    await until(() => has('platformatic', ApiKey.Fetch), 'a platformatic Fetch');
  });
  if (stream) await stream.close().catch(() => {});
  await consumer.close(true).catch(() => {});
}

// ------------------------------------------------------------------ write fixtures

for (const s of sockets) s.destroy();
server.close();

const index = [];
for (const client of new Set([...captured.values()].map((c) => c.client))) rmSync(join(outDir, client), { recursive: true, force: true });
for (const c of [...captured.values()].sort((a, b) => a.client.localeCompare(b.client) || a.apiKey - b.apiKey || a.version - b.version)) {
  const file = `${c.client}/${kebab(c.name)}-v${c.version}.bin`;
  mkdirSync(join(outDir, c.client), { recursive: true });
  writeFileSync(join(outDir, file), c.frame);
  index.push({ client: c.client, file, apiKey: c.apiKey, api: c.name, version: c.version, clientId: c.header.clientId, size: c.frame.length });
}
writeFileSync(join(outDir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
if (process.env.CAPTURE_DEBUG) console.log(seen.join("\n"));
console.log(`capture: ${index.length} frames written to ${outDir}`);
for (const e of index) console.log(`  ${e.file} (${e.size} bytes)`);
process.exit(0);
