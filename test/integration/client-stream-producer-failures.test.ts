// StreamProducer (src/client/stream-producer.ts) against an in-process broker, where the stream
// runtime's commit relies on it:
//  - a send refused while commit() runs fails that commit: no transaction goes out missing a
//    record (regression: the refusal did not count as a failure and the commit went ahead);
//  - the runtime's commit (CommitCycle) whose TxnOffsetCommit (or, at-least-once, OffsetCommit)
//    went with a member epoch that had just moved on sends it again with the current epoch, and
//    the commit goes through (regression: such a commit aborted the cycle and rebuilt every task).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '@platformatic/kafka';
import { startInProcessBroker, type InProcessBroker } from '../helpers/in-process.js';
import { readIsolated, waitStable, IsolationLevel } from '../helpers/txn-wire.js';
import { waitFor } from '../helpers/wait.js';
import { GroupMember } from '../../src/client/group-member.js';
import { StreamProducer } from '../../src/client/stream-producer.js';
import { commitOffsets, fetchCommittedOffsets } from '../../src/client/committed-offsets.js';
import { Registry } from 'prom-client';
import { CommitCycle, type CommittedInput } from '../../src/stream/runtime/commit-cycle.js';
import { emptyBuffer } from '../../src/stream/runtime/partition-group.js';
import { silentLogger } from '../../src/stream/runtime/config.js';
import { RuntimeMetrics } from '../../src/stream/runtime/metrics.js';

let broker: InProcessBroker;
let admin: Admin;
before(async () => {
  broker = await startInProcessBroker({ groupConsumerHeartbeatIntervalMs: 200 });
  admin = new Admin(base('admin'));
});
after(async () => {
  await admin.close().catch(() => undefined);
  await broker.stop();
});

function base(role: string) {
  return { clientId: `stream-producer-failures-${role}`, bootstrapBrokers: [broker.bootstrap], retries: 3, retryDelay: 100 };
}

async function committedValues(topic: string, partitions: number[]): Promise<string[]> {
  await waitStable(broker.port, topic, partitions, 15_000);
  const values: string[] = [];
  for (const p of partitions) values.push(...(await readIsolated(broker.port, topic, p, IsolationLevel.READ_COMMITTED)).records.map((r) => r.value!.toString()));
  return values.sort();
}

test('a send refused while commit() runs fails the commit; the transaction is aborted, none of it visible', { timeout: 60_000 }, async () => {
  await admin.createTopics({ topics: ['spf-out'], partitions: 1, replicas: 1 });
  const producer = new StreamProducer({ client: base('p1'), transactionalId: 'spf-tx-1' });
  try {
    await producer.init();
    await producer.send({ topic: 'spf-out', partition: 0, key: null, value: Buffer.from('first') });
    const committing = producer.commit();
    // Arrives after commit() began: it cannot be part of this transaction.
    await assert.rejects(producer.send({ topic: 'spf-out', partition: 0, key: null, value: Buffer.from('late') }), /send while the transaction is being committed/);
    await assert.rejects(committing, /send while the transaction is being committed/, 'the commit does not go out without the refused record');
    await producer.abort();
    await producer.begin();
    await producer.send({ topic: 'spf-out', partition: 0, key: null, value: Buffer.from('next') });
    await producer.commit();
    assert.deepEqual(await committedValues('spf-out', [0]), ['next'], 'only the transaction that held all its records is visible');
  } finally {
    await producer.close();
  }
});

