import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckType, RecordState, SharePartition } from '../../../src/broker/groups/share-partition.js';
import { ErrorCode } from '../../../src/protocol/errors.js';

const limits = { lockDurationMs: 1000, maxDeliveries: 3, maxLocks: 1000 };
const { AVAILABLE, ACQUIRED, ARCHIVED } = RecordState;

test('acquire hands out new records whole, once, and never the same record to two members', () => {
  const sp = new SharePartition(0, limits);
  assert.deepEqual(sp.acquire('a', 0, 9, 500, 0), [{ firstOffset: 0, lastOffset: 9, deliveryCount: 1 }]);
  assert.equal(sp.endOffset, 10);
  assert.equal(sp.nextAcquirable(), 10);
  // b asks from the same place: nothing there is available
  assert.deepEqual(sp.acquire('b', 0, 9, 500, 0), []);
  assert.deepEqual(sp.acquire('b', 10, 14, 500, 0), [{ firstOffset: 10, lastOffset: 14, deliveryCount: 1 }]);
  assert.deepEqual(sp.inFlight(), [
    [0, 9, ACQUIRED, 1, 'a'],
    [10, 14, ACQUIRED, 1, 'b'],
  ]);
});

test('accepting advances the SPSO past acknowledged records only', () => {
  const sp = new SharePartition(0, limits);
  sp.acquire('a', 0, 9, 500, 0);
  assert.equal(sp.acknowledge('a', 5, 9, [AckType.ACCEPT], 0), ErrorCode.NONE);
  assert.equal(sp.startOffset, 0, 'records 0-4 are still in flight');
  assert.equal(sp.acknowledge('a', 0, 4, [AckType.ACCEPT], 0), ErrorCode.NONE);
  assert.equal(sp.startOffset, 10);
  assert.deepEqual(sp.inFlight(), []);
});

test('per-record types: release makes a record available again, reject archives it', () => {
  const sp = new SharePartition(0, limits);
  sp.acquire('a', 0, 3, 500, 0);
  const { ACCEPT, RELEASE, REJECT } = AckType;
  assert.equal(sp.acknowledge('a', 0, 3, [ACCEPT, RELEASE, REJECT, ACCEPT], 0), ErrorCode.NONE);
  assert.equal(sp.startOffset, 1);
  assert.equal(sp.nextAcquirable(), 1);
  assert.deepEqual(sp.acquire('b', 1, 3, 500, 0), [{ firstOffset: 1, lastOffset: 1, deliveryCount: 2 }], 'only the released record comes back, on its second delivery');
  assert.equal(sp.acknowledge('b', 1, 1, [ACCEPT], 0), ErrorCode.NONE);
  assert.equal(sp.startOffset, 4, 'rejected and accepted records are both done');
});

test('acknowledging records another member holds, or not acquired, is INVALID_RECORD_STATE and changes nothing', () => {
  const sp = new SharePartition(0, limits);
  sp.acquire('a', 0, 4, 500, 0);
  assert.equal(sp.acknowledge('b', 0, 4, [AckType.ACCEPT], 0), ErrorCode.INVALID_RECORD_STATE);
  assert.equal(sp.acknowledge('a', 3, 7, [AckType.ACCEPT], 0), ErrorCode.INVALID_RECORD_STATE);
  assert.equal(sp.acknowledge('a', 0, 4, [AckType.ACCEPT, AckType.ACCEPT], 0), ErrorCode.INVALID_REQUEST, 'types must be one, or one per offset');
  assert.equal(sp.acknowledge('a', 0, 4, [9], 0), ErrorCode.INVALID_REQUEST);
  assert.deepEqual(sp.inFlight(), [[0, 4, ACQUIRED, 1, 'a']]);
});

test('an expired lock makes the records available to the next member', () => {
  const sp = new SharePartition(0, limits);
  sp.acquire('a', 0, 4, 500, 100);
  assert.equal(sp.nextExpiry(), 1100);
  assert.equal(sp.expireLocks(1099), false);
  assert.equal(sp.expireLocks(1100), true);
  assert.deepEqual(sp.acquire('b', sp.nextAcquirable(), 4, 500, 1200), [{ firstOffset: 0, lastOffset: 4, deliveryCount: 2 }]);
  assert.equal(sp.acknowledge('a', 0, 4, [AckType.ACCEPT], 1200), ErrorCode.INVALID_RECORD_STATE, 'the lock is gone: the old holder cannot acknowledge');
});

test('renew extends the lock', () => {
  const sp = new SharePartition(0, limits);
  sp.acquire('a', 0, 0, 500, 0);
  assert.equal(sp.acknowledge('a', 0, 0, [AckType.RENEW], 900), ErrorCode.NONE);
  assert.equal(sp.expireLocks(1500), false);
  assert.equal(sp.nextExpiry(), 1900);
});

