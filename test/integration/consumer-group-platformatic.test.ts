// @platformatic/kafka's consumer in its KIP-848 mode (groupProtocol: 'consumer') against the
// broker's consumer-group coordinator: a second member takes half the partitions from the
// first without it stopping, every record is consumed once, offsets are committed within the
// member epoch, and when a member leaves the other takes its partitions. The classic group APIs
// treat the live consumer group as Kafka does: ListGroups types it, DescribeGroups answers Dead,
// JoinGroup is refused, OffsetDelete keeps subscribed topics, DeleteGroups keeps a non-empty group.
// Then bad ConsumerGroupHeartbeat requests on the wire: each gets its error code and message; a
// group's own heartbeat interval config wins over the broker's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Consumer, Producer, MessagesStreamModes, MessagesStreamFallbackModes, stringDeserializers, stringSerializers, type Message, type MessagesStream } from '@platformatic/kafka';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire-client.js';

let broker: BrokerProcess;
before(async () => {
  broker = await startBroker({ args: ['--set', 'group.consumer.heartbeat.interval.ms=300', '--set', 'group.consumer.session.timeout.ms=6000'] });
});
after(async () => {
  await broker?.cleanup();
});

const TOPIC = 'pl-848';
const GROUP = 'pl-848-group';
const base = () => ({ clientId: 'pl-848', bootstrapBrokers: [broker.bootstrap] });

type Msg = Message<string, string, string, string>;

async function member(name: string) {
  const consumer = new Consumer({ ...base(), clientId: name, groupId: GROUP, groupProtocol: 'consumer', deserializers: stringDeserializers, autocommit: 100, maxWaitTime: 200 });
  const stream: MessagesStream<string, string, string, string> = await consumer.consume({ topics: [TOPIC], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST });
  const got: Msg[] = [];
  let error: Error | undefined;
  stream.on('data', (m: Msg) => got.push(m));
  stream.on('error', (e: Error) => (error = e));
  consumer.on('error', (e: Error) => (error = e));
  const partitions = () => (consumer.assignments ?? []).flatMap((a) => a.partitions).sort((x, y) => x - y);
  return {
    consumer, got, partitions, error: () => error,
    close: async () => {
      await stream.close().catch(() => undefined);
      await consumer.close().catch(() => undefined);
    },
  };
}

/** The group's committed offsets of the topic's four partitions (-1 when none), by OffsetFetch on the wire. */
async function committed(): Promise<number[]> {
  const c = await WireClient.connect(broker.port);
  try {
    const r = await c.request(9, 8, { groups: [{ groupId: GROUP, topics: null }], requireStable: false });
    const parts = r.groups[0].topics.flatMap((t: any) => t.partitions);
    return [0, 1, 2, 3].map((p) => parts.find((x: any) => x.partitionIndex === p)?.committedOffset ?? -1);
  } finally {
    c.close();
  }
}

async function describe(): Promise<{ state: string; epoch: number; members: { memberId: string; memberEpoch: number; partitions: number[] }[] }> {
  const c = await WireClient.connect(broker.port);
  try {
    const r = await c.request(69, 1, { groupIds: [GROUP], includeAuthorizedOperations: false });
    const g = r.groups[0];
    assert.equal(g.errorCode, 0, g.errorMessage);
    return {
      state: g.groupState,
      epoch: g.groupEpoch,
      members: g.members.map((m: any) => ({ memberId: m.memberId, memberEpoch: m.memberEpoch, partitions: m.assignment.topicPartitions.flatMap((tp: any) => tp.partitions) })),
    };
  } finally {
    c.close();
  }
}

