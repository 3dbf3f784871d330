// Apache Kafka's kafka-transactions tool (org.apache.kafka.tools.TransactionsCommand, kafka-tools
// 4.4) against the broker: list, describe, describe-producers, find-hanging and abort.
//
// A transaction is left open by a producer driven request by request (InitProducerId,
// AddPartitionsToTxn, a transactional Produce, and never EndTxn). It then comes to hang the way
// transactions do in practice: the broker restarts having lost its transaction coordinator's
// state (its internal log removed), so the partition holds the transaction open and no
// coordinator will ever end it. find-hanging must list it, and `abort --start-offset` must
// end it, moving the partition's last stable offset past it.
//
// The partition's log tracks open transactions, and the tests assert it throughout: the LSO is
// held at the open transaction's first offset (3, after a committed warm-up transaction),
// describe-producers shows that offset as CurrentTransactionStartOffset, find-hanging finds
// the transaction after the restart, and `abort --start-offset` writes its ABORT marker, after
// which the LSO reaches the high watermark and nothing hangs any more.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { WireClient } from '../helpers/wire-client.js';
import { createTopicsBody, fetchBody } from '../helpers/requests.js';
import { addTxnPartitions, initTxnProducer, partitionOffsets, produceTxn, type TxnProducer } from '../helpers/txn-requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ControlType, controlType } from '../../src/protocol/control-batch.js';
import { describeRun, javaClasspath, javaInstallHint, javaJarsPresent, requireTool, run, token, works } from './tools.js';

const TOPIC = `txn-tool-${token()}`;
const TXN_ID = `txn-tool-app-${token()}`;

let dataDir: string;
let broker: BrokerProcess | undefined;
let javaOk = false;
let producer: TxnProducer;
let startOffset = -1;

before(async () => {
  javaOk = await works('java', ['-version']);
  dataDir = await makeTempDir();
  broker = await startBroker({ dataDir });
  const c = await WireClient.connect(broker.port);
  try {
    assert.equal((await c.request(ApiKey.CreateTopics, 7, createTopicsBody(TOPIC, 2))).topics[0].errorCode, 0);
    // Records before the transaction, so that it does not start at offset 0.
    const plain = await initTxnProducer(c, `${TXN_ID}-warmup`);
    await addTxnPartitions(c, plain, TOPIC, [0]);
    await produceTxn(c, plain, TOPIC, 0, ['w1', 'w2']);
    const end = await c.request(ApiKey.EndTxn, 3, { transactionalId: plain.transactionalId, producerId: plain.producerId, producerEpoch: plain.producerEpoch, committed: true });
    assert.equal(end.errorCode, 0);

    producer = await initTxnProducer(c, TXN_ID, 300_000);
    await addTxnPartitions(c, producer, TOPIC, [0]);
    startOffset = await produceTxn(c, producer, TOPIC, 0, ['a', 'b', 'c']);
    assert.equal(startOffset, 3, 'after w1, w2 and the warm-up\'s COMMIT marker');
    const p0 = await partitionOffsets(c, TOPIC, 0);
    assert.deepEqual(p0, { highWatermark: 6, lastStableOffset: startOffset }, 'the LSO is held at the open transaction\'s first offset');
  } finally {
    c.close();
  }
});

