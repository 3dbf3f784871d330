// The transaction admin APIs on the wire, against a broker process: ListTransactions (66)
// with each filter, DescribeTransactions (65), DescribeProducers (61) and WriteTxnMarkers
// (27) aborting a transaction its producer left open; then the transaction metrics on
// /metrics after a commit and an abort.
//
// Transactions are driven request by request (test/helpers/txn-requests.ts): "tx-open" adds
// partition 0 and writes 3 records, then never ends; "tx-done" commits, "tx-aborted" aborts
// (both on partition 1); "tx-empty" only initialises; "tx-bumped" initialises twice (epoch 1)
// and keeps a transaction open on partition 1.
//
// The partition logs track open transactions, and the tests assert it throughout: each
// partition's last stable offset is held at the first offset of its oldest open transaction
// (partition 0 at tx-open's offset 0, partition 1 at tx-bumped's offset 4), DescribeProducers
// reports that offset as currentTxnStartOffset, and the ABORT marker WriteTxnMarkers writes
// ends tx-open's transaction: the LSO reaches the high watermark and a read_committed Fetch
// names the aborted transaction.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { createTopicsBody, fetchBody } from '../helpers/requests.js';
import { addTxnPartitions, endTxn, initTxnProducer, partitionOffsets, produceTxn, type TxnProducer } from '../helpers/txn-requests.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { sleep } from '../helpers/wait.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ControlType, controlType, isControlBatch } from '../../src/protocol/control-batch.js';

const TOPIC = 'ta';

let broker: BrokerProcess;
let c: WireClient;
let open: TxnProducer;
let done: TxnProducer;
let aborted: TxnProducer;
let empty: TxnProducer;
let bumped: TxnProducer;

before(async () => {
  broker = await startBroker();
  c = await WireClient.connect(broker.port);
  const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(TOPIC, 2));
  assert.equal(created.topics[0].errorCode, 0);

  open = await initTxnProducer(c, 'tx-open');
  await addTxnPartitions(c, open, TOPIC, [0]);
  await produceTxn(c, open, TOPIC, 0, ['a', 'b', 'c']);

  done = await initTxnProducer(c, 'tx-done');
  await addTxnPartitions(c, done, TOPIC, [1]);
  await produceTxn(c, done, TOPIC, 1, ['d']);
  await endTxn(c, done, true);

  aborted = await initTxnProducer(c, 'tx-aborted');
  await addTxnPartitions(c, aborted, TOPIC, [1]);
  await produceTxn(c, aborted, TOPIC, 1, ['e']);
  await endTxn(c, aborted, false);

  empty = await initTxnProducer(c, 'tx-empty');

  await initTxnProducer(c, 'tx-bumped');
  bumped = await initTxnProducer(c, 'tx-bumped');
  assert.equal(bumped.producerEpoch, 1);
  await addTxnPartitions(c, bumped, TOPIC, [1]);
  await produceTxn(c, bumped, TOPIC, 1, ['f']);

  const p0 = await partitionOffsets(c, TOPIC, 0);
  assert.equal(p0.highWatermark, 3);
  assert.equal(p0.lastStableOffset, 0, 'the LSO is held at tx-open\'s first offset');
  const p1 = await partitionOffsets(c, TOPIC, 1);
  assert.equal(p1.highWatermark, 5, 'd, COMMIT, e, ABORT, f');
  assert.equal(p1.lastStableOffset, 4, 'the LSO is held at tx-bumped\'s first offset');
});

after(async () => {
  c?.close();
  await broker?.cleanup();
});

const listed = (r: { transactionStates: { transactionalId: string; producerId: number; transactionState: string }[] }): string[] =>
  r.transactionStates.map((t) => `${t.transactionalId}:${t.transactionState}`).sort();

test('ListTransactions v0: every transactional id with its producer id and state', async () => {
  const r = await c.request(ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [] });
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.deepEqual(listed(r), ['tx-aborted:CompleteAbort', 'tx-bumped:Ongoing', 'tx-done:CompleteCommit', 'tx-empty:Empty', 'tx-open:Ongoing']);
  assert.equal(r.transactionStates.find((t: { transactionalId: string }) => t.transactionalId === 'tx-open').producerId, open.producerId);
  assert.deepEqual(r.unknownStateFilters, []);
});

