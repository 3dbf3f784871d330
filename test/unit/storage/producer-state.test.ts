// Idempotent producer state: a retried batch is recognised and answered with its original
// offset, a batch that does not continue the sequence is refused, a newer epoch starts
// afresh at sequence 0 and fences the older one, and a rolled-back write is forgotten.
// Batches are applied from their headers, as the log does on append.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProducerStates } from '../../../src/storage/producer-state.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { buildControlBatch } from '../../../src/protocol/control-batch.js';
import { makeBatch } from '../../helpers/batches.js';

const PID = 4000;

/** Applies a batch of `pid` with sequences firstSeq..lastSeq stamped at `baseOffset`, as an append would. */
function record(s: ProducerStates, pid: number, epoch: number, firstSeq: number, lastSeq: number, baseOffset: number): void {
  const records = (lastSeq - firstSeq + 2147483648) % 2147483648 + 1;
  const batch = makeBatch({ records, producerId: pid, producerEpoch: epoch, baseSequence: firstSeq });
  batch.writeBigInt64BE(BigInt(baseOffset), 0);
  s.apply(batch, 0, batch.length, false);
}

/** The error code of a refused check, or the check's kind when it is not refused. */
function outcome(s: ProducerStates, epoch: number, firstSeq: number, lastSeq: number, pid = PID): string | number {
  const c = s.check(pid, epoch, firstSeq, lastSeq);
  return c.kind === 'error' ? c.code : c.kind;
}

test('a producer without state may start at any sequence', () => {
  const s = new ProducerStates();
  assert.deepEqual(s.check(PID, 0, 0, 4), { kind: 'append' });
  assert.deepEqual(s.check(PID, 3, 17, 20), { kind: 'append' }, 'state may have expired: Kafka accepts any sequence then');
  assert.equal(s.size, 0, 'check() alone records nothing');
});

test('a retried batch is a duplicate answered with its original base offset', () => {
  const s = new ProducerStates();
  record(s, PID, 0, 0, 2, 100);
  record(s, PID, 0, 3, 4, 103);
  record(s, PID, 0, 5, 5, 105);
  assert.deepEqual(s.check(PID, 0, 0, 2), { kind: 'duplicate', baseOffset: 100 });
  assert.deepEqual(s.check(PID, 0, 3, 4), { kind: 'duplicate', baseOffset: 103 });
  assert.deepEqual(s.check(PID, 0, 5, 5), { kind: 'duplicate', baseOffset: 105 });
  assert.deepEqual(s.check(PID, 0, 6, 9), { kind: 'append' }, 'the next sequence continues the run');
  assert.deepEqual(s.check(PID + 1, 0, 0, 2), { kind: 'append' }, 'another producer has its own sequences');
});