test('a record delivered the maximum number of times is archived instead of released', () => {
  const sp = new SharePartition(0, limits); // maxDeliveries 3
  for (let delivery = 1; delivery <= 3; delivery++) {
    const got = sp.acquire('a', sp.nextAcquirable(), 0, 500, 0);
    assert.deepEqual(got, [{ firstOffset: 0, lastOffset: 0, deliveryCount: delivery }]);
    assert.equal(sp.expireLocks(10_000), true);
  }
  assert.equal(sp.startOffset, 1, 'archived after the third delivery, and the SPSO moves past it');
  assert.deepEqual(sp.acquire('b', 0, 0, 500, 0), []);
});

test('releasing a member returns its records and leaves others alone', () => {
  const sp = new SharePartition(0, limits);
  sp.acquire('a', 0, 4, 500, 0);
  sp.acquire('b', 5, 9, 500, 0);
  assert.equal(sp.releaseMember('a'), true);
  assert.deepEqual(sp.inFlight(), [
    [0, 4, AVAILABLE, 1, null],
    [5, 9, ACQUIRED, 1, 'b'],
  ]);
});

test('maxRecords bounds what is acquired from released records', () => {
  const sp = new SharePartition(0, limits);
  sp.acquire('a', 0, 9, 500, 0);
  sp.acknowledge('a', 0, 9, [AckType.RELEASE], 0);
  assert.deepEqual(sp.acquire('b', 0, 9, 3, 0), [{ firstOffset: 0, lastOffset: 2, deliveryCount: 2 }]);
  assert.deepEqual(sp.acquire('c', sp.nextAcquirable(), 9, 100, 0), [{ firstOffset: 3, lastOffset: 9, deliveryCount: 2 }]);
});

test('the persisted state brings back done records as done and acquired ones as available', () => {
  const sp = new SharePartition(0, limits);
  sp.acquire('a', 0, 9, 500, 0);
  sp.acknowledge('a', 0, 2, [AckType.ACCEPT], 0);
  sp.acknowledge('a', 5, 6, [AckType.ACCEPT], 0);
  const saved = JSON.parse(JSON.stringify(sp.state()));
  const back = SharePartition.restore(saved, limits);
  assert.equal(back.startOffset, 3);
  assert.equal(back.endOffset, 10);
  assert.deepEqual(back.acquire('b', back.nextAcquirable(), 20, 500, 0), [
    { firstOffset: 3, lastOffset: 4, deliveryCount: 2 },
    { firstOffset: 7, lastOffset: 9, deliveryCount: 2 },
    { firstOffset: 10, lastOffset: 20, deliveryCount: 1 },
  ]);
});

test('moving the start past the log start forgets earlier records', () => {
  const sp = new SharePartition(0, limits);
  sp.acquire('a', 0, 9, 500, 0);
  sp.moveStartTo(5);
  assert.equal(sp.startOffset, 5);
  assert.deepEqual(sp.inFlight(), [[5, 9, ACQUIRED, 1, 'a']]);
  sp.moveStartTo(20);
  assert.deepEqual(sp.inFlight(), []);
  assert.equal(sp.endOffset, 20);
  assert.equal(sp.nextAcquirable(), 20);
});

test('a record state is one of Kafka\'s codes', () => {
  assert.deepEqual([AVAILABLE, ACQUIRED, RecordState.ACKNOWLEDGED, ARCHIVED], [0, 1, 2, 4]);
});

test('no more records are acquired past the lock limit until some are settled', () => {
  const sp = new SharePartition(0, { ...limits, maxLocks: 10 });
  assert.deepEqual(sp.acquire('a', 0, 7, 500, 0), [{ firstOffset: 0, lastOffset: 7, deliveryCount: 1 }]);
  assert.deepEqual(sp.acquire('b', 8, 19, 500, 0), [{ firstOffset: 8, lastOffset: 19, deliveryCount: 1 }], 'the batch that crosses the limit goes out whole');
  assert.deepEqual(sp.acquire('c', 20, 29, 500, 0), [], 'at the limit: nothing');
  assert.equal(sp.acknowledge('a', 0, 7, [AckType.ACCEPT], 0), ErrorCode.NONE);
  assert.deepEqual(sp.acquire('c', 20, 29, 500, 0), [], 'still 12 locked');
  assert.equal(sp.acknowledge('b', 8, 19, [AckType.RELEASE], 0), ErrorCode.NONE);
  assert.deepEqual(sp.acquire('c', sp.nextAcquirable(), 29, 500, 0), [{ firstOffset: 8, lastOffset: 17, deliveryCount: 2 }], 'released records come back up to the limit');
});

test('the record-limit mode acquires no more than maxRecords, splitting a batch', () => {
  const sp = new SharePartition(0, limits);
  assert.deepEqual(sp.acquire('a', 0, 9, 4, 0, true), [{ firstOffset: 0, lastOffset: 3, deliveryCount: 1 }]);
  assert.equal(sp.nextAcquirable(), 4);
  assert.deepEqual(sp.acquire('b', 4, 9, 4, 0), [{ firstOffset: 4, lastOffset: 9, deliveryCount: 1 }], 'batch-optimized: the rest of the batch');
});
