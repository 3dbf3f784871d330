// The consumer-group coordinator (KIP-848) driven directly, without sockets: epochs,
// revocation before reassignment, fencing, session and rebalance timeouts, leaves, static
// members, regex subscriptions, refusals of bad requests, and the state replayed after a
// restart. node:test's mock timers stand in for setTimeout.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumerGroupCoordinator, type HeartbeatAnswer, type HeartbeatRequest, type TopicPartitions, type TopicView } from '../../../src/broker/groups/consumer-group.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';
import { defaultLogConfig } from '../../../src/storage/log-config.js';
import { Logger } from '../../../src/broker/logger.js';
import { ErrorCode } from '../../../src/protocol/errors.js';

const GROUP = 'g';
const SESSION_MS = 45_000;
const HEARTBEAT_MS = 5_000;

class Topics implements TopicView {
  readonly map = new Map<string, { id: string; partitions: number }>();
  add(name: string, partitions: number): string {
    const id = `id-${name}`;
    this.map.set(name, { id, partitions });
    return id;
  }
  topics() {
    return [...this.map].map(([name, t]) => ({ name, ...t }));
  }
  byName(name: string) {
    return this.map.get(name);
  }
  byId(id: string) {
    for (const [name, t] of this.map) if (t.id === id) return { name, partitions: t.partitions };
    return undefined;
  }
}

interface Env {
  c: ConsumerGroupCoordinator;
  topics: Topics;
  log: MemoryLog;
  classicMembers: Map<string, number>;
  restart(): Promise<ConsumerGroupCoordinator>;
}

async function env(t: TestContext, mayDescribe: () => ((principal: string, host: string, topic: string) => boolean) | undefined = () => undefined): Promise<Env> {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const topics = new Topics();
  topics.add('T', 6);
  const log = new MemoryLog({ ...defaultLogConfig });
  const classicMembers = new Map<string, number>();
  const make = async () => {
    const c = new ConsumerGroupCoordinator(
      log,
      { compactAfterBytes: 1 << 30, fsync: false },
      { settingsFor: () => ({ sessionTimeoutMs: SESSION_MS, heartbeatIntervalMs: HEARTBEAT_MS }), maxSize: 0, mayDescribeTopic: mayDescribe() },
      topics,
      { classicMembers: (id) => classicMembers.get(id) ?? -1, dropEmptyClassic: (id) => void classicMembers.delete(id) },
      new Logger('error'),
    );
    await c.load();
    t.after(() => c.close());
    return c;
  };
  const e: Env = { c: await make(), topics, log, classicMembers, restart: async () => (e.c = await make()) };
  return e;
}

function req(memberId: string, memberEpoch: number, more: Partial<HeartbeatRequest> = {}): HeartbeatRequest {
  const join = memberEpoch === 0;
  return {
    groupId: GROUP,
    memberId,
    memberEpoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: join ? 60_000 : -1,
    subscribedTopicNames: join ? ['T'] : null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: join ? [] : null,
    clientId: 'test',
    clientHost: '/127.0.0.1',
    ...more,
  };
}

const parts = (a: HeartbeatAnswer): number[] => (a.assignment ?? []).flatMap((tp) => tp.partitions).sort((x, y) => x - y);
const owned = (ps: number[]): TopicPartitions[] => [{ topicId: 'id-T', partitions: ps }];

/** A simulated member: remembers what it owns and answers revocations at once. */
class Client {
  epoch = 0;
  owns: number[] = [];
  constructor(
    private readonly e: Env,
    readonly id: string,
    private readonly extra: Partial<HeartbeatRequest> = {},
  ) {}
  async beat(more: Partial<HeartbeatRequest> = {}): Promise<HeartbeatAnswer> {
    const a = await this.e.c.heartbeat(req(this.id, this.epoch, { ...(this.epoch === 0 ? this.extra : {}), ...(this.epoch === 0 ? {} : { topicPartitions: owned(this.owns) }), ...more }));
    assert.equal(a.errorCode, ErrorCode.NONE, `${this.id}: ${a.errorMessage}`);
    this.epoch = a.memberEpoch;
    if (a.assignment !== null) this.owns = parts(a);
    return a;
  }
}

