// The client pieces of a stream runtime against a real broker:
//  - GroupMember (KIP-848): two members share 4 partitions; a partition moves to the second
//    member only after the first one's onRevoke for it finished; leaving hands them back;
//  - StreamProducer: records sent without awaiting each get their offsets; one TxnOffsetCommit
//    with the member's epoch commits offsets with the transaction, a stale epoch is fenced;
//  - fetchCommittedOffsets with requireStable waits for an open transaction holding offsets;
//  - a new producer instance with the same transactional id fences the old one.
// KAFKA_PEER_CMD runs the same tests against another broker (see test/helpers/broker-or-peer.ts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '@platformatic/kafka';
import { brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { startBrokerOrPeer, brokerKind } from '../helpers/broker-or-peer.js';
import { readIsolated, waitStable, IsolationLevel } from '../helpers/txn-wire.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { GroupMember, type TopicPartition } from '../../src/client/group-member.js';
import { StreamProducer, partitionForKey } from '../../src/client/stream-producer.js';
import { commitOffsets, fetchCommittedOffsets } from '../../src/client/committed-offsets.js';
import { FencedError } from '../../src/client/errors.js';

let broker: BrokerProcess;
let admin: Admin;
before(async () => {
  broker = await startBrokerOrPeer({ settings: { 'group.consumer.heartbeat.interval.ms': '200' } });
  admin = new Admin(base());
});
after(async () => {
  await admin.close().catch(() => undefined);
  await broker.stop();
  await broker.cleanup();
});

const ctx = () => `broker: ${brokerKind}\n--- broker log (tail) ---\n${brokerTail(broker, 40)}`;
function base() {
  return { clientId: 'client-group-txn', bootstrapBrokers: [broker.bootstrap], retries: 5, retryDelay: 200 };
}
const names = (ps: TopicPartition[]) => ps.map((p) => `${p.topic}-${p.partition}`).sort();

async function createTopic(name: string, partitions: number): Promise<void> {
  await admin.createTopics({ topics: [name], partitions, replicas: 1 });
}

function member(groupId: string, topics: string[], events: string[], who: string, revokeMs = 0): GroupMember {
  const m: GroupMember = new GroupMember({
    client: admin,
    groupId,
    topics,
    onAssign: (ps) => void events.push(...names(ps).map((p) => `${who} assign ${p}`)),
    onRevoke: async (ps) => {
      events.push(...names(ps).map((p) => `${who} revoke ${p}`));
      // A runtime commits here; the partition must not move before it is done.
      if (revokeMs > 0) await sleep(revokeMs);
      events.push(...names(ps).map((p) => `${who} revoked ${p}`));
    },
    onLost: (ps) => void events.push(...names(ps).map((p) => `${who} lost ${p}`)),
    onError: (e) => events.push(`${who} error ${String(e)}`),
  });
  return m;
}

test('two members share 4 partitions: a partition reaches the new member only after the old one\'s onRevoke finished; leaving hands them back', { timeout: 60_000 }, async () => {
  const topic = 'cg-share';
  await createTopic(topic, 4);
  const events: string[] = [];
  const a = member('cg-share-group', [topic], events, 'A', 700);
  const b = member('cg-share-group', [topic], events, 'B', 300);
  try {
    await a.start();
    await waitFor('A owns all 4 partitions', () => a.assignment().length === 4, 15_000, () => `${events.join('\n')}\n${ctx()}`);
    const epochAlone = a.memberEpoch;
    assert.ok(epochAlone > 0, `A's epoch after joining: ${epochAlone}`);
    await b.start();
    await waitFor('A and B own 2 partitions each', () => a.assignment().length === 2 && b.assignment().length === 2, 20_000,
      () => `A ${names(a.assignment())} B ${names(b.assignment())}\n${events.join('\n')}\n${ctx()}`);
    assert.deepEqual([...names(a.assignment()), ...names(b.assignment())].sort(), [0, 1, 2, 3].map((p) => `${topic}-${p}`), 'every partition owned once');
    assert.ok(a.memberEpoch > epochAlone, `A's epoch moves with the rebalance (${epochAlone} -> ${a.memberEpoch})`);
    for (const p of names(b.assignment())) {
      const revoked = events.indexOf(`A revoked ${p}`);
      const assigned = events.indexOf(`B assign ${p}`);
      assert.ok(revoked >= 0 && assigned > revoked, `${p}: A's onRevoke finished (at ${revoked}) before B got it (at ${assigned})\n${events.join('\n')}`);
    }
    // B leaves: its onRevoke runs first, then A gets its partitions back.
    const fromB = names(b.assignment());
    await b.close();
    await waitFor('A owns all 4 again', () => a.assignment().length === 4, 20_000, () => `${events.join('\n')}\n${ctx()}`);
    for (const p of fromB) {
      assert.ok(events.indexOf(`B revoked ${p}`) < events.indexOf(`A assign ${p}`, events.indexOf(`B revoke ${p}`)), `${p}: B released it before A got it back\n${events.join('\n')}`);
    }
    assert.ok(!events.some((e) => / error | lost /.test(e)), `no error or lost partition\n${events.join('\n')}`);
  } finally {
    await b.close().catch(() => undefined);
    await a.close().catch(() => undefined);
  }
  assert.equal(a.memberEpoch, -1, 'left the group');
});

test('a transaction: records sent without awaiting each get their offsets; one TxnOffsetCommit with a stale member epoch is fenced, with the current one it commits with the transaction', { timeout: 60_000 }, async () => {
  const input = 'cg-txn-in';
  const output = 'cg-txn-out';
  const groupId = 'cg-txn-group';
  await createTopic(input, 4);
  await createTopic(output, 2);
  const events: string[] = [];
  const a = member(groupId, [input], events, 'A');
  const b = member(groupId, [input], events, 'B');
  const producer = new StreamProducer({ client: base(), transactionalId: 'cg-txn-tx' });
  try {
    await a.start();
    await waitFor('A owns all 4 partitions', () => a.assignment().length === 4, 15_000, ctx);
    const stale = { groupId, memberId: a.memberId, memberEpoch: a.memberEpoch };
    await b.start();
    await waitFor('A and B own 2 partitions each', () => a.assignment().length === 2 && b.assignment().length === 2, 20_000, ctx);
    assert.ok(a.memberEpoch > stale.memberEpoch);

    await producer.init();
    // 50 records to 2 partitions, none awaited before the next is sent.
    const sent = Array.from({ length: 50 }, (_, i) => producer.send({ topic: output, partition: i % 2, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }));
    const offsets = await Promise.all(sent);
    for (const p of [0, 1]) {
      const mine = offsets.filter((_, i) => i % 2 === p).map(Number);
      assert.deepEqual(mine, Array.from({ length: 25 }, (_, j) => j), `partition ${p}: each record's offset, in order`);
    }
    const mineA = a.assignment().map((tp) => ({ ...tp, offset: 7n }));
    await assert.rejects(producer.sendOffsets(stale, mineA), (e: unknown) => e instanceof FencedError && /STALE_MEMBER_EPOCH|ILLEGAL_GENERATION|FENCED_MEMBER_EPOCH/.test((e as FencedError).reason),
      'a TxnOffsetCommit at the epoch before the rebalance is fenced');
    await producer.abort();

    await producer.begin();
    await Promise.all(Array.from({ length: 4 }, (_, i) => producer.send({ topic: output, key: Buffer.from(`c${i}`), value: Buffer.from(`committed-${i}`) })));
    await producer.sendOffsets({ groupId, memberId: a.memberId, memberEpoch: a.memberEpoch }, mineA);
    await producer.commit();
    const committed = await fetchCommittedOffsets(admin, groupId, [0, 1, 2, 3].map((partition) => ({ topic: input, partition })));
    for (const p of [0, 1, 2, 3]) {
      const expected = a.assignment().some((tp) => tp.partition === p) ? 7n : -1n;
      assert.equal(committed.get(`${input}:${p}`), expected, `partition ${p}: committed with the transaction (A's partitions only)`);
    }
    await waitStable(broker.port, output, [0, 1], 15_000, ctx);
    const visible = [];
    for (const p of [0, 1]) visible.push(...(await readIsolated(broker.port, output, p, IsolationLevel.READ_COMMITTED)).records.map((r) => r.value!.toString()));
    assert.deepEqual(visible.sort(), ['committed-0', 'committed-1', 'committed-2', 'committed-3'], `only the committed transaction is visible\n${ctx()}`);
  } finally {
    await producer.close();
    await b.close().catch(() => undefined);
    await a.close().catch(() => undefined);
  }
});

test('fetchCommittedOffsets with requireStable waits while a transaction holding offsets is open', { timeout: 60_000 }, async () => {
  const input = 'cg-stable-in';
  const groupId = 'cg-stable-group';
  await createTopic(input, 1);
  const a = member(groupId, [input], [], 'A');
  const producer = new StreamProducer({ client: base(), transactionalId: 'cg-stable-tx' });
  try {
    await a.start();
    await waitFor('A owns the partition', () => a.assignment().length === 1, 15_000, ctx);
    await producer.init();
    await producer.sendOffsets({ groupId, memberId: a.memberId, memberEpoch: a.memberEpoch }, [{ topic: input, partition: 0, offset: 42n }]);
    let answer: Map<string, bigint> | undefined;
    const asked = fetchCommittedOffsets(admin, groupId, [{ topic: input, partition: 0 }]).then((m) => (answer = m));
    await sleep(1000);
    assert.equal(answer, undefined, 'no answer while the transaction is open');
    await producer.commit();
    await asked;
    assert.equal(answer!.get(`${input}:0`), 42n, 'the offset of the committed transaction');
  } finally {
    await producer.close();
    await a.close().catch(() => undefined);
  }
});

test('a new producer instance with the same transactional id fences the old one; the old one\'s open transaction is aborted', { timeout: 60_000 }, async () => {
  const topic = 'cg-fence';
  await createTopic(topic, 1);
  const first = new StreamProducer({ client: base(), transactionalId: 'cg-fence-tx' });
  const second = new StreamProducer({ client: base(), transactionalId: 'cg-fence-tx' });
  try {
    await first.init();
    await first.send({ topic, partition: 0, key: null, value: Buffer.from('zombie') });
    await second.init();
    assert.ok(second.producerEpoch! > first.producerEpoch!, `epochs ${first.producerEpoch} then ${second.producerEpoch}`);
    await assert.rejects(first.commit(), FencedError, 'the old instance cannot commit');
    await second.send({ topic, partition: 0, key: null, value: Buffer.from('successor') });
    await second.commit();
    // A send while a commit runs belongs to no transaction: it is refused, and the commit under
    // way fails too (the caller meant the record for it), so the caller aborts and retries.
    await second.begin();
    await second.send({ topic, partition: 0, key: null, value: Buffer.from('before the refused one') });
    const committing = second.commit();
    await assert.rejects(second.send({ topic, partition: 0, key: null, value: Buffer.from('during commit') }), /being committed or aborted/, 'a send while committing belongs to no transaction');
    await assert.rejects(committing, /being committed or aborted/, 'the commit under way does not go out without the refused record');
    await second.abort();
  } finally {
    await first.close();
    await second.close();
  }
  await waitStable(broker.port, topic, [0], 15_000, ctx);
  const w = await readIsolated(broker.port, topic, 0, IsolationLevel.READ_COMMITTED);
  assert.deepEqual(w.records.map((r) => r.value!.toString()), ['successor'], `only the successor's record is visible\n${ctx()}`);
});

test('at-least-once: an idempotent producer sends keyed records without awaiting each (Kafka\'s murmur2 partitioner); OffsetCommit at the member\'s epoch commits, at a stale one is fenced', { timeout: 60_000 }, async () => {
  const input = 'cg-alo-in';
  const output = 'cg-alo-out';
  const groupId = 'cg-alo-group';
  await createTopic(input, 2);
  await createTopic(output, 3);
  const a = member(groupId, [input], [], 'A');
  const b = member(groupId, [input], [], 'B');
  const producer = new StreamProducer({ client: base() });
  try {
    const keys = Array.from({ length: 30 }, (_, i) => Buffer.from(`user-${i}`));
    const offsets = await Promise.all(keys.map((key, i) => producer.send({ topic: output, key, value: Buffer.from(`v${i}`) })));
    await producer.flush();
    const perPartition = [0, 0, 0];
    for (let i = 0; i < keys.length; i++) {
      const p = partitionForKey(keys[i]!, 3);
      assert.equal(offsets[i], BigInt(perPartition[p]!++), `record ${i}: its offset in partition ${p}`);
    }
    const read = [];
    for (const p of [0, 1, 2]) read.push(...(await readIsolated(broker.port, output, p, IsolationLevel.READ_UNCOMMITTED)).records.map((r) => `${p}:${r.key!.toString()}`));
    assert.deepEqual(read.sort(), keys.map((k) => `${partitionForKey(k, 3)}:${k.toString()}`).sort(), 'each record once, in the partition its key hashes to');

    await a.start();
    await waitFor('A owns both partitions', () => a.assignment().length === 2, 15_000, ctx);
    const stale = { groupId, memberId: a.memberId, memberEpoch: a.memberEpoch };
    await b.start();
    await waitFor('A and B own one partition each', () => a.assignment().length === 1 && b.assignment().length === 1, 20_000, ctx);
    const mine = a.assignment().map((tp) => ({ ...tp, offset: 5n }));
    await assert.rejects(commitOffsets(admin, stale, mine), FencedError, 'OffsetCommit at the epoch before the rebalance');
    await commitOffsets(admin, { groupId, memberId: a.memberId, memberEpoch: a.memberEpoch }, mine);
    const committed = await fetchCommittedOffsets(admin, groupId, mine);
    assert.deepEqual([...committed.values()], [5n]);
  } finally {
    await producer.close();
    await b.close().catch(() => undefined);
    await a.close().catch(() => undefined);
  }
});
