// The classic group protocol on the wire: the member-id handshake, rebalances, every
// error Kafka returns for a stale or unknown member, static membership and fencing,
// the admin APIs, and committed offsets that survive SIGKILL.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { createTopicsBody } from '../helpers/requests.js';

let broker: BrokerProcess;
let c: WireClient;

before(async () => {
  broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0', '--set', 'num.partitions=2'] });
  c = await WireClient.connect(broker.port);
  // Create the topics the tests commit to.
  for (const name of ['gp', 'gp2']) {
    const r = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(name, 2));
    assert.equal(r.topics[0].errorCode, 0);
  }
});
after(async () => {
  c.close();
  await broker.cleanup();
  await rm(broker.dataDir, { recursive: true, force: true });
});

/** ConsumerProtocolSubscription v0 for the given topics. */
function subscription(topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1]!.writeInt32BE(topics.length);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(Buffer.byteLength(t));
    parts.push(len, Buffer.from(t));
  }
  const userData = Buffer.alloc(4);
  userData.writeInt32BE(-1);
  parts.push(userData);
  return Buffer.concat(parts);
}

interface JoinOpts {
  memberId?: string;
  instance?: string | null;
  protocolType?: string;
  protocols?: { name: string; metadata: Buffer }[];
  client?: WireClient;
}

function join(group: string, o: JoinOpts = {}) {
  return (o.client ?? c).request(ApiKey.JoinGroup, 5, {
    groupId: group,
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 5000,
    memberId: o.memberId ?? '',
    groupInstanceId: o.instance ?? null,
    protocolType: o.protocolType ?? 'consumer',
    protocols: o.protocols ?? [{ name: 'range', metadata: subscription(['gp']) }],
  });
}

/** Handshake plus join: a dynamic member's two JoinGroup round trips. */
async function joinDynamic(group: string, o: JoinOpts = {}) {
  const first = await join(group, o);
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.ok(first.memberId.length > 0);
  return join(group, { ...o, memberId: first.memberId });
}

const sync = (group: string, generationId: number, memberId: string, assignments: { memberId: string; assignment: Buffer }[] = [], instance: string | null = null, client = c) =>
  client.request(ApiKey.SyncGroup, 3, { groupId: group, generationId, memberId, groupInstanceId: instance, assignments });
const heartbeat = (group: string, generationId: number, memberId: string, instance: string | null = null) =>
  c.request(ApiKey.Heartbeat, 3, { groupId: group, generationId, memberId, groupInstanceId: instance });
const commit = (group: string, generation: number, memberId: string, topic: string, partition: number, offset: number) =>
  c.request(ApiKey.OffsetCommit, 7, { groupId: group, generationIdOrMemberEpoch: generation, memberId, groupInstanceId: null, topics: [{ name: topic, partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'm' }] }] });
const fetchOffsets = (group: string, client = c) => client.request(ApiKey.OffsetFetch, 7, { groupId: group, topics: null, requireStable: false });

test('a dynamic member needs a member id first, then leads generation 1; a stale or unknown member is refused', async () => {
  const j = await joinDynamic('g-basic');
  assert.equal(j.errorCode, 0);
  assert.equal(j.generationId, 1);
  assert.equal(j.leader, j.memberId);
  assert.equal(j.protocolName, 'range');
  assert.equal(j.members.length, 1, 'the leader gets the member list');
  const s = await sync('g-basic', 1, j.memberId, [{ memberId: j.memberId, assignment: Buffer.from('all-yours') }]);
  assert.equal(s.errorCode, 0);
  assert.equal(s.assignment.toString(), 'all-yours');
  assert.equal((await heartbeat('g-basic', 1, j.memberId)).errorCode, 0);
  assert.equal((await heartbeat('g-basic', 99, j.memberId)).errorCode, ErrorCode.ILLEGAL_GENERATION);
  assert.equal((await heartbeat('g-basic', 1, 'nobody')).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await sync('g-basic', 7, j.memberId)).errorCode, ErrorCode.ILLEGAL_GENERATION);
  assert.equal((await commit('g-basic', 1, j.memberId, 'no-such-topic', 0, 5)).topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal((await commit('g-basic', 2, j.memberId, 'gp', 0, 5)).topics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION);
  assert.equal((await commit('g-basic', 1, 'nobody', 'gp', 0, 5)).topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await commit('g-basic', 1, j.memberId, 'gp', 0, 5)).topics[0].partitions[0].errorCode, 0);
  const leave = await c.request(ApiKey.LeaveGroup, 3, { groupId: 'g-basic', members: [{ memberId: j.memberId, groupInstanceId: null }] });
  assert.equal(leave.members[0].errorCode, 0);
});