test('a joining member gets every partition at the new group epoch', async (t) => {
  const e = await env(t);
  const a = await e.c.heartbeat(req('a', 0));
  assert.equal(a.errorCode, ErrorCode.NONE);
  assert.equal(a.memberEpoch, 1);
  assert.equal(a.heartbeatIntervalMs, HEARTBEAT_MS);
  assert.deepEqual(parts(a), [0, 1, 2, 3, 4, 5]);
  assert.equal(e.c.groups.get(GROUP)!.state(), 'Stable');
});

test('revocation before reassignment: the newcomer gets a partition only after its owner released it', async (t) => {
  const e = await env(t);
  const a = new Client(e, 'a');
  const b = new Client(e, 'b');
  await a.beat();
  await b.beat();
  assert.equal(b.epoch, 2, 'b joins at the new group epoch');
  assert.deepEqual(b.owns, [], 'nothing is free yet: a holds every partition');
  // a's next heartbeat says it still owns everything: it is asked to give three up, its epoch held back.
  await e.c.heartbeat(req('a', 1, { topicPartitions: owned([0, 1, 2, 3, 4, 5]) })).then((r) => {
    assert.equal(r.memberEpoch, 1, 'a stays at epoch 1 until it revokes');
    assert.equal(parts(r).length, 3, 'a is told to keep three');
    a.owns = parts(r); // a revokes the rest (the client's onPartitionsRevoked ran)
  });
  assert.equal(e.c.groups.get(GROUP)!.state(), 'Reconciling');
  // b heartbeats before a's next heartbeat: nothing for it yet, the broker has not seen a release.
  const early = await e.c.heartbeat(req('b', 2, { topicPartitions: owned([]) }));
  assert.equal(early.assignment, null, 'b gets nothing while a has not shown the release');
  await a.beat();
  assert.equal(a.epoch, 2, 'a moves to epoch 2 once its heartbeat shows the partitions released');
  await b.beat();
  assert.equal(b.owns.length, 3, 'b gets the released partitions');
  assert.deepEqual([...a.owns, ...b.owns].sort(), [0, 1, 2, 3, 4, 5]);
  assert.equal(e.c.groups.get(GROUP)!.state(), 'Stable');
});

test('a heartbeat that does not name its partitions counts as still owning them', async (t) => {
  const e = await env(t);
  await e.c.heartbeat(req('a', 0));
  await e.c.heartbeat(req('b', 0));
  const r = await e.c.heartbeat(req('a', 1)); // topicPartitions null
  assert.equal(r.memberEpoch, 1);
  const again = await e.c.heartbeat(req('a', 1));
  assert.equal(again.memberEpoch, 1, 'still waiting for the revocation');
  const b = await e.c.heartbeat(req('b', 2, { topicPartitions: owned([]) }));
  assert.equal(b.assignment, null);
});

