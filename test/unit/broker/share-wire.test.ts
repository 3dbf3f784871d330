// Share groups through the real dispatch path of an in-process broker: membership errors and
// assignment, share-session epochs, acknowledgement errors, the long poll woken by an append
// and by a release, and the group admin APIs on share groups.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessBroker, type InProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { createTopicsBody, produceBody } from '../../helpers/requests.js';
import { makeBatch } from '../../helpers/batches.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';

let b: InProcessBroker;
let c: WireClient;

before(async () => {
  b = await startInProcessBroker({ shareAutoOffsetReset: 'earliest' });
  c = await WireClient.connect(b.port);
});
after(async () => {
  c.close();
  await b.stop();
});

const hb = (groupId: string, memberId: string, memberEpoch: number, topics: string[] | null = null) =>
  c.request(ApiKey.ShareGroupHeartbeat, 1, { groupId, memberId, memberEpoch, rackId: null, subscribedTopicNames: topics });

const shareFetch = (groupId: string, memberId: string, epoch: number, topics: { topicId: string; partitions: { partitionIndex: number; acknowledgementBatches: { firstOffset: number; lastOffset: number; acknowledgeTypes: number[] }[] }[] }[], maxWaitMs = 0) =>
  c.request(ApiKey.ShareFetch, 2, { groupId, memberId, shareSessionEpoch: epoch, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, maxRecords: 500, batchSize: 500, shareAcquireMode: 0, isRenewAck: false, topics, forgottenTopicsData: [] });

const part = (partitionIndex = 0, acks: { firstOffset: number; lastOffset: number; acknowledgeTypes: number[] }[] = []) => ({ partitionIndex, acknowledgementBatches: acks });

async function topic(name: string, partitions = 1): Promise<string> {
  const r = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(name, partitions));
  assert.equal(r.topics[0].errorCode, ErrorCode.NONE);
  return b.broker.topics.byName.get(name)!.id;
}

async function produce(name: string, records: number): Promise<void> {
  const r = await c.request(ApiKey.Produce, 9, produceBody(name, makeBatch({ records, payload: records * 10 })));
  assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
}