test('@platformatic/kafka groupProtocol consumer: join, share, consume once, commit, leave, take over', { timeout: 120_000 }, async () => {
  const admin = new Admin(base());
  await admin.createTopics({ topics: [TOPIC], partitions: 4, replicas: 1 });
  await admin.close();
  const producer = new Producer({ ...base(), serializers: stringSerializers, acks: -1 });
  const send = async (from: number, to: number) => {
    const messages = Array.from({ length: to - from }, (_, i) => ({ topic: TOPIC, partition: (from + i) % 4, value: `v${from + i}` }));
    await producer.send({ acks: -1, messages });
  };
  const a = await member('pl-a');
  let b: Awaited<ReturnType<typeof member>> | undefined;
  const ctx = () => `a=${JSON.stringify(a.partitions())} (${a.got.length}, ${a.error()?.message}) b=${JSON.stringify(b?.partitions())} (${b?.got.length}, ${b?.error()?.message})\n${broker.output().split('\n').slice(-20).join('\n')}`;
  try {
    await waitFor('a owns every partition', () => a.partitions().length === 4, 30_000, ctx);
    await send(0, 400);
    await waitFor('a consumed the first 400', () => a.got.length === 400, 30_000, ctx);
    // a's commits land before b joins: the client commits on revocation without waiting, and
    // what it had not committed would be delivered again (at least once), not a broker fault.
    await waitFor('a committed the first 400', async () => (await committed()).every((o) => o === 100), 30_000, ctx);
    b = await member('pl-b');
    await waitFor('a and b own two partitions each', async () => a.partitions().length === 2 && b!.partitions().length === 2 && (await describe()).state === 'Stable', 30_000, ctx);
    assert.deepEqual([...a.partitions(), ...b.partitions()].sort(), [0, 1, 2, 3]);
    const g = await describe();
    assert.equal(g.members.length, 2);
    for (const m of g.members) assert.equal(m.memberEpoch, g.epoch, 'both members reconciled to the group epoch');
    await send(400, 800);
    await waitFor('the next 400 consumed', () => a.got.length + b!.got.length === 800, 30_000, ctx);
    for (const [who, m] of [['a', a], ['b', b]] as const) {
      for (const msg of m.got.slice(who === 'a' ? 400 : 0)) assert.ok(m.partitions().includes(msg.partition), `${who} consumed ${msg.partition} outside its assignment`);
    }
    const values = new Set([...a.got, ...b.got].map((m) => m.value));
    assert.equal(values.size, 800, 'every record once');
    // Offsets committed by the members (within their epochs) reach the log end.
    await waitFor('committed offsets at 200 per partition', async () => (await committed()).every((o) => o === 200), 30_000, ctx);
    await otherGroupApis();
    await b.close();
    b = undefined;
    await waitFor('a owns every partition again', () => a.partitions().length === 4, 30_000, ctx);
    await send(800, 1000);
    // At least once from here: the client commits every 100 ms and, when its assignment grows,
    // may fetch again from the committed offsets, so a record past them can come twice (seen
    // on a loaded machine). Every one of the last 200 must arrive.
    const last = () => new Set(a.got.filter((m) => Number(m.value.slice(1)) >= 800).map((m) => m.value));
    await waitFor('a consumed every one of the last 200', () => last().size === 200, 30_000, ctx);
    assert.equal(a.error(), undefined, `no error on a: ${a.error()?.message}`);
  } finally {
    await b?.close();
    await a.close();
    await producer.close();
  }
});

