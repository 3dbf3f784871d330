// GroupMember (src/client/group-member.ts) against a scripted coordinator: fenced
// (FENCED_MEMBER_EPOCH) -> onLost with what it owned, then a rejoin at epoch 0 that lists
// nothing owned; NOT_COORDINATOR -> the coordinator is looked up again; a cluster without
// ConsumerGroupHeartbeat -> a RIV_ERR_CLIENT_UNSUPPORTED error that names the versions that have it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kGetApi, kGetBootstrapConnection, kGetConnection, UnsupportedApiError } from '@platformatic/kafka';
import { GroupMember } from '../../../src/client/group-member.js';
import { ClientError, ClientErrorCode } from '../../../src/client/errors.js';
import type { AnyClient } from '../../../src/client/kafka-api.js';

type Cb = (e: Error | null, r?: unknown) => void;
const protocolError = (apiId: string) => Object.assign(new Error(apiId), { apiId });

interface Sent {
  memberId: string;
  epoch: number;
  owned: Array<{ topicId: string; partitions: number[] }>;
}

/** A client whose ConsumerGroupHeartbeat answers come from `answer` (a value or an error). */
function scripted(answer: (sent: Sent, n: number) => unknown, opts: { noHeartbeatApi?: boolean } = {}) {
  const sent: Sent[] = [];
  let findCoordinator = 0;
  const api = (name: string) => {
    const fn = (_conn: unknown, ...args: unknown[]) => {
      const cb = args.pop() as Cb;
      if (name === 'FindCoordinator') {
        findCoordinator++;
        return cb(null, { coordinators: [{ key: args[1] && (args[1] as string[])[0], nodeId: 1, host: 'h', port: 1 }] });
      }
      const s: Sent = { memberId: args[1] as string, epoch: args[2] as number, owned: args[9] as Sent['owned'] };
      sent.push(s);
      const r = answer(s, sent.length - 1);
      setImmediate(() => (r instanceof Error ? cb(r) : cb(null, r)));
    };
    return Object.assign(fn, { version: 1 });
  };
  const client = {
    [kGetApi]: (name: string, cb: Cb) => (opts.noHeartbeatApi && name === 'ConsumerGroupHeartbeat' ? cb(new UnsupportedApiError('Unsupported API ConsumerGroupHeartbeat.')) : cb(null, api(name))),
    [kGetConnection]: (_b: unknown, cb: Cb) => cb(null, {}),
    [kGetBootstrapConnection]: (cb: Cb) => cb(null, {}),
    metadata: async () => ({ topics: new Map([['t', { id: 'tid' }]]) }),
  } as unknown as AnyClient;
  return { client, sent, findCoordinator: () => findCoordinator };
}

const answer = (epoch: number, partitions?: number[]) => ({
  memberId: null, memberEpoch: epoch, heartbeatIntervalMs: 5, assignment: partitions ? { topicPartitions: [{ topicId: 'tid', partitions }] } : null,
});

test('fenced: onLost with what it owned, then a rejoin at epoch 0 listing nothing owned, and the partitions again', async () => {
  const events: string[] = [];
  let fencedAt = -1;
  const { client, sent } = scripted((s, n) => {
    if (s.epoch === 0 && n === 0) return answer(1, [0, 1]);
    if (fencedAt < 0 && n >= 3) {
      fencedAt = n;
      return protocolError('FENCED_MEMBER_EPOCH');
    }
    if (s.epoch === 0) return answer(3, [1]);
    return answer(s.epoch);
  });
  const m = new GroupMember({
    client, groupId: 'g', topics: ['t'],
    onAssign: (ps) => void events.push(`assign ${ps.map((p) => p.partition)}`),
    onLost: (ps) => void events.push(`lost ${ps.map((p) => p.partition)}`),
    onRevoke: (ps) => void events.push(`revoke ${ps.map((p) => p.partition)}`),
  });
  let memberId: string;
  try {
    await m.start();
    for (let i = 0; i < 200 && !events.includes('assign 1'); i++) await new Promise((r) => setTimeout(r, 5));
    memberId = m.memberId;
  } finally {
    await m.close();
  }
  assert.deepEqual(events, ['assign 0,1', 'lost 0,1', 'assign 1', 'revoke 1']);
  const rejoin = sent[fencedAt + 1]!;
  assert.equal(rejoin.epoch, 0, 'rejoins at epoch 0');
  assert.deepEqual(rejoin.owned, [], 'owning nothing');
  assert.equal(rejoin.memberId, memberId, 'with the same member id');
  assert.ok(sent.some((s) => s.epoch === 1 && s.owned.length === 1 && s.owned[0]!.partitions.length === 2), 'the assignment was acknowledged before the fencing');
  assert.equal(sent.at(-1)!.epoch, -1, 'close leaves the group');
});

test('NOT_COORDINATOR: the coordinator is looked up again and the heartbeat retried', async () => {
  const { client, findCoordinator } = scripted((_s, n) => (n === 0 ? protocolError('NOT_COORDINATOR') : answer(1, [0])));
  const log: string[] = [];
  const m = new GroupMember({ client, groupId: 'g', topics: ['t'], log: (l) => log.push(l) });
  try {
    await m.start();
    assert.equal(m.memberEpoch, 1);
    assert.equal(findCoordinator(), 2);
    assert.ok(log.some((l) => /NOT_COORDINATOR/.test(l)), log.join('\n'));
  } finally {
    await m.close();
  }
});

test('a cluster without the consumer protocol: RIV_ERR_CLIENT_UNSUPPORTED naming the versions that have it', async () => {
  const { client } = scripted(() => answer(1), { noHeartbeatApi: true });
  const m = new GroupMember({ client, groupId: 'g', topics: ['t'] });
  await assert.rejects(m.start(), (e: unknown) => e instanceof ClientError && e.code === ClientErrorCode.unsupported && /Apache Kafka 4\.0/.test(e.message));
  const v = scripted(() => protocolError('UNSUPPORTED_VERSION'));
  await assert.rejects(new GroupMember({ client: v.client, groupId: 'g', topics: ['t'] }).start(), (e: unknown) => e instanceof ClientError && e.code === ClientErrorCode.unsupported);
});
