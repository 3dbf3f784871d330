// Consumer groups of the KIP-848 protocol with the Apache Kafka Java client 4.4
// (`group.protocol=consumer`) and Kafka's own `kafka-consumer-groups` tool:
// - three members join one by one, one is SIGKILLed: every record is consumed, duplicates only
//   past the killed member's commits, and the two unaffected members keep their partitions
//   throughout (no stop-the-world rebalance: they are never asked to give one up);
// - a classic group and a consumer group on the same topic at once, each consuming everything,
//   and a classic member refused from the consumer group (INCONSISTENT_GROUP_PROTOCOL);
// - `kafka-consumer-groups --describe --members` and `--list --type` describe a consumer group;
// - the broker is SIGKILLed and restarted under a stable group: the members keep their epoch and
//   partitions (nobody revokes anything) and go on consuming;
// - a static member (group.instance.id) closed and started again gets its partitions back
//   without a new group epoch, and the other member sees nothing;
// - a regex subscription (SubscriptionPattern) gets a matching topic created after it joined.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { killOneScenario, groupBrokerForSuite, startGroupBroker, GroupTools, KILL_ONE_SIZES, Member } from '../helpers/group-harness.js';
import { makeTempDir } from '../helpers/temp.js';
import { compileJavaMember, javaMember } from '../helpers/group-clients.js';
import { WireClient } from '../helpers/wire-client.js';
import { waitFor } from '../helpers/wait.js';
import { javaClasspath, javaInstallHint, javaJarsPresent, requireTool, run, token, works } from './tools.js';

// Session and heartbeat are the broker's under this protocol; short ones keep the test quick.
const BROKER_ARGS = ['--set', 'group.consumer.session.timeout.ms=6000', '--set', 'group.consumer.heartbeat.interval.ms=500'];
const suite = groupBrokerForSuite(BROKER_ARGS);

const CONSUMER = { 'group.protocol': 'consumer' };

/** ConsumerGroupDescribe (v1) on the wire: the group's state and member count. */
async function describeConsumerGroup(bootstrap: string, group: string): Promise<{ state: string; members: number; errorCode: number } | undefined> {
  const port = Number(bootstrap.split(':')[1]);
  const c = await WireClient.connect(port);
  try {
    const r = await c.request(69, 1, { groupIds: [group], includeAuthorizedOperations: false });
    const g = r.groups[0];
    return { state: g.groupState, members: g.members.length, errorCode: g.errorCode };
  } finally {
    c.close();
  }
}

async function javaReady(t: TestContext): Promise<string | null> {
  if (!requireTool(t, await works('javac', ['-version']), 'javac (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')) return null;
  if (!requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint)) return null;
  const java = await compileJavaMember();
  assert.ok(java.ok, `javac GroupMember.java failed:\n${java.error}`);
  return java.classpath;
}

test('Java consumers (group.protocol=consumer): 3 members, SIGKILL one, exactly as committed, the others keep their partitions throughout', { timeout: 240_000 }, async (t) => {
  const { broker, tools } = suite;
  const classpath = await javaReady(t);
  if (classpath === null) return;
  const id = token();
  const topic = `grp-848-${id}`;
  const group = `g-848-${id}`;
  let stable: Map<string, number[]> = new Map();
  let eventsAtStable: Map<string, number> = new Map();
  const r = await killOneScenario({
    tools, topic, group, ...KILL_ONE_SIZES,
    member: (i) => javaMember(classpath, `java-848-${i}`, broker.bootstrap, topic, group, CONSUMER),
    describe: (g) => describeConsumerGroup(broker.bootstrap, g),
    onStable: async (members) => {
      stable = new Map(members.map((m) => [m.name, [...m.assignment!]]));
      eventsAtStable = new Map(members.map((m) => [m.name, m.events.length]));
    },
    brokerTail: () => broker.tail(),
    log: (s) => t.diagnostic(s),
  });
  const [a, b, victim] = r.members;
  for (const s of [a!, b!]) {
    const mine = stable.get(s.name)!;
    const after = s.events.slice(eventsAtStable.get(s.name)!, s.eventsBeforeStop);
    const revoked = after.flatMap((e) => (e.ev === 'revoked' || e.ev === 'lost' ? e.partitions : []));
    t.diagnostic(`${s.name}: stable ${JSON.stringify(mine)}, then ${JSON.stringify(after.filter((e) => e.ev !== 'gen').map((e) => `${e.ev}${'partitions' in e ? JSON.stringify(e.partitions) : ''}`))}`);
    assert.deepEqual(revoked.filter((p) => mine.includes(p)), [], `${s.name} was asked to give up partitions it held when the group was stable\n${s.describe()}`);
    assert.ok(mine.every((p) => s.assignmentBeforeStop!.includes(p)), `${s.name} kept ${JSON.stringify(mine)} throughout: ends with ${JSON.stringify(s.assignmentBeforeStop)}`);
  }
  // The victim's partitions went to the survivors, one each.
  const vParts = stable.get(victim!.name)!;
  assert.deepEqual([...a!.assignmentBeforeStop!, ...b!.assignmentBeforeStop!].filter((p) => vParts.includes(p)).sort(), [...vParts].sort());
});