test('a batch that skips or overlaps sequences is refused with OUT_OF_ORDER_SEQUENCE_NUMBER', () => {
  const s = new ProducerStates();
  record(s, PID, 0, 0, 2, 100);
  assert.equal(outcome(s, 0, 4, 4), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a gap (3 missing)');
  assert.equal(outcome(s, 0, 2, 3), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'an overlap that matches no cached batch');
  assert.equal(outcome(s, 0, 0, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a different cut of an appended range');
  const refused = s.check(PID, 0, 4, 4);
  assert.ok(refused.kind === 'error' && /expected sequence 3, got 4/.test(refused.message), JSON.stringify(refused));
});

test('only the last five batches are remembered as duplicates', () => {
  const s = new ProducerStates();
  for (let i = 0; i < 6; i++) record(s, PID, 0, i * 2, i * 2 + 1, 1000 + i * 2);
  assert.equal(outcome(s, 0, 0, 1), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'the sixth batch back is forgotten');
  assert.deepEqual(s.check(PID, 0, 2, 3), { kind: 'duplicate', baseOffset: 1002 });
  assert.deepEqual(s.check(PID, 0, 10, 11), { kind: 'duplicate', baseOffset: 1010 });
});

test('sequences wrap from 2^31-1 to 0', () => {
  const s = new ProducerStates();
  record(s, PID, 0, 2147483640, 2147483647, 50);
  assert.deepEqual(s.check(PID, 0, 0, 3), { kind: 'append' });
  assert.equal(outcome(s, 0, 2147483648, 2147483648), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
});

test('an epoch bump starts at sequence 0, drops the old batches and fences the older epoch', () => {
  const s = new ProducerStates();
  record(s, PID, 0, 0, 9, 100);
  assert.equal(outcome(s, 1, 10, 10), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a new epoch must start at 0');
  assert.deepEqual(s.check(PID, 1, 0, 1), { kind: 'append' });
  record(s, PID, 1, 0, 1, 110);
  assert.equal(outcome(s, 0, 10, 10), ErrorCode.INVALID_PRODUCER_EPOCH, 'the old epoch is fenced');
  assert.equal(outcome(s, 0, 0, 9), ErrorCode.INVALID_PRODUCER_EPOCH, 'even for a retry of its own batch');
  assert.deepEqual(s.check(PID, 1, 0, 1), { kind: 'duplicate', baseOffset: 110 });
  assert.deepEqual(s.check(PID, 1, 2, 2), { kind: 'append' }, 'the new epoch continues from its own batches, not the old ones');
  assert.equal(s.size, 1);
});

test('truncateFrom forgets batches at or above the offset, and producers left with none', () => {
  const s = new ProducerStates();
  record(s, PID, 0, 0, 2, 100);
  record(s, PID, 0, 3, 4, 103);
  record(s, PID + 1, 0, 0, 0, 105);
  s.truncateFrom(103);
  assert.deepEqual(s.check(PID, 0, 0, 2), { kind: 'duplicate', baseOffset: 100 }, 'a batch below the cut stays');
  assert.deepEqual(s.check(PID, 0, 3, 4), { kind: 'append' }, 'the rolled-back batch may be written again, not answered as a duplicate');
  assert.equal(outcome(s, 0, 5, 5), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'the sequence continues after the last kept batch');
  assert.equal(s.size, 1, 'the producer whose only batch was cut is gone');
  assert.deepEqual(s.check(PID + 1, 0, 7, 7), { kind: 'append' });
  s.truncateFrom(0);
  assert.equal(s.size, 0);
});

/** A batch of `pid` stamped at `baseOffset`: transactional data, or a COMMIT/ABORT marker. */
function txn(s: ProducerStates, pid: number, baseOffset: number, kind: 'data' | 'commit' | 'abort', seq = 0): ReturnType<ProducerStates['apply']> {
  const batch = kind === 'data'
    ? makeBatch({ records: 2, producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true })
    : buildControlBatch({ producerId: pid, producerEpoch: 0, commit: kind === 'commit', coordinatorEpoch: 0, timestamp: 1_700_000_000_000 });
  batch.writeBigInt64BE(BigInt(baseOffset), 0);
  return s.apply(batch, 0, batch.length, false);
}

test('transactions open at their first data batch and close at their marker; the oldest open one comes first', () => {
  const s = new ProducerStates();
  assert.equal(txn(s, 1, 10, 'data'), null);
  assert.equal(txn(s, 2, 12, 'data'), null);
  assert.equal(txn(s, 1, 14, 'data', 2), null, 'a second batch does not move the first offset');
  assert.equal(s.firstOpenOffset(), 10);
  assert.deepEqual(txn(s, 1, 16, 'abort'), { producerId: 1, firstOffset: 10, lastOffset: 16, aborted: true });
  assert.equal(s.firstOpenOffset(), 12);
  assert.equal(txn(s, 3, 17, 'commit'), null, 'a marker with no open transaction closes nothing');
  assert.deepEqual(s.openTransactions().map((t) => [t.producerId, t.firstOffset]), [[2, 12]]);
  assert.deepEqual(txn(s, 2, 18, 'commit'), { producerId: 2, firstOffset: 12, lastOffset: 18, aborted: false });
  assert.equal(s.firstOpenOffset(), -1);
});

test('a rolled-back marker reopens its transaction, in first-offset order', () => {
  const s = new ProducerStates();
  txn(s, 1, 10, 'data');
  txn(s, 2, 12, 'data');
  txn(s, 1, 14, 'commit');
  assert.equal(s.firstOpenOffset(), 12);
  s.truncateFrom(14);
  assert.deepEqual(s.openTransactions().map((t) => [t.producerId, t.firstOffset]), [[1, 10], [2, 12]]);
  s.truncateFrom(11);
  assert.deepEqual(s.openTransactions().map((t) => [t.producerId, t.firstOffset]), [[1, 10]], 'a transaction whose first batch is rolled back is gone');
});

test('a snapshot restores the same state; a torn or garbled one is refused', () => {
  const s = new ProducerStates();
  record(s, PID, 2, 0, 4, 100);
  record(s, PID, 2, 5, 9, 105);
  txn(s, 7, 110, 'data');
  const snap = s.toSnapshot();
  const restored = ProducerStates.fromSnapshot(snap);
  assert.ok(restored !== null);
  assert.deepEqual(restored.describe(), s.describe());
  assert.deepEqual(restored.openTransactions(), s.openTransactions());
  assert.deepEqual(restored.check(PID, 2, 5, 9), { kind: 'duplicate', baseOffset: 105 });
  assert.equal(ProducerStates.fromSnapshot(snap.subarray(0, snap.length - 3)), null, 'torn');
  const garbled = Buffer.from(snap);
  garbled[12] = garbled[12]! ^ 1;
  assert.equal(ProducerStates.fromSnapshot(garbled), null, 'garbled');
});
