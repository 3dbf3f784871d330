// Static membership in GroupMember (src/client/group-member.ts, KIP-848's group.instance.id):
// a static member that stops gracefully keeps its partitions for the session timeout, and its
// successor with the same instance id takes them back without the other members noticing (a
// rolling restart of a StatefulSet). A successor that starts while the old member still holds
// the instance id (a crash not yet detected) waits, saying why, instead of failing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '@platformatic/kafka';
import { brokerTail } from '../helpers/broker.js';
import { startBrokerOrPeer } from '../helpers/broker-or-peer.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { GroupMember, type TopicPartition } from '../../src/client/group-member.js';

const names = (ps: TopicPartition[]) => ps.map((p) => `${p.topic}-${p.partition}`).sort();
const settings = { 'group.consumer.heartbeat.interval.ms': '200', 'group.consumer.session.timeout.ms': '8000' };

function member(admin: Admin, instanceId: string, events: string[], log: string[] = []): GroupMember {
  return new GroupMember({
    client: admin, groupId: 'static-group', topics: ['static-in'], instanceId, serverAssignor: 'range', log: (l) => log.push(`${instanceId}: ${l}`),
    onAssign: (ps) => void events.push(`assign ${names(ps)}`),
    onRevoke: (ps) => void events.push(`revoke ${names(ps)}`),
    onLost: (ps) => void events.push(`lost ${names(ps)}`),
    onError: (e) => void events.push(`error ${String(e)}`),
  });
}

test('a static member restarted within its session gets its partitions back; the other member keeps its own and is never rebalanced', { timeout: 60_000 }, async () => {
  const broker = await startBrokerOrPeer({ settings });
  const admin = new Admin({ clientId: 'client-group-static', bootstrapBrokers: [broker.bootstrap], retries: 2, retryDelay: 200 });
  const aEvents: string[] = [];
  const bEvents: string[] = [];
  const log: string[] = [];
  const a = member(admin, 'pod-a', aEvents, log);
  const b = member(admin, 'pod-b', bEvents, log);
  let a2: GroupMember | undefined;
  try {
    await admin.createTopics({ topics: ['static-in'], partitions: 4, replicas: 1 });
    await a.start();
    await b.start();
    const diag = () => `${log.join('\n')}\n${brokerTail(broker, 30)}`;
    await waitFor('both members own two partitions', () => a.assignment().length === 2 && b.assignment().length === 2, 20_000, diag);
    const aOwned = names(a.assignment());
    const bOwned = names(b.assignment());
    const bEventsBefore = bEvents.length;
    await a.close();
    assert.ok(log.some((l) => l.includes('left group "static-group" as static member "pod-a"')), diag());
    // Less than the session timeout: the coordinator holds pod-a's partitions for it.
    await sleep(1500);
    assert.deepEqual(names(b.assignment()), bOwned, 'pod-b was not given pod-a\'s partitions while pod-a is away');
    const a2Events: string[] = [];
    a2 = member(admin, 'pod-a', a2Events, log);
    await a2.start();
    await waitFor('the restarted pod-a owns its two partitions again', () => a2!.assignment().length === 2, 20_000, diag);
    assert.deepEqual(names(a2.assignment()), aOwned, 'the same partitions as before the restart');
    assert.deepEqual(bEvents.slice(bEventsBefore), [], 'pod-b saw no revocation and no assignment');
    assert.deepEqual(names(b.assignment()), bOwned);
  } finally {
    await a2?.close().catch(() => undefined);
    await b.close().catch(() => undefined);
    await a.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await broker.stop();
    await broker.cleanup();
  }
});

test('a static member whose instance id is still held waits (UNRELEASED_INSTANCE_ID is retried, with a log line) and joins once it is released', { timeout: 60_000 }, async () => {
  const broker = await startBrokerOrPeer({ settings });
  const admin = new Admin({ clientId: 'client-group-static-held', bootstrapBrokers: [broker.bootstrap], retries: 2, retryDelay: 200 });
  const log: string[] = [];
  const old = member(admin, 'pod-c', [], log);
  const next = member(admin, 'pod-c', [], log);
  try {
    await admin.createTopics({ topics: ['static-in'], partitions: 2, replicas: 1 });
    await old.start();
    await waitFor('the first member owns both partitions', () => old.assignment().length === 2, 20_000, () => log.join('\n'));
    let joined = false;
    const starting = next.start().then(() => {
      joined = true;
    });
    await waitFor('a log line saying the instance id is still held', () => log.some((l) => /instance id "pod-c" is still held/.test(l)), 20_000, () => log.join('\n'));
    assert.equal(joined, false, 'the second member did not join while the first one holds the instance id');
    await old.close();
    await starting;
    await waitFor('the second member owns both partitions', () => next.assignment().length === 2, 20_000, () => `${log.join('\n')}\n${brokerTail(broker, 30)}`);
  } finally {
    await next.close().catch(() => undefined);
    await old.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await broker.stop();
    await broker.cleanup();
  }
});
