// Transactions with kafkajs:
//  - two transactional producers interleave transactions (producer.transaction(), send,
//    commit or abort) over a 3-partition topic; a read_committed group consumer catching up
//    from the earliest offset sees exactly the committed records, in order per partition, each
//    once, and the offsets it commits end past the COMMIT/ABORT markers (at the high
//    watermarks); a read_uncommitted consumer sees the aborted records too;
//  - consume-transform-produce: a read_committed group consumer's offsets sent to the
//    transaction (sendOffsets: AddOffsetsToTxn + TxnOffsetCommit) are committed with it and
//    dropped when it aborts; the output holds the committed transformations only.
// KAFKA_PEER_CMD runs the same tests against another broker (see test/helpers/broker-or-peer.ts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Consumer, type KafkaMessage, type Transaction } from 'kafkajs';
import { brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { startBrokerOrPeer, brokerKind } from '../helpers/broker-or-peer.js';
import { committedOffsets, endOffsets, readIsolated, waitStable, IsolationLevel, UNSTABLE_OFFSET_COMMIT } from '../helpers/txn-wire.js';
import { sleep, waitFor } from '../helpers/wait.js';

const P = 3;
const PARTITIONS = [0, 1, 2];

let broker: BrokerProcess;
let kafka: Kafka;
before(async () => {
  // Groups form at once, as in the Kafka the tests were checked against (Kafka's default delay is 3 s).
  broker = await startBrokerOrPeer({ settings: { 'group.initial.rebalance.delay.ms': '0' } });
  kafka = new Kafka({
    clientId: 'txn-kafkajs',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  });
});
after(async () => {
  await broker.stop();
  await broker.cleanup();
});

const ctx = () => `broker: ${brokerKind}\n--- broker log (tail) ---\n${brokerTail(broker, 40)}`;

async function createTopic(topic: string, numPartitions = P): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true }), true);
  } finally {
    await admin.disconnect();
  }
}

function txnProducer(transactionalId: string) {
  return kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 30_000 });
}

interface Got { offset: number; value: string }

/** A group consumer of `topic` from the earliest offset, auto-committing what it consumed; records per partition. */
async function collect(topic: string, groupId: string, readUncommitted: boolean) {
  const consumer: Consumer = kafka.consumer({ groupId, readUncommitted, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  const got = new Map<number, Got[]>(PARTITIONS.map((p) => [p, []]));
  let crashed: Error | undefined;
  let fetches = 0;
  // A crash kafkajs restarts from (a retriable error such as GROUP_LOAD_IN_PROGRESS) is no failure.
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) crashed = e.payload.error;
  });
  consumer.on(consumer.events.FETCH, () => fetches++);
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: 100,
    eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
      got.get(partition)!.push({ offset: Number(message.offset), value: message.value!.toString() });
    },
  });
  return {
    got,
    total: () => [...got.values()].reduce((n, rs) => n + rs.length, 0),
    crashed: () => crashed,
    fetches: () => fetches,
    close: () => Promise.race([consumer.disconnect(), sleep(15_000)]),
  };
}

