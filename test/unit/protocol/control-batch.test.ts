import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildControlBatch, controlType, ControlType, isControlBatch, isTransactionalBatch } from '../../../src/protocol/control-batch.js';
import { crcMatches, validateBatches } from '../../../src/protocol/record-batch.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { forEachRecord } from '../../../src/protocol/records.js';

test('a control batch is a valid batch whose one record carries the marker key and value', async () => {
  for (const commit of [true, false]) {
    const b = buildControlBatch({ producerId: 4242, producerEpoch: 7, commit, coordinatorEpoch: 3, timestamp: 1_700_000_000_000 });
    assert.ok(crcMatches(b, 0, b.length));
    // Clients may not send one: the broker's own validation refuses it.
    assert.equal(validateBatches(b).error, ErrorCode.INVALID_RECORD);
    assert.ok(isControlBatch(b, 0));
    assert.ok(isTransactionalBatch(b, 0));
    assert.equal(controlType(b, 0, b.length), commit ? ControlType.COMMIT : ControlType.ABORT);
    const records: { key: Buffer | null; value: Buffer | null }[] = [];
    await forEachRecord(b, (r) => void records.push({ key: r.key ? Buffer.from(r.key) : null, value: r.value ? Buffer.from(r.value) : null }));
    assert.equal(records.length, 1);
    assert.deepEqual([...records[0]!.key!], [0, 0, 0, commit ? 1 : 0]);
    assert.deepEqual([...records[0]!.value!], [0, 0, 0, 0, 0, 3]);
  }
});

test('controlType is -1 for an ordinary batch and for a truncated control record', () => {
  const b = buildControlBatch({ producerId: 1, producerEpoch: 0, commit: true, coordinatorEpoch: 0, timestamp: 0 });
  assert.equal(controlType(b, 0, b.length - 10), -1);
  const plain = Buffer.from(b);
  plain.writeInt16BE(0, 21);
  assert.equal(controlType(plain, 0, plain.length), -1);
});
