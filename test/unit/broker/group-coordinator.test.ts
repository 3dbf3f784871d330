// The classic group coordinator's timers under mock time: a member whose session runs out
// is removed and the group rebalances without it; the first members of an empty group
// gather for group.initial.rebalance.delay.ms; a static member that comes back under a new
// member id fences the old one without a rebalance. Driven directly (no sockets), with
// node:test's mock timers standing in for setTimeout and Date.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCoordinator, type GroupSettings, type JoinRequest } from '../../../src/broker/groups/coordinator.js';
import { GroupState, type JoinAnswer, type SyncAnswer } from '../../../src/broker/groups/group.js';
import { OffsetStore } from '../../../src/broker/groups/offset-store.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';
import { defaultLogConfig } from '../../../src/storage/log-config.js';
import { Logger } from '../../../src/broker/logger.js';
import { ErrorCode } from '../../../src/protocol/errors.js';

const GROUP = 'g';
const SESSION_MS = 6000;
const REBALANCE_MS = 10_000;

async function coordinator(t: TestContext, overrides: Partial<GroupSettings> = {}): Promise<GroupCoordinator> {
  const offsets = new OffsetStore(new MemoryLog({ ...defaultLogConfig }), { compactAfterBytes: 1 << 30, fsync: false });
  await offsets.load();
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  const settings: GroupSettings = { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1000, maxSessionTimeoutMs: 60_000, maxSize: 0, offsetsRetentionMs: 7 * 86_400_000, ...overrides };
  const c = new GroupCoordinator(settings, offsets, new Logger('error'), () => Date.now());
  t.after(() => c.close());
  return c;
}

function joinReq(o: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: GROUP, memberId: '', groupInstanceId: null, sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('m') }], clientId: 'c', clientHost: '/127.0.0.1',
    requireKnownMemberId: false, supportsSkipAssignment: false, ...o,
  };
}

/** A promise's settled value so far, without waiting for it (after pending microtasks run). */
async function peek<T>(p: Promise<T>): Promise<T | 'pending'> {
  const marker = Symbol('pending');
  const v = await Promise.race([p, new Promise<typeof marker>((r) => setImmediate(() => r(marker)))]);
  return v === marker ? 'pending' : (v as T);
}

/** Advances mock time by `ms`, in steps, calling `between` after each step (heartbeats). */
function advance(t: TestContext, ms: number, step = ms, between: () => void = () => undefined): void {
  for (let done = 0; done < ms; done += step) {
    t.mock.timers.tick(Math.min(step, ms - done));
    between();
  }
}

/** Leader's SyncGroup with one empty assignment per member, and every follower's SyncGroup; resolves when all are answered. */
async function syncAll(c: GroupCoordinator, leader: JoinAnswer, followers: JoinAnswer[]): Promise<SyncAnswer[]> {
  const assignments = leader.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from(`for ${m.memberId}`) }));
  const f = followers.map((a) => c.sync(GROUP, a.memberId, null, a.generationId, 'consumer', 'range', []));
  const l = c.sync(GROUP, leader.memberId, null, leader.generationId, 'consumer', 'range', assignments);
  return Promise.all([l, ...f]);
}