/** The classic group APIs on the live consumer group, on the wire. */
async function otherGroupApis(): Promise<void> {
  const c = await WireClient.connect(broker.port);
  try {
    const listed = async (types: string[]) => (await c.request(16, 5, { statesFilter: [], typesFilter: types })).groups.filter((g: any) => g.groupId === GROUP);
    assert.deepEqual((await listed(['consumer'])).map((g: any) => [g.groupType, g.groupState, g.protocolType]), [['consumer', 'Stable', 'consumer']]);
    assert.deepEqual(await listed(['classic']), [], 'not listed as a classic group');
    const described = (await c.request(15, 5, { groups: [GROUP], includeAuthorizedOperations: false })).groups[0];
    assert.equal(described.groupState, 'Dead', 'DescribeGroups below v6 reports a consumer-protocol group Dead, as Kafka does');
    const join = await c.request(11, 9, {
      groupId: GROUP, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null,
    });
    assert.equal(join.errorCode, 23, 'JoinGroup to a consumer group with members: INCONSISTENT_GROUP_PROTOCOL');
    const del = await c.request(47, 0, { groupId: GROUP, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(del.topics[0].partitions[0].errorCode, 86, 'OffsetDelete of a subscribed topic: GROUP_SUBSCRIBED_TO_TOPIC');
    const groupsDeleted = await c.request(42, 2, { groupsNames: [GROUP] });
    assert.equal(groupsDeleted.results[0].errorCode, 68, 'DeleteGroups of a group with members: NON_EMPTY_GROUP');
  } finally {
    c.close();
  }
}

test('ConsumerGroupHeartbeat and ConsumerGroupDescribe on the wire: bad requests get their error and message, the broker keeps serving', async () => {
  const c = await WireClient.connect(broker.port);
  try {
    const hb = (version: number, body: object) => c.request(68, version, {
      groupId: 'wire-848', memberId: 'm-1', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: [TOPIC], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [], ...body,
    });
    const badRegex = await hb(1, { subscribedTopicNames: null, subscribedTopicRegex: 'a(b' });
    assert.equal(badRegex.errorCode, 128, 'INVALID_REGULAR_EXPRESSION');
    assert.match(badRegex.errorMessage, /a\(b.*not a valid regular expression/);
    const noId = await hb(1, { memberId: '' });
    assert.equal(noId.errorCode, 42, 'v1: the client must make up its member id (INVALID_REQUEST)');
    assert.match(noId.errorMessage, /MemberId/);
    const v0 = await hb(0, { groupId: 'wire-848-v0', memberId: '' });
    assert.equal(v0.errorCode, 0, v0.errorMessage);
    assert.ok(v0.memberId.length > 0, 'v0: the broker makes up the member id');
    const joined = await hb(1, {});
    assert.equal(joined.errorCode, 0, joined.errorMessage);
    // Owned partitions of a topic id nobody knows, negative and huge partition numbers: answered, ignored.
    const odd = await hb(1, { memberEpoch: joined.memberEpoch, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [-5, 2 ** 31 - 1] }] });
    assert.equal(odd.errorCode, 0, odd.errorMessage);
    const zombie = await hb(1, { memberEpoch: joined.memberEpoch + 7, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: null });
    assert.equal(zombie.errorCode, 110, 'FENCED_MEMBER_EPOCH');
    const unknownGroup = (await c.request(69, 1, { groupIds: ['no-such-group'], includeAuthorizedOperations: false })).groups[0];
    assert.equal(unknownGroup.errorCode, 69, 'GROUP_ID_NOT_FOUND');
    assert.equal(unknownGroup.errorMessage, 'Group no-such-group not found.');
    const left = await hb(1, { memberEpoch: -1, rebalanceTimeoutMs: -1, subscribedTopicNames: null, topicPartitions: null });
    assert.equal(left.errorCode, 0);
    assert.equal(left.memberEpoch, -1);
    // A group's own config (IncrementalAlterConfigs on resource type GROUP) wins over the broker's 300 ms.
    const set = await c.request(44, 1, { resources: [{ resourceType: 32, resourceName: 'wire-848-cfg', configs: [{ name: 'consumer.heartbeat.interval.ms', configOperation: 0, value: '6000' }] }], validateOnly: false });
    assert.equal(set.responses[0].errorCode, 0, set.responses[0].errorMessage);
    assert.equal((await hb(1, { groupId: 'wire-848-cfg' })).heartbeatIntervalMs, 6000);
    assert.equal((await hb(1, { groupId: 'wire-848-default' })).heartbeatIntervalMs, 300);
    const meta = await c.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.ok(meta.brokers.length === 1, 'still serving');
  } finally {
    c.close();
  }
});
