// The fetch session cache (epochs, eviction, partition order, what an incremental answer
// carries) on its own, then the Fetch handler's session contexts through an in-process broker
// whose cache the tests can look into.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FetchPartition, FetchSession, FetchSessionCache, nextEpoch, FINAL_EPOCH } from '../../../src/broker/fetch-sessions.js';
import { PlainCounter } from '../../../src/broker/metrics.js';
import { startInProcessBroker, type InProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { buildBatch } from '../../helpers/batches.js';
import { createTopicsBody, produceBody } from '../../helpers/requests.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ZERO_UUID } from '../../../src/protocol/reader.js';

const parts = (n: number, topic = 't'): FetchPartition[] => Array.from({ length: n }, (_, i) => new FetchPartition(topic, ZERO_UUID, i, null));
const metrics = () => ({ fetchSessions: 0, fetchSessionEvictions: new PlainCounter() });

describe('epochs', () => {
  test('nextEpoch counts up, wraps from MAX_INT to 1 and keeps FINAL', () => {
    assert.equal(nextEpoch(0), 1);
    assert.equal(nextEpoch(41), 42);
    assert.equal(nextEpoch(0x7fffffff), 1);
    assert.equal(nextEpoch(FINAL_EPOCH), FINAL_EPOCH);
  });
});

describe('FetchSessionCache', () => {
  test('a new session has a positive unique id and expects epoch 1; the gauge follows', () => {
    const m = metrics();
    const cache = new FetchSessionCache(10, 1000, m);
    const ids = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const s = cache.maybeCreate(0, 'User:a', false, parts(2))!;
      assert.ok(s.id > 0 && s.id <= 0x7fffffff);
      assert.equal(s.epoch, 1);
      ids.add(s.id);
    }
    assert.equal(ids.size, 10);
    assert.equal(m.fetchSessions, 10);
    cache.remove(cache.get([...ids][0]!)!);
    assert.equal(m.fetchSessions, 9);
  });

  test('zero slots grant nothing', () => {
    assert.equal(new FetchSessionCache(0, 1000).maybeCreate(0, 'User:a', false, parts(1)), null);
  });

  test('when full, a session idle past evictionMs is evicted, the least recently used first', () => {
    const m = metrics();
    const cache = new FetchSessionCache(2, 1000, m);
    const a = cache.maybeCreate(0, 'User:a', false, parts(5))!;
    const b = cache.maybeCreate(10, 'User:a', false, parts(5))!;
    assert.equal(cache.maybeCreate(500, 'User:a', false, parts(1)), null, 'nothing idle long enough, nothing old enough');
    cache.touch(a, 900);
    // At 1500: b idle 1490 ms (stale), a idle 600 ms.
    const c = cache.maybeCreate(1500, 'User:a', false, parts(1));
    assert.ok(c !== null);
    assert.equal(cache.get(b.id), undefined, 'the least recently used one went');
    assert.equal(cache.get(a.id), a);
    assert.equal(m.fetchSessionEvictions.value, 1);
    assert.equal(m.fetchSessions, 2);
  });

  test('when full and none is idle, a larger session evicts the smallest one created over evictionMs ago', () => {
    const m = metrics();
    const cache = new FetchSessionCache(3, 1000, m);
    const big = cache.maybeCreate(0, 'User:a', false, parts(10))!;
    const small = cache.maybeCreate(0, 'User:a', false, parts(3))!;
    const young = cache.maybeCreate(1500, 'User:a', false, parts(1))!;
    for (const s of [big, small, young]) cache.touch(s, 1900);
    assert.equal(cache.maybeCreate(2000, 'User:a', false, parts(3)), null, 'an equal size does not evict');
    assert.equal(cache.maybeCreate(2000, 'User:a', false, parts(2)), null, 'a smaller one does not evict');
    const n = cache.maybeCreate(2000, 'User:a', false, parts(4));
    assert.ok(n !== null);
    assert.equal(cache.get(small.id), undefined, 'the smallest old session went');
    assert.equal(cache.get(young.id), young, 'the smaller but recently created one stays');
    assert.equal(cache.get(big.id), big);
    assert.equal(m.fetchSessionEvictions.value, 1);
  });
});

describe('FetchSession', () => {
  test('partitions are found by topic and index, forgotten, and rotated with their order kept, their records let go', () => {
    const s = new FetchSession(1, 'User:a', false, 0, parts(4));
    assert.equal(s.size, 4);
    assert.equal(s.find('t', 2)!.index, 2);
    assert.equal(s.find('u', 2), undefined);
    s.add(new FetchPartition('u', ZERO_UUID, 0, null));
    assert.equal(s.remove('t', [1, 9]), 1);
    assert.deepEqual(s.order.map((p) => `${p.topicName}-${p.index}`), ['t-0', 't-2', 't-3', 'u-0']);
    s.order[0]!.records = [Buffer.alloc(1)];
    s.order[2]!.records = [Buffer.alloc(1)];
    s.release();
    assert.deepEqual(s.order.map((p) => `${p.topicName}-${p.index}`), ['t-2', 'u-0', 't-0', 't-3']);
    for (const p of s.order) assert.equal(p.records.length, 0);
  });

  test('duplicate partitions of a full fetch join once', () => {
    const s = new FetchSession(1, 'User:a', false, 0, [...parts(2), ...parts(2)]);
    assert.equal(s.size, 2);
  });
});

