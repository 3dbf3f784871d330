// validateBatches summarises a partition's batches for the producer checks, which run once
// on that summary: every batch must therefore agree with the first on what the checks read.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateBatches } from '../../../src/protocol/record-batch.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { buildBatch } from '../../helpers/batches.js';

const rec = (v: string) => ({ key: null, value: Buffer.from(v) });
const TRANSACTIONAL = 0x10;

test('two batches of one idempotent producer in sequence are accepted as one run', () => {
  const a = buildBatch([rec('a'), rec('b')], { producerId: 7, producerEpoch: 1, baseSequence: 10 });
  const b = buildBatch([rec('c')], { producerId: 7, producerEpoch: 1, baseSequence: 12 });
  const s = validateBatches(Buffer.concat([a, b]));
  assert.equal(s.error, ErrorCode.NONE, s.reason);
  assert.deepEqual([s.producerId, s.producerEpoch, s.baseSequence, s.lastSequence, s.records], [7, 1, 10, 12, 3]);
});

test('a later batch from another producer, epoch or transactional flag is refused', () => {
  const first = buildBatch([rec('a')], { producerId: 7, producerEpoch: 1, baseSequence: 0 });
  for (const later of [
    buildBatch([rec('b')], { producerId: 8, producerEpoch: 1, baseSequence: 1 }),
    buildBatch([rec('b')], { producerId: 7, producerEpoch: 2, baseSequence: 1 }),
    buildBatch([rec('b')], { producerId: 7, producerEpoch: 1, baseSequence: 1, attributes: TRANSACTIONAL }),
    buildBatch([rec('b')]),
  ]) {
    const s = validateBatches(Buffer.concat([first, later]));
    assert.equal(s.error, ErrorCode.INVALID_RECORD);
    assert.match(s.reason, /must come from one producer/);
  }
});

test('a later batch whose sequence does not follow the previous one is refused', () => {
  const a = buildBatch([rec('a'), rec('b')], { producerId: 7, producerEpoch: 1, baseSequence: 0 });
  const gap = buildBatch([rec('c')], { producerId: 7, producerEpoch: 1, baseSequence: 5 });
  const s = validateBatches(Buffer.concat([a, gap]));
  assert.equal(s.error, ErrorCode.INVALID_RECORD);
  assert.match(s.reason, /base sequence 5, expected 2/);
});

test('batches without a producer may follow each other', () => {
  const s = validateBatches(Buffer.concat([buildBatch([rec('a')]), buildBatch([rec('b')])]));
  assert.equal(s.error, ErrorCode.NONE, s.reason);
  assert.equal(s.batches, 2);
});