test('ListTransactions: state filter (Kafka names, case and underscores ignored; unknown names reported) and producer-id filter', async () => {
  const ongoing = await c.request(ApiKey.ListTransactions, 0, { stateFilters: ['Ongoing'], producerIdFilters: [] });
  assert.deepEqual(listed(ongoing), ['tx-bumped:Ongoing', 'tx-open:Ongoing']);
  const mixed = await c.request(ApiKey.ListTransactions, 0, { stateFilters: ['COMPLETE_COMMIT', 'Sleeping'], producerIdFilters: [] });
  assert.deepEqual(listed(mixed), ['tx-done:CompleteCommit']);
  assert.deepEqual(mixed.unknownStateFilters, ['Sleeping']);
  const onlyUnknown = await c.request(ApiKey.ListTransactions, 0, { stateFilters: ['Sleeping'], producerIdFilters: [] });
  assert.deepEqual(listed(onlyUnknown), [], 'unknown states match nothing');
  const fence = await c.request(ApiKey.ListTransactions, 0, { stateFilters: ['PrepareEpochFence', 'Sleeping'], producerIdFilters: [] });
  assert.deepEqual(listed(fence), [], 'a Kafka state this broker never stores matches nothing');
  assert.deepEqual(fence.unknownStateFilters, ['Sleeping'], 'but is a known name');
  const fenceOrOngoing = await c.request(ApiKey.ListTransactions, 0, { stateFilters: ['PrepareEpochFence', 'Ongoing'], producerIdFilters: [] });
  assert.deepEqual(listed(fenceOrOngoing), ['tx-bumped:Ongoing', 'tx-open:Ongoing']);
  const byPid = await c.request(ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [empty.producerId, 999_999] });
  assert.deepEqual(listed(byPid), ['tx-empty:Empty']);
  const both = await c.request(ApiKey.ListTransactions, 0, { stateFilters: ['Ongoing'], producerIdFilters: [empty.producerId, open.producerId] });
  assert.deepEqual(listed(both), ['tx-open:Ongoing']);
});

test('ListTransactions v1: the duration filter keeps transactions open longer than it', async () => {
  await sleep(5); // so that the open transactions have been open for more than 0 ms
  const running = await c.request(ApiKey.ListTransactions, 1, { stateFilters: [], producerIdFilters: [], durationFilter: 0 });
  assert.deepEqual(listed(running), ['tx-bumped:Ongoing', 'tx-open:Ongoing'], 'ids with no transaction open have no duration');
  const long = await c.request(ApiKey.ListTransactions, 1, { stateFilters: [], producerIdFilters: [], durationFilter: 3_600_000 });
  assert.deepEqual(listed(long), []);
  const none = await c.request(ApiKey.ListTransactions, 1, { stateFilters: [], producerIdFilters: [], durationFilter: -1 });
  assert.equal(none.transactionStates.length, 5, 'a negative duration filters nothing');
});