test('a member whose session expires is removed at its session timeout and the group rebalances without it', async (t) => {
  const c = await coordinator(t);
  const a1 = await c.join(joinReq({ clientId: 'a' }));
  assert.equal(a1.errorCode, ErrorCode.NONE);
  assert.equal(a1.generationId, 1);
  await syncAll(c, a1, []);
  // B joins a Stable group: A must rejoin, then both are in generation 2.
  const bJoin = c.join(joinReq({ clientId: 'b' }));
  assert.equal(c.groups.get(GROUP)!.state, GroupState.PreparingRebalance);
  const a2 = await c.join(joinReq({ memberId: a1.memberId }));
  const b2 = await bJoin;
  assert.equal(a2.generationId, 2);
  assert.equal(b2.generationId, 2);
  const leader = a2.leader === a2.memberId ? a2 : b2;
  assert.equal(leader.members.length, 2);
  await syncAll(c, leader, [leader === a2 ? b2 : a2]);
  assert.equal(c.groups.get(GROUP)!.state, GroupState.Stable);

  // A heartbeats every second; B stays silent. Just before B's session runs out, B is still a member.
  const heartbeatA = () => assert.equal(c.heartbeat(GROUP, a2.memberId, null, 2), ErrorCode.NONE);
  advance(t, SESSION_MS - 1, 1000, heartbeatA);
  assert.ok(c.groups.get(GROUP)!.members.has(b2.memberId), 'B is still a member 1 ms before its session timeout');
  assert.equal(c.groups.get(GROUP)!.state, GroupState.Stable);
  t.mock.timers.tick(1);
  assert.equal(c.groups.get(GROUP)!.members.has(b2.memberId), false, 'B is removed at its session timeout');
  assert.equal(c.groups.get(GROUP)!.state, GroupState.PreparingRebalance, 'the group rebalances without B');
  assert.equal(c.heartbeat(GROUP, a2.memberId, null, 2), ErrorCode.REBALANCE_IN_PROGRESS, 'A is told to rejoin');
  assert.equal(c.heartbeat(GROUP, b2.memberId, null, 2), ErrorCode.UNKNOWN_MEMBER_ID, 'B is no longer known');
  const a3 = await c.join(joinReq({ memberId: a2.memberId }));
  assert.equal(a3.errorCode, ErrorCode.NONE);
  assert.equal(a3.generationId, 3);
  assert.equal(a3.leader, a2.memberId);
  assert.deepEqual(a3.members.map((m) => m.memberId), [a2.memberId], 'the new generation holds A alone');
});

test('a member parked in JoinGroup is not expired by its session timeout', async (t) => {
  const c = await coordinator(t);
  // A's session outlasts the rebalance timeout, so it is the rebalance timeout that drops A.
  const a1 = await c.join(joinReq({ clientId: 'a', sessionTimeoutMs: 30_000 }));
  await syncAll(c, a1, []);
  const bJoin = c.join(joinReq({ clientId: 'b' }));
  // A never rejoins: the rebalance waits up to the rebalance timeout (10 s), longer than B's session (6 s).
  advance(t, SESSION_MS + 1000, 1000);
  assert.equal(await peek(bJoin), 'pending', 'B waits in JoinGroup for A');
  assert.equal(c.groups.get(GROUP)!.members.size, 2);
  advance(t, REBALANCE_MS - SESSION_MS - 1000, 1000);
  const b = await bJoin;
  assert.equal(b.errorCode, ErrorCode.NONE);
  assert.equal(b.generationId, 2);
  assert.deepEqual(b.members.map((m) => m.memberId), [b.memberId], 'A, which did not rejoin in time, was dropped; B leads alone');
});

test('the first members of an empty group gather for the initial rebalance delay', async (t) => {
  const c = await coordinator(t, { initialRebalanceDelayMs: 3000 });
  const aJoin = c.join(joinReq({ clientId: 'a' }));
  advance(t, 1000);
  assert.equal(await peek(aJoin), 'pending', 'the first member waits for others');
  const bJoin = c.join(joinReq({ clientId: 'b' }));
  advance(t, 1999);
  assert.equal(await peek(aJoin), 'pending', 'still gathering 1 ms before the delay ends');
  assert.equal(await peek(bJoin), 'pending');
  assert.equal(c.groups.get(GROUP)!.generationId, 0);
  advance(t, 1);
  const [a, b] = await Promise.all([aJoin, bJoin]);
  assert.equal(a.generationId, 1, 'one generation for both');
  assert.equal(b.generationId, 1);
  const leader = a.leader === a.memberId ? a : b;
  assert.deepEqual(leader.members.map((m) => m.memberId).sort(), [a.memberId, b.memberId].sort(), 'the leader sees both members');
});

test('the initial delay is capped by the members\' rebalance timeout', async (t) => {
  const c = await coordinator(t, { initialRebalanceDelayMs: 3000 });
  const aJoin = c.join(joinReq({ rebalanceTimeoutMs: 500 }));
  advance(t, 499);
  assert.equal(await peek(aJoin), 'pending');
  advance(t, 1);
  const a = await peek(aJoin);
  assert.notEqual(a, 'pending', 'answered at the 500 ms rebalance timeout, not the 3000 ms delay');
  assert.equal((a as JoinAnswer).generationId, 1);
});