test('heartbeat errors say what is wrong', async () => {
  await topic('sw-hb');
  assert.equal((await hb('', 'm', 0, ['sw-hb'])).errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await hb('g-hb', '', 0, ['sw-hb'])).errorCode, ErrorCode.INVALID_REQUEST);
  const noTopics = await hb('g-hb', 'm1', 0, null);
  assert.equal(noTopics.errorCode, ErrorCode.INVALID_REQUEST);
  assert.match(noTopics.errorMessage, /SubscribedTopicNames/);
  assert.equal((await hb('g-hb', 'stranger', 3)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(b.broker.shares.groups.has('g-hb'), false, 'only a valid join creates a group');
  const noGroup = await shareFetch('g-never', 'm', 0, []);
  assert.equal(noGroup.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.match(noGroup.errorMessage, /ShareGroupHeartbeat/);
  assert.equal(b.broker.shares.groups.has('g-never'), false);
  const joined = await hb('g-hb', 'm1', 0, ['sw-hb']);
  assert.equal(joined.errorCode, ErrorCode.NONE);
  assert.equal((await hb('g-hb', 'm1', joined.memberEpoch + 5)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  // A classic group's id is not a share group's.
  const classic = await c.request(ApiKey.JoinGroup, 5, { groupId: 'g-classic', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 1000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }] });
  assert.equal(classic.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  await c.request(ApiKey.JoinGroup, 5, { groupId: 'g-classic', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 1000, memberId: classic.memberId, groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }] });
  assert.equal((await hb('g-classic', 'm1', 0, ['sw-hb'])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  // ...and a classic member cannot join a share group.
  const intoShare = await c.request(ApiKey.JoinGroup, 5, { groupId: 'g-hb', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 1000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }] });
  assert.equal(intoShare.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  await hb('g-hb', 'm1', -1);
  assert.equal(b.broker.shares.groups.has('g-hb'), false, 'no members and no state: forgotten');
});

test('assignment: partitions spread while they suffice, shared when members outnumber them', async () => {
  const two = await topic('sw-two', 2);
  const a = await hb('g-assign', 'a', 0, ['sw-two']);
  assert.deepEqual(a.assignment.topicPartitions, [{ topicId: two, partitions: [0, 1] }]);
  const bJoin = await hb('g-assign', 'b', 0, ['sw-two']);
  assert.deepEqual(bJoin.assignment.topicPartitions, [{ topicId: two, partitions: [1] }]);
  // a hears its new assignment (and epoch) at its next heartbeat
  const a2 = await hb('g-assign', 'a', a.memberEpoch);
  assert.ok(a2.memberEpoch > a.memberEpoch);
  assert.deepEqual(a2.assignment.topicPartitions, [{ topicId: two, partitions: [0] }]);
  assert.equal((await hb('g-assign', 'a', a2.memberEpoch)).assignment, null, 'unchanged: no assignment sent');
  const cJoin = await hb('g-assign', 'c', 0, ['sw-two']);
  assert.equal(cJoin.assignment.topicPartitions[0].partitions.length, 1, 'three members, two partitions: each member gets one');

  const one = await topic('sw-one', 1);
  for (const m of ['x', 'y', 'z']) {
    const r = await hb('g-one', m, 0, ['sw-one']);
    assert.equal(r.errorCode, ErrorCode.NONE);
  }
  const d = await c.request(ApiKey.ShareGroupDescribe, 1, { groupIds: ['g-one', 'g-nope'], includeAuthorizedOperations: false });
  assert.equal(d.groups[0].groupState, 'Stable');
  assert.equal(d.groups[0].members.length, 3);
  for (const m of d.groups[0].members) assert.deepEqual(m.assignment.topicPartitions, [{ topicId: one, topicName: 'sw-one', partitions: [0] }], `${m.memberId} shares the one partition`);
  assert.equal(d.groups[1].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  for (const m of ['a', 'b', 'c']) await hb('g-assign', m, -1);
  for (const m of ['x', 'y', 'z']) await hb('g-one', m, -1);
});

test('share sessions: epochs are checked; acknowledgements of records not held are refused per partition', async () => {
  const id = await topic('sw-sess');
  await produce('sw-sess', 5);
  await hb('g-sess', 'm', 0, ['sw-sess']);
  assert.equal((await shareFetch('g-sess', 'm', 3, [{ topicId: id, partitions: [part()] }])).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
  assert.equal((await shareFetch('g-sess', 'm', 0, [{ topicId: id, partitions: [part(0, [{ firstOffset: 0, lastOffset: 0, acknowledgeTypes: [1] }])] }])).errorCode, ErrorCode.INVALID_REQUEST);
  const first = await shareFetch('g-sess', 'm', 0, [{ topicId: id, partitions: [part()] }]);
  assert.equal(first.errorCode, ErrorCode.NONE);
  assert.deepEqual(first.responses[0].partitions[0].acquiredRecords, [{ firstOffset: 0, lastOffset: 4, deliveryCount: 1 }]);
  assert.equal((await shareFetch('g-sess', 'm', 5, [])).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);
  // epoch 1: acknowledge records 0-4 as one ACCEPT, plus a record never given and a bad type
  const acked = await shareFetch('g-sess', 'm', 1, [{ topicId: id, partitions: [part(0, [{ firstOffset: 0, lastOffset: 4, acknowledgeTypes: [1] }])] }]);
  assert.equal(acked.responses[0].partitions[0].acknowledgeErrorCode, ErrorCode.NONE);
  const notHeld = await c.request(ApiKey.ShareAcknowledge, 2, { groupId: 'g-sess', memberId: 'm', shareSessionEpoch: 2, isRenewAck: false, topics: [{ topicId: id, partitions: [part(0, [{ firstOffset: 2, lastOffset: 2, acknowledgeTypes: [1] }])] }] });
  assert.equal(notHeld.responses[0].partitions[0].errorCode, ErrorCode.INVALID_RECORD_STATE);
  assert.match(notHeld.responses[0].partitions[0].errorMessage, /not held/);
  const badType = await c.request(ApiKey.ShareAcknowledge, 2, { groupId: 'g-sess', memberId: 'm', shareSessionEpoch: 3, isRenewAck: false, topics: [{ topicId: id, partitions: [part(0, [{ firstOffset: 0, lastOffset: 0, acknowledgeTypes: [9] }])] }] });
  assert.equal(badType.responses[0].partitions[0].errorCode, ErrorCode.INVALID_REQUEST);
  assert.equal((await c.request(ApiKey.ShareAcknowledge, 2, { groupId: 'g-sess', memberId: 'm', shareSessionEpoch: 0, isRenewAck: false, topics: [] })).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);
  const unknown = await shareFetch('g-sess', 'm', 4, [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [part()] }]);
  assert.equal(unknown.responses.find((t: { topicId: string }) => t.topicId === 'AAAAAAAAAAAAAAAAAAAAAQ').partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  const offsets = await c.request(ApiKey.DescribeShareGroupOffsets, 1, { groups: [{ groupId: 'g-sess', topics: null }] });
  assert.deepEqual(offsets.groups[0].topics.find((t: { topicName: string }) => t.topicName === 'sw-sess').partitions.map((p: { startOffset: number; lag: number }) => [p.startOffset, p.lag]), [[5, 0]]);
  await hb('g-sess', 'm', -1);
  // Deleting the topic deletes the group's state on it.
  assert.equal((await c.request(ApiKey.DeleteTopics, 6, { topics: [{ name: 'sw-sess', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], timeoutMs: 5000 })).responses[0].errorCode, ErrorCode.NONE);
  assert.deepEqual([...b.broker.shares.groups.get('g-sess')?.partitions.keys() ?? []], []);
  assert.equal(b.broker.shares.store.states.get('g-sess')?.has(`${id}:0`) ?? false, false);
});

test('a parked ShareFetch is woken by an append, and by another member releasing records', { timeout: 20_000 }, async () => {
  const id = await topic('sw-wake');
  await hb('g-wake', 'a', 0, ['sw-wake']);
  await hb('g-wake', 'b', 0, ['sw-wake']);
  const c2 = await WireClient.connect(b.port);
  try {
    // a parks (maxWaitMs far beyond the test's timeout): only the append can answer it in time
    const parked = shareFetch('g-wake', 'a', 0, [{ topicId: id, partitions: [part()] }], 600_000);
    await new Promise((r) => setImmediate(r));
    await produce('sw-wake', 3);
    const got = await parked;
    assert.deepEqual(got.responses[0].partitions[0].acquiredRecords, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    // b parks on its own connection; a releases record 1: b gets it, on its second delivery
    const bParked = c2.request(ApiKey.ShareFetch, 2, { groupId: 'g-wake', memberId: 'b', shareSessionEpoch: 0, maxWaitMs: 600_000, minBytes: 1, maxBytes: 1 << 20, maxRecords: 500, batchSize: 500, topics: [{ topicId: id, partitions: [part()] }], forgottenTopicsData: [] });
    const released = await c.request(ApiKey.ShareAcknowledge, 2, { groupId: 'g-wake', memberId: 'a', shareSessionEpoch: 1, isRenewAck: false, topics: [{ topicId: id, partitions: [part(0, [{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [1, 2, 1] }])] }] });
    assert.equal(released.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    const bGot = await bParked;
    assert.deepEqual(bGot.responses[0].partitions[0].acquiredRecords, [{ firstOffset: 1, lastOffset: 1, deliveryCount: 2 }]);
  } finally {
    c2.close();
  }
  await hb('g-wake', 'a', -1);
  await hb('g-wake', 'b', -1);
});

test('ListGroups, DescribeGroups and DeleteGroups treat share groups as Kafka does', async () => {
  await topic('sw-admin');
  const joined = await hb('g-admin', 'm', 0, ['sw-admin']);
  assert.equal(joined.errorCode, ErrorCode.NONE);
  const listed = await c.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['share'] });
  assert.deepEqual(listed.groups.find((g: { groupId: string }) => g.groupId === 'g-admin'), { groupId: 'g-admin', protocolType: 'share', groupState: 'Stable', groupType: 'share' });
  const classicOnly = await c.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['classic'] });
  assert.equal(classicOnly.groups.some((g: { groupId: string }) => g.groupId === 'g-admin'), false);
  const described = await c.request(ApiKey.DescribeGroups, 5, { groups: ['g-admin'], includeAuthorizedOperations: false });
  assert.equal(described.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal((await c.request(ApiKey.DeleteGroups, 2, { groupsNames: ['g-admin'] })).results[0].errorCode, ErrorCode.NON_EMPTY_GROUP);
  const alterBusy = await c.request(ApiKey.AlterShareGroupOffsets, 0, { groupId: 'g-admin', topics: [{ topicName: 'sw-admin', partitions: [{ partitionIndex: 0, startOffset: 0 }] }] });
  assert.equal(alterBusy.errorCode, ErrorCode.NON_EMPTY_GROUP);
  assert.equal((await c.request(ApiKey.DeleteShareGroupOffsets, 0, { groupId: 'g-admin', topics: [{ topicName: 'sw-admin' }] })).errorCode, ErrorCode.NON_EMPTY_GROUP);
  await hb('g-admin', 'm', -1);
  const outside = await c.request(ApiKey.AlterShareGroupOffsets, 0, { groupId: 'g-admin', topics: [{ topicName: 'sw-admin', partitions: [{ partitionIndex: 0, startOffset: 7 }, { partitionIndex: 3, startOffset: 0 }] }, { topicName: 'sw-none', partitions: [{ partitionIndex: 0, startOffset: 0 }] }] });
  assert.deepEqual(outside.responses.map((t: { partitions: { errorCode: number }[] }) => t.partitions.map((p) => p.errorCode)), [[ErrorCode.OFFSET_OUT_OF_RANGE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
  assert.match(outside.responses[0].partitions[0].errorMessage, /from 0 to 0/);
  assert.equal((await c.request(ApiKey.DeleteGroups, 2, { groupsNames: ['g-admin'] })).results[0].errorCode, ErrorCode.NONE);
  assert.equal(b.broker.shares.groups.has('g-admin'), false);
});

test('a group\'s own share.auto.offset.reset (group config) wins over the broker\'s', async () => {
  const id = await topic('sw-reset');
  await produce('sw-reset', 3);
  const set = await c.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: 32, resourceName: 'g-latest', configs: [{ name: 'share.auto.offset.reset', configOperation: 0, value: 'latest' }] }],
    validateOnly: false,
  });
  assert.equal(set.responses[0].errorCode, ErrorCode.NONE);
  await hb('g-latest', 'm', 0, ['sw-reset']);
  const first = await shareFetch('g-latest', 'm', 0, [{ topicId: id, partitions: [part()] }]);
  assert.deepEqual(first.responses[0].partitions[0].acquiredRecords, [], 'the group starts at the end (the broker says earliest)');
  await produce('sw-reset', 2);
  const next = await shareFetch('g-latest', 'm', 1, []);
  assert.deepEqual(next.responses[0].partitions[0].acquiredRecords, [{ firstOffset: 3, lastOffset: 4, deliveryCount: 1 }]);
  await hb('g-latest', 'm', -1);
});

test('a group id is of one kind at a time: share, consumer and classic groups refuse each other\'s ids', async () => {
  await topic('sw-kinds');
  const cgHb = (groupId: string) =>
    c.request(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId, memberId: `m-${groupId}`, memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: ['sw-kinds'], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [],
    });
  // A share group's id.
  assert.equal((await hb('kind-share', 'm1', 0, ['sw-kinds'])).errorCode, ErrorCode.NONE);
  const asConsumer = await cgHb('kind-share');
  assert.equal(asConsumer.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.match(asConsumer.errorMessage, /share group/);
  const asClassic = await c.request(ApiKey.JoinGroup, 9, {
    groupId: 'kind-share', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null,
    protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null,
  });
  assert.equal(asClassic.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  // A consumer group's id.
  assert.equal((await cgHb('kind-consumer')).errorCode, ErrorCode.NONE);
  const asShare = await hb('kind-consumer', 'm2', 0, ['sw-kinds']);
  assert.equal(asShare.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal(b.broker.shares.groups.has('kind-consumer'), false);
  const listed = await c.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
  const kinds = Object.fromEntries(listed.groups.filter((g: any) => g.groupId.startsWith('kind-')).map((g: any) => [g.groupId, g.groupType]));
  assert.deepEqual(kinds, { 'kind-share': 'share', 'kind-consumer': 'consumer' });
});
