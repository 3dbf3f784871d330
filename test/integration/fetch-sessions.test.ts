// Fetch sessions (KIP-227) on the wire: a full fetch with epoch 0 creates a session, later
// fetches name only what changed and are answered only with what is new; errors for unknown
// sessions and wrong epochs; forgotten partitions; the long poll of an incremental fetch;
// fairness between partitions under a byte limit; a bounded cache with eviction.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { createTopicsBody, produceBody } from '../helpers/requests.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const PARTITIONS = 8;
let broker: BrokerProcess;
let c: WireClient;

before(async () => {
  broker = await startBroker();
  c = await WireClient.connect(broker.port);
});
after(async () => {
  c.close();
  await broker.cleanup();
});

async function createTopic(client: WireClient, name: string, partitions: number): Promise<string> {
  const res = await client.request(ApiKey.CreateTopics, 7, createTopicsBody(name, partitions));
  assert.equal(res.topics[0].errorCode, ErrorCode.NONE);
  return res.topics[0].topicId as string;
}

async function produce(client: WireClient, topic: string, partition: number, value: string | Buffer): Promise<void> {
  const res = await client.request(ApiKey.Produce, 9, produceBody(topic, [[partition, buildBatch([{ key: null, value: Buffer.isBuffer(value) ? value : Buffer.from(value) }])]]));
  assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
}

interface Part {
  partition: number;
  offset: number;
}

interface SessionFetch {
  sessionId: number;
  epoch: number;
  /** Topic id (v13+) or name (v12) -> partitions to add or update. */
  topics?: Array<[string, Part[]]>;
  forgotten?: Array<[string, number[]]>;
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  version?: number;
}