test('without an initial delay a lone first member is answered at once', async (t) => {
  const c = await coordinator(t, { initialRebalanceDelayMs: 0 });
  const a = await peek(c.join(joinReq()));
  assert.notEqual(a, 'pending');
  assert.equal((a as JoinAnswer).generationId, 1);
});

test('a static member that rejoins under a new member id fences the old id without a rebalance', async (t) => {
  const c = await coordinator(t);
  const old = await c.join(joinReq({ groupInstanceId: 'instance-1', clientId: 'a' }));
  assert.equal(old.errorCode, ErrorCode.NONE);
  const [synced] = await syncAll(c, old, []);
  assert.equal(synced!.errorCode, ErrorCode.NONE);
  const generation = c.groups.get(GROUP)!.generationId;

  // The same instance restarts: it has lost its member id and joins with an empty one.
  const fresh = await c.join(joinReq({ groupInstanceId: 'instance-1', clientId: 'a-restarted' }));
  assert.equal(fresh.errorCode, ErrorCode.NONE);
  assert.notEqual(fresh.memberId, old.memberId, 'a new member id');
  assert.equal(fresh.generationId, generation, 'no new generation');
  assert.equal(c.groups.get(GROUP)!.state, GroupState.Stable, 'no rebalance');
  assert.equal(fresh.leader, fresh.memberId, 'the leadership moves to the new id');

  assert.equal(c.heartbeat(GROUP, old.memberId, 'instance-1', generation), ErrorCode.FENCED_INSTANCE_ID);
  assert.equal((await c.sync(GROUP, old.memberId, 'instance-1', generation, 'consumer', 'range', [])).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.deepEqual(c.leave(GROUP, [{ memberId: old.memberId, groupInstanceId: 'instance-1' }]), [ErrorCode.FENCED_INSTANCE_ID]);
  assert.equal(c.heartbeat(GROUP, fresh.memberId, 'instance-1', generation), ErrorCode.NONE, 'the new id is the member');
  const kept = await c.sync(GROUP, fresh.memberId, 'instance-1', generation, 'consumer', 'range', []);
  assert.equal(kept.assignment.toString(), `for ${old.memberId}`, 'the new id keeps the assignment the old one had');
});

test('a static member parked in SyncGroup is answered FENCED_INSTANCE_ID when its instance rejoins', async (t) => {
  const c = await coordinator(t);
  const a = await c.join(joinReq({ groupInstanceId: 'instance-a', clientId: 'a' }));
  await syncAll(c, a, []);
  const bJoin = c.join(joinReq({ groupInstanceId: 'instance-b', clientId: 'b' }));
  const a2 = await c.join(joinReq({ memberId: a.memberId, groupInstanceId: 'instance-a' }));
  const b = await bJoin;
  const follower = a2.leader === a2.memberId ? b : a2;
  const followerInstance = follower === b ? 'instance-b' : 'instance-a';
  // The follower waits in SyncGroup for the leader's assignment; meanwhile its instance restarts.
  const parked = c.sync(GROUP, follower.memberId, followerInstance, follower.generationId, 'consumer', 'range', []);
  assert.equal(await peek(parked), 'pending');
  const replacement = c.join(joinReq({ groupInstanceId: followerInstance, clientId: 'restarted' }));
  const answer = await parked;
  assert.equal(answer.errorCode, ErrorCode.FENCED_INSTANCE_ID, 'the old member id is fenced out of its SyncGroup');
  void replacement;
});

// Kafka answers a JoinGroup from a fenced static member id with FENCED_INSTANCE_ID, so the
// old process stops; answered UNKNOWN_MEMBER_ID, it rejoins with an empty id and fences the
// new one in turn, and two processes with one group.instance.id take the membership from
// each other.
test('a JoinGroup from a fenced static member id is answered FENCED_INSTANCE_ID', async (t) => {
  const c = await coordinator(t);
  const old = await c.join(joinReq({ groupInstanceId: 'instance-1' }));
  await syncAll(c, old, []);
  const fresh = await c.join(joinReq({ groupInstanceId: 'instance-1' }));
  assert.equal(fresh.errorCode, ErrorCode.NONE);
  const rejoin = await c.join(joinReq({ memberId: old.memberId, groupInstanceId: 'instance-1' }));
  assert.equal(rejoin.errorCode, ErrorCode.FENCED_INSTANCE_ID);
});
