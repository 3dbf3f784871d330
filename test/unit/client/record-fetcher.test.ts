// The read_committed filter and position advance of the stream fetcher (applyPartitionAnswer
// in src/client/record-fetcher.ts) over scripted Fetch answers, including the shapes
// @platformatic/kafka's Consumer leaks aborted records on: several aborted transactions of one
// producer in one answer, and the ABORT marker arriving in a later answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordsBatch } from '@platformatic/kafka';
import { applyPartitionAnswer, newPartitionState, type FetchedRecord, type PartitionAnswer } from '../../../src/client/record-fetcher.js';

const TXN = 0x10;
const CONTROL = 0x20;
const LOG_APPEND_TIME = 0x08;

/** `count` records from `first` by producer `pid` (transactional when txn); values are the offsets as text. */
function data(first: number, count: number, pid: number, txn = true, attributes = 0): RecordsBatch {
  return {
    firstOffset: BigInt(first), lastOffsetDelta: count - 1, attributes: (txn ? TXN : 0) | attributes, producerId: BigInt(pid), producerEpoch: 0,
    firstTimestamp: 1000n, maxTimestamp: 5000n, firstSequence: 0, length: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0,
    records: Array.from({ length: count }, (_, i) => ({ length: 0, attributes: 0, timestampDelta: BigInt(i), offsetDelta: i, key: null, value: Buffer.from(String(first + i)), headers: [] })),
  };
}

/** A COMMIT or ABORT marker of producer `pid` at `offset`. */
function marker(offset: number, pid: number, type: 'commit' | 'abort'): RecordsBatch {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type === 'commit' ? 1 : 0, 2);
  return { ...data(offset, 1, pid), attributes: TXN | CONTROL, records: [{ length: 0, attributes: 0, timestampDelta: 0n, offsetDelta: 0, key, value: Buffer.alloc(6), headers: [] }] };
}

function answer(records: RecordsBatch[], aborted: Array<[pid: number, first: number]>, hw: number, lso = hw): PartitionAnswer {
  return { highWatermark: BigInt(hw), lastStableOffset: BigInt(lso), abortedTransactions: aborted.map(([p, f]) => ({ producerId: BigInt(p), firstOffset: BigInt(f) })), records };
}

const values = (out: FetchedRecord[]) => out.map((r) => Number(r.value!.toString()));

test('several aborted transactions of one producer in one answer: each is dropped up to its ABORT marker, the committed one between them kept', () => {
  const s = newPartitionState('t', 0, 0n);
  const out: FetchedRecord[] = [];
  // P1 aborts 0-1, commits 3-4, aborts 6; P2 commits 8-9 interleaved after them.
  const batches = [data(0, 2, 1), marker(2, 1, 'abort'), data(3, 2, 1), marker(5, 1, 'commit'), data(6, 1, 1), marker(7, 1, 'abort'), data(8, 2, 2), marker(10, 2, 'commit')];
  applyPartitionAnswer(s, answer(batches, [[1, 6], [1, 0]], 11), true, out);
  assert.deepEqual(values(out), [3, 4, 8, 9]);
  assert.equal(s.position, 11n, 'past the last marker');
  assert.equal(s.abortedProducers.size, 0);
});

test('the ABORT marker in a later answer: the producer stays aborted until it, even when the later answer lists nothing', () => {
  const s = newPartitionState('t', 0, 0n);
  const out: FetchedRecord[] = [];
  // First answer ends at another producer's open transaction (the LSO), before P1's marker.
  applyPartitionAnswer(s, answer([data(0, 2, 1), data(2, 1, 3, false)], [[1, 0]], 6, 3), true, out);
  assert.deepEqual(values(out), [2], 'P1 dropped, the plain record kept');
  assert.equal(s.position, 3n);
  assert.equal(s.end, 3n, 'the end offset is the LSO under read_committed');
  applyPartitionAnswer(s, answer([data(3, 1, 1), marker(4, 1, 'abort'), data(5, 1, 1)], [], 6), true, out);
  assert.deepEqual(values(out), [2, 5], 'P1 dropped until its marker, its next transaction kept');
  assert.equal(s.position, 6n);
});

test('read_uncommitted keeps every data record, never a marker; records before the position are skipped; compacted gaps and LogAppendTime', () => {
  const s = newPartitionState('t', 0, 1n);
  const out: FetchedRecord[] = [];
  applyPartitionAnswer(s, answer([data(0, 2, 1), marker(2, 1, 'abort'), data(10, 2, -1, false, LOG_APPEND_TIME)], [[1, 0]], 12, 3), false, out);
  assert.deepEqual(values(out), [1, 10, 11]);
  assert.equal(s.position, 12n, 'past the gap 3-9');
  assert.equal(s.end, 12n, 'the high watermark under read_uncommitted');
  assert.deepEqual(out.map((r) => [r.timestamp, r.appendTime]), [[1001, undefined], [5000, 5000], [5000, 5000]]);
});