test('classic and consumer groups at once on one topic; a classic member is refused from the consumer group', { timeout: 180_000 }, async (t) => {
  const { broker, tools } = suite;
  const classpath = await javaReady(t);
  if (classpath === null) return;
  const id = token();
  const topic = `grp-both-${id}`;
  const classicGroup = `g-classic-${id}`;
  const consumerGroup = `g-consumer-${id}`;
  await tools.createTopic(topic, 4);
  const N = 2000;
  const members = [
    new Member(javaMember(classpath, 'classic-0', broker.bootstrap, topic, classicGroup)),
    new Member(javaMember(classpath, 'classic-1', broker.bootstrap, topic, classicGroup)),
    new Member(javaMember(classpath, 'consumer-0', broker.bootstrap, topic, consumerGroup, CONSUMER)),
    new Member(javaMember(classpath, 'consumer-1', broker.bootstrap, topic, consumerGroup, CONSUMER)),
  ];
  const ctx = () => `${members.map((m) => m.describe()).join('\n')}\n--- broker log ---\n${broker.tail()}`;
  try {
    // Both groups settle first, so records are consumed without a rebalance: exactly once.
    await waitFor('both groups stable with two partitions per member', async () => {
      if (!members.every((m) => m.assignment?.length === 2)) return false;
      const [classic, consumer] = [await tools.describeGroup(classicGroup), await describeConsumerGroup(broker.bootstrap, consumerGroup)];
      return classic?.state === 'Stable' && classic.members.length === 2 && consumer?.state === 'Stable' && consumer.members === 2;
    }, 60_000, ctx);
    await tools.produce(topic, id, 0, N, (i) => i % 4);
    const distinct = (ms: Member[]) => new Set(ms.flatMap((m) => m.records.map((r) => `${r.p}@${r.o}`))).size;
    await waitFor('both groups consumed every record', () => distinct(members.slice(0, 2)) === N && distinct(members.slice(2)) === N, 90_000, ctx);
    for (const ms of [members.slice(0, 2), members.slice(2)]) {
      assert.equal(ms.reduce((n, m) => n + m.records.length, 0), N, `each group consumed every record exactly once\n${ctx()}`);
    }
    await waitFor('both groups committed the log end', async () => {
      const [c1, c2] = [await tools.committed(classicGroup, topic), await tools.committed(consumerGroup, topic)];
      return [0, 1, 2, 3].every((p) => c1.get(p) === N / 4 && c2.get(p) === N / 4);
    }, 60_000, ctx);
    const described = await describeConsumerGroup(broker.bootstrap, consumerGroup);
    assert.equal(described?.members, 2);
    const asConsumer = await describeConsumerGroup(broker.bootstrap, classicGroup);
    assert.equal(asConsumer?.errorCode, 69, 'a classic group is not described as a consumer group (GROUP_ID_NOT_FOUND)');
    assert.equal((await tools.describeGroup(classicGroup))?.state, 'Stable');
    // A classic member cannot join the consumer group while it has members.
    const intruder = new Member(javaMember(classpath, 'intruder', broker.bootstrap, topic, consumerGroup));
    members.push(intruder);
    await waitFor('the classic member refused', () => intruder.events.some((e) => e.ev === 'error' && /InconsistentGroupProtocol/.test(e.msg)), 60_000, ctx);
    assert.equal(intruder.records.length, 0);
  } finally {
    await Promise.all(members.map((m) => m.stop(15_000)));
  }
});

