// A classic group across a broker SIGKILL, as Kafka keeps it (its metadata in
// __consumer_offsets): the members of the last generation are known after the restart, so
// they go on heartbeating, syncing and committing at their generation, a transactional
// commit (TxnOffsetCommit v3, checked against generation and member id) included, while
// a member that does not come back is removed once its session runs out. Before, the
// restarted broker had forgotten the group: the transactional commit of a Kafka Streams
// exactly-once application got ILLEGAL_GENERATION and its thread was fenced. And, as in
// Kafka, a transactional commit is not held back while the group completes a rebalance.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { createTopicsBody } from '../helpers/requests.js';
import { endTxn, initTxnProducer, type TxnProducer } from '../helpers/txn-requests.js';
import { sleep } from '../helpers/wait.js';

const args = ['--set', 'group.initial.rebalance.delay.ms=0', '--set', 'group.min.session.timeout.ms=1000'];
const group = 'g-restart';
const topic = 'restart-topic';
const protocols = [{ name: 'range', metadata: Buffer.from('subscription') }];

function join(c: WireClient, memberId: string, sessionTimeoutMs: number) {
  return c.request(ApiKey.JoinGroup, 5, { groupId: group, sessionTimeoutMs, rebalanceTimeoutMs: 5000, memberId, groupInstanceId: null, protocolType: 'consumer', protocols });
}

async function joinDynamic(c: WireClient, sessionTimeoutMs: number) {
  const first = await join(c, '', sessionTimeoutMs);
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  return join(c, first.memberId, sessionTimeoutMs);
}

const sync = (c: WireClient, generationId: number, memberId: string, assignments: { memberId: string; assignment: Buffer }[] = []) =>
  c.request(ApiKey.SyncGroup, 3, { groupId: group, generationId, memberId, groupInstanceId: null, assignments });
const heartbeat = (c: WireClient, generationId: number, memberId: string) =>
  c.request(ApiKey.Heartbeat, 3, { groupId: group, generationId, memberId, groupInstanceId: null });

async function txnCommit(c: WireClient, p: TxnProducer, generationId: number, memberId: string, offset: number): Promise<number> {
  const r = await c.request(ApiKey.TxnOffsetCommit, 3, {
    transactionalId: p.transactionalId, groupId: group, producerId: p.producerId, producerEpoch: p.producerEpoch, generationId, memberId, groupInstanceId: null,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' }] }],
  });
  return r.topics[0].partitions[0].errorCode;
}

