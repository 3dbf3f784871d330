// `rivulet txn list|describe|describe-producers|abort|find-hanging` as child processes against
// a real broker. Transactions are driven request by request (test/helpers/txn-requests.ts):
// "cli-open" writes 2 records to partition 0 and never ends; "cli-done" commits on partition
// 1. find-hanging then runs after a restart that lost the transaction coordinator's state
// (its internal log removed), which is how a transaction comes to hang: the partition still
// holds it open and no coordinator will end it.
//
// The partition logs track open transactions, and the tests assert it throughout: cli-open's
// transaction holds partition 0's last stable offset at its first offset (0) and is reported
// by describe-producers as its current transaction start offset; aborting it moves the LSO to
// the high watermark. After the restart, find-hanging lists the hanging transaction with its
// start offset, `abort --start-offset` ends it, and the LSO reaches the high watermark.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { runCli as rivulet } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp.js';
import { WireClient } from '../helpers/wire-client.js';
import { createTopicsBody, fetchBody } from '../helpers/requests.js';
import { addTxnPartitions, endTxn, initTxnProducer, partitionOffsets, produceTxn, type TxnProducer } from '../helpers/txn-requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ControlType, controlType } from '../../src/protocol/control-batch.js';

const TOPIC = 'cli-txn';

let dataDir: string;
let broker: BrokerProcess;
let bs: string;
let open: TxnProducer;
let done: TxnProducer;

before(async () => {
  dataDir = await makeTempDir();
  broker = await startBroker({ dataDir });
  bs = broker.bootstrap;
  const c = await WireClient.connect(broker.port);
  try {
    assert.equal((await c.request(ApiKey.CreateTopics, 7, createTopicsBody(TOPIC, 2))).topics[0].errorCode, 0);
    open = await initTxnProducer(c, 'cli-open', 120_000);
    await addTxnPartitions(c, open, TOPIC, [0]);
    await produceTxn(c, open, TOPIC, 0, ['x', 'y']);
    done = await initTxnProducer(c, 'cli-done');
    await addTxnPartitions(c, done, TOPIC, [1]);
    await produceTxn(c, done, TOPIC, 1, ['z']);
    await endTxn(c, done, true);
    const p0 = await partitionOffsets(c, TOPIC, 0);
    assert.deepEqual(p0, { highWatermark: 2, lastStableOffset: 0 }, 'the LSO is held at cli-open\'s first offset');
  } finally {
    c.close();
  }
});