test('kafka-consumer-groups describes a consumer group: --describe --members, --describe, --list --type', { timeout: 180_000 }, async (t) => {
  const { broker, tools } = suite;
  const classpath = await javaReady(t);
  if (classpath === null) return;
  const id = token();
  const topic = `grp-tool-${id}`;
  const group = `g-tool-${id}`;
  await tools.createTopic(topic, 4);
  await tools.produce(topic, id, 0, 400, (i) => i % 4);
  const members = [0, 1].map((i) => new Member(javaMember(classpath, `tool-${i}`, broker.bootstrap, topic, group, CONSUMER)));
  const ctx = () => `${members.map((m) => m.describe()).join('\n')}\n--- broker log ---\n${broker.tail()}`;
  const tool = (...args: string[]) => run('java', ['-cp', javaClasspath(), 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', '--bootstrap-server', broker.bootstrap, ...args], { timeoutMs: 90_000 });
  try {
    await waitFor('two members with two partitions each, all consumed', async () => {
      const g = await describeConsumerGroup(broker.bootstrap, group);
      return g?.state === 'Stable' && members.every((m) => m.assignment?.length === 2) && members.reduce((n, m) => n + m.records.length, 0) === 400;
    }, 60_000, ctx);
    await waitFor('offsets committed', async () => [...(await tools.committed(group, topic)).values()].every((o) => o === 100), 30_000, ctx);
    const m = await tool('--describe', '--members', '--group', group);
    const out = m.stdout.toString();
    assert.equal(m.code, 0, `--describe --members exited ${m.code}\n${out}\n${m.stderr.slice(-3000)}`);
    for (const member of members) {
      const line = out.split('\n').find((l) => l.includes(`java-${member.name}`));
      assert.ok(line, `a line for client java-${member.name}\n${out}`);
      assert.match(line!, new RegExp(`^${group}\\s+\\S+\\s+/127\\.0\\.0\\.1\\s+java-${member.name}\\s+2\\s*$`), `member line: group, member id, host, client id, 2 partitions\n${out}`);
    }
    const d = await tool('--describe', '--group', group);
    const dOut = d.stdout.toString();
    assert.equal(d.code, 0, dOut + d.stderr.slice(-3000));
    for (let p = 0; p < 4; p++) {
      assert.match(dOut, new RegExp(`${group}\\s+${topic}\\s+${p}\\s+100\\s+100\\s+0\\s+\\S+\\s+/127\\.0\\.0\\.1\\s+java-tool-`), `partition ${p}: offset 100, lag 0, owned by a member\n${dOut}`);
    }
    const l = await tool('--list', '--type');
    assert.match(l.stdout.toString(), new RegExp(`${group}\\s+Consumer`), l.stdout.toString());
  } finally {
    await Promise.all(members.map((m) => m.stop(15_000)));
  }
});

test('a broker restart does not rebalance a consumer group: members keep their epoch and partitions', { timeout: 180_000 }, async (t) => {
  const classpath = await javaReady(t);
  if (classpath === null) return;
  const dataDir = await makeTempDir('rivulet-848-restart-');
  let broker = await startGroupBroker(BROKER_ARGS, dataDir);
  const port = broker.bootstrap.split(':')[1]!;
  let tools = new GroupTools(broker.bootstrap);
  const members: Member[] = [];
  const ctx = () => `${members.map((m) => m.describe()).join('\n')}\n--- broker log ---\n${broker.tail()}`;
  try {
    await tools.connect();
    const id = token();
    const topic = `grp-restart-${id}`;
    const group = `g-restart-${id}`;
    await tools.createTopic(topic, 4);
    for (const i of [0, 1]) members.push(new Member(javaMember(classpath, `restart-${i}`, broker.bootstrap, topic, group, CONSUMER)));
    await waitFor('two members with two partitions each', async () => {
      const g = await describeConsumerGroup(broker.bootstrap, group);
      return g?.state === 'Stable' && members.every((m) => m.assignment?.length === 2);
    }, 60_000, ctx);
    const before = members.map((m) => ({ assignment: [...m.assignment!], events: m.events.length }));
    const epochBefore = await groupEpoch(broker.bootstrap, group);
    await tools.produce(topic, id, 0, 400, (i) => i % 4);
    await waitFor('400 records consumed', () => members.reduce((n, m) => n + m.records.length, 0) === 400, 60_000, ctx);
    await tools.close();
    await broker.process!.kill();
    broker = await startGroupBroker([...BROKER_ARGS, '--port', port], dataDir);
    tools = new GroupTools(broker.bootstrap);
    await tools.connect();
    assert.equal(await groupEpoch(broker.bootstrap, group), epochBefore, 'the group came back at the same epoch');
    await tools.produce(topic, id, 400, 800, (i) => i % 4);
    await waitFor('the next 400 records consumed after the restart', () => new Set(members.flatMap((m) => m.records.map((r) => r.v))).size === 800, 60_000, ctx);
    members.forEach((m, i) => {
      const since = m.events.slice(before[i]!.events);
      t.diagnostic(`${m.name}: ${JSON.stringify(before[i]!.assignment)}, after the restart ${JSON.stringify(since.filter((e) => e.ev !== 'gen'))}`);
      assert.deepEqual(since.filter((e) => e.ev === 'revoked' || e.ev === 'lost' || e.ev === 'assigned'), [], `${m.name} kept its partitions through the restart\n${ctx()}`);
      assert.deepEqual(m.assignment, before[i]!.assignment);
    });
    assert.equal(await groupEpoch(broker.bootstrap, group), epochBefore, 'no new group epoch: nobody rejoined');
    assert.doesNotMatch(broker.tail(200), /consumer group member (joined|fenced)/, 'no member joined or was fenced after the restart');
  } finally {
    await Promise.all(members.map((m) => m.stop(15_000)));
    await tools.close();
    await broker.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
});

async function groupEpoch(bootstrap: string, group: string): Promise<number> {
  const c = await WireClient.connect(Number(bootstrap.split(':')[1]));
  try {
    const r = await c.request(69, 1, { groupIds: [group], includeAuthorizedOperations: false });
    return r.groups[0].groupEpoch;
  } finally {
    c.close();
  }
}

test('a static member (group.instance.id) restarted within its session gets its partitions back; the other member is untouched', { timeout: 180_000 }, async (t) => {
  const { broker, tools } = suite;
  const classpath = await javaReady(t);
  if (classpath === null) return;
  const id = token();
  const topic = `grp-static-${id}`;
  const group = `g-static-${id}`;
  await tools.createTopic(topic, 4);
  const spec = (name: string, instance: string) => javaMember(classpath, name, broker.bootstrap, topic, group, { ...CONSUMER, 'group.instance.id': instance });
  const a = new Member(spec('static-a', 'instance-a'));
  const b = new Member(spec('static-b', 'instance-b'));
  const members = [a, b];
  const ctx = () => `${members.map((m) => m.describe()).join('\n')}\n--- broker log ---\n${broker.tail()}`;
  try {
    await waitFor('two static members with two partitions each', async () => {
      const g = await describeConsumerGroup(broker.bootstrap, group);
      return g?.state === 'Stable' && a.assignment?.length === 2 && b.assignment?.length === 2;
    }, 60_000, ctx);
    const bHad = [...b.assignment!];
    const aEvents = a.events.length;
    const epoch = await groupEpoch(broker.bootstrap, group);
    // b closes (a static member leaves with epoch -2: it keeps its partitions) and a new process of the same instance comes back.
    await b.stop();
    assert.equal(b.exitCode, 0, b.describe());
    const b2 = new Member(spec('static-b2', 'instance-b'));
    members.push(b2);
    await waitFor('the restarted instance holds the same partitions', () => JSON.stringify(b2.assignment) === JSON.stringify(bHad), 30_000, ctx);
    await tools.produce(topic, id, 0, 400, (i) => i % 4);
    await waitFor('every record consumed', () => new Set([...a.records, ...b2.records].map((r) => r.v)).size === 400, 60_000, ctx);
    assert.ok(b2.records.every((r) => bHad.includes(r.p)), 'the new process consumed only its instance\'s partitions');
    assert.deepEqual(a.events.slice(aEvents).filter((e) => e.ev !== 'gen'), [], `the other member saw no change\n${ctx()}`);
    assert.equal(await groupEpoch(broker.bootstrap, group), epoch, 'no new group epoch: the instance took its own place back');
  } finally {
    await Promise.all(members.map((m) => m.stop(15_000)));
  }
});

test('a regex subscription (SubscriptionPattern, resolved by the broker) picks up a topic created later', { timeout: 180_000 }, async (t) => {
  const { broker, tools } = suite;
  const classpath = await javaReady(t);
  if (classpath === null) return;
  const id = token();
  const [first, later, other] = [`re-${id}-orders`, `re-${id}-orders-eu`, `re-${id}-payments`];
  await tools.createTopic(first, 2);
  await tools.createTopic(other, 2);
  const m = new Member(javaMember(classpath, 'regex', broker.bootstrap, `re:re-${id}-orders.*`, `g-re-${id}`, CONSUMER));
  const ctx = () => `${m.describe()}\n--- broker log ---\n${broker.tail()}`;
  const topicsSeen = () => new Set(m.records.map((r) => r.t));
  try {
    await tools.produce(first, id, 0, 100, (i) => i % 2);
    await tools.produce(other, id, 0, 100, (i) => i % 2);
    await waitFor(`the records of ${first} consumed`, () => m.records.filter((r) => r.t === first).length === 100, 60_000, ctx);
    await tools.createTopic(later, 3);
    await tools.produce(later, id, 100, 160, (i) => i % 3);
    await waitFor(`the records of ${later}, created after the member joined, consumed`, () => m.records.filter((r) => r.t === later).length === 60, 60_000, ctx);
    assert.deepEqual([...topicsSeen()].sort(), [first, later].sort(), `only the matching topics\n${ctx()}`);
    assert.deepEqual(m.assignment, [0, 0, 1, 1, 2], 'partitions 0-1 of the first topic and 0-2 of the later one');
  } finally {
    await m.stop(15_000);
  }
});