test('a classic group survives SIGKILL: its members go on at their generation (a transactional commit too); one that does not come back expires', { timeout: 60_000 }, async () => {
  let broker: BrokerProcess = await startBroker({ args });
  let c = await WireClient.connect(broker.port);
  const other = await WireClient.connect(broker.port);
  try {
    assert.equal((await c.request(ApiKey.CreateTopics, 7, createTopicsBody(topic, 2))).topics[0].errorCode, 0);
    // A leads generation 1 alone; B joins (its session is short), A rejoins: generation 2.
    const a1 = await joinDynamic(c, 10_000);
    assert.equal((await sync(c, a1.generationId, a1.memberId, [{ memberId: a1.memberId, assignment: Buffer.from('a:0,1') }])).errorCode, 0);
    const bJoin = joinDynamic(other, 1500);
    await sleep(200);
    const a2 = await join(c, a1.memberId, 10_000);
    const b2 = await bJoin;
    assert.equal(a2.errorCode, 0);
    assert.equal(b2.generationId, a2.generationId);
    const gen = a2.generationId;
    assert.equal(a2.leader, a1.memberId);
    const bSync = sync(other, gen, b2.memberId);
    const aSync = await sync(c, gen, a1.memberId, [{ memberId: a1.memberId, assignment: Buffer.from('a:0') }, { memberId: b2.memberId, assignment: Buffer.from('b:1') }]);
    assert.equal(aSync.errorCode, 0);
    assert.equal((await bSync).assignment.toString(), 'b:1');
    // A transaction of member A commits an offset (pending until the transaction ends).
    const p = await initTxnProducer(c, 'restart-txn');
    const added = await c.request(ApiKey.AddOffsetsToTxn, 3, { transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch, groupId: group });
    assert.equal(added.errorCode, 0);
    assert.equal(await txnCommit(c, p, gen, a1.memberId, 10), 0);

    c.close();
    other.close();
    await broker.kill();
    broker = await startBroker({ dataDir: broker.dataDir, args });
    c = await WireClient.connect(broker.port);

    assert.equal((await heartbeat(c, gen, a1.memberId)).errorCode, 0, `member A is known at generation ${gen} after the restart\n${brokerTail(broker, 20)}`);
    const described = await c.request(ApiKey.DescribeGroups, 5, { groups: [group], includeAuthorizedOperations: false });
    assert.equal(described.groups[0].groupState, 'Stable');
    assert.deepEqual(described.groups[0].members.map((m: { memberId: string }) => m.memberId).sort(), [a1.memberId, b2.memberId].sort());
    assert.equal(described.groups[0].protocolData, 'range');
    const again = await sync(c, gen, a1.memberId);
    assert.equal(again.errorCode, 0);
    assert.equal(again.assignment.toString(), 'a:0', 'the assignment is kept');
    // The transaction goes on: another commit at the same generation, then the end.
    assert.equal(await txnCommit(c, p, gen, a1.memberId, 20), 0, 'TxnOffsetCommit at the generation before the restart');
    assert.equal(await txnCommit(c, p, gen + 1, a1.memberId, 21), ErrorCode.ILLEGAL_GENERATION, 'a generation the group never had is still refused');
    await endTxn(c, p, true);
    const fetched = await c.request(ApiKey.OffsetFetch, 7, { groupId: group, topics: [{ name: topic, partitionIndexes: [0] }], requireStable: true });
    assert.equal(Number(fetched.topics[0].partitions[0].committedOffset), 20);

    // B does not come back: its session (1.5 s) runs out and the group rebalances; A rejoins alone.
    let code = 0;
    for (let i = 0; i < 50 && code === 0; i++) {
      await sleep(200);
      code = (await heartbeat(c, gen, a1.memberId)).errorCode;
    }
    assert.equal(code, ErrorCode.REBALANCE_IN_PROGRESS, 'B expired');
    const a3 = await join(c, a1.memberId, 10_000);
    assert.equal(a3.errorCode, 0);
    assert.equal(a3.generationId, gen + 1);
    assert.deepEqual(a3.members.map((m: { memberId: string }) => m.memberId), [a1.memberId]);
    assert.equal((await sync(c, a3.generationId, a1.memberId, [{ memberId: a1.memberId, assignment: Buffer.from('a:0,1') }])).errorCode, 0);

    // The new generation is what the next restart finds.
    c.close();
    await broker.kill();
    broker = await startBroker({ dataDir: broker.dataDir, args });
    c = await WireClient.connect(broker.port);
    assert.equal((await heartbeat(c, a3.generationId, a1.memberId)).errorCode, 0);
    assert.equal((await heartbeat(c, gen, a1.memberId)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    const left = await c.request(ApiKey.LeaveGroup, 3, { groupId: group, members: [{ memberId: a1.memberId, groupInstanceId: null }] });
    assert.equal(left.members[0].errorCode, 0);
  } finally {
    c.close();
    other.close();
    await broker.cleanup();
    await rm(broker.dataDir, { recursive: true, force: true });
  }
});

test('a transactional commit is accepted while the group completes a rebalance (as Kafka accepts it); a plain commit is told REBALANCE_IN_PROGRESS', { timeout: 30_000 }, async () => {
  const broker = await startBroker({ args });
  const c = await WireClient.connect(broker.port);
  try {
    assert.equal((await c.request(ApiKey.CreateTopics, 7, createTopicsBody(topic, 2))).topics[0].errorCode, 0);
    const j = await joinDynamic(c, 10_000);
    assert.equal(j.errorCode, 0);
    // Joined, not synced: the group completes its rebalance.
    const described = await c.request(ApiKey.DescribeGroups, 5, { groups: [group], includeAuthorizedOperations: false });
    assert.equal(described.groups[0].groupState, 'CompletingRebalance');
    const p = await initTxnProducer(c, 'completing-txn');
    const added = await c.request(ApiKey.AddOffsetsToTxn, 3, { transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch, groupId: group });
    assert.equal(added.errorCode, 0);
    // A Java producer takes REBALANCE_IN_PROGRESS on TxnOffsetCommit as a fatal error.
    assert.equal(await txnCommit(c, p, j.generationId, j.memberId, 5), 0);
    const plain = await c.request(ApiKey.OffsetCommit, 7, {
      groupId: group, generationIdOrMemberEpoch: j.generationId, memberId: j.memberId, groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partitionIndex: 1, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    });
    assert.equal(plain.topics[0].partitions[0].errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(await txnCommit(c, p, j.generationId + 1, j.memberId, 6), ErrorCode.ILLEGAL_GENERATION, 'the generation is still checked');
    await endTxn(c, p, true);
  } finally {
    c.close();
    await broker.cleanup();
    await rm(broker.dataDir, { recursive: true, force: true });
  }
});