test('fencing: a higher epoch is FENCED_MEMBER_EPOCH, an unknown member UNKNOWN_MEMBER_ID, the previous epoch is accepted after a lost answer', async (t) => {
  const e = await env(t);
  const a = new Client(e, 'a');
  await a.beat();
  const higher = await e.c.heartbeat(req('a', 5, { topicPartitions: owned(a.owns) }));
  assert.equal(higher.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
  assert.match(higher.errorMessage!, /epoch 5/);
  const unknown = await e.c.heartbeat(req('nobody', 1));
  assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  // b joins: a moves to epoch 2 after revoking; suppose a lost that answer and heartbeats at epoch 1.
  await e.c.heartbeat(req('b', 0));
  await a.beat(); // told to revoke
  await a.beat(); // released: epoch 2
  assert.equal(a.epoch, 2);
  const lost = await e.c.heartbeat(req('a', 1, { topicPartitions: owned(a.owns) }));
  assert.equal(lost.errorCode, ErrorCode.NONE, 'the previous epoch with a subset of the assignment is a lost answer, not a zombie');
  assert.equal(lost.memberEpoch, 2);
  const zombie = await e.c.heartbeat(req('a', 1, { topicPartitions: owned([0, 1, 2, 3, 4, 5]) }));
  assert.equal(zombie.errorCode, ErrorCode.FENCED_MEMBER_EPOCH, 'the previous epoch owning more than assigned is fenced');
  const older = await e.c.heartbeat(req('a', -3));
  assert.equal(older.errorCode, ErrorCode.INVALID_REQUEST);
});

test('a member whose session runs out is removed and the others get its partitions', async (t) => {
  const e = await env(t);
  const a = new Client(e, 'a');
  const b = new Client(e, 'b');
  await a.beat();
  await b.beat();
  await a.beat();
  await a.beat();
  await b.beat();
  assert.equal(a.owns.length, 3);
  assert.equal(b.owns.length, 3);
  const bHad = [...b.owns];
  // b goes silent; a keeps heartbeating.
  for (let ms = 0; ms < SESSION_MS + HEARTBEAT_MS; ms += HEARTBEAT_MS) {
    t.mock.timers.tick(HEARTBEAT_MS);
    await a.beat();
  }
  assert.equal(e.c.groups.get(GROUP)!.members.has('b'), false, 'b is gone after its session timeout');
  assert.deepEqual(a.owns, [0, 1, 2, 3, 4, 5], 'a took over b\'s partitions');
  assert.ok(bHad.every((p) => a.owns.includes(p)));
  const late = await e.c.heartbeat(req('b', b.epoch, { topicPartitions: owned(b.owns) }));
  assert.equal(late.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'the expired member must rejoin');
});

test('a member that does not revoke within its rebalance timeout is removed', async (t) => {
  const e = await env(t);
  await e.c.heartbeat(req('a', 0, { rebalanceTimeoutMs: 10_000 }));
  const b = new Client(e, 'b');
  await b.beat();
  await e.c.heartbeat(req('a', 1, { topicPartitions: owned([0, 1, 2, 3, 4, 5]) })); // asked to revoke
  // a keeps heartbeating but never releases.
  for (let i = 0; i < 3; i++) {
    t.mock.timers.tick(4_000);
    const r = await e.c.heartbeat(req('a', 1, { topicPartitions: owned([0, 1, 2, 3, 4, 5]) }));
    if (r.errorCode !== ErrorCode.NONE) {
      assert.equal(r.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
      break;
    }
  }
  assert.equal(e.c.groups.get(GROUP)!.members.has('a'), false, 'a was removed after its rebalance timeout');
  await b.beat();
  assert.deepEqual(b.owns, [0, 1, 2, 3, 4, 5]);
});

test('leaving (epoch -1) frees the partitions at once', async (t) => {
  const e = await env(t);
  const a = new Client(e, 'a');
  const b = new Client(e, 'b');
  await a.beat();
  await b.beat();
  await a.beat();
  await a.beat();
  await b.beat();
  const left = await e.c.heartbeat(req('b', b.epoch, { memberEpoch: -1 }));
  assert.equal(left.errorCode, ErrorCode.NONE);
  assert.equal(left.memberEpoch, -1);
  await a.beat();
  assert.deepEqual(a.owns, [0, 1, 2, 3, 4, 5]);
});

test('a static member that leaves with -2 and comes back under a new member id keeps its epoch and partitions, nothing moves', async (t) => {
  const e = await env(t);
  const a = new Client(e, 'a', { instanceId: 'i-a' });
  const b = new Client(e, 'b', { instanceId: 'i-b' });
  await a.beat();
  await b.beat();
  await a.beat();
  await a.beat();
  await b.beat();
  const epochBefore = e.c.groups.get(GROUP)!.groupEpoch;
  const aHad = [...a.owns];
  const bye = await e.c.heartbeat(req('a', a.epoch, { memberEpoch: -2, instanceId: 'i-a' }));
  assert.equal(bye.memberEpoch, -2);
  // Another process with the same instance id is refused while the old one has not left.
  const twin = await e.c.heartbeat(req('b2', 0, { instanceId: 'i-b' }));
  assert.equal(twin.errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
  const back = await e.c.heartbeat(req('a-new', 0, { instanceId: 'i-a' }));
  assert.equal(back.errorCode, ErrorCode.NONE);
  assert.equal(back.memberEpoch, a.epoch, 'the same epoch');
  assert.deepEqual(parts(back), aHad, 'the same partitions');
  assert.equal(e.c.groups.get(GROUP)!.groupEpoch, epochBefore, 'no new group epoch: nobody rebalanced');
  assert.equal(e.c.groups.get(GROUP)!.members.has('a'), false);
  const old = await e.c.heartbeat(req('a', a.epoch, { topicPartitions: owned(aHad) }));
  assert.equal(old.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'the old member id is gone');
});

test('after a restart, members keep their epoch and partitions', async (t) => {
  const e = await env(t);
  const a = new Client(e, 'a');
  const b = new Client(e, 'b');
  await a.beat();
  await b.beat();
  await a.beat();
  await a.beat();
  await b.beat();
  const epoch = e.c.groups.get(GROUP)!.groupEpoch;
  await e.c.close();
  await e.restart();
  const g = e.c.groups.get(GROUP)!;
  assert.equal(g.groupEpoch, epoch);
  assert.equal(g.state(), 'Stable');
  const ra = await e.c.heartbeat(req('a', a.epoch, { topicPartitions: owned(a.owns) }));
  assert.equal(ra.errorCode, ErrorCode.NONE);
  assert.equal(ra.memberEpoch, a.epoch);
  assert.equal(ra.assignment, null, 'nothing to change');
  const rb = await e.c.heartbeat(req('b', b.epoch, { topicPartitions: owned(b.owns) }));
  assert.equal(rb.memberEpoch, b.epoch);
  assert.equal(e.c.groups.get(GROUP)!.groupEpoch, epoch, 'no rebalance after the restart');
});

test('a regex subscription picks up topics created later, and a new topic bumps the group epoch', async (t) => {
  const e = await env(t);
  e.topics.add('orders-eu', 2);
  const a = new Client(e, 'a', { subscribedTopicNames: null, subscribedTopicRegex: 'orders-.*' });
  const first = await a.beat();
  assert.deepEqual(first.assignment, [{ topicId: 'id-orders-eu', partitions: [0, 1] }], 'T does not match, orders-eu does');
  e.topics.add('orders-us', 3);
  e.topics.add('other', 3);
  e.c.topicsChanged();
  const r = await a.beat();
  assert.equal(r.memberEpoch, 2);
  assert.deepEqual(r.assignment, [{ topicId: 'id-orders-eu', partitions: [0, 1] }, { topicId: 'id-orders-us', partitions: [0, 1, 2] }]);
});

test('ACLs: a regex subscription resolves to the topics its principal may describe, after a restart too', async (t) => {
  // alice may describe orders-a only; the check is looked up at each use, so the test can turn ACLs on between restarts.
  let acls = true;
  const e = await env(t, () => (acls ? (principal, host, topic) => principal === 'User:alice' && host === '127.0.0.1' && topic === 'orders-a' : undefined));
  e.topics.add('orders-a', 2);
  e.topics.add('orders-secret', 2);
  const a = new Client(e, 'a', { subscribedTopicNames: null, subscribedTopicRegex: 'orders-.*', principal: 'User:alice', principalHost: '127.0.0.1' });
  await a.beat();
  const topicIds = (): string[] => [...new Set([...e.c.groups.get(GROUP)!.target.values()].flatMap((m) => [...m.keys()]))].sort();
  assert.deepEqual(topicIds(), ['id-orders-a']);
  const epoch = e.c.groups.get(GROUP)!.groupEpoch;
  await e.c.close();
  await e.restart();
  assert.deepEqual(topicIds(), ['id-orders-a'], 'the restored member is still alice: the hidden topic stays out');
  assert.equal(e.c.groups.get(GROUP)!.groupEpoch, epoch, 'no rebalance after the restart');

  // A member stored without a principal (ACLs off then, or an older state file) sees nothing
  // under ACLs until a heartbeat tells who it is.
  acls = false;
  await e.c.close();
  await e.restart();
  const b = new Client(e, 'b', { subscribedTopicNames: null, subscribedTopicRegex: 'orders-.*' });
  await b.beat();
  await e.c.close();
  acls = true;
  await e.restart();
  const g = e.c.groups.get(GROUP)!;
  assert.deepEqual([...g.target.get('b')!.keys()], [], 'b has no principal yet: no topic');
  await b.beat({ principal: 'User:alice', principalHost: '127.0.0.1' });
  assert.deepEqual([...e.c.groups.get(GROUP)!.target.get('b')!.keys()].sort().filter((id) => id !== 'id-orders-a'), [], 'once known, b sees what alice may');
});

test('refusals: bad requests, unknown assignor, bad regex, a classic group with members', async (t) => {
  const e = await env(t);
  const cases: [Partial<HeartbeatRequest> & { memberId?: string; memberEpoch?: number }, number, RegExp][] = [
    [{ groupId: '' }, ErrorCode.INVALID_GROUP_ID, /GroupId/],
    [{ memberId: '' }, ErrorCode.INVALID_REQUEST, /MemberId/],
    [{ rebalanceTimeoutMs: -1 }, ErrorCode.INVALID_REQUEST, /RebalanceTimeoutMs/],
    [{ topicPartitions: null }, ErrorCode.INVALID_REQUEST, /TopicPartitions/],
    [{ subscribedTopicNames: null }, ErrorCode.INVALID_REQUEST, /Subscribed/],
    [{ serverAssignor: 'sticky' }, ErrorCode.UNSUPPORTED_ASSIGNOR, /uniform, range/],
    [{ subscribedTopicRegex: 'orders-(' }, ErrorCode.INVALID_REGULAR_EXPRESSION, /orders-\(/],
    [{ memberEpoch: -2 }, ErrorCode.INVALID_REQUEST, /InstanceId/],
  ];
  for (const [more, code, message] of cases) {
    const r = await e.c.heartbeat({ ...req(more.memberId ?? 'a', 0), ...more });
    assert.equal(r.errorCode, code, JSON.stringify(more));
    assert.match(r.errorMessage ?? '', message);
  }
  e.classicMembers.set('busy', 2);
  const busy = await e.c.heartbeat(req('a', 0, { groupId: 'busy' }));
  assert.equal(busy.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.match(busy.errorMessage!, /classic protocol/);
  e.classicMembers.set('idle', 0);
  const idle = await e.c.heartbeat(req('a', 0, { groupId: 'idle' }));
  assert.equal(idle.errorCode, ErrorCode.NONE, 'an empty classic group converts');
  assert.equal(e.classicMembers.has('idle'), false);
});

test('offset commits and fetches of a consumer group check the member epoch', async (t) => {
  const e = await env(t);
  await e.c.heartbeat(req('a', 0));
  assert.equal(e.c.offsetCheck(GROUP, 'a', 1, 9, true), ErrorCode.NONE);
  assert.equal(e.c.offsetCheck(GROUP, 'a', 2, 9, true), ErrorCode.STALE_MEMBER_EPOCH);
  assert.equal(e.c.offsetCheck(GROUP, 'a', 0, 9, true), ErrorCode.STALE_MEMBER_EPOCH);
  assert.equal(e.c.offsetCheck(GROUP, 'a', 0, 8, true), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(e.c.offsetCheck(GROUP, 'x', 1, 9, true), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(e.c.offsetCheck(GROUP, '', -1, 9, true), ErrorCode.UNKNOWN_MEMBER_ID, 'an outside commit while the group has members');
  assert.equal(e.c.offsetCheck(GROUP, '', -1, 9, false), ErrorCode.NONE, 'an outside fetch is fine');
});

test('a heartbeat that changes nothing writes nothing; one that changes the group is stored before it is answered', async (t) => {
  const e = await env(t);
  const a = new Client(e, 'a');
  await a.beat();
  const stored = e.log.logEndOffset;
  assert.ok(stored > 0, 'the join was stored');
  for (let i = 0; i < 5; i++) await a.beat();
  assert.equal(e.log.logEndOffset, stored, 'steady heartbeats add nothing to the log');
  await e.c.heartbeat(req('b', 0));
  assert.equal(e.log.logEndOffset, stored + 1, 'the second member\'s join is one more record');
});