test('two producers interleave committed and aborted transactions over 3 partitions: read_committed sees exactly the committed records, read_uncommitted every record, and the group moves past the markers', { timeout: 120_000 }, async (t) => {
  const topic = 'kj-txn';
  await createTopic(topic);
  const a = txnProducer('kj-txn-a');
  const b = txnProducer('kj-txn-b');
  await a.connect();
  await b.connect();
  const all = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]));
  const committed = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]));
  const markers = PARTITIONS.map(() => 0);
  try {
    for (let r = 0; r < 9; r++) {
      const sent: Array<{ p: number; who: 'a' | 'b'; value: string }> = [];
      const send = async (tx: Transaction, who: 'a' | 'b', from: number, count: number) => {
        const messages = PARTITIONS.flatMap((partition) =>
          Array.from({ length: count }, (_, j) => ({ partition, key: `${who}${r}`, value: `${who}${r}-p${partition}-${from + j}` })));
        await tx.send({ topic, acks: -1, messages });
        for (const m of messages) {
          all.get(m.partition)!.push(m.value);
          sent.push({ p: m.partition, who, value: m.value });
        }
      };
      const txA = await a.transaction();
      await send(txA, 'a', 0, 2);
      const withB = r % 2 === 0;
      const txB = withB ? await b.transaction() : undefined;
      if (txB) await send(txB, 'b', 0, 2);
      await send(txA, 'a', 2, 1);
      const outcome = { a: r % 3 !== 1, b: r % 4 === 0 };
      if (outcome.a) await txA.commit();
      else await txA.abort();
      if (txB) {
        if (outcome.b) await txB.commit();
        else await txB.abort();
      }
      for (const { p, who, value } of sent) if (outcome[who]) committed.get(p)!.push(value);
      for (const p of PARTITIONS) markers[p] += withB ? 2 : 1;
    }
  } finally {
    await a.disconnect();
    await b.disconnect();
  }
  const hw = await waitStable(broker.port, topic, PARTITIONS, 15_000, ctx);
  assert.deepEqual(hw, PARTITIONS.map((p) => all.get(p)!.length + markers[p]!), `HW counts every record and one marker per transaction\n${ctx()}`);
  const expectedTotal = [...committed.values()].flat().length;
  t.diagnostic(`${[...all.values()].flat().length} records sent, ${expectedTotal} committed; HW ${hw}`);

  /** Consumes with `c` until `want` records arrived and the group committed the offsets after the last ones. */
  const drain = async (c: Awaited<ReturnType<typeof collect>>, name: string, group: string, want: number) => {
    const lastOf = (p: number) => c.got.get(p)!.at(-1)?.offset ?? -1;
    let offsets: Array<{ offset: number; errorCode: number }> = [];
    await waitFor(`${name}: ${want} records`, () => c.total() >= want || c.crashed() !== undefined, 30_000, () => `received ${c.total()}\n${ctx()}`);
    // kafkajs commits the offset after the last record it delivered, or past the trailing
    // markers when they came in an answer of their own (the Java consumer commits its position,
    // past them).
    await waitFor(`${name}: committed offsets after the last records`, async () => {
      offsets = await committedOffsets(broker.port, group, topic, PARTITIONS);
      return offsets.every((o, p) => o.offset > lastOf(p));
    }, 15_000, () => `committed ${JSON.stringify(offsets)}, last records at ${PARTITIONS.map(lastOf)}\n${ctx()}`);
    const hw = await endOffsets(broker.port, topic, PARTITIONS, IsolationLevel.READ_UNCOMMITTED);
    assert.ok(offsets.every((o, p) => o.offset <= hw[p]!), `${name}: committed offsets ${JSON.stringify(offsets)} within the HW ${hw}`);
    await sleep(300); // anything more would be a duplicate
    assert.equal(c.crashed(), undefined, `${name}: consumer crashed`);
    for (const p of PARTITIONS) {
      const got = c.got.get(p)!;
      assert.ok(got.every((r, i) => i === 0 || r.offset > got[i - 1]!.offset), `${name}, partition ${p}: offsets rise`);
    }
  };

  const ru = await collect(topic, 'kj-txn-ru', true);
  try {
    await drain(ru, 'read_uncommitted', 'kj-txn-ru', [...all.values()].flat().length);
  } finally {
    await ru.close();
  }
  for (const p of PARTITIONS) assert.deepEqual(ru.got.get(p)!.map((r) => r.value), all.get(p), `read_uncommitted, partition ${p}: every record sent, in order, each once, no marker\n${ctx()}`);

  const rc = await collect(topic, 'kj-txn-rc', false);
  try {
    await drain(rc, 'read_committed', 'kj-txn-rc', [...committed.values()].flat().length);
  } finally {
    await rc.close();
  }
  for (const p of PARTITIONS) {
    const got = rc.got.get(p)!;
    assert.deepEqual(got.map((r) => r.value), committed.get(p), `read_committed, partition ${p}: exactly the committed records, in order, each once\n${ctx()}`);
    assert.ok(hw[p]! > got.at(-1)!.offset + 1, `partition ${p}: markers follow the last committed record`);
  }

  // A new member of the group resumes at the trailing markers: it delivers nothing, and the
  // records of a later transaction come next, each once.
  const again = await collect(topic, 'kj-txn-rc', false);
  try {
    await waitFor('the new member fetching', () => again.fetches() >= 3 || again.crashed() !== undefined, 30_000, ctx);
    assert.equal(again.total(), 0, `the new member delivers nothing at the markers\n${ctx()}`);
    const c = txnProducer('kj-txn-a');
    await c.connect();
    try {
      const tx = await c.transaction();
      await tx.send({ topic, acks: -1, messages: PARTITIONS.map((partition) => ({ partition, value: `tail-p${partition}` })) });
      await tx.commit();
      for (const p of PARTITIONS) {
        committed.get(p)!.push(`tail-p${p}`);
        markers[p]!++;
      }
    } finally {
      await c.disconnect();
    }
    await drain(again, 'read_committed after the markers', 'kj-txn-rc', 3);
    for (const p of PARTITIONS) {
      assert.deepEqual(again.got.get(p)!.map((r) => [r.offset, r.value]), [[hw[p], `tail-p${p}`]], `partition ${p}: the next record, right after the markers\n${ctx()}`);
    }
  } finally {
    await again.close();
  }
  // The broker's answers themselves, read on the wire.
  await waitStable(broker.port, topic, PARTITIONS, 15_000, ctx);
  for (const p of PARTITIONS) {
    const w = await readIsolated(broker.port, topic, p, IsolationLevel.READ_COMMITTED);
    assert.deepEqual(w.records.map((r) => r.value!.toString()), committed.get(p), `partition ${p}: wire read_committed\n${ctx()}`);
    assert.equal(w.markers.length, markers[p], `partition ${p}: one marker per transaction`);
  }
});