function sessionFetch(client: WireClient, f: SessionFetch): Promise<any> {
  const version = f.version ?? 17;
  const byId = version >= 13;
  const maxBytes = f.maxBytes ?? 1 << 20;
  return client.request(ApiKey.Fetch, version, {
    replicaId: -1, maxWaitMs: f.maxWaitMs ?? 0, minBytes: f.minBytes ?? 1, maxBytes, isolationLevel: 0,
    sessionId: f.sessionId, sessionEpoch: f.epoch,
    topics: (f.topics ?? []).map(([t, parts]) => ({
      ...(byId ? { topicId: t } : { topic: t }),
      partitions: parts.map((p) => ({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: f.partitionMaxBytes ?? maxBytes })),
    })),
    forgottenTopicsData: (f.forgotten ?? []).map(([t, partitions]) => ({ ...(byId ? { topicId: t } : { topic: t }), partitions })),
    rackId: '',
  });
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const at = (offset: number, parts: number[]): Part[] => parts.map((partition) => ({ partition, offset }));
/** The partitions an answer carries, as "index" (sorted), and the ones with records. */
const answered = (res: any): number[] => res.responses.flatMap((t: any) => t.partitions.map((p: any) => p.partitionIndex)).sort((a: number, b: number) => a - b);
const withRecords = (res: any): number[] =>
  res.responses.flatMap((t: any) => t.partitions.filter((p: any) => (p.records?.length ?? 0) > 0).map((p: any) => p.partitionIndex)).sort((a: number, b: number) => a - b);
const sessions = async (): Promise<number> => (await scrapeMetrics(broker.httpPort)).must('rivulet_fetch_sessions');

test('a session answers only what is new: nothing, then the one partition written, never a forgotten one', async () => {
  const id = await createTopic(c, 'sessions-a', PARTITIONS);
  for (const p of range(PARTITIONS)) await produce(c, 'sessions-a', p, `first-${p}`);
  const before = await sessions();

  const full = await sessionFetch(c, { sessionId: 0, epoch: 0, topics: [[id, at(0, range(PARTITIONS))]] });
  assert.equal(full.errorCode, ErrorCode.NONE);
  assert.notEqual(full.sessionId, 0, 'the broker grants a session');
  assert.deepEqual(withRecords(full), range(PARTITIONS), 'the full fetch returns every partition');
  assert.equal(await sessions(), before + 1, 'rivulet_fetch_sessions counts it');
  const sid = full.sessionId;

  // The consumer moves past the records it got: every position changes, nothing is new.
  const moved = await sessionFetch(c, { sessionId: sid, epoch: 1, topics: [[id, at(1, range(PARTITIONS))]] });
  assert.equal(moved.errorCode, ErrorCode.NONE);
  assert.equal(moved.sessionId, sid);
  assert.deepEqual(answered(moved), [], 'updated positions with nothing new: no partitions');
  const idle = await sessionFetch(c, { sessionId: sid, epoch: 2 });
  assert.deepEqual(answered(idle), [], 'an empty incremental fetch with nothing new: no partitions');

  await produce(c, 'sessions-a', 5, 'second-5');
  const one = await sessionFetch(c, { sessionId: sid, epoch: 3 });
  assert.deepEqual(answered(one), [5], 'only the partition written');
  assert.deepEqual(withRecords(one), [5]);
  const p5 = one.responses[0].partitions[0];
  assert.equal(p5.highWatermark, 2);
  assert.equal(one.responses[0].topicId, id);

  // Forget partition 5 (and move partition 5's position, which it no longer has).
  await produce(c, 'sessions-a', 5, 'third-5');
  await produce(c, 'sessions-a', 6, 'second-6');
  const forgot = await sessionFetch(c, { sessionId: sid, epoch: 4, forgotten: [[id, [5]]] });
  assert.deepEqual(answered(forgot), [6], 'a forgotten partition is no longer answered');
  const again = await sessionFetch(c, { sessionId: sid, epoch: 5, topics: [[id, at(2, [6])]] });
  assert.deepEqual(answered(again), [], 'nothing new once partition 6 moved on and 5 is forgotten');

  // A wrong epoch is refused without partitions and does not move the session on.
  const stale = await sessionFetch(c, { sessionId: sid, epoch: 5 });
  assert.equal(stale.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  assert.equal(stale.sessionId, 0);
  assert.deepEqual(stale.responses, []);
  const ahead = await sessionFetch(c, { sessionId: sid, epoch: 9 });
  assert.equal(ahead.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  const right = await sessionFetch(c, { sessionId: sid, epoch: 6 });
  assert.equal(right.errorCode, ErrorCode.NONE);
  assert.equal(right.sessionId, sid);

  // Fetching a topic-id session by name is refused.
  const byName = await sessionFetch(c, { sessionId: sid, epoch: 7, version: 12 });
  assert.equal(byName.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);

  // FINAL closes the session and answers in full without one.
  const final = await sessionFetch(c, { sessionId: sid, epoch: -1, topics: [[id, at(0, [0, 1])]] });
  assert.equal(final.errorCode, ErrorCode.NONE);
  assert.equal(final.sessionId, 0);
  assert.deepEqual(withRecords(final), [0, 1]);
  const gone = await sessionFetch(c, { sessionId: sid, epoch: 7 });
  assert.equal(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  assert.deepEqual(gone.responses, []);
  assert.equal(await sessions(), before);
});

test('an unknown session id answers FETCH_SESSION_ID_NOT_FOUND', async () => {
  const res = await sessionFetch(c, { sessionId: 123456, epoch: 1 });
  assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  assert.equal(res.sessionId, 0);
  assert.deepEqual(res.responses, []);
});

test('a session continues on another connection; epoch 0 with its id replaces it', async () => {
  const id = await createTopic(c, 'sessions-b', 3);
  const full = await sessionFetch(c, { sessionId: 0, epoch: 0, topics: [[id, at(0, [0, 1, 2])]] });
  const sid = full.sessionId;
  assert.notEqual(sid, 0);
  const other = await WireClient.connect(broker.port);
  try {
    await produce(other, 'sessions-b', 2, 'x');
    const res = await sessionFetch(other, { sessionId: sid, epoch: 1 });
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.deepEqual(answered(res), [2]);
    const renewed = await sessionFetch(other, { sessionId: sid, epoch: 0, topics: [[id, at(0, [0])]] });
    assert.notEqual(renewed.sessionId, 0);
    assert.notEqual(renewed.sessionId, sid, 'a new session');
    const old = await sessionFetch(other, { sessionId: sid, epoch: 2 });
    assert.equal(old.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, 'the old one is closed');
  } finally {
    other.close();
  }
});

test('a session by topic name (v12): partitions added later are answered, forgotten ones are not', async () => {
  await createTopic(c, 'sessions-c', 4);
  const full = await sessionFetch(c, { version: 12, sessionId: 0, epoch: 0, topics: [['sessions-c', at(0, [0, 1])]] });
  const sid = full.sessionId;
  assert.notEqual(sid, 0);
  assert.deepEqual(answered(full), [0, 1]);
  const added = await sessionFetch(c, { version: 12, sessionId: sid, epoch: 1, topics: [['sessions-c', at(0, [3])]] });
  assert.deepEqual(answered(added), [3], 'a partition joining the session is answered once');
  await produce(c, 'sessions-c', 0, 'a');
  await produce(c, 'sessions-c', 3, 'b');
  const res = await sessionFetch(c, { version: 12, sessionId: sid, epoch: 2, forgotten: [['sessions-c', [0]]] });
  assert.deepEqual(answered(res), [3]);
  assert.equal(res.responses[0].topic, 'sessions-c');
  // Forgetting the last partitions closes the session.
  const empty = await sessionFetch(c, { version: 12, sessionId: sid, epoch: 3, forgotten: [['sessions-c', [1, 3]]] });
  assert.equal(empty.errorCode, ErrorCode.NONE);
  assert.equal(empty.sessionId, 0);
  const gone = await sessionFetch(c, { version: 12, sessionId: sid, epoch: 4 });
  assert.equal(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
});

test('a parked incremental fetch wakes on a write to one partition and answers only it', async () => {
  const id = await createTopic(c, 'sessions-d', 6);
  const full = await sessionFetch(c, { sessionId: 0, epoch: 0, topics: [[id, at(0, range(6))]] });
  const sid = full.sessionId;
  const other = await WireClient.connect(broker.port);
  try {
    const t0 = Date.now();
    const parked = sessionFetch(c, { sessionId: sid, epoch: 1, maxWaitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    await produce(other, 'sessions-d', 4, 'wake');
    const res = await parked;
    const took = Date.now() - t0;
    assert.ok(took < 5000, `answered on the write, not at maxWaitMs: ${took} ms`);
    assert.deepEqual(answered(res), [4]);
    assert.deepEqual(withRecords(res), [4]);
  } finally {
    other.close();
  }
});

test('partitions that returned records go to the end of the session, so a byte limit cannot starve later ones', async () => {
  const id = await createTopic(c, 'sessions-e', 3);
  for (const p of [0, 1, 2]) for (let i = 0; i < 3; i++) await produce(c, 'sessions-e', p, Buffer.alloc(10_000, p));
  const limits = { maxBytes: 15_000, partitionMaxBytes: 15_000 };
  const full = await sessionFetch(c, { sessionId: 0, epoch: 0, topics: [[id, at(0, [0, 1, 2])]], ...limits });
  const sid = full.sessionId;
  assert.deepEqual(withRecords(full), [0], 'the limit allows one partition');
  // Each answer carries one batch; every partition holds three. The full fetch keeps the
  // request's order, then each partition that returned records moves behind the others.
  const next = await sessionFetch(c, { sessionId: sid, epoch: 1, topics: [[id, at(1, [0])]], ...limits });
  assert.deepEqual(withRecords(next), [0]);
  const third = await sessionFetch(c, { sessionId: sid, epoch: 2, topics: [[id, at(2, [0])]], ...limits });
  assert.deepEqual(withRecords(third), [1], 'partition 1 comes before partition 0, which was just served');
  const fourth = await sessionFetch(c, { sessionId: sid, epoch: 3, topics: [[id, at(1, [1])]], ...limits });
  assert.deepEqual(withRecords(fourth), [2]);
  const fifth = await sessionFetch(c, { sessionId: sid, epoch: 4, topics: [[id, at(1, [2])]], ...limits });
  assert.deepEqual(withRecords(fifth), [0], 'then partition 0 again');
});

test('a topic deleted while in a session answers UNKNOWN_TOPIC_ID for its partitions', async () => {
  const id = await createTopic(c, 'sessions-f', 2);
  const full = await sessionFetch(c, { sessionId: 0, epoch: 0, topics: [[id, at(0, [0, 1])]] });
  const sid = full.sessionId;
  const del = await c.request(ApiKey.DeleteTopics, 6, { topics: [{ name: 'sessions-f', topicId: null }], timeoutMs: 5000 });
  assert.equal(del.responses[0].errorCode, ErrorCode.NONE);
  const res = await sessionFetch(c, { sessionId: sid, epoch: 1, maxWaitMs: 5000 });
  assert.equal(res.errorCode, ErrorCode.NONE);
  assert.deepEqual(answered(res), [0, 1]);
  for (const p of res.responses[0].partitions) assert.equal(p.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  const forgot = await sessionFetch(c, { sessionId: sid, epoch: 2, forgotten: [[id, [0, 1]]] });
  assert.equal(forgot.sessionId, 0, 'forgetting them empties and closes the session');
});

test('a full cache grants no session (id 0) until one has been idle past the eviction time', async () => {
  const small = await startBroker({ args: ['--set', 'max.incremental.fetch.session.cache.slots=1', '--set', 'min.incremental.fetch.session.eviction.ms=1000'] });
  const k = await WireClient.connect(small.port);
  try {
    const id = await createTopic(k, 'cache', 2);
    const first = await sessionFetch(k, { sessionId: 0, epoch: 0, topics: [[id, at(0, [0, 1])]] });
    assert.notEqual(first.sessionId, 0);
    const second = await sessionFetch(k, { sessionId: 0, epoch: 0, topics: [[id, at(0, [0, 1])]] });
    assert.equal(second.errorCode, ErrorCode.NONE);
    assert.equal(second.sessionId, 0, 'no slot free: the answer carries session id 0');
    assert.equal(answered(second).length, 2, 'and still answers the full fetch');
    // Even a larger session cannot take a recently created one's place.
    const larger = await createTopic(k, 'cache-larger', 4);
    const big = await sessionFetch(k, { sessionId: 0, epoch: 0, topics: [[larger, at(0, [0, 1, 2, 3])]] });
    assert.equal(big.sessionId, 0);
    await new Promise((r) => setTimeout(r, 1200));
    const third = await sessionFetch(k, { sessionId: 0, epoch: 0, topics: [[id, at(0, [0])]] });
    assert.notEqual(third.sessionId, 0, 'the idle session was evicted for the new one');
    const evicted = await sessionFetch(k, { sessionId: first.sessionId, epoch: 1 });
    assert.equal(evicted.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    const m = await scrapeMetrics(small.httpPort);
    assert.equal(m.must('rivulet_fetch_session_evictions_total'), 1);
    assert.equal(m.must('rivulet_fetch_sessions'), 1);
  } finally {
    k.close();
    await small.cleanup();
  }
});

test('max.incremental.fetch.session.cache.slots=0 grants no sessions', async () => {
  const none = await startBroker({ args: ['--set', 'max.incremental.fetch.session.cache.slots=0'] });
  const k = await WireClient.connect(none.port);
  try {
    const id = await createTopic(k, 'nocache', 1);
    const res = await sessionFetch(k, { sessionId: 0, epoch: 0, topics: [[id, at(0, [0])]] });
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.equal(res.sessionId, 0);
    const described = await k.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '0', configurationKeys: ['max.incremental.fetch.session.cache.slots', 'min.incremental.fetch.session.eviction.ms'] }], includeSynonyms: false, includeDocumentation: false });
    assert.deepEqual(described.results[0].configs.map((e: any) => [e.name, e.value]), [['max.incremental.fetch.session.cache.slots', '0'], ['min.incremental.fetch.session.eviction.ms', '120000']]);
  } finally {
    k.close();
    await none.cleanup();
  }
});

test('a session grown past request.max.entries, request by request, is closed with INVALID_REQUEST and the broker serves on', async () => {
  const b = await startBroker({ args: ['--set', 'request.max.entries=20'] });
  const k = await WireClient.connect(b.port);
  try {
    const id = await createTopic(k, 'bounded', 1);
    const first = await sessionFetch(k, { sessionId: 0, epoch: 0, topics: [[id, at(0, [0])]] });
    assert.notEqual(first.sessionId, 0);
    // Partitions of no topic, 5 a request (each request within the bound): the session keeps them to answer errors.
    let epoch = 1;
    let res: any;
    for (let n = 0; n < 10; n++) {
      res = await sessionFetch(k, { sessionId: first.sessionId, epoch, topics: [['AAAAAAAAAAAAAAAAAAAAAA', at(0, range(5).map((i) => 1000 + n * 5 + i))]] });
      if (res.errorCode !== ErrorCode.NONE) break;
      epoch++;
    }
    assert.equal(res.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(res.sessionId, 0);
    assert.ok(epoch <= 5, `refused after ${epoch} incremental requests`);
    const gone = await sessionFetch(k, { sessionId: first.sessionId, epoch: epoch + 1 });
    assert.equal(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    const again = await sessionFetch(k, { sessionId: 0, epoch: 0, topics: [[id, at(0, [0])]] });
    assert.equal(again.errorCode, ErrorCode.NONE);
  } finally {
    k.close();
    await b.cleanup();
  }
});