for (const exactlyOnce of [true, false]) {
  const request = exactlyOnce ? 'TxnOffsetCommit' : 'OffsetCommit';
  test(`the runtime's commit whose ${request} raced an epoch bump: sent again with the current epoch, the commit goes through`, { timeout: 60_000 }, async () => {
    const tag = exactlyOnce ? 'eos' : 'alo';
    const input = `spf-in-${tag}`;
    const output = `spf-out-${tag}`;
    const groupId = `spf-group-${tag}`;
    await admin.createTopics({ topics: [input, output], partitions: 4, replicas: 1 });
    const member = () => new GroupMember({ client: admin, groupId, topics: [input], onError: () => undefined });
    const a = member();
    const b = member();
    let producer: StreamProducer | undefined;
    try {
      await a.start();
      await waitFor('A owns all 4 partitions', () => a.assignment().length === 4, 15_000);
      const stale = a.memberEpoch;
      // Another member joins: A's epoch moves on, and A keeps some of its partitions.
      await b.start();
      await waitFor('A and B own 2 partitions each', () => a.assignment().length === 2 && b.assignment().length === 2, 20_000);
      assert.ok(a.memberEpoch > stale, 'the epoch moved on');
      // The commit reads the epoch before the bump reaches it (the race), the current one after.
      let reads = 0;
      const racing = { memberId: a.memberId, get memberEpoch() { return reads++ === 0 ? stale : a.memberEpoch; }, assignment: () => a.assignment() };
      const cycle = new CommitCycle({
        application: groupId, exactlyOnce, member: racing,
        newProducer: () => (producer = new StreamProducer({ client: base(`p-${tag}`), ...(exactlyOnce ? { transactionalId: `spf-tx-${tag}` } : {}) })),
        commitOffsets: (m, offsets) => commitOffsets(admin, m, offsets),
        stopped: () => false, metrics: new RuntimeMetrics(new Registry(), groupId), log: silentLogger, explain: String,
      });
      await cycle.init();
      cycle.send({ topic: output, partition: 0, key: null, value: Buffer.from('out') });
      const kept: CommittedInput[] = a.assignment().map((tp) => ({ ...tp, next: 11n, committed: 0n, ...emptyBuffer() }));
      await cycle.commit([], kept);
      assert.equal(reads, 2, 'sent twice: with the stale epoch, then the current one');
      const committed = await fetchCommittedOffsets(admin, groupId, kept.map(({ topic, partition }) => ({ topic, partition })));
      for (const tp of kept) assert.equal(committed.get(`${tp.topic}:${tp.partition}`), 11n, `${tp.topic}-${tp.partition}: committed`);
      assert.deepEqual(await committedValues(output, [0]), ['out'], 'the record is visible');
    } finally {
      await producer?.close();
      await b.close().catch(() => undefined);
      await a.close().catch(() => undefined);
    }
  });
}

test('records queued faster than they are sent go out in requests under message.max.bytes: 10,000 records of 600 bytes at once are all written', { timeout: 60_000 }, async () => {
  await admin.createTopics({ topics: ['spf-big'], partitions: 1, replicas: 1 });
  const p = new StreamProducer({ client: base('big'), transactionalId: 'spf-big-tx' });
  try {
    await p.init();
    const value = Buffer.alloc(600, 'v');
    const sends: Array<Promise<bigint>> = [];
    for (let i = 0; i < 10_000; i++) sends.push(p.send({ topic: 'spf-big', partition: 0, key: Buffer.from(`k${i}`), value }));
    await p.commit();
    const offsets = await Promise.all(sends);
    assert.deepEqual(offsets.slice(0, 3), [0n, 1n, 2n]);
    assert.equal(new Set(offsets).size, 10_000, 'each record its own offset');
  } finally {
    await p.close();
  }
  assert.equal((await committedValues('spf-big', [0])).length, 10_000, 'all of them committed');
});

test('queueRecord (no promise per record) writes like send, headers and timestamps included; a refused record reaches its onError', { timeout: 60_000 }, async () => {
  await admin.createTopics({ topics: ['spf-queue'], partitions: 1, replicas: 1 });
  const p = new StreamProducer({ client: base('queue'), transactionalId: 'spf-queue-tx' });
  const errors: unknown[] = [];
  const onError = (e: unknown) => errors.push(e);
  try {
    await p.init();
    p.queueRecord({ topic: 'spf-queue', partition: 0, key: Buffer.from('k1'), value: Buffer.from('a'), timestamp: 1_700_000_000_000 }, onError);
    p.queueRecord({ topic: 'spf-queue', key: Buffer.from('k2'), value: Buffer.from('b'), headers: [['h', Buffer.from('x')], ['h', Buffer.from('y')]] }, onError);
    await p.commit();
    assert.deepEqual(errors, []);
    // Between transactions: refused, and told to onError (not thrown).
    p.queueRecord({ topic: 'spf-queue', partition: 0, key: null, value: Buffer.from('c') }, onError);
    assert.equal(errors.length, 0, 'told after the caller\'s turn, as a rejected promise would be');
    await new Promise((r) => setImmediate(r));
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /send outside a transaction/);
  } finally {
    await p.close();
  }
  await waitStable(broker.port, 'spf-queue', [0], 15_000);
  const records = (await readIsolated(broker.port, 'spf-queue', 0, IsolationLevel.READ_COMMITTED)).records;
  assert.deepEqual(records.map((r) => r.value!.toString()), ['a', 'b']);
  assert.equal(records[0]!.timestamp, 1_700_000_000_000);
  assert.deepEqual(records[0]!.headers, []);
  assert.deepEqual(records[1]!.headers.map(([k, v]) => [k, v.toString()]), [['h', 'x'], ['h', 'y']]);
});
