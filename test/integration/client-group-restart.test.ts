// GroupMember (src/client/group-member.ts) through a broker restart: while the coordinator is
// gone the member keeps trying and says so in its log; once it is back the member owns its
// partitions again at a valid epoch (if the coordinator forgot it, onLost came first and it
// rejoined at epoch 0). And a heartbeat never waits for a slow hook: a member whose onAssign
// outlasts the session timeout is not fenced. The RecordFetcher rides out a restart as well.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '@platformatic/kafka';
import { brokerTail } from '../helpers/broker.js';
import { startBrokerOrPeer } from '../helpers/broker-or-peer.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { GroupMember, type TopicPartition } from '../../src/client/group-member.js';
import { RecordFetcher } from '../../src/client/record-fetcher.js';
import { StreamProducer } from '../../src/client/stream-producer.js';

const names = (ps: TopicPartition[]) => ps.map((p) => `${p.topic}-${p.partition}`).sort();

test('a member survives a broker restart: it retries with log lines, then owns its partitions again', { timeout: 90_000 }, async (t) => {
  const settings = { 'group.consumer.heartbeat.interval.ms': '200', 'group.consumer.session.timeout.ms': '3000' };
  let broker = await startBrokerOrPeer({ settings });
  const { port, dataDir } = broker;
  const admin = new Admin({ clientId: 'client-group-restart', bootstrapBrokers: [broker.bootstrap], retries: 2, retryDelay: 200 });
  const log: string[] = [];
  const events: string[] = [];
  const m = new GroupMember({
    client: admin, groupId: 'restart-group', topics: ['restart-in'], log: (l) => log.push(l),
    onAssign: (ps) => void events.push(`assign ${names(ps)}`),
    onLost: (ps) => void events.push(`lost ${names(ps)}`),
    onRevoke: (ps) => void events.push(`revoke ${names(ps)}`),
    onError: (e) => void events.push(`error ${String(e)}`),
  });
  try {
    await admin.createTopics({ topics: ['restart-in'], partitions: 2, replicas: 1 });
    await m.start();
    await waitFor('the member owns both partitions', () => m.assignment().length === 2, 15_000, () => log.join('\n'));
    await broker.stop();
    await waitFor('a log line about the unreachable coordinator', () => log.some((l) => /coordinator unreachable or moved|heartbeat failed/.test(l)), 15_000, () => log.join('\n'));
    await sleep(4000); // past the session timeout
    broker = await startBrokerOrPeer({ settings, dataDir, port });
    const lostBefore = events.filter((e) => e.startsWith('lost')).length;
    await waitFor('the member owns both partitions again at a valid epoch', () => m.assignment().length === 2 && m.memberEpoch > 0 && !log.at(-1)!.includes('retrying'), 30_000,
      () => `${log.join('\n')}\n${events.join('\n')}\n${brokerTail(broker, 30)}`);
    t.diagnostic(`events: ${events.join('; ')} (lost before restart: ${lostBefore})`);
    const lost = events.findIndex((e) => e.startsWith('lost'));
    if (lost >= 0) assert.ok(events.slice(lost + 1).some((e) => e.startsWith('assign')), `after onLost the member was assigned again\n${events.join('\n')}`);
    assert.ok(!events.some((e) => e.startsWith('error')), events.join('\n'));
  } finally {
    await m.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await broker.stop();
    await broker.cleanup();
  }
});

test('heartbeats go on while a hook runs: an onAssign longer than the session timeout does not get the member fenced', { timeout: 60_000 }, async () => {
  const broker = await startBrokerOrPeer({ settings: { 'group.consumer.heartbeat.interval.ms': '200', 'group.consumer.session.timeout.ms': '1500' } });
  const admin = new Admin({ clientId: 'client-group-slow', bootstrapBrokers: [broker.bootstrap], retries: 2, retryDelay: 200 });
  const events: string[] = [];
  const m = new GroupMember({
    client: admin, groupId: 'slow-group', topics: ['slow-in'],
    onAssign: async (ps) => {
      events.push(`assign ${names(ps)}`);
      await sleep(4000); // a state restore, say
      events.push('assigned');
    },
    onLost: (ps) => void events.push(`lost ${names(ps)}`),
  });
  try {
    await admin.createTopics({ topics: ['slow-in'], partitions: 1, replicas: 1 });
    await m.start();
    await waitFor('onAssign finished', () => events.includes('assigned'), 20_000, () => events.join('\n'));
    await sleep(500);
    assert.deepEqual(events, ['assign slow-in-0', 'assigned'], 'never fenced, never lost');
    assert.deepEqual(names(m.assignment()), ['slow-in-0']);
  } finally {
    await m.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await broker.stop();
    await broker.cleanup();
  }
});

test('the fetcher survives a broker restart: polls in the meantime return nothing, then the records written after it arrive', { timeout: 90_000 }, async () => {
  let broker = await startBrokerOrPeer();
  const { port, dataDir } = broker;
  const client = { clientId: 'client-fetcher-restart', bootstrapBrokers: [broker.bootstrap], retries: 2, retryDelay: 200 };
  const admin = new Admin(client);
  const log: string[] = [];
  const f = new RecordFetcher({ client, maxWaitMs: 200, log: (l) => log.push(l) });
  const tp = { topic: 'restart-fetch', partition: 0 };
  const got: string[] = [];
  const pollFor = async (n: number) => {
    const deadline = Date.now() + 30_000;
    while (got.length < n) {
      if (Date.now() > deadline) assert.fail(`got ${got}\n${log.join('\n')}`);
      got.push(...(await f.poll()).map((r) => r.value!.toString()));
    }
  };
  try {
    await admin.createTopics({ topics: [tp.topic], partitions: 1, replicas: 1 });
    const p1 = new StreamProducer({ client });
    await p1.send({ ...tp, key: null, value: Buffer.from('before') });
    await p1.close();
    f.add(tp, 0n);
    await pollFor(1);
    await broker.stop();
    for (let i = 0; i < 3; i++) assert.deepEqual(await f.poll(), [], 'nothing while the broker is down');
    broker = await startBrokerOrPeer({ dataDir, port });
    const p2 = new StreamProducer({ client });
    await p2.send({ ...tp, key: null, value: Buffer.from('after') });
    await p2.close();
    await pollFor(2);
    assert.deepEqual(got, ['before', 'after']);
    assert.ok(log.length > 0, 'the outage was logged');
  } finally {
    await f.close();
    await admin.close().catch(() => undefined);
    await broker.stop();
    await broker.cleanup();
  }
});