after(async () => {
  await broker?.cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

/** The rows (cells split on runs of spaces) of a table whose first column is `first`. */
const rowsOf = (stdout: string, first: string): string[][] => stdout.split('\n').filter((l) => l.split(/\s+/)[0] === first).map((l) => l.split(/\s+/));

test('usage errors exit 2 with a message', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['txn', 'list', '--state', 'Sleepy'], /unknown transaction state "Sleepy": use Empty, Ongoing/],
    [['txn', 'list', '--min-duration-ms', '-5'], /--min-duration-ms must be from 0/],
    [['txn', 'list', '--pattern', 'a('], /--pattern "a\(" is not a regular expression/],
    [['txn', 'describe'], /missing required argument 'transactional-id'/],
    [['txn', 'describe-producers', '--topic', TOPIC], /required option '-p, --partition <n>' not specified/],
    [['txn', 'abort', '--topic', TOPIC, '--partition', '0'], /name the transaction to abort: --producer-id and --producer-epoch/],
    [['txn', 'abort', '--topic', TOPIC, '--partition', '0', '--producer-id', '1'], /name the transaction to abort/],
    [['txn', 'abort', '--topic', TOPIC, '--partition', '0', '--start-offset', '0', '--producer-id', '1', '--producer-epoch', '0'], /either --start-offset or --producer-id/],
    [['txn', 'abort', '--topic', TOPIC, '--partition', '0', '--producer-id', '1', '--producer-epoch', '40000'], /--producer-epoch must be from 0 to 32767/],
    [['txn', 'find-hanging', '--partition', '0'], /--partition needs --topic/],
    [['txn', 'frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = await rivulet([...args, '-b', bs]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('--help answers for the command group and each command', async () => {
  const top = await rivulet(['txn', '--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['list', 'describe', 'describe-producers', 'abort', 'find-hanging']) assert.match(top.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), cmd);
  const abort = await rivulet(['txn', 'abort', '--help']);
  assert.equal(abort.code, 0);
  assert.match(abort.stdout, /--producer-id <id>/);
  assert.match(abort.stdout, /--start-offset <offset>/);
  assert.match(abort.stdout, /rivulet txn find-hanging/);
});

test('no broker: exit 1 naming the address', async () => {
  const r = await rivulet(['txn', 'list', '-b', '127.0.0.1:1']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot reach the Kafka cluster: nothing answered at 127\.0\.0\.1:1/);
});

test('list: a table like kafka-transactions, filters, JSON', async () => {
  const all = await rivulet(['txn', 'list', '-b', bs]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^TransactionalId\s+Coordinator\s+ProducerId\s+TransactionState$/m);
  assert.deepEqual(rowsOf(all.stdout, 'cli-open'), [['cli-open', '0', String(open.producerId), 'Ongoing']]);
  assert.deepEqual(rowsOf(all.stdout, 'cli-done'), [['cli-done', '0', String(done.producerId), 'CompleteCommit']]);

  const ongoing = await rivulet(['txn', 'list', '-b', bs, '--state', 'ongoing', '--json']);
  assert.equal(ongoing.code, 0, ongoing.stderr);
  assert.deepEqual(JSON.parse(ongoing.stdout), [{ transactionalId: 'cli-open', coordinator: 0, producerId: open.producerId, state: 'Ongoing' }]);

  const long = await rivulet(['txn', 'list', '-b', bs, '--min-duration-ms', '3600000', '--json']);
  assert.equal(long.code, 0, long.stderr);
  assert.deepEqual(JSON.parse(long.stdout), [], 'nothing has been open for an hour');

  const byPid = await rivulet(['txn', 'list', '-b', bs, '--producer-id', String(done.producerId), '--json']);
  assert.deepEqual(JSON.parse(byPid.stdout).map((x: { transactionalId: string }) => x.transactionalId), ['cli-done']);

  const byPattern = await rivulet(['txn', 'list', '-b', bs, '--pattern', 'cli-d.*', '--json']);
  assert.deepEqual(JSON.parse(byPattern.stdout).map((x: { transactionalId: string }) => x.transactionalId), ['cli-done']);
});

test('describe: one row with the open transaction\'s partitions; an unknown id exits 1', async () => {
  const d = await rivulet(['txn', 'describe', 'cli-open', '-b', bs]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /^CoordinatorId\s+TransactionalId\s+ProducerId\s+ProducerEpoch\s+TransactionState\s+TransactionTimeoutMs\s+CurrentTransactionStartTimeMs\s+TransactionDurationMs\s+TopicPartitions$/m);
  const [row] = rowsOf(d.stdout, '0');
  assert.deepEqual([row![1], row![2], row![3], row![4], row![5], row![8]], ['cli-open', String(open.producerId), '0', 'Ongoing', '120000', `${TOPIC}-0`]);
  assert.match(row![6]!, /^\d+$/, 'a start time');

  const j = await rivulet(['txn', 'describe', 'cli-done', '-b', bs, '--json']);
  assert.equal(j.code, 0, j.stderr);
  const dj = JSON.parse(j.stdout);
  assert.deepEqual([dj.state, dj.producerId, dj.startTimeMs, dj.durationMs, dj.partitions], ['CompleteCommit', done.producerId, null, null, []]);

  const none = await rivulet(['txn', 'describe', 'nobody', '-b', bs]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /transactional id "nobody" is not known to its coordinator \(broker 0\): TRANSACTIONAL_ID_NOT_FOUND/);
});

test('describe-producers: the partition\'s producers; an unknown partition exits 1', async () => {
  const r = await rivulet(['txn', 'describe-producers', '--topic', TOPIC, '--partition', '0', '-b', bs]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ProducerId\s+ProducerEpoch\s+LatestCoordinatorEpoch\s+LastSequence\s+LastTimestamp\s+CurrentTransactionStartOffset$/m);
  const [row] = rowsOf(r.stdout, String(open.producerId));
  assert.deepEqual([row![1], row![2], row![3]], ['0', '-1', '1']);
  assert.equal(row![5], '0', 'cli-open\'s transaction starts at offset 0');

  const missing = await rivulet(['txn', 'describe-producers', '--topic', TOPIC, '--partition', '9', '-b', bs]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /topic "cli-txn" has no partition 9 \(it has 2\)/);
  const noTopic = await rivulet(['txn', 'describe-producers', '--topic', 'nope', '--partition', '0', '-b', bs]);
  assert.equal(noTopic.code, 1);
  assert.match(noTopic.stderr, /topic "nope" does not exist/);
});

test('abort: refused for an older epoch (exit 1, the reason named), then written for the producer\'s epoch', async () => {
  const c = await WireClient.connect(broker.port);
  try {
    // cli-done's producer is at epoch 0 in partition 1; a second instance of it fences it at epoch 1.
    const bumped = await initTxnProducer(c, 'cli-done');
    await addTxnPartitions(c, bumped, TOPIC, [1]);
    await produceTxn(c, bumped, TOPIC, 1, ['w']);
    const old = await rivulet(['txn', 'abort', '--topic', TOPIC, '--partition', '1', '--producer-id', String(bumped.producerId), '--producer-epoch', '0', '-b', bs]);
    assert.equal(old.code, 1, old.stderr);
    assert.match(old.stderr, /was not aborted: INVALID_PRODUCER_EPOCH/);
    await endTxn(c, bumped, true);

    const before = await partitionOffsets(c, TOPIC, 0);
    const r = await rivulet(['txn', 'abort', '--topic', TOPIC, '--partition', '0', '--producer-id', String(open.producerId), '--producer-epoch', '0', '-b', bs]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`aborted the transaction of producer ${open.producerId} \\(epoch 0\\) on ${TOPIC}-0`));
    assert.equal(before.lastStableOffset, 0, 'cli-open\'s transaction held the LSO at its first offset');
    const after = await partitionOffsets(c, TOPIC, 0);
    assert.equal(after.highWatermark, before.highWatermark + 1);
    const f = await c.request(ApiKey.Fetch, 12, fetchBody(TOPIC, { offset: before.highWatermark }));
    const records: Buffer = f.responses[0].partitions[0].records;
    assert.equal(controlType(records, 0, records.length), ControlType.ABORT);
    assert.equal(Number(records.readBigInt64BE(43)), open.producerId);
    assert.equal(after.lastStableOffset, after.highWatermark, 'the LSO moved past the aborted transaction');
    const producers = await rivulet(['txn', 'describe-producers', '--topic', TOPIC, '--partition', '0', '-b', bs]);
    assert.equal(producers.code, 0, producers.stderr);
    assert.equal(rowsOf(producers.stdout, String(open.producerId))[0]![5], 'None', 'no transaction open any more');

    const missing = await rivulet(['txn', 'abort', '--topic', TOPIC, '--partition', '5', '--producer-id', '1', '--producer-epoch', '0', '-b', bs]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /has no partition 5/);
    const noStart = await rivulet(['txn', 'abort', '--topic', TOPIC, '--partition', '0', '--start-offset', '12345', '-b', bs]);
    assert.equal(noStart.code, 1);
    assert.match(noStart.stderr, /no transaction open in cli-txn-0 starts at offset 12345/);
  } finally {
    c.close();
  }
});

test('find-hanging after the coordinator lost its state: the partition\'s open transaction is listed, then aborted by its start offset', async () => {
  const c0 = await WireClient.connect(broker.port);
  const hanging = await initTxnProducer(c0, 'cli-hanging');
  await addTxnPartitions(c0, hanging, TOPIC, [1]);
  const start = await produceTxn(c0, hanging, TOPIC, 1, ['h1', 'h2']);
  c0.close();

  // While its coordinator holds it, it is not hanging (the coordinator will end it).
  const live = await rivulet(['txn', 'find-hanging', '--broker-id', '0', '--max-transaction-timeout-minutes', '0', '--json', '-b', bs]);
  assert.equal(live.code, 0, live.stderr);
  assert.deepEqual(JSON.parse(live.stdout), []);

  assert.equal(await broker.stop(), 0);
  await rm(join(dataDir, '__transaction_state-0'), { recursive: true, force: true });
  broker = await startBroker({ dataDir });
  bs = broker.bootstrap;

  const table = await rivulet(['txn', 'find-hanging', '--topic', TOPIC, '--max-transaction-timeout-minutes', '0', '-b', bs]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^Topic\s+Partition\s+ProducerId\s+ProducerEpoch\s+CoordinatorEpoch\s+StartOffset\s+LastTimestamp\s+Duration\(min\)$/m);
  const found = await rivulet(['txn', 'find-hanging', '--broker-id', '0', '--max-transaction-timeout-minutes', '0', '--json', '-b', bs]);
  assert.equal(found.code, 0, found.stderr);
  const rows = JSON.parse(found.stdout) as { topic: string; partition: number; producerId: number; startOffset: number }[];
  assert.deepEqual(rows.map((r) => [r.topic, r.partition, r.producerId, r.startOffset]), [[TOPIC, 1, hanging.producerId, start]]);
  assert.deepEqual(rowsOf(table.stdout, TOPIC).map((r) => [r[1], r[2], r[5]]), [['1', String(hanging.producerId), String(start)]], 'the table lists it too');
  const wide = await rivulet(['txn', 'find-hanging', '--broker-id', '0', '--json', '-b', bs]);
  assert.deepEqual(JSON.parse(wide.stdout), [], 'within the default 15-minute timeout nothing is a candidate');

  const c = await WireClient.connect(broker.port);
  try {
    const before = await partitionOffsets(c, TOPIC, 1);
    assert.equal(before.lastStableOffset, start, 'after the restart the hanging transaction still holds the LSO at its first offset');
    const abort = await rivulet(['txn', 'abort', '--topic', TOPIC, '--partition', '1', '--start-offset', String(start), '-b', bs]);
    assert.equal(abort.code, 0, abort.stderr);
    const after = await partitionOffsets(c, TOPIC, 1);
    assert.equal(after.highWatermark, before.highWatermark + 1, 'one marker written');
    assert.equal(after.lastStableOffset, after.highWatermark, 'the LSO moved past the hanging transaction');
  } finally {
    c.close();
  }
  const again = await rivulet(['txn', 'find-hanging', '--broker-id', '0', '--max-transaction-timeout-minutes', '0', '--json', '-b', bs]);
  assert.deepEqual(JSON.parse(again.stdout), []);
});
