// The transaction coordinator driven directly, with in-memory logs and a marker writer that
// records (or fails) what it is asked to write: the state machine's moves and the error
// codes of wrong ones, fencing, transaction version 2 epochs, timeouts, idle-id expiry,
// transactional offsets, and a restart that finds a transaction decided but not finished.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransactionCoordinator, TxnState, MAX_EPOCH, type TxnServices } from '../../../src/broker/txn/coordinator.js';
import { OffsetStore } from '../../../src/broker/groups/offset-store.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';
import { defaultLogConfig } from '../../../src/storage/log-config.js';
import { Logger } from '../../../src/broker/logger.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import type { Marker } from '../../../src/protocol/control-batch.js';

interface Written {
  topic: string;
  partition: number;
  marker: Marker;
}

interface Harness {
  c: TransactionCoordinator;
  markers: Written[];
  offsets: OffsetStore;
  txnLog: MemoryLog;
  /** While set, writeMarker rejects with it. */
  failMarkers: Error | null;
  clock: { now: number };
}

const SETTINGS = { maxTimeoutMs: 60_000, idExpirationMs: 3_600_000, version: 2 };

async function harness(reuse?: { txnLog: MemoryLog; offsets: OffsetStore; clock: { now: number } }): Promise<Harness> {
  const txnLog = reuse?.txnLog ?? new MemoryLog({ ...defaultLogConfig });
  let offsets = reuse?.offsets;
  if (!offsets) {
    offsets = new OffsetStore(new MemoryLog({ ...defaultLogConfig }), { compactAfterBytes: 1 << 30, fsync: false });
    await offsets.load();
  }
  const clock = reuse?.clock ?? { now: 1_000_000 };
  let nextPid = 1000;
  const h = { markers: [] as Written[], offsets, txnLog, failMarkers: null as Error | null, clock } as Harness;
  const services: TxnServices = {
    partitionExists: (topic, p) => topic !== 'missing' && p >= 0 && p < 4,
    writeMarker: async (topic, partition, marker) => {
      if (h.failMarkers) throw h.failMarkers;
      h.markers.push({ topic, partition, marker });
    },
    allocateProducerId: async () => nextPid++,
    offsets,
  };
  h.c = new TransactionCoordinator(txnLog, { compactAfterBytes: 1 << 30, fsync: false }, SETTINGS, services, new Logger('error'), () => clock.now);
  await h.c.load();
  return h;
}

const code = (m: Map<string, number>, topic: string, p: number) => m.get(`${topic}\0${p}`);

