// The group APIs through the real dispatch path of an in-process broker, with short
// timeouts (group.min.session.timeout.ms lowered) so a session expiry takes a few hundred
// milliseconds, and the coordinator's state read directly instead of through DescribeGroups.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessBroker, type InProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { waitFor } from '../../helpers/wait.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { GroupState } from '../../../src/broker/groups/group.js';

const SESSION_MS = 500;
let b: InProcessBroker;
let c: WireClient;

before(async () => {
  b = await startInProcessBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 100 });
  c = await WireClient.connect(b.port);
});
after(async () => {
  c.close();
  await b.stop();
});

const join = (group: string, memberId = '') =>
  c.request(ApiKey.JoinGroup, 5, {
    groupId: group, sessionTimeoutMs: SESSION_MS, rebalanceTimeoutMs: 1000, memberId, groupInstanceId: null,
    protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }],
  });
const heartbeat = (group: string, generationId: number, memberId: string) =>
  c.request(ApiKey.Heartbeat, 3, { groupId: group, generationId, memberId, groupInstanceId: null });

test('a member that stops heartbeating is removed after its session timeout and the group is left empty', async () => {
  const handshake = await join('g-expiry');
  assert.equal(handshake.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const joined = await join('g-expiry', handshake.memberId);
  assert.equal(joined.errorCode, ErrorCode.NONE);
  assert.equal(joined.generationId, 1);
  const synced = await c.request(ApiKey.SyncGroup, 3, { groupId: 'g-expiry', generationId: 1, memberId: joined.memberId, groupInstanceId: null, assignments: [{ memberId: joined.memberId, assignment: Buffer.from('p0') }] });
  assert.equal(synced.errorCode, ErrorCode.NONE);
  const group = b.broker.groups.groups.get('g-expiry')!;
  assert.equal(group.state, GroupState.Stable);

  // Heartbeats keep the member for longer than one session timeout...
  const t0 = Date.now();
  while (Date.now() - t0 < 2 * SESSION_MS) {
    assert.equal((await heartbeat('g-expiry', 1, joined.memberId)).errorCode, ErrorCode.NONE);
    await new Promise((r) => setTimeout(r, SESSION_MS / 4));
  }
  assert.ok(group.members.has(joined.memberId), 'a heartbeating member stays');
  // ...and without them it goes.
  await waitFor('the member to expire', () => group.members.size === 0, 5 * SESSION_MS);
  assert.equal(group.state, GroupState.Empty);
  assert.equal(group.generationId, 2, 'the rebalance after the expiry closed generation 1');
  assert.equal((await heartbeat('g-expiry', 1, joined.memberId)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
});

test('a session timeout below group.min.session.timeout.ms is refused', async () => {
  const res = await c.request(ApiKey.JoinGroup, 5, {
    groupId: 'g-short', sessionTimeoutMs: 99, rebalanceTimeoutMs: 1000, memberId: '', groupInstanceId: null,
    protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(6) }],
  });
  assert.equal(res.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
});
