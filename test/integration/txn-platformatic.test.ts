// Transactions with @platformatic/kafka (the project's client library):
//  - two transactional producers interleave transactions over a 3-partition topic, committing
//    some and aborting others; while one is open the last stable offset sits at its first
//    offset; a read_committed consumer then sees exactly the committed records, in order per
//    partition, each once, and its next offsets end past the COMMIT/ABORT markers (the high
//    watermarks); a read_uncommitted consumer sees the aborted records too, never a marker;
//  - consumer offsets added to a transaction (addConsumer + addOffset: AddOffsetsToTxn and
//    TxnOffsetCommit) are pending while it is open, committed with it, dropped when it aborts;
//  - a read_committed consumer at the tail gets a transaction's records only once it commits.
// Each read through the client is checked against a wire-level read (test/helpers/txn-wire.ts).
// KAFKA_PEER_CMD runs the same tests against another broker (see test/helpers/broker-or-peer.ts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Admin, Consumer, Producer, FetchIsolationLevels, MessagesStreamModes, stringDeserializers, stringSerializers,
  type Message, type MessagesStream,
} from '@platformatic/kafka';
import { brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { startBrokerOrPeer, brokerKind } from '../helpers/broker-or-peer.js';
import { committedOffsets, endOffsets, readIsolated, waitStable, IsolationLevel, UNSTABLE_OFFSET_COMMIT } from '../helpers/txn-wire.js';
import { sleep, waitFor } from '../helpers/wait.js';

const P = 3;
const PARTITIONS = [0, 1, 2];

let broker: BrokerProcess;
before(async () => {
  // Groups form at once, as in the Kafka the tests were checked against (Kafka's default delay is 3 s).
  broker = await startBrokerOrPeer({ settings: { 'group.initial.rebalance.delay.ms': '0' } });
});
after(async () => {
  await broker.stop();
  await broker.cleanup();
});

const ctx = () => `broker: ${brokerKind}\n--- broker log (tail) ---\n${brokerTail(broker, 40)}`;
const base = () => ({ clientId: 'txn-platformatic', bootstrapBrokers: [broker.bootstrap], retries: 10, retryDelay: 200 });

async function createTopic(name: string, partitions = P): Promise<void> {
  const admin = new Admin(base());
  try {
    await admin.createTopics({ topics: [name], partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

function txnProducer(transactionalId: string): Producer<string, string, string, string> {
  return new Producer({ ...base(), serializers: stringSerializers, idempotent: true, transactionalId });
}

type Msg = Message<string, string, string, string>;

/** A consumer of `topic` from the earliest offset in its own group; collects what it receives per partition. */
async function collect(topic: string, group: string, isolationLevel: number) {
  const consumer = new Consumer({
    ...base(), groupId: group, deserializers: stringDeserializers, isolationLevel, autocommit: false, maxWaitTime: 200,
    sessionTimeout: 10_000, heartbeatInterval: 500,
  });
  const stream: MessagesStream<string, string, string, string> = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
  const got = new Map<number, Msg[]>(PARTITIONS.map((p) => [p, []]));
  let error: Error | undefined;
  stream.on('data', (m: Msg) => got.get(m.partition)!.push(m));
  stream.on('error', (e: Error) => (error = e));
  return {
    got,
    total: () => [...got.values()].reduce((n, ms) => n + ms.length, 0),
    nextOffset: (p: number) => stream.offsetsToFetch.get(`${topic}:${p}`),
    error: () => error,
    close: async () => {
      await stream.close().catch(() => undefined);
      await consumer.close().catch(() => undefined);
    },
  };
}

test('two producers interleave committed and aborted transactions over 3 partitions: LSO at the oldest open one; read_committed (wire) sees exactly the committed records, read_uncommitted (client and wire) every record', { timeout: 120_000 }, async (t) => {
  const topic = 'pl-txn';
  await createTopic(topic);
  const a = txnProducer('pl-txn-a');
  const b = txnProducer('pl-txn-b');
  const all = new Map<number, string[]>(PARTITIONS.map((p) => [p, []])); // every record sent, in offset order
  const committed = new Map<number, string[]>(PARTITIONS.map((p) => [p, []])); // those of committed transactions
  const markers = new Map<number, { commit: number; abort: number }>(PARTITIONS.map((p) => [p, { commit: 0, abort: 0 }]));
  const endOf = (p: number) => all.get(p)!.length + markers.get(p)!.commit + markers.get(p)!.abort;
  // A read_uncommitted consumer at the tail.
  const ru = await collect(topic, 'pl-txn-ru', FetchIsolationLevels.READ_UNCOMMITTED);
  let lsoChecked = false;
  try {
    for (let r = 0; r < 9; r++) {
      const sent: Array<{ p: number; who: 'a' | 'b'; value: string }> = []; // this round's records, in send order
      /** Sends `count` records to every partition in `tx`; returns their base offset per partition. */
      const send = async (tx: Awaited<ReturnType<Producer<string, string, string, string>['beginTransaction']>>, who: 'a' | 'b', from: number, count: number) => {
        const messages = PARTITIONS.flatMap((p) => Array.from({ length: count }, (_, j) => ({ topic, partition: p, key: `${who}${r}`, value: `${who}${r}-p${p}-${from + j}` })));
        const res = await tx.send({ messages });
        for (const m of messages) {
          all.get(m.partition)!.push(m.value);
          sent.push({ p: m.partition, who, value: m.value });
        }
        return PARTITIONS.map((p) => Number(res.offsets!.find((o) => o.topic === topic && o.partition === p)!.offset));
      };
      // A begins, B begins in even rounds, their records interleave in every partition.
      const txA = await a.beginTransaction();
      const firstA = await send(txA, 'a', 0, 2);
      const withB = r % 2 === 0;
      const txB = withB ? await b.beginTransaction() : undefined;
      if (txB) await send(txB, 'b', 0, 2);
      await send(txA, 'a', 2, 1);
      if (r === 4) {
        // Both open: the last stable offset is A's first offset in each partition (A began
        // first), the high watermark is past everything written.
        const lso = await endOffsets(broker.port, topic, PARTITIONS, IsolationLevel.READ_COMMITTED);
        const hw = await endOffsets(broker.port, topic, PARTITIONS, IsolationLevel.READ_UNCOMMITTED);
        assert.deepEqual(lso, firstA, `LSO while transactions are open (HW ${hw})\n${ctx()}`);
        for (const p of PARTITIONS) assert.equal(hw[p], firstA[p]! + 5, `HW of partition ${p} while transactions are open\n${ctx()}`);
        lsoChecked = true;
      }
      const commitA = r % 3 !== 1;
      const commitB = r % 4 === 0;
      if (commitA) await txA.commit();
      else await txA.abort();
      if (txB) {
        if (commitB) await txB.commit();
        else await txB.abort();
      }
      // The records of committed transactions, in offset order (sends were sequential).
      const outcome = { a: commitA, b: commitB };
      for (const { p, who, value } of sent) if (outcome[who]) committed.get(p)!.push(value);
      for (const p of PARTITIONS) {
        markers.get(p)![commitA ? 'commit' : 'abort']++;
        if (withB) markers.get(p)![commitB ? 'commit' : 'abort']++;
      }
      // EndTxn may answer before the markers are written (Kafka writes them afterwards).
      const hw = await waitStable(broker.port, topic, PARTITIONS, 15_000, ctx);
      assert.deepEqual(hw, PARTITIONS.map(endOf), `round ${r}: HW counts every record and one marker per transaction\n${ctx()}`);
    }
    assert.ok(lsoChecked);
    const hw = PARTITIONS.map(endOf);
    await waitFor('the read_uncommitted consumer\'s next offsets at the HW',
      () => PARTITIONS.every((p) => ru.nextOffset(p) === BigInt(hw[p]!)) || ru.error() !== undefined, 30_000,
      () => `next offsets ${PARTITIONS.map((p) => ru.nextOffset(p))}, HW ${hw}, received ${ru.total()}\n${ctx()}`);
    assert.equal(ru.error(), undefined, 'read_uncommitted consumer error');
    await sleep(300); // anything more would be a duplicate
    for (const p of PARTITIONS) {
      assert.deepEqual(ru.got.get(p)!.map((m) => m.value), all.get(p), `partition ${p}: read_uncommitted sees every record sent, in order, each once, no marker\n${ctx()}`);
    }
  } finally {
    await a.close().catch(() => undefined);
    await b.close().catch(() => undefined);
    await ru.close();
  }
  const hw = PARTITIONS.map(endOf);
  t.diagnostic(`${[...all.values()].flat().length} records sent, ${[...committed.values()].flat().length} committed; HW ${hw}`);

  // The same through the wire: markers where expected, aborted records dropped by producer id.
  for (const p of PARTITIONS) {
    const w = await readIsolated(broker.port, topic, p, IsolationLevel.READ_COMMITTED);
    assert.deepEqual(w.records.map((r) => r.value!.toString()), committed.get(p), `partition ${p}: wire read_committed\n${ctx()}`);
    assert.deepEqual(w.dropped.map((r) => r.value!.toString()).sort(), all.get(p)!.filter((v) => !committed.get(p)!.includes(v)).sort(), `partition ${p}: aborted records\n${ctx()}`);
    assert.equal(w.markers.filter((m) => m.type === 'commit').length, markers.get(p)!.commit, `partition ${p}: COMMIT markers`);
    assert.equal(w.markers.filter((m) => m.type === 'abort').length, markers.get(p)!.abort, `partition ${p}: ABORT markers`);
    assert.equal(w.nextOffset, hw[p], `partition ${p}: wire read_committed ends at the HW`);
    assert.ok(w.records.every((r) => r.transactional), `partition ${p}: every record is in a transactional batch`);
    const u = await readIsolated(broker.port, topic, p, IsolationLevel.READ_UNCOMMITTED);
    assert.deepEqual(u.records.map((r) => r.value!.toString()), all.get(p), `partition ${p}: wire read_uncommitted\n${ctx()}`);
  }

  // The same through @platformatic/kafka's read_committed consumer: a todo, for the client's
  // filter (#filterUncommittedMessages, 1.35.0 and still 2.12.1) drops a producer's aborted
  // records only between the first offset the Fetch answer lists and an ABORT marker of that
  // producer in the same answer, and keeps one such range per producer id. So records leak
  // when the marker is not in the answer (here: A aborted while B's transaction is still open,
  // the answer ends at B's first offset, the LSO) and when one answer lists several aborted
  // transactions of one producer (a consumer catching up). Apache Kafka 4.4.0 gives the
  // answers the wire check above accepts; the Java algorithm keeps a producer aborted from
  // the listed first offset until its ABORT marker, whichever answer carries it.
  await t.test('@platformatic/kafka read_committed consumer catching up from the earliest offset sees exactly the committed records', {
    todo: '@platformatic/kafka read_committed leaks aborted records when the ABORT marker is not in the same Fetch answer, or one answer lists several aborted transactions of a producer',
  }, async () => {
    const late = await collect(topic, 'pl-txn-late', FetchIsolationLevels.READ_COMMITTED);
    try {
      await waitFor('the catching-up consumer at the HW', () => PARTITIONS.every((p) => late.nextOffset(p) === BigInt(hw[p]!)), 30_000,
        () => `next offsets ${PARTITIONS.map((p) => late.nextOffset(p))}, HW ${hw}\n${ctx()}`);
      await sleep(300);
      for (const p of PARTITIONS) assert.deepEqual(late.got.get(p)!.map((m) => m.value), committed.get(p), `partition ${p}: read_committed from the earliest offset`);
    } finally {
      await late.close();
    }
  });
});

test('one producer\'s transactions committed and aborted in turn over 3 partitions: a read_committed consumer at the tail sees exactly the committed ones and moves past the markers', { timeout: 120_000 }, async () => {
  // Each transaction ends before the next begins and the consumer reaches the end before the
  // next one, so every Fetch answer carries at most one transaction with its marker (the shape
  // @platformatic/kafka's read_committed filter handles; see the todo above).
  const topic = 'pl-seq';
  await createTopic(topic);
  const producer = txnProducer('pl-seq-tx');
  const rc = await collect(topic, 'pl-seq-rc', FetchIsolationLevels.READ_COMMITTED);
  const committed = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]));
  const end = [0, 0, 0];
  try {
    for (let r = 0; r < 12; r++) {
      const commit = r % 3 !== 2;
      const tx = await producer.beginTransaction();
      // 1..3 records per partition, partition 2 left out of every fourth transaction.
      const messages = PARTITIONS.filter((p) => p !== 2 || r % 4 !== 3)
        .flatMap((p) => Array.from({ length: 1 + ((r + p) % 3) }, (_, j) => ({ topic, partition: p, key: `t${r}`, value: `t${r}-p${p}-${j}` })));
      await tx.send({ messages });
      if (commit) await tx.commit();
      else await tx.abort();
      for (const m of messages) {
        end[m.partition]!++;
        if (commit) committed.get(m.partition)!.push(m.value);
      }
      for (const p of new Set(messages.map((m) => m.partition))) end[p]!++; // its marker
      const hw = await waitStable(broker.port, topic, PARTITIONS, 15_000, ctx);
      assert.deepEqual(hw, end, `transaction ${r}: HW counts its records and one marker per partition it wrote to\n${ctx()}`);
      await waitFor(`transaction ${r}: the consumer's next offsets at the HW, past the markers`,
        () => PARTITIONS.every((p) => rc.nextOffset(p) === BigInt(hw[p]!)) || rc.error() !== undefined, 30_000,
        () => `next offsets ${PARTITIONS.map((p) => rc.nextOffset(p))}, HW ${hw}, received ${rc.total()}\n${ctx()}`);
      assert.equal(rc.error(), undefined, 'consumer error');
      for (const p of PARTITIONS) {
        assert.deepEqual(rc.got.get(p)!.map((m) => m.value), committed.get(p), `transaction ${r} (${commit ? 'committed' : 'aborted'}), partition ${p}: exactly the committed records so far\n${ctx()}`);
      }
    }
    await sleep(300); // anything more would be a duplicate
    for (const p of PARTITIONS) {
      const got = rc.got.get(p)!;
      assert.deepEqual(got.map((m) => m.value), committed.get(p), `partition ${p}: exactly the committed records, in order, each once\n${ctx()}`);
      const offsets = got.map((m) => Number(m.offset));
      assert.ok(offsets.every((o, i) => i === 0 || o > offsets[i - 1]!), `partition ${p}: offsets rise`);
      assert.ok(offsets.length < end[p]! - 1 && end[p]! > offsets.at(-1)! + 1, `partition ${p}: markers and aborted records took offsets the consumer skipped`);
    }
  } finally {
    await producer.close().catch(() => undefined);
    await rc.close();
  }
});

test('consumer offsets added to a transaction are pending while it is open, committed with it, dropped when it aborts', { timeout: 120_000 }, async () => {
  const input = 'pl-ctp-in';
  const output = 'pl-ctp-out';
  const group = 'pl-ctp';
  await createTopic(input);
  await createTopic(output);
  const plain = new Producer({ ...base(), serializers: stringSerializers, idempotent: true, acks: -1 });
  try {
    await plain.send({ messages: Array.from({ length: 30 }, (_, i) => ({ topic: input, partition: i % P, key: `k${i}`, value: `in-${i}` })) });
  } finally {
    await plain.close();
  }
  const consumer = new Consumer({
    ...base(), groupId: group, deserializers: stringDeserializers, isolationLevel: FetchIsolationLevels.READ_COMMITTED, autocommit: false,
    maxWaitTime: 200, sessionTimeout: 10_000, heartbeatInterval: 500,
  });
  const producer = txnProducer('pl-ctp-tx');
  const stream = await consumer.consume({ topics: [input], mode: MessagesStreamModes.COMMITTED, fallbackMode: 'earliest' });
  const got = new Map<number, Msg[]>(PARTITIONS.map((p) => [p, []]));
  stream.on('data', (m: Msg) => got.get(m.partition)!.push(m));
  const committed = () => committedOffsets(broker.port, group, input, PARTITIONS);
  /** The committed offsets once no transactional offset of the group is pending (its transaction's end fully applied). */
  const settled = async () => {
    let last: Array<{ offset: number; errorCode: number }> = [];
    await waitFor('no pending transactional offset', async () => {
      last = await committedOffsets(broker.port, group, input, PARTITIONS, true);
      return last.every((c) => c.errorCode !== UNSTABLE_OFFSET_COMMIT);
    }, 15_000, () => `OffsetFetch requireStable: ${JSON.stringify(last)}\n${ctx()}`);
    assert.deepEqual(last.map((c) => c.errorCode), [0, 0, 0], `OffsetFetch requireStable errors\n${ctx()}`);
    return last.map((c) => c.offset);
  };
  try {
    await waitFor('30 input records', () => [...got.values()].every((ms) => ms.length === 10), 30_000, () => `got ${[...got.values()].map((ms) => ms.length)}\n${ctx()}`);
    const transform = async (p: number, commit: boolean) => {
      const tx = await producer.beginTransaction();
      const ms = got.get(p)!;
      await tx.send({ messages: ms.map((m) => ({ topic: output, partition: p, key: m.key, value: `out-of-${m.value}` })) });
      await tx.addConsumer(consumer);
      await tx.addOffset(ms.at(-1)!);
      return { tx, commit: () => (commit ? tx.commit() : tx.abort()) };
    };
    assert.deepEqual((await committed()).map((c) => c.offset), [-1, -1, -1], 'nothing committed yet');

    // Partition 0 in a committed transaction; while it is open its offset is pending.
    const t0 = await transform(0, true);
    const stable = await committedOffsets(broker.port, group, input, PARTITIONS, true);
    assert.equal(stable[0]!.errorCode, UNSTABLE_OFFSET_COMMIT, `OffsetFetch requireStable on a pending transactional offset: UNSTABLE_OFFSET_COMMIT\n${ctx()}`);
    assert.deepEqual((await committed()).map((c) => c.offset), [-1, -1, -1], `a pending transactional offset is not committed yet\n${ctx()}`);
    await t0.commit();
    assert.deepEqual(await settled(), [10, -1, -1], `offset committed with its transaction\n${ctx()}`);

    // Partition 1 in an aborted transaction: its offset is never committed.
    await (await transform(1, false)).commit();
    assert.deepEqual(await settled(), [10, -1, -1], `an aborted transaction commits no offset\n${ctx()}`);

    // Partitions 1 and 2 in one committed transaction.
    const tx = await producer.beginTransaction();
    for (const p of [1, 2]) await tx.send({ messages: got.get(p)!.map((m) => ({ topic: output, partition: p, key: m.key, value: `out-of-${m.value}` })) });
    await tx.addConsumer(consumer);
    await tx.addOffset(got.get(1)!.at(-1)!);
    await tx.addOffset(got.get(2)!.at(-1)!);
    await tx.commit();
    assert.deepEqual(await settled(), [10, 10, 10], `offsets of two partitions committed with their transaction\n${ctx()}`);
    assert.deepEqual((await committed()).map((c) => c.offset), [10, 10, 10], `the same without requireStable\n${ctx()}`);
  } finally {
    await stream.close().catch(() => undefined);
    await consumer.close().catch(() => undefined);
    await producer.close().catch(() => undefined);
  }
  await waitStable(broker.port, output, PARTITIONS, 15_000, ctx);
  for (const p of PARTITIONS) {
    const w = await readIsolated(broker.port, output, p, IsolationLevel.READ_COMMITTED);
    assert.deepEqual(w.records.map((r) => r.value!.toString()), got.get(p)!.map((m) => `out-of-${m.value}`), `output partition ${p}: the committed transformation only\n${ctx()}`);
    if (p === 1) assert.equal(w.dropped.length, 10, 'output partition 1: the aborted attempt is dropped');
  }
});

test('a read_committed consumer at the tail gets a transaction\'s records only when it commits', { timeout: 60_000 }, async () => {
  const topic = 'pl-tail';
  await createTopic(topic, 1);
  const rc = await collect(topic, 'pl-tail-rc', FetchIsolationLevels.READ_COMMITTED);
  const producer = txnProducer('pl-tail-tx');
  try {
    await waitFor('the consumer fetching', () => rc.nextOffset(0) !== undefined, 30_000, ctx);
    const tx = await producer.beginTransaction();
    await tx.send({ messages: [0, 1, 2].map((i) => ({ topic, partition: 0, key: 'k', value: `v${i}` })) });
    const hw = await endOffsets(broker.port, topic, [0], IsolationLevel.READ_UNCOMMITTED);
    assert.deepEqual(hw, [3], 'the records are written');
    await sleep(1000);
    assert.equal(rc.total(), 0, `nothing delivered while the transaction is open\n${ctx()}`);
    await tx.commit();
    await waitFor('the committed records', () => rc.total() === 3, 15_000, () => `received ${rc.total()}\n${ctx()}`);
    assert.deepEqual(rc.got.get(0)!.map((m) => m.value), ['v0', 'v1', 'v2']);
  } finally {
    await producer.close().catch(() => undefined);
    await rc.close();
  }
});

test('idempotent and transactional producers each get a producer id of their own: nothing is dropped as another producer\'s duplicate', { timeout: 60_000 }, async () => {
  // @platformatic/kafka sends InitProducerId (v3+) with producer id 0 and epoch 0 when it has
  // none yet. Kafka hands a producer without a transactional id a new producer id whatever it
  // sends, and a new transactional id a new one too.
  const topic = 'pl-ids';
  await createTopic(topic, 1);
  const ids: string[] = [];
  const offsets: bigint[] = [];
  for (const value of ['idem-1', 'idem-2']) {
    const p = new Producer({ ...base(), serializers: stringSerializers, idempotent: true, acks: -1 });
    try {
      const res = await p.send({ messages: [{ topic, partition: 0, key: 'k', value }] });
      ids.push(`${p.producerId}/${p.producerEpoch}`);
      offsets.push(res.offsets![0]!.offset);
    } finally {
      await p.close();
    }
  }
  assert.notEqual(ids[0], ids[1], `two idempotent producers got the same producer id and epoch (${ids})\n${ctx()}`);
  assert.deepEqual(offsets, [0n, 1n], `each record acknowledged at its own offset\n${ctx()}`);
  const tx = txnProducer('pl-ids-tx');
  try {
    const t = await tx.beginTransaction();
    await t.send({ messages: [{ topic, partition: 0, key: 'k', value: 'txn-1' }] });
    await t.commit();
    assert.ok(!ids.includes(`${tx.producerId}/${tx.producerEpoch}`), `the transactional producer shares an idempotent producer's id (${tx.producerId}/${tx.producerEpoch}, ${ids})`);
  } finally {
    await tx.close().catch(() => undefined);
  }
  await waitStable(broker.port, topic, [0], 15_000, ctx);
  const w = await readIsolated(broker.port, topic, 0, IsolationLevel.READ_COMMITTED);
  assert.deepEqual(w.records.map((r) => r.value!.toString()), ['idem-1', 'idem-2', 'txn-1'], `every record stored once\n${ctx()}`);
});

// A pipeline worker restarting with its transactional id needs this. @platformatic/kafka 1.35.0
// (and 2.12.1) sends InitProducerId v3+ with producer id 0 and epoch 0 when it has none, where
// the Java client sends -1/-1: Apache Kafka 4.4.0 then answers PRODUCER_FENCED to every new
// instance of a transactional id whose producer id is not 0 (KIP-360: an expected id and epoch
// that do not match the current ones).
test('a new @platformatic/kafka producer instance takes over its transactional id', {
  todo: '@platformatic/kafka sends InitProducerId with producer id 0 / epoch 0 instead of -1 / -1: a new instance is fenced',
  timeout: 60_000,
}, async () => {
  const topic = 'pl-takeover';
  await createTopic(topic, 1);
  for (const value of ['first instance', 'second instance']) {
    const p = txnProducer('pl-takeover-tx');
    try {
      const tx = await p.beginTransaction();
      await tx.send({ messages: [{ topic, partition: 0, key: 'k', value }] });
      await tx.commit();
    } finally {
      await p.close().catch(() => undefined);
    }
  }
  await waitStable(broker.port, topic, [0], 15_000, ctx);
  const w = await readIsolated(broker.port, topic, 0, IsolationLevel.READ_COMMITTED);
  assert.deepEqual(w.records.map((r) => r.value!.toString()), ['first instance', 'second instance']);
});