test('a second protocol type or no common protocol is INCONSISTENT_GROUP_PROTOCOL', async () => {
  const a = await joinDynamic('g-proto');
  assert.equal(a.errorCode, 0);
  const other = await join('g-proto', { protocolType: 'connect' });
  assert.equal(other.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const disjoint = await join('g-proto', { protocols: [{ name: 'roundrobin', metadata: subscription(['gp']) }] });
  assert.equal(disjoint.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

test('a joining member puts the group in rebalance: heartbeats get REBALANCE_IN_PROGRESS until everyone rejoins', async () => {
  const c2 = await WireClient.connect(broker.port);
  try {
    const a = await joinDynamic('g-reb');
    await sync('g-reb', a.generationId, a.memberId, [{ memberId: a.memberId, assignment: Buffer.from('a') }]);
    const bFirst = await join('g-reb', { client: c2 });
    const bJoin = join('g-reb', { client: c2, memberId: bFirst.memberId }); // parks until A rejoins
    let hb = await heartbeat('g-reb', a.generationId, a.memberId);
    for (let i = 0; i < 20 && hb.errorCode === 0; i++) hb = await heartbeat('g-reb', a.generationId, a.memberId);
    assert.equal(hb.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    const aAgain = await join('g-reb', { memberId: a.memberId });
    const b = await bJoin;
    assert.equal(aAgain.errorCode, 0);
    assert.equal(b.errorCode, 0);
    assert.equal(aAgain.generationId, a.generationId + 1);
    assert.equal(b.generationId, aAgain.generationId);
    assert.equal(aAgain.leader, a.memberId, 'the leader stays');
    assert.equal(aAgain.members.length, 2);
    assert.equal(b.members.length, 0, 'followers get no member list');
    // The follower waits in SyncGroup until the leader assigns.
    const bSync = sync('g-reb', b.generationId, b.memberId, [], null, c2);
    const aSync = await sync('g-reb', aAgain.generationId, a.memberId, [
      { memberId: a.memberId, assignment: Buffer.from('p0') },
      { memberId: b.memberId, assignment: Buffer.from('p1') },
    ]);
    assert.equal(aSync.assignment.toString(), 'p0');
    assert.equal((await bSync).assignment.toString(), 'p1');
    const described = await c.request(ApiKey.DescribeGroups, 5, { groups: ['g-reb'], includeAuthorizedOperations: false });
    assert.equal(described.groups[0].groupState, 'Stable');
    assert.equal(described.groups[0].members.length, 2);
    assert.equal(described.groups[0].protocolData, 'range');
  } finally {
    c2.close();
  }
});

test('static membership: a rejoin under the same instance id keeps the generation and fences the old member id', async () => {
  const first = await join('g-static', { instance: 'inst-1' });
  assert.equal(first.errorCode, 0, 'static members skip the member-id handshake');
  await sync('g-static', first.generationId, first.memberId, [{ memberId: first.memberId, assignment: Buffer.from('mine') }], 'inst-1');
  const again = await join('g-static', { instance: 'inst-1' });
  assert.equal(again.errorCode, 0);
  assert.equal(again.generationId, first.generationId, 'no rebalance');
  assert.notEqual(again.memberId, first.memberId);
  const s = await sync('g-static', again.generationId, again.memberId, [], 'inst-1');
  assert.equal(s.assignment.toString(), 'mine', 'the old assignment is handed back');
  assert.equal((await heartbeat('g-static', first.generationId, first.memberId, 'inst-1')).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal((await heartbeat('g-static', again.generationId, again.memberId, 'inst-1')).errorCode, 0);
});

test('list, describe, delete groups and offsets, with their errors', async () => {
  const live = await joinDynamic('g-admin', { protocols: [{ name: 'range', metadata: subscription(['gp']) }] });
  await sync('g-admin', live.generationId, live.memberId, [{ memberId: live.memberId, assignment: Buffer.alloc(0) }]);
  assert.equal((await commit('g-admin', live.generationId, live.memberId, 'gp', 1, 42)).topics[0].partitions[0].errorCode, 0);
  assert.equal((await commit('g-admin', live.generationId, live.memberId, 'gp2', 0, 7)).topics[0].partitions[0].errorCode, 0);
  const listed = await c.request(ApiKey.ListGroups, 4, { statesFilter: ['Stable'] });
  assert.ok(listed.groups.some((g: { groupId: string }) => g.groupId === 'g-admin'));
  assert.ok(!listed.groups.some((g: { groupState: string }) => g.groupState !== 'Stable'));
  const del = await c.request(ApiKey.DeleteGroups, 2, { groupsNames: ['g-admin', 'never-was'] });
  assert.equal(del.results[0].errorCode, ErrorCode.NON_EMPTY_GROUP);
  assert.equal(del.results[1].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  const od = await c.request(ApiKey.OffsetDelete, 0, { groupId: 'g-admin', topics: [{ name: 'gp', partitions: [{ partitionIndex: 1 }] }, { name: 'gp2', partitions: [{ partitionIndex: 0 }] }] });
  assert.equal(od.topics[0].partitions[0].errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
  assert.equal(od.topics[1].partitions[0].errorCode, 0);
  const left = await fetchOffsets('g-admin');
  assert.deepEqual(left.topics.map((t: { name: string }) => t.name), ['gp']);
  await c.request(ApiKey.LeaveGroup, 3, { groupId: 'g-admin', members: [{ memberId: live.memberId, groupInstanceId: null }] });
  const del2 = await c.request(ApiKey.DeleteGroups, 2, { groupsNames: ['g-admin'] });
  assert.equal(del2.results[0].errorCode, 0);
  assert.deepEqual((await fetchOffsets('g-admin')).topics, []);
  const missing = await c.request(ApiKey.OffsetDelete, 0, { groupId: 'never-was', topics: [] });
  assert.equal(missing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

test('committed offsets survive SIGKILL and restart', async () => {
  assert.equal((await commit('g-durable', -1, '', 'gp', 0, 123)).topics[0].partitions[0].errorCode, 0);
  assert.equal((await commit('g-durable', -1, '', 'gp', 1, 456)).topics[0].partitions[0].errorCode, 0);
  assert.equal((await commit('g-durable', -1, '', 'gp', 0, 124)).topics[0].partitions[0].errorCode, 0);
  c.close();
  await broker.kill();
  broker = await startBroker({ dataDir: broker.dataDir, args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
  c = await WireClient.connect(broker.port);
  const res = await fetchOffsets('g-durable');
  const gp = res.topics.find((t: { name: string }) => t.name === 'gp');
  assert.deepEqual(gp.partitions.map((p: { partitionIndex: number; committedOffset: number }) => [p.partitionIndex, p.committedOffset]), [[0, 124], [1, 456]]);
  const listed = await c.request(ApiKey.ListGroups, 4, { statesFilter: [] });
  assert.ok(listed.groups.some((g: { groupId: string; groupState: string }) => g.groupId === 'g-durable' && g.groupState === 'Empty'));
});

test('regression: a restarted static member with new metadata (owns nothing yet) does not rebalance the group', async () => {
  const owned = { name: 'range', metadata: Buffer.concat([subscription(['gp']), Buffer.from([0, 0, 0, 1])]) };
  const first = await join('g-static-meta', { instance: 'inst-m', protocols: [owned] });
  assert.equal(first.errorCode, 0);
  await sync('g-static-meta', first.generationId, first.memberId, [{ memberId: first.memberId, assignment: Buffer.from('p0,p1') }], 'inst-m');
  const restarted = await join('g-static-meta', { instance: 'inst-m', protocols: [{ name: 'range', metadata: subscription(['gp']) }] });
  assert.equal(restarted.errorCode, 0);
  assert.equal(restarted.generationId, first.generationId, 'same generation: no rebalance');
  const s = await sync('g-static-meta', restarted.generationId, restarted.memberId, [], 'inst-m');
  assert.equal(s.assignment.toString(), 'p0,p1');
  const switched = await join('g-static-meta', {
    instance: 'inst-m',
    protocols: [{ name: 'roundrobin', metadata: subscription(['gp']) }, { name: 'range', metadata: subscription(['gp']) }],
  });
  assert.equal(switched.errorCode, 0);
  assert.equal(switched.generationId, first.generationId + 1, 'a different protocol does rebalance');
  assert.equal(switched.protocolName, 'roundrobin');
});
