// Pieces of the transaction admin surface that need the broker's insides: WriteTxnMarkers when
// the log refuses or fails the marker (KAFKA_STORAGE_ERROR), the coordinator's completion
// listeners (what the metrics count: commits and aborts with their start and end, not an
// epoch-only TV2 abort, and a throwing listener changes nothing), and the metrics families
// those completions feed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { createTopicsBody } from '../../helpers/requests.js';
import { parseMetrics } from '../../helpers/metrics.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { TransactionCoordinator, type CompletedTransaction } from '../../../src/broker/txn/coordinator.js';
import { BrokerMetrics } from '../../../src/broker/metrics.js';
import { OffsetStore } from '../../../src/broker/groups/offset-store.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';
import { defaultLogConfig } from '../../../src/storage/log-config.js';
import { Logger } from '../../../src/broker/logger.js';
import type { Log } from '../../../src/storage/log.js';

test('WriteTxnMarkers answers KAFKA_STORAGE_ERROR for a marker the log refuses or fails to store, and NONE for the others', async () => {
  const b = await startInProcessBroker();
  const c = await WireClient.connect(b.port);
  try {
    assert.equal((await c.request(ApiKey.CreateTopics, 7, createTopicsBody('m', 3))).topics[0].errorCode, 0);
    const parts = b.broker.topics.byName.get('m')!.partitions;
    const p0 = parts[0]!;
    const p1 = parts[1]!;
    (p0.log as { append: Log['append'] }).append = () => {
      throw new Error('the disk is gone');
    };
    const realAppend = p1.log.append.bind(p1.log);
    (p1.log as { append: Log['append'] }).append = (batch) => {
      const r = realAppend(batch);
      return { ...r, written: Promise.reject(new Error('write failed')) };
    };
    const r = await c.request(ApiKey.WriteTxnMarkers, 2, {
      markers: [{ producerId: 7, producerEpoch: 0, transactionResult: true, coordinatorEpoch: 0, transactionVersion: 2, topics: [{ name: 'm', partitionIndexes: [0, 1, 2] }] }],
    });
    assert.deepEqual(r.markers[0].topics[0].partitions, [
      { partitionIndex: 0, errorCode: ErrorCode.KAFKA_STORAGE_ERROR },
      { partitionIndex: 1, errorCode: ErrorCode.KAFKA_STORAGE_ERROR },
      { partitionIndex: 2, errorCode: ErrorCode.NONE },
    ]);
  } finally {
    c.close();
    await b.stop();
  }
});

async function coordinator(clock: { now: number }): Promise<TransactionCoordinator> {
  const offsets = new OffsetStore(new MemoryLog({ ...defaultLogConfig }), { compactAfterBytes: 1 << 30, fsync: false });
  await offsets.load();
  let nextPid = 100;
  const c = new TransactionCoordinator(
    new MemoryLog({ ...defaultLogConfig }),
    { compactAfterBytes: 1 << 30, fsync: false },
    { maxTimeoutMs: 60_000, idExpirationMs: 3_600_000, version: 2 },
    { partitionExists: () => true, writeMarker: async () => undefined, allocateProducerId: async () => nextPid++, offsets },
    new Logger('error'),
    () => clock.now,
  );
  await c.load();
  return c;
}

test('completion listeners see each commit and abort with its start and end; an epoch-only TV2 abort is not one; a throwing listener changes nothing', async () => {
  const clock = { now: 1_000_000 };
  const c = await coordinator(clock);
  const seen: CompletedTransaction[] = [];
  c.completionListeners.add(() => {
    throw new Error('a broken listener');
  });
  c.completionListeners.add((x) => seen.push(x));

  const init = await c.initProducerId('a', 10_000, -1, -1);
  await c.addPartitions('a', init.producerId, 0, [['t', 0]]);
  assert.equal(c.openCount(), 1);
  clock.now += 2_500;
  assert.equal((await c.endTxn('a', init.producerId, 0, true, false)).errorCode, ErrorCode.NONE);
  assert.equal(c.openCount(), 0);
  assert.deepEqual(seen, [{ transactionalId: 'a', commit: true, startMs: 1_000_000, endMs: 1_002_500 }]);
  assert.equal(c.txns.get('a')!.state, 'CompleteCommit', 'the broken listener did not stop the completion');

  const b = await c.initProducerId('b', 10_000, -1, -1);
  const ended = await c.endTxn('b', b.producerId, 0, false, true);
  assert.equal(ended.errorCode, ErrorCode.NONE, 'TV2 may abort with nothing open');
  assert.equal(seen.length, 1, 'no transaction was open: nothing completed');

  await c.addPartitions('b', ended.producerId, ended.producerEpoch, [['t', 1]]);
  clock.now += 100;
  await c.endTxn('b', ended.producerId, ended.producerEpoch, false, true);
  assert.deepEqual(seen[1], { transactionalId: 'b', commit: false, startMs: 1_002_500, endMs: 1_002_600 });
  await c.close();
});

test('metrics: completed transactions by result, their durations, and the open gauge from the coordinator at scrape time', async () => {
  const clock = { now: 5_000_000 };
  const c = await coordinator(clock);
  const m = new BrokerMetrics();
  m.attach({ topics: { byName: new Map() } as never, groups: undefined, txns: c });
  c.completionListeners.add(m.observeTransaction);
  const p = await c.initProducerId('x', 10_000, -1, -1);
  await c.addPartitions('x', p.producerId, 0, [['t', 0]]);
  let s = parseMetrics((await m.scrape()).text);
  assert.equal(s.must('rivulet_transactions_open'), 1);
  assert.equal(s.must('rivulet_transactions_total{result="commit"}'), 0);
  clock.now += 3_000;
  await c.endTxn('x', p.producerId, 0, true, false);
  await c.addPartitions('x', p.producerId, 0, [['t', 0]]);
  clock.now += 40;
  await c.endTxn('x', p.producerId, 0, false, false);
  s = parseMetrics((await m.scrape()).text);
  assert.equal(s.must('rivulet_transactions_open'), 0);
  assert.equal(s.must('rivulet_transactions_total{result="commit"}'), 1);
  assert.equal(s.must('rivulet_transactions_total{result="abort"}'), 1);
  assert.equal(s.must('rivulet_transaction_duration_seconds_sum{result="commit"}'), 3);
  assert.equal(s.must('rivulet_transaction_duration_seconds_bucket{result="commit",le="2.5"}'), 0);
  assert.equal(s.must('rivulet_transaction_duration_seconds_bucket{result="commit",le="5"}'), 1);
  assert.equal(s.must('rivulet_transaction_duration_seconds_bucket{result="abort",le="0.05"}'), 1);
  assert.equal(s.must('rivulet_transaction_duration_seconds_bucket{result="abort",le="0.025"}'), 0);
  await c.close();
});