test('a committed transaction writes COMMIT to each of its partitions and commits its offsets', async () => {
  const { c, markers, offsets } = await harness();
  const init = await c.initProducerId('tx', 10_000, -1, -1);
  assert.deepEqual(init, { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 0 });
  const added = await c.addPartitions('tx', 1000, 0, [['a', 0], ['a', 1], ['b', 3]]);
  assert.equal(code(added, 'a', 1), ErrorCode.NONE);
  assert.equal(c.txns.get('tx')!.state, TxnState.Ongoing);
  assert.equal(await c.addGroup('tx', 1000, 0, 'g'), ErrorCode.NONE);
  assert.equal(await c.commitOffsets('tx', 1000, 0, 'g', false, () => offsets.commitPending(1000, 'g', [{ topic: 'in', partition: 0, offset: { offset: 42, leaderEpoch: -1, metadata: null, commitTimestamp: 1 } }])), ErrorCode.NONE);
  assert.equal(offsets.get('g', 'in', 0), undefined, 'pending offsets are not committed yet');
  assert.ok(offsets.hasPending('g', 'in', 0));
  const end = await c.endTxn('tx', 1000, 0, true, false);
  assert.equal(end.errorCode, ErrorCode.NONE);
  assert.deepEqual(markers.map((m) => `${m.topic}-${m.partition}:${m.marker.commit}:${m.marker.producerId}/${m.marker.producerEpoch}`).sort(), ['a-0:true:1000/0', 'a-1:true:1000/0', 'b-3:true:1000/0']);
  assert.equal(c.txns.get('tx')!.state, TxnState.CompleteCommit);
  assert.equal(offsets.get('g', 'in', 0)?.offset, 42);
  assert.equal(offsets.hasPending('g', 'in', 0), false);
  // A retried commit (TV1) is answered again; an abort of it is a wrong move.
  assert.equal((await c.endTxn('tx', 1000, 0, true, false)).errorCode, ErrorCode.NONE);
  assert.equal((await c.endTxn('tx', 1000, 0, false, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
});

test('an aborted transaction writes ABORT and drops its offsets', async () => {
  const { c, markers, offsets } = await harness();
  await c.initProducerId('tx', 10_000, -1, -1);
  await c.addPartitions('tx', 1000, 0, [['a', 2]]);
  await c.addGroup('tx', 1000, 0, 'g');
  await c.commitOffsets('tx', 1000, 0, 'g', false, () => offsets.commitPending(1000, 'g', [{ topic: 'in', partition: 1, offset: { offset: 7, leaderEpoch: -1, metadata: null, commitTimestamp: 1 } }]));
  assert.equal((await c.endTxn('tx', 1000, 0, false, false)).errorCode, ErrorCode.NONE);
  assert.deepEqual(markers.map((m) => [m.topic, m.partition, m.marker.commit]), [['a', 2, false]]);
  assert.equal(offsets.get('g', 'in', 1), undefined);
  assert.equal(offsets.hasPending('g', 'in', 1), false);
  assert.equal(c.txns.get('tx')!.state, TxnState.CompleteAbort);
});

test('wrong moves get the error codes Kafka answers', async () => {
  const { c } = await harness();
  assert.equal((await c.initProducerId('tx', 60_001, -1, -1)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  await c.initProducerId('tx', 10_000, -1, -1);
  assert.equal((await c.endTxn('tx', 1000, 0, true, false)).errorCode, ErrorCode.INVALID_TXN_STATE, 'nothing to commit');
  assert.equal((await c.endTxn('tx', 999, 0, true, false)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal((await c.endTxn('nobody', 1000, 0, true, false)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(code(await c.addPartitions('tx', 1000, 5, [['a', 0]]), 'a', 0), ErrorCode.PRODUCER_FENCED);
  const missing = await c.addPartitions('tx', 1000, 0, [['a', 0], ['missing', 0]]);
  assert.equal(code(missing, 'missing', 0), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(code(missing, 'a', 0), ErrorCode.OPERATION_NOT_ATTEMPTED);
  assert.equal(c.txns.get('tx')!.state, TxnState.Empty, 'a refused add starts nothing');
  // Produce into a partition that was not added (TV1), and the verify-only form.
  assert.equal((await c.checkProduce('tx', 1000, 0, 'a', 0, false)).code, ErrorCode.INVALID_TXN_STATE);
  await c.addPartitions('tx', 1000, 0, [['a', 0]]);
  assert.equal((await c.checkProduce('tx', 1000, 0, 'a', 0, false)).code, ErrorCode.NONE);
  const verified = c.verifyPartitions('tx', 1000, 0, [['a', 0], ['a', 1]]);
  assert.equal(code(verified, 'a', 0), ErrorCode.NONE);
  assert.equal(code(verified, 'a', 1), ErrorCode.INVALID_TXN_STATE);
  assert.equal((await c.checkProduce('tx', 77, 0, 'a', 0, false)).code, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  let wrote = false;
  assert.equal(await c.commitOffsets('tx', 1000, 0, 'g', false, async () => void (wrote = true)), ErrorCode.INVALID_TXN_STATE, 'offsets of a group not added');
  assert.equal(wrote, false);
});

test('a new instance fences the old one: its open transaction is aborted and its epoch is refused', async () => {
  const { c, markers } = await harness();
  await c.initProducerId('tx', 10_000, -1, -1);
  await c.addPartitions('tx', 1000, 0, [['a', 0], ['a', 1]]);
  const second = await c.initProducerId('tx', 10_000, -1, -1);
  assert.equal(second.errorCode, ErrorCode.NONE);
  assert.equal(second.producerId, 1000);
  assert.ok(second.producerEpoch >= 2, 'the abort and the new instance each take an epoch');
  assert.deepEqual(markers.map((m) => [m.partition, m.marker.commit, m.marker.producerEpoch]).sort(), [[0, false, 1], [1, false, 1]]);
  assert.equal((await c.checkProduce('tx', 1000, 0, 'a', 0, false)).code, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal((await c.endTxn('tx', 1000, 0, true, false)).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(code(await c.addPartitions('tx', 1000, 0, [['a', 0]]), 'a', 0), ErrorCode.PRODUCER_FENCED);
  // KIP-360: a producer that names an id and epoch that are not current is fenced too.
  assert.equal((await c.initProducerId('tx', 10_000, 1000, 0)).errorCode, ErrorCode.PRODUCER_FENCED);
  const again = await c.initProducerId('tx', 10_000, 1000, second.producerEpoch);
  assert.equal(again.producerEpoch, second.producerEpoch + 1);
});

test('transaction version 2: every end bumps the epoch, a retried end is answered, and a new id follows the last epoch', async () => {
  const { c, markers } = await harness();
  await c.initProducerId('tx', 10_000, -1, -1);
  assert.equal((await c.checkProduce('tx', 1000, 0, 'a', 0, true)).code, ErrorCode.NONE, 'Produce v12 adds the partition itself');
  const end = await c.endTxn('tx', 1000, 0, true, true);
  assert.deepEqual(end, { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 1 });
  assert.equal(markers[0]!.marker.producerEpoch, 1, 'markers carry the new epoch, fencing late writes of the old');
  assert.deepEqual(await c.endTxn('tx', 1000, 0, true, true), { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 1 }, 'a retry of that end');
  assert.equal((await c.endTxn('tx', 1000, 0, false, true)).errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal((await c.checkProduce('tx', 1000, 0, 'a', 0, true)).code, ErrorCode.INVALID_PRODUCER_EPOCH);
  // TV2 may abort an empty transaction (to move its epoch on).
  assert.equal((await c.endTxn('tx', 1000, 1, false, true)).producerEpoch, 2);
  // Out of epochs: the end uses the last one and hands out a new producer id.
  const t = c.txns.get('tx')!;
  c.txns.set('tx', { ...t, producerEpoch: MAX_EPOCH });
  await c.addPartitions('tx', 1000, MAX_EPOCH, [['a', 0]]);
  const last = await c.endTxn('tx', 1000, MAX_EPOCH, true, true);
  assert.equal(last.errorCode, ErrorCode.NONE);
  assert.notEqual(last.producerId, 1000);
  assert.equal(last.producerEpoch, 0);
  assert.equal(markers[markers.length - 1]!.marker.producerEpoch, MAX_EPOCH);
  assert.equal(c.transactionalIdOf(last.producerId), 'tx');
});

test('a transaction open past its timeout is aborted and its producer fenced; idle ids expire', async () => {
  const h = await harness();
  const { c, markers, clock } = h;
  await c.initProducerId('slow', 5_000, -1, -1);
  await c.addPartitions('slow', 1000, 0, [['a', 0]]);
  await c.initProducerId('idle', 5_000, -1, -1);
  clock.now += 4_000;
  await c.expire();
  assert.equal(c.txns.get('slow')!.state, TxnState.Ongoing, 'not yet');
  clock.now += 2_000;
  await c.expire();
  await waitFor(() => c.txns.get('slow')!.state === TxnState.CompleteAbort);
  assert.deepEqual(markers.map((m) => [m.topic, m.partition, m.marker.commit, m.marker.producerEpoch]), [['a', 0, false, 1]]);
  assert.equal((await c.endTxn('slow', 1000, 0, true, false)).errorCode, ErrorCode.PRODUCER_FENCED);
  clock.now += SETTINGS.idExpirationMs + 1;
  await c.expire();
  assert.equal(c.txns.has('idle'), false);
  assert.equal(c.txns.has('slow'), false);
  // Removed durably: a restart does not bring them back.
  const again = await harness({ txnLog: h.txnLog, offsets: h.offsets, clock });
  assert.equal(again.c.txns.size, 0);
});

test('markers that fail are retried; a restart finishes a transaction that was decided but not completed', async () => {
  const h = await harness();
  await h.c.initProducerId('tx', 10_000, -1, -1);
  await h.c.addPartitions('tx', 1000, 0, [['a', 0], ['a', 3]]);
  await h.c.addGroup('tx', 1000, 0, 'g');
  await h.c.commitOffsets('tx', 1000, 0, 'g', false, () => h.offsets.commitPending(1000, 'g', [{ topic: 'in', partition: 0, offset: { offset: 9, leaderEpoch: -1, metadata: null, commitTimestamp: 1 } }]));
  h.failMarkers = new Error('disk gone');
  const end = await h.c.endTxn('tx', 1000, 0, true, false);
  assert.equal(end.errorCode, ErrorCode.NONE, 'the decision is stored: the commit will happen');
  assert.equal(h.c.txns.get('tx')!.state, TxnState.PrepareCommit);
  assert.equal((await h.c.initProducerId('tx', 10_000, -1, -1)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(h.offsets.get('g', 'in', 0), undefined);
  // The broker stops here (as if killed); a new coordinator over the same logs completes it.
  await h.c.close();
  const again = await harness({ txnLog: h.txnLog, offsets: h.offsets, clock: h.clock });
  await waitFor(() => again.c.txns.get('tx')!.state === TxnState.CompleteCommit);
  assert.deepEqual(again.markers.map((m) => [m.partition, m.marker.commit]).sort(), [[0, true], [3, true]]);
  assert.equal(h.offsets.get('g', 'in', 0)?.offset, 9);
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition not reached');
}
