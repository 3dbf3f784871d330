// readBatches (src/stream/runtime/records.ts): read_committed filtering of Fetch answers as the
// Java consumer does it, and the position moving past markers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordsBatch } from '@platformatic/kafka';
import { readBatches, type ReadState } from '../../../src/stream/runtime/records.js';
import type { InputRecord } from '../../../src/stream/types.js';

const TXN = 0x10;
const CONTROL = 0x20;

function batch(firstOffset: number, values: string[], opts: { producerId?: number; attributes?: number } = {}): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset), length: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0,
    attributes: opts.attributes ?? 0, lastOffsetDelta: values.length - 1, firstTimestamp: 1000n, maxTimestamp: 2000n,
    producerId: BigInt(opts.producerId ?? -1), producerEpoch: 0, firstSequence: 0,
    records: values.map((v, i) => ({ length: 0, attributes: 0, timestampDelta: BigInt(i), offsetDelta: i, key: Buffer.from('k'), value: Buffer.from(v), headers: [] })),
  };
}
const marker = (offset: number, producerId: number) => batch(offset, ['marker'], { producerId, attributes: TXN | CONTROL });
const state = (): ReadState => ({ topic: 't', partition: 0, next: 0n, aborted: new Set() });
const values = (out: InputRecord[]) => out.map((r) => r.value!.toString());

test('read_committed: an aborted transaction is dropped until its ABORT marker, even when the marker comes in a later answer', () => {
  const s = state();
  const out: InputRecord[] = [];
  // Producer 7 aborts a transaction that starts at offset 1; producer 8 commits one interleaved.
  readBatches(s, [batch(0, ['a']), batch(1, ['x1'], { producerId: 7, attributes: TXN }), batch(2, ['c1'], { producerId: 8, attributes: TXN })], [{ producerId: 7n, firstOffset: 1n }], true, out);
  assert.equal(s.next, 3n);
  // The next answer: more of producer 7's aborted transaction, then its marker, then a new transaction of 7 (not aborted).
  readBatches(s, [batch(3, ['x2'], { producerId: 7, attributes: TXN }), marker(4, 7), marker(5, 8), batch(6, ['y1'], { producerId: 7, attributes: TXN })], [], true, out);
  assert.deepEqual(values(out), ['a', 'c1', 'y1']);
  assert.equal(s.next, 7n, 'the position moves past markers');
});

test('read_uncommitted keeps every data record; markers are skipped; records before the position are not repeated', () => {
  const s = state();
  s.next = 1n;
  const out: InputRecord[] = [];
  readBatches(s, [batch(0, ['a', 'b']), batch(2, ['x'], { producerId: 7, attributes: TXN }), marker(3, 7)], [{ producerId: 7n, firstOffset: 2n }], false, out);
  assert.deepEqual(values(out), ['b', 'x']);
  assert.deepEqual(out.map((r) => r.offset), [1n, 2n]);
  assert.equal(out[0]!.timestamp, 1001, 'CreateTime: first timestamp + delta');
  assert.equal(s.next, 4n);
});

test('LogAppendTime batches stamp every record with the append time and report it', () => {
  const s = state();
  const out: InputRecord[] = [];
  readBatches(s, [batch(0, ['a', 'b'], { attributes: 0x08 })], undefined, true, out);
  assert.deepEqual(out.map((r) => [r.timestamp, r.appendTime]), [[2000, 2000], [2000, 2000]]);
});