test('ListTransactions v2: the pattern must match the whole transactional id; a bad one is INVALID_REGULAR_EXPRESSION', async () => {
  const ask = (transactionalIdPattern: string | null) => c.request(ApiKey.ListTransactions, 2, { stateFilters: [], producerIdFilters: [], durationFilter: -1, transactionalIdPattern });
  assert.deepEqual(listed(await ask('tx-(open|done)')), ['tx-done:CompleteCommit', 'tx-open:Ongoing']);
  assert.deepEqual(listed(await ask('tx-')), [], 'a prefix alone does not match');
  assert.equal((await ask('')).transactionStates.length, 5, 'an empty pattern filters nothing');
  assert.equal((await ask(null)).transactionStates.length, 5);
  const bad = await ask('tx-(');
  assert.equal(bad.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
  assert.deepEqual(bad.transactionStates, []);
});

test('DescribeTransactions: state, timeout, start, producer id and epoch, partitions; unknown ids TRANSACTIONAL_ID_NOT_FOUND', async () => {
  const r = await c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['tx-open', 'tx-done', 'tx-bumped', 'nobody'] });
  const [o, d, b, n] = r.transactionStates;
  assert.equal(o.errorCode, ErrorCode.NONE);
  assert.equal(o.transactionState, 'Ongoing');
  assert.equal(o.transactionTimeoutMs, 60_000);
  assert.ok(o.transactionStartTimeMs > 0, 'an open transaction has a start time');
  assert.equal(o.producerId, open.producerId);
  assert.equal(o.producerEpoch, 0);
  assert.deepEqual(o.topics, [{ topic: TOPIC, partitions: [0] }]);
  assert.equal(d.transactionState, 'CompleteCommit');
  assert.equal(d.transactionStartTimeMs, -1, 'no transaction open');
  assert.deepEqual(d.topics, []);
  assert.equal(b.producerEpoch, 1);
  assert.deepEqual(b.topics, [{ topic: TOPIC, partitions: [1] }]);
  assert.equal(n.transactionalId, 'nobody');
  assert.equal(n.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
});