after(async () => {
  await broker?.cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

function transactions(args: string[]) {
  return run('java', ['-cp', javaClasspath(), 'org.apache.kafka.tools.TransactionsCommand', '--bootstrap-server', broker!.bootstrap, ...args], { timeoutMs: 120_000 });
}

function present(t: import('node:test').TestContext): boolean {
  return requireTool(t, javaOk, 'java (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')
    && requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint);
}

/** The rows of kafka-transactions' table output (cells padded and tab-separated), header first. */
function tableRows(stdout: Buffer): string[][] {
  return stdout.toString().split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t').map((c) => c.trim()).filter((c, i, a) => c !== '' || i < a.length - 1));
}

test('kafka-transactions list, describe, describe-producers against the open transaction', { timeout: 300_000 }, async (t) => {
  if (!present(t)) return;

  await t.test('list', async () => {
    const r = await transactions(['list']);
    assert.equal(r.code, 0, describeRun('list', r, broker));
    const rows = tableRows(r.stdout);
    assert.deepEqual(rows[0], ['TransactionalId', 'Coordinator', 'ProducerId', 'TransactionState']);
    assert.deepEqual(rows.find((x) => x[0] === TXN_ID), [TXN_ID, '0', String(producer.producerId), 'Ongoing']);
    assert.deepEqual(rows.find((x) => x[0] === `${TXN_ID}-warmup`)?.[3], 'CompleteCommit');
  });

  await t.test('describe --transactional-id', async () => {
    const r = await transactions(['describe', '--transactional-id', TXN_ID]);
    assert.equal(r.code, 0, describeRun('describe', r, broker));
    const [header, row] = tableRows(r.stdout);
    assert.deepEqual(header, ['CoordinatorId', 'TransactionalId', 'ProducerId', 'ProducerEpoch', 'TransactionState', 'TransactionTimeoutMs', 'CurrentTransactionStartTimeMs', 'TransactionDurationMs', 'TopicPartitions']);
    assert.deepEqual([row![0], row![1], row![2], row![3], row![4], row![5], row![8]], ['0', TXN_ID, String(producer.producerId), '0', 'Ongoing', '300000', `${TOPIC}-0`]);
    assert.match(row![6]!, /^\d+$/, 'a start time');

    const unknown = await transactions(['describe', '--transactional-id', `${TXN_ID}-nobody`]);
    assert.equal(unknown.code, 1, describeRun('describe of an unknown id', unknown, broker));
    assert.match(unknown.stderr, /Failed to describe transaction state of transactional-id `[^`]*-nobody`: .*the ID could not be found/);
  });

  await t.test('describe-producers --topic --partition', async () => {
    const r = await transactions(['describe-producers', '--topic', TOPIC, '--partition', '0']);
    assert.equal(r.code, 0, describeRun('describe-producers', r, broker));
    const rows = tableRows(r.stdout);
    assert.deepEqual(rows[0], ['ProducerId', 'ProducerEpoch', 'LatestCoordinatorEpoch', 'LastSequence', 'LastTimestamp', 'CurrentTransactionStartOffset']);
    const row = rows.find((x) => x[0] === String(producer.producerId));
    assert.ok(row, r.stdout.toString());
    assert.deepEqual([row[1], row[2], row[3]], ['0', '-1', '2']);
    assert.equal(row[5], String(startOffset), 'the open transaction\'s first offset');
  });
});

test('kafka-transactions find-hanging and abort after the coordinator lost its state', { timeout: 300_000 }, async (t) => {
  if (!present(t)) return;

  const live = await transactions(['find-hanging', '--broker-id', '0', '--max-transaction-timeout', '0']);
  assert.equal(live.code, 0, describeRun('find-hanging', live, broker));
  const liveRows = tableRows(live.stdout);
  assert.deepEqual(liveRows[0], ['Topic', 'Partition', 'ProducerId', 'ProducerEpoch', 'CoordinatorEpoch', 'StartOffset', 'LastTimestamp', 'Duration(min)']);
  assert.equal(liveRows.length, 1, `its coordinator still holds the transaction, so it is not hanging:\n${live.stdout}`);

  assert.equal(await broker!.stop(), 0);
  await rm(join(dataDir, '__transaction_state-0'), { recursive: true, force: true });
  broker = await startBroker({ dataDir });

  const found = await transactions(['find-hanging', '--broker-id', '0', '--max-transaction-timeout', '0']);
  assert.equal(found.code, 0, describeRun('find-hanging after the restart', found, broker));
  const rows = tableRows(found.stdout).slice(1);
  assert.deepEqual(rows.map((r) => [r[0], r[1], r[2], r[3], r[5]]), [[TOPIC, '0', String(producer.producerId), '0', String(startOffset)]]);
  const defaults = await transactions(['find-hanging', '--broker-id', '0']);
  assert.equal(defaults.code, 0, describeRun('find-hanging', defaults, broker));
  assert.equal(tableRows(defaults.stdout).length, 1, 'nothing is older than the default 15-minute timeout');

  const c = await WireClient.connect(broker.port);
  try {
    const before = await partitionOffsets(c, TOPIC, 0);
    assert.equal(before.lastStableOffset, startOffset, 'after the restart the hanging transaction still holds the LSO at its first offset');
    const byOffset = await transactions(['abort', '--topic', TOPIC, '--partition', '0', '--start-offset', String(startOffset)]);
    assert.equal(byOffset.code, 0, describeRun('abort --start-offset', byOffset, broker));
    const after = await partitionOffsets(c, TOPIC, 0);
    assert.equal(after.highWatermark, before.highWatermark + 1, 'one marker written');
    const f = await c.request(ApiKey.Fetch, 12, fetchBody(TOPIC, { offset: before.highWatermark }));
    const records: Buffer = f.responses[0].partitions[0].records;
    assert.equal(controlType(records, 0, records.length), ControlType.ABORT, 'an ABORT marker');
    assert.equal(Number(records.readBigInt64BE(43)), producer.producerId, 'of the hanging producer');
    assert.equal(after.lastStableOffset, after.highWatermark, 'the last stable offset is past the aborted transaction');
    const again = await transactions(['find-hanging', '--broker-id', '0', '--max-transaction-timeout', '0']);
    assert.equal(again.code, 0, describeRun('find-hanging after the abort', again, broker));
    assert.equal(tableRows(again.stdout).length, 1, `nothing hangs any more:\n${again.stdout}`);
  } finally {
    c.close();
  }
});