describe('FetchPartition.mustRespond', () => {
  test('records, an error, a new high watermark, last stable or log start offset must be answered; nothing new need not', () => {
    const p = new FetchPartition('t', ZERO_UUID, 0, null);
    p.highWatermark = 5;
    p.lastStableOffset = 5;
    p.logStartOffset = 0;
    assert.equal(p.mustRespond(), true, 'first answer');
    assert.equal(p.mustRespond(), false, 'nothing new');
    p.records = [Buffer.alloc(1)];
    assert.equal(p.mustRespond(), true, 'records');
    p.records = [];
    p.highWatermark = 6;
    assert.equal(p.mustRespond(), true, 'high watermark');
    p.lastStableOffset = 6;
    assert.equal(p.mustRespond(), true, 'last stable offset');
    p.logStartOffset = 1;
    assert.equal(p.mustRespond(), true, 'log start offset');
    assert.equal(p.mustRespond(), false);
    p.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
    assert.equal(p.mustRespond(), true, 'an error');
    assert.equal(p.mustRespond(), true, 'an error, every time');
    p.errorCode = 0;
    assert.equal(p.mustRespond(), true, 'the error cleared: answered again');
    assert.equal(p.mustRespond(), false);
  });
});

describe('the Fetch handler\'s session contexts', () => {
  let b: InProcessBroker;
  let c: WireClient;
  let topicId: string;
  before(async () => {
    b = await startInProcessBroker();
    c = await WireClient.connect(b.port);
    const res = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('ctx', 3));
    topicId = res.topics[0].topicId;
  });
  after(async () => {
    c.close();
    await b.stop();
  });

  const fetch = (sessionId: number, sessionEpoch: number, partitions: number[] = [], maxWaitMs = 0): Promise<any> =>
    c.request(ApiKey.Fetch, 17, {
      replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId, sessionEpoch,
      topics: partitions.length === 0 ? [] : [{ topicId, partitions: partitions.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 })) }],
      forgottenTopicsData: [], rackId: '',
    });

  test('each incremental fetch moves the expected epoch on; from MAX_INT it wraps to 1', async () => {
    const full = await fetch(0, 0, [0, 1, 2]);
    const s = b.broker.fetchSessions.get(full.sessionId)!;
    assert.equal(s.epoch, 1);
    await fetch(s.id, 1);
    assert.equal(s.epoch, 2);
    s.epoch = 0x7fffffff;
    const res = await fetch(s.id, 0x7fffffff);
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.equal(s.epoch, 1);
    const err = await fetch(s.id, 3);
    assert.equal(err.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    assert.equal(s.epoch, 1, 'an error leaves the epoch');
  });

  test('another principal\'s session is not found, and cannot be closed', async () => {
    const full = await fetch(0, 0, [0]);
    const mine = b.broker.fetchSessions.get(full.sessionId)!;
    const theirs = b.broker.fetchSessions.maybeCreate(Date.now(), 'User:someone-else', true, [])!;
    const res = await fetch(theirs.id, 1);
    assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    await fetch(theirs.id, FINAL_EPOCH, [0]);
    assert.equal(b.broker.fetchSessions.get(theirs.id), theirs);
    assert.equal(b.broker.fetchSessions.get(mine.id), mine);
  });

  test('a pipelined next epoch wakes the parked fetch and runs after it', async () => {
    const full = await fetch(0, 0, [0, 1, 2]);
    const sid = full.sessionId;
    const t0 = Date.now();
    const first = fetch(sid, 1, [], 10_000);
    const second = fetch(sid, 2, [], 0);
    const [r1, r2] = await Promise.all([first, second]);
    assert.ok(Date.now() - t0 < 5000, 'the parked one did not wait its full maxWaitMs');
    assert.equal(r1.errorCode, ErrorCode.NONE);
    assert.equal(r2.errorCode, ErrorCode.NONE);
    assert.equal(b.broker.fetchSessions.get(sid)!.epoch, 3);
  });

  test('an incremental fetch of new records answers them, and moves that partition to the end', async () => {
    const full = await fetch(0, 0, [0, 1, 2]);
    const s = b.broker.fetchSessions.get(full.sessionId)!;
    const p = await c.request(ApiKey.Produce, 9, produceBody('ctx', [[0, buildBatch([{ key: null, value: Buffer.from('v') }])]]));
    assert.equal(p.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const res = await fetch(s.id, 1);
    assert.deepEqual(res.responses.flatMap((t: any) => t.partitions.map((x: any) => x.partitionIndex)), [0]);
    assert.deepEqual(s.order.map((x) => x.index), [1, 2, 0]);
    assert.ok(s.order.every((x) => x.records.length === 0), 'the session keeps no records between fetches');
  });

  // Fetches of a topic of its own, from chosen positions and with a chosen per-partition limit.
  const topicOf = async (name: string, partitions: number): Promise<string> =>
    (await c.request(ApiKey.CreateTopics, 7, createTopicsBody(name, partitions))).topics[0].topicId;
  const fetchAt = (id: string, sessionId: number, sessionEpoch: number, at: Array<[number, number]>, o: { maxWaitMs?: number; partitionMaxBytes?: number } = {}): Promise<any> =>
    c.request(ApiKey.Fetch, 17, {
      replicaId: -1, maxWaitMs: o.maxWaitMs ?? 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId, sessionEpoch,
      topics: at.length === 0 ? [] : [{ topicId: id, partitions: at.map(([partition, fetchOffset]) => ({ partition, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: o.partitionMaxBytes ?? 1 << 20 })) }],
      forgottenTopicsData: [], rackId: '',
    });
  const answered = (res: any): number[] => res.responses.flatMap((t: any) => t.partitions.map((x: any) => x.partitionIndex));
  const write = async (topic: string, partition: number, value = 'v'): Promise<void> => {
    const p = await c.request(ApiKey.Produce, 9, produceBody(topic, [[partition, buildBatch([{ key: null, value: Buffer.from(value) }])]]));
    assert.equal(p.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  };

  test('a parked incremental fetch registers on no partition: each partition of the session keeps one standing watch', async () => {
    const id = await topicOf('watch', 3);
    const full = await fetchAt(id, 0, 0, [[0, 0], [1, 0], [2, 0]]);
    const s = b.broker.fetchSessions.get(full.sessionId)!;
    const partitions = b.broker.topics.byName.get('watch')!.partitions;
    for (let i = 0; i < 20; i++) {
      const parked = fetchAt(id, s.id, s.epoch, i === 0 ? [] : [[0, i]], { maxWaitMs: 30_000 });
      while (b.broker.metrics.fetchParked === 0) await new Promise((r) => setImmediate(r));
      await write('watch', 0, `v${i}`);
      const res = await parked;
      assert.deepEqual(answered(res), [0], `round ${i}: the written partition only`);
    }
    // One parked fetch per round would have left 20 registrations on each quiet partition.
    assert.ok(partitions[1]!.waiters.length <= 1, `partition 1 holds ${partitions[1]!.waiters.length} waiters`);
    assert.ok(partitions[2]!.waiters.length <= 1, `partition 2 holds ${partitions[2]!.waiters.length} waiters`);
    b.broker.fetchSessions.remove(s);
    await write('watch', 1);
    assert.equal(partitions[1]!.waiters.length, 0, 'a closed session\'s watch is dropped at the next wake-up');
  });

  test('a log start raised by DeleteRecords is answered by the next incremental fetch', async () => {
    const id = await topicOf('lstart', 2);
    await write('lstart', 1, 'a');
    await write('lstart', 1, 'b');
    const full = await fetchAt(id, 0, 0, [[0, 0], [1, 2]]);
    const s = b.broker.fetchSessions.get(full.sessionId)!;
    assert.deepEqual(answered(await fetchAt(id, s.id, 1, [])), [], 'nothing new yet');
    const del = await c.request(ApiKey.DeleteRecords, 2, { topics: [{ name: 'lstart', partitions: [{ partitionIndex: 1, offset: 1 }] }], timeoutMs: 5000 });
    assert.equal(del.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    const res = await fetchAt(id, s.id, 2, []);
    assert.deepEqual(answered(res), [1]);
    assert.equal(res.responses[0].partitions[0].logStartOffset, 1);
  });

  test('a partition left with more than its byte limit is served again though the request does not name it', async () => {
    const id = await topicOf('backlog', 1);
    for (const v of ['a', 'b', 'c']) await write('backlog', 0, v);
    // A limit of one byte: each answer carries the first batch only (KIP-74).
    const full = await fetchAt(id, 0, 0, [[0, 0]], { partitionMaxBytes: 1 });
    assert.equal(full.responses[0].partitions[0].highWatermark, 3);
    const s = b.broker.fetchSessions.get(full.sessionId)!;
    // The client has not moved (it did not consume yet): the partition is not in the requests.
    for (const epoch of [1, 2, 3]) {
      const res = await fetchAt(id, s.id, epoch, []);
      assert.deepEqual(answered(res), [0], `epoch ${epoch}: the unread batches are answered again`);
      assert.ok(res.responses[0].partitions[0].records.length > 0);
    }
  });
});
