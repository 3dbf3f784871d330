// validateBatches summarises a partition's batches for the producer checks, which run once
// on that summary: every batch must therefore agree with the first on what the checks read.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateBatches } from '../../../src/protocol/record-batch.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { buildBatch, sealBatch } from '../../helpers/batches.js';

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

// Case 3 of the hardening issue: what a batch header claims is checked against itself.
const LAST_OFFSET_DELTA = 23;
const RECORDS_COUNT = 57;
const BASE_TIMESTAMP = 27;
const MAX_TIMESTAMP = 35;
const forged = (edit: (b: Buffer) => void): Buffer => {
  const b = buildBatch([rec('a'), rec('b'), rec('c')], { baseTimestamp: 1_700_000_000_000 });
  edit(b);
  return sealBatch(b);
};

test('case 3: a batch whose lastOffsetDelta is larger than its record count is refused', () => {
  // An 80-byte batch claiming 2^31 offsets: a few of them pushed a segment's relative offsets past int32.
  for (const delta of [3, 1000, 2 ** 31 - 1]) {
    const s = validateBatches(forged((b) => b.writeInt32BE(delta, LAST_OFFSET_DELTA)));
    assert.equal(s.error, ErrorCode.INVALID_RECORD, `delta ${delta}`);
    assert.match(s.reason, new RegExp(`declares lastOffsetDelta ${delta} for 3 records; .*must be the record count - 1`));
  }
  const fewer = validateBatches(forged((b) => b.writeInt32BE(1, LAST_OFFSET_DELTA)));
  assert.equal(fewer.error, ErrorCode.INVALID_RECORD);
  const none = validateBatches(forged((b) => (b.writeInt32BE(0, RECORDS_COUNT), b.writeInt32BE(-1, LAST_OFFSET_DELTA))));
  assert.equal(none.error, ErrorCode.INVALID_RECORD);
  assert.match(none.reason, /at least one record/);
});

test('case 3: a batch declaring more records than its bytes can hold is refused', () => {
  // Delta and count agree, but 3 records' bytes cannot hold 10^6 records of at least 7 bytes each.
  const s = validateBatches(forged((b) => (b.writeInt32BE(999_999, LAST_OFFSET_DELTA), b.writeInt32BE(1_000_000, RECORDS_COUNT))));
  assert.equal(s.error, ErrorCode.CORRUPT_MESSAGE);
  assert.match(s.reason, /declares 1000000 records in \d+ bytes; a record takes at least 7 bytes/);
  // Compressed (gzip bit): bounded by what the section may inflate to.
  const c = validateBatches(forged((b) => (b.writeInt16BE(1, 21), b.writeInt32BE(999_999, LAST_OFFSET_DELTA), b.writeInt32BE(1_000_000, RECORDS_COUNT))), 1_000_000);
  assert.equal(c.error, ErrorCode.CORRUPT_MESSAGE);
  assert.match(c.reason, /inflates to at most 1000000/);
});

test('case 3: batch timestamps must be -1 or non-negative, with maxTimestamp at least baseTimestamp', () => {
  for (const [base, max] of [
    [-5, 1_700_000_000_000],
    [1_700_000_000_000, -2],
    [1_700_000_000_001, 1_700_000_000_000],
    [1_700_000_000_000, 2 ** 60],
  ] as const) {
    const s = validateBatches(forged((b) => (b.writeBigInt64BE(BigInt(base), BASE_TIMESTAMP), b.writeBigInt64BE(BigInt(max), MAX_TIMESTAMP))));
    assert.equal(s.error, ErrorCode.INVALID_TIMESTAMP, `${base}, ${max}`);
    assert.match(s.reason, /baseTimestamp .* maxTimestamp .*must be -1 or from 0/);
  }
  const none = validateBatches(forged((b) => (b.writeBigInt64BE(-1n, BASE_TIMESTAMP), b.writeBigInt64BE(-1n, MAX_TIMESTAMP))));
  assert.equal(none.error, ErrorCode.NONE, none.reason);
});

test('case 3: a control batch from a client is refused', () => {
  const s = validateBatches(forged((b) => b.writeInt16BE(0x20, 21)));
  assert.equal(s.error, ErrorCode.INVALID_RECORD);
  assert.match(s.reason, /control batch/);
});
