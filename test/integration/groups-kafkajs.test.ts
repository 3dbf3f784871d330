// Consumer groups with kafkajs (issue 3 acceptance):
//  - three consumer processes on a 6-partition topic get 2 partitions each; 60,000 records
//    are consumed exactly once in steady state; one member is SIGKILLed while it consumes and
//    the other two take over its partitions after its session timeout; every record is
//    consumed, duplicates only at offsets the killed member had not committed;
//  - committed offsets survive SIGKILL of the broker: a new consumer of the group resumes
//    from them after a restart on the same data directory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { repoRoot } from '../helpers/paths.js';
import { GroupTools, externalBootstrap, groupBrokerArgs, killOneScenario, groupBrokerForSuite } from '../helpers/group-harness.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { rm } from 'node:fs/promises';

const memberScript = join(repoRoot, 'dist', 'test', 'helpers', 'group-kafkajs-member.js');

const suite = groupBrokerForSuite();

test('kafkajs: 3 member processes, 2 partitions each, 60,000 records exactly once, SIGKILL one, the others take over', { timeout: 180_000 }, async (t) => {
  const { broker, tools } = suite;
  const id = Math.random().toString(36).slice(2, 8);
  const topic = `grp-kafkajs-${id}`;
  const group = `g-kafkajs-${id}`;
  const r = await killOneScenario({
    tools,
    topic,
    group,
    member: (i) => ({ name: `kafkajs-${i}`, cmd: process.execPath, args: [memberScript, broker.bootstrap, topic, group, `m${i}`, '6000'] }),
    steadyCount: 60_000,
    aroundKillCount: 6_000,
    afterTakeoverCount: 6_000,
    timeoutMs: 60_000,
    brokerTail: () => broker.tail(),
    log: (s) => t.diagnostic(s),
  });
  // Each member saw the kafkajs leader/follower protocol through: a member id was given.
  for (const m of r.members) assert.ok(m.events.some((e) => e.ev === 'assigned' && typeof (e as any).member === 'string' && (e as any).member.length > 0), m.describe());
});

test('committed offsets survive SIGKILL of the broker; a new consumer of the group resumes from them', { timeout: 120_000 }, async (t) => {
  if (externalBootstrap) {
    t.skip('GROUP_TEST_BOOTSTRAP is set: this test restarts the broker');
    return;
  }
  const dataDir = await makeTempDir('rivulet-groups-');
  let b = await startBroker({ dataDir, args: groupBrokerArgs });
  const topic = 'durable-offsets';
  const group = 'g-durable';
  const P = 3;
  const ctx = () => `--- broker log (tail) ---\n${b.output().split('\n').slice(-40).join('\n')}`;
  try {
    // Phase 1: 300 records; a group consumer reads them all and commits.
    let tl = new GroupTools(b.bootstrap);
    await tl.connect();
    await tl.createTopic(topic, P);
    await tl.produce(topic, 'a', 0, 300, (i) => i % P);
    const seen1 = await consumeWithGroup(b.bootstrap, topic, group, 300, async (consumer) => {
      // Explicit commit of everything consumed, acknowledged before the kill.
      await consumer.commitOffsets([0, 1, 2].map((p) => ({ topic, partition: p, offset: '100' })));
    }, ctx);
    assert.equal(seen1.length, 300, `phase 1 consumed ${seen1.length} of 300\n${ctx()}`);
    const before = await tl.committed(group, topic);
    assert.deepEqual([...before].sort(), [[0, 100], [1, 100], [2, 100]], `committed before the kill\n${ctx()}`);
    // Also a commit of only part of partition 2 through a second commit: the later one wins.
    await tl.admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 2, offset: '90' }] });
    assert.deepEqual([...(await tl.committed(group, topic))].sort(), [[0, 100], [1, 100], [2, 90]], `committed after setOffsets\n${ctx()}`);
    await tl.close();

    // SIGKILL, restart on the same data directory.
    await b.kill();
    b = await startBroker({ dataDir, args: groupBrokerArgs });
    tl = new GroupTools(b.bootstrap);
    await tl.connect();
    try {
      const after = await tl.committed(group, topic);
      assert.deepEqual([...after].sort(), [[0, 100], [1, 100], [2, 90]], `committed offsets after SIGKILL and restart\n${ctx()}`);

      // Phase 2: 30 more records; the group resumes from the committed offsets.
      await tl.produce(topic, 'b', 300, 330, (i) => i % P);
      const seen2 = await consumeWithGroup(b.bootstrap, topic, group, 40, async () => undefined, ctx);
      const expected = [
        ...Array.from({ length: 10 }, (_, k) => `a|${2 + 3 * (90 + k)}`), // partition 2, offsets 90..99
        ...Array.from({ length: 30 }, (_, k) => `b|${300 + k}`),
      ].sort();
      assert.deepEqual(seen2.map((r) => r.v).sort(), expected, `after the restart the group resumed from its committed offsets\n${ctx()}`);
    } finally {
      await tl.close();
    }
  } finally {
    await b.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** Runs an in-process kafkajs group consumer until `count` records arrived, then `atEnd`, then disconnects. */
async function consumeWithGroup(bootstrap: string, topic: string, group: string, count: number,
  atEnd: (c: import('kafkajs').Consumer) => Promise<void>, ctx: () => string): Promise<Array<{ p: number; o: number; v: string }>> {
  const kafka = new Kafka({ clientId: 'durable-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 });
  const seen: Array<{ p: number; o: number; v: string }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        seen.push({ p: partition, o: Number(message.offset), v: message.value!.toString() });
      },
    });
    await waitFor(`${count} records through the group consumer`, () => seen.length >= count, 45_000, () => `seen ${seen.length}: ${JSON.stringify(seen.slice(-5))}\n${ctx()}`);
    await sleep(1000); // nothing more may arrive
    await atEnd(consumer);
  } finally {
    await Promise.race([consumer.disconnect(), sleep(15_000)]);
  }
  return seen;
}