test('DescribeProducers: a partition\'s producers with epoch and last sequence; unknown partitions UNKNOWN_TOPIC_OR_PARTITION', async () => {
  const r = await c.request(ApiKey.DescribeProducers, 0, { topics: [{ name: TOPIC, partitionIndexes: [0, 1, 7] }, { name: 'no-such-topic', partitionIndexes: [0] }] });
  const [p0, p1, p7] = r.topics[0].partitions;
  assert.equal(p0.errorCode, ErrorCode.NONE);
  assert.deepEqual(p0.activeProducers.map((p: { producerId: number }) => p.producerId), [open.producerId]);
  const s = p0.activeProducers[0];
  assert.equal(s.producerEpoch, 0);
  assert.equal(s.lastSequence, 2, 'three records from sequence 0');
  assert.equal(s.coordinatorEpoch, -1);
  assert.equal(s.currentTxnStartOffset, 0, 'the open transaction starts at offset 0');
  const p1Txns = new Map(p1.activeProducers.map((p: { producerId: number; currentTxnStartOffset: number }) => [p.producerId, p.currentTxnStartOffset]));
  assert.deepEqual([...p1Txns.keys()].sort(), [done.producerId, aborted.producerId, bumped.producerId].sort());
  assert.equal(p1Txns.get(done.producerId), -1, 'tx-done\'s transaction was committed');
  assert.equal(p1Txns.get(aborted.producerId), -1, 'tx-aborted\'s transaction was aborted');
  assert.equal(p1Txns.get(bumped.producerId), 4, 'tx-bumped\'s open transaction starts at offset 4');
  assert.equal(p7.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(r.topics[1].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

test('WriteTxnMarkers: per-partition errors for unknown partitions and an older producer epoch', async () => {
  const r = await c.request(ApiKey.WriteTxnMarkers, 1, {
    markers: [
      { producerId: bumped.producerId, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: TOPIC, partitionIndexes: [1, 5] }, { name: 'no-such-topic', partitionIndexes: [0] }] },
    ],
  });
  const m = r.markers[0];
  assert.equal(m.producerId, bumped.producerId);
  assert.deepEqual(m.topics.map((t: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]), [
    [TOPIC, [[1, ErrorCode.INVALID_PRODUCER_EPOCH], [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ['no-such-topic', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
  ]);
  assert.equal((await partitionOffsets(c, TOPIC, 1)).highWatermark, 5, 'nothing was written to partition 1 (d, COMMIT, e, ABORT, f)');
});

test('WriteTxnMarkers aborts the transaction tx-open left open: an ABORT marker of its producer ends partition 0', async () => {
  const before = await partitionOffsets(c, TOPIC, 0);
  const r = await c.request(ApiKey.WriteTxnMarkers, 1, {
    markers: [{ producerId: open.producerId, producerEpoch: open.producerEpoch, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: TOPIC, partitionIndexes: [0] }] }],
  });
  assert.deepEqual(r.markers[0].topics[0].partitions, [{ partitionIndex: 0, errorCode: ErrorCode.NONE }]);
  const after = await partitionOffsets(c, TOPIC, 0);
  assert.equal(after.highWatermark, before.highWatermark + 1, 'one control batch');
  const fetched = await c.request(ApiKey.Fetch, 12, fetchBody(TOPIC, { offset: before.highWatermark }));
  const records: Buffer = fetched.responses[0].partitions[0].records;
  assert.ok(records.length > 0);
  assert.ok(isControlBatch(records, 0), 'a control batch');
  assert.equal(controlType(records, 0, records.length), ControlType.ABORT);
  assert.equal(Number(records.readBigInt64BE(43)), open.producerId, 'of tx-open\'s producer');
  assert.equal(records.readInt16BE(51), open.producerEpoch);
  assert.equal(before.lastStableOffset, 0, 'until then the open transaction held the LSO at its first offset');
  assert.equal(after.lastStableOffset, after.highWatermark, 'the last stable offset moved past the aborted transaction');
  const rc = await c.request(ApiKey.Fetch, 12, { ...fetchBody(TOPIC, { offset: 0 }), isolationLevel: 1 });
  assert.deepEqual(rc.responses[0].partitions[0].abortedTransactions.map((a: { producerId: number; firstOffset: number }) => [a.producerId, a.firstOffset]), [[open.producerId, 0]]);
  const producers = await c.request(ApiKey.DescribeProducers, 0, { topics: [{ name: TOPIC, partitionIndexes: [0] }] });
  assert.equal(producers.topics[0].partitions[0].activeProducers[0].currentTxnStartOffset, -1, 'tx-open\'s producer has no transaction open in partition 0 any more');
});

test('metrics: transactions open, completed by result with their durations, and each partition\'s LSO lag', async () => {
  const s = await scrapeMetrics(broker.httpPort);
  assert.equal(s.types.get('rivulet_transactions_open'), 'gauge');
  assert.equal(s.types.get('rivulet_transactions_total'), 'counter');
  assert.equal(s.types.get('rivulet_transaction_duration_seconds'), 'histogram');
  assert.equal(s.types.get('rivulet_partition_lso_lag'), 'gauge');
  assert.equal(s.must('rivulet_transactions_open'), 2, 'tx-open and tx-bumped (an ABORT marker written by request does not end the coordinator\'s transaction)');
  assert.equal(s.must('rivulet_transactions_total{result="commit"}'), 1);
  assert.equal(s.must('rivulet_transactions_total{result="abort"}'), 1);
  assert.equal(s.must('rivulet_transaction_duration_seconds_count{result="commit"}'), 1);
  assert.equal(s.must('rivulet_transaction_duration_seconds_count{result="abort"}'), 1);
  assert.equal(s.must('rivulet_transaction_duration_seconds_bucket{result="commit",le="+Inf"}'), 1);
  assert.ok(s.must('rivulet_transaction_duration_seconds_sum{result="abort"}') >= 0);
  assert.equal(s.must(`rivulet_partition_lso_lag{topic="${TOPIC}",partition="0"}`), 0, 'partition 0\'s transaction was aborted');
  const p1 = await partitionOffsets(c, TOPIC, 1);
  assert.equal(s.must(`rivulet_partition_lso_lag{topic="${TOPIC}",partition="1"}`), p1.highWatermark - p1.lastStableOffset);
  assert.equal(p1.highWatermark - p1.lastStableOffset, 1, 'tx-bumped\'s record is held back');

  // One more commit: its counter and histogram move, the open gauge drops.
  await endTxn(c, bumped, true);
  const s2 = await scrapeMetrics(broker.httpPort);
  assert.equal(s2.must('rivulet_transactions_total{result="commit"}'), 2);
  assert.equal(s2.must('rivulet_transaction_duration_seconds_count{result="commit"}'), 2);
  assert.equal(s2.must('rivulet_transactions_open'), 1);
  assert.equal(s2.must(`rivulet_partition_lso_lag{topic="${TOPIC}",partition="1"}`), 0);
});