test('consume-transform-produce: offsets sent to a transaction are committed with it and dropped when it aborts', { timeout: 120_000 }, async () => {
  const input = 'kj-ctp-in';
  const output = 'kj-ctp-out';
  const group = 'kj-ctp';
  await createTopic(input);
  await createTopic(output);
  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await plain.connect();
  await plain.send({ topic: input, acks: -1, messages: Array.from({ length: 60 }, (_, i) => ({ partition: i % P, key: `k${i}`, value: `in-${i}` })) });
  await plain.disconnect();

  const producer = txnProducer('kj-ctp-tx');
  await producer.connect();
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200, maxBytesPerPartition: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  // Every third transaction is aborted; its batch is then consumed again from the committed
  // offset (the consumer seeks back), and transformed in a later, committed transaction.
  const outputs: string[] = [];
  let attempts = 0;
  let aborted = 0;
  let sawPending = false;
  let failure: unknown;
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isStale, isRunning }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      try {
        const abort = ++attempts % 3 === 0;
        const tx = await producer.transaction();
        const values = batch.messages.map((m) => `out-of-${m.value!.toString()}`);
        await tx.send({ topic: output, acks: -1, messages: values.map((value) => ({ partition: batch.partition, value })) });
        const next = String(Number(batch.lastOffset()) + 1);
        await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: batch.partition, offset: next }] }] });
        const pending = await committedOffsets(broker.port, group, input, [batch.partition], true);
        if (pending[0]!.errorCode === UNSTABLE_OFFSET_COMMIT) sawPending = true;
        if (abort) {
          await tx.abort();
          aborted++;
          consumer.seek({ topic: input, partition: batch.partition, offset: batch.firstOffset()! });
          return;
        }
        await tx.commit();
        outputs.push(...values);
        resolveOffset(batch.lastOffset());
        await heartbeat();
      } catch (e) {
        failure ??= e;
        throw e;
      }
    },
  });
  let offsets: Array<{ offset: number; errorCode: number }> = [];
  try {
    await waitFor('the group\'s committed offsets at the input\'s end (20 per partition)', async () => {
      offsets = await committedOffsets(broker.port, group, input, PARTITIONS);
      return offsets.every((o) => o.offset === 20) || failure !== undefined;
    }, 60_000, () => `committed ${JSON.stringify(offsets)}, ${attempts} transactions, ${aborted} aborted\n${ctx()}`);
  } finally {
    await Promise.race([consumer.disconnect(), sleep(15_000)]);
    await producer.disconnect();
  }
  assert.equal(failure, undefined, `transform loop failed: ${failure}`);
  assert.ok(aborted > 0, 'some transactions were aborted');
  assert.ok(sawPending, 'OffsetFetch requireStable answered UNSTABLE_OFFSET_COMMIT for an offset sent to an open transaction');
  await waitStable(broker.port, output, PARTITIONS, 15_000, ctx);
  const stable = await committedOffsets(broker.port, group, input, PARTITIONS, true);
  assert.deepEqual(stable.map((o) => [o.offset, o.errorCode]), [[20, 0], [20, 0], [20, 0]], `nothing pending at the end\n${ctx()}`);
  const seen: string[] = [];
  let dropped = 0;
  for (const p of PARTITIONS) {
    const w = await readIsolated(broker.port, output, p, IsolationLevel.READ_COMMITTED);
    seen.push(...w.records.map((r) => r.value!.toString()));
    dropped += w.dropped.length;
  }
  const expected = Array.from({ length: 60 }, (_, i) => `out-of-in-${i}`);
  assert.deepEqual(seen.slice().sort(), expected.slice().sort(), `output: every input transformed exactly once\n${ctx()}`);
  assert.deepEqual(outputs.slice().sort(), expected.slice().sort(), 'the loop committed every input once');
  assert.ok(dropped > 0, 'aborted attempts are in the log, dropped by read_committed');
});
