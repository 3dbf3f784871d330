// Share groups (KIP-932) with the Apache Kafka Java client's KafkaShareConsumer (4.4) and
// Kafka's kafka-share-groups tool (ShareGroupCommand): several members share one partition's
// records, each record processed exactly once under explicit acknowledgement; a member
// SIGKILLed while holding records loses them to another member once their lock expires; the
// group's acknowledged position survives a broker kill -9 while records held by a member are
// offered again.

import { test, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { GroupTools } from '../helpers/group-harness.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { compileJava, javaClasspath, requireJava, run, token } from './tools.js';
import { javaShareMember, joinedCount } from './share-members.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function setUp(t: TestContext, brokerArgs: string[], dataDir?: string): Promise<{ classpath: string; broker: BrokerProcess; tools: GroupTools } | null> {
  if (!(await requireJava(t))) return null;
  const java = await compileJava('ShareMember.java', 'share-member');
  assert.ok(java.ok, `javac ShareMember.java failed:\n${java.error}`);
  const broker = await startBroker({ args: ['--set', 'share.auto.offset.reset=earliest', ...brokerArgs], dataDir });
  cleanups.push(() => broker.cleanup());
  const tools = new GroupTools(broker.bootstrap);
  cleanups.push(() => tools.close());
  await tools.connect();
  return { classpath: java.classpath, broker, tools };
}

function shareGroupsTool(bootstrap: string, args: string[]) {
  return run('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', javaClasspath(), 'org.apache.kafka.tools.consumer.group.ShareGroupCommand', '--bootstrap-server', bootstrap, ...args], { timeoutMs: 90_000 });
}


test('three KafkaShareConsumers share one partition: every record processed exactly once; kafka-share-groups describes, resets, deletes', { timeout: 240_000 }, async (t) => {
  const s = await setUp(t, []);
  if (s === null) return;
  const { classpath, broker, tools } = s;
  const id = token();
  const topic = `share-java-${id}`;
  const group = `sg-java-${id}`;
  await tools.createTopic(topic, 1);
  const members = [0, 1, 2].map((i) => javaShareMember(classpath, `m${i}`, broker.bootstrap, topic, group, 'accept'));
  cleanups.push(async () => void (await Promise.all(members.map((m) => m.proc.kill()))));
  const describe = () => `${members.map((m) => m.describe()).join('\n')}\n--- broker ---\n${broker.output().split('\n').slice(-20).join('\n')}`;
  await waitFor('all three members to join the share group', () => joinedCount(broker, group) >= 3, 60_000, describe);

  // 100 appends of 20 records: members long-poll the one partition and take turns.
  const total = 2000;
  for (let i = 0; i < total; i += 20) await tools.produce(topic, id, i, i + 20, () => 0);
  const seen = () => new Set(members.flatMap((m) => m.records().map((r) => r.v))).size;
  await waitFor(`all ${total} records to be processed`, () => seen() >= total, 90_000, describe);
  await Promise.all(members.map((m) => m.close()));

  const deliveries = new Map<string, number>();
  for (const m of members) {
    assert.deepEqual(m.errors(), [], describe());
    for (const r of m.records()) {
      deliveries.set(r.v, (deliveries.get(r.v) ?? 0) + 1);
      assert.equal(r.d, 1, `record ${r.v} (offset ${r.o}) was a redelivery (delivery count ${r.d}); nothing was released or timed out\n${describe()}`);
    }
  }
  for (let i = 0; i < total; i++) assert.equal(deliveries.get(`${id}|${i}`), 1, `record ${i} processed ${deliveries.get(`${id}|${i}`) ?? 0} times\n${describe()}`);
  const busy = members.filter((m) => m.records().length > 0).length;
  t.diagnostic(`records per member: ${members.map((m) => m.records().length).join(', ')}`);
  assert.ok(busy >= 2, `the work was shared: ${busy} member(s) processed records\n${describe()}`);

  // Every record acknowledged: the share-partition start offset is the end, no lag.
  const d = await shareGroupsTool(broker.bootstrap, ['--describe', '--group', group]);
  assert.equal(d.code, 0, d.stderr);
  const row = d.stdout.toString().split('\n').find((l) => l.startsWith(group));
  assert.ok(row, `kafka-share-groups --describe lists the partition:\n${d.stdout}`);
  assert.deepEqual(row.trim().split(/\s+/), [group, topic, '0', String(total), '0']);
  const l = await shareGroupsTool(broker.bootstrap, ['--list']);
  assert.equal(l.code, 0, l.stderr);
  assert.ok(l.stdout.toString().split('\n').includes(group), `kafka-share-groups --list names the group:\n${l.stdout}`);

  // Reset to the earliest offset: every record is unprocessed again; then forget the topic; then delete the group.
  const reset = await shareGroupsTool(broker.bootstrap, ['--reset-offsets', '--to-earliest', '--execute', '--group', group, '--topic', topic]);
  assert.equal(reset.code, 0, reset.stderr);
  const again = await shareGroupsTool(broker.bootstrap, ['--describe', '--group', group]);
  assert.deepEqual(again.stdout.toString().split('\n').find((x) => x.startsWith(group))?.trim().split(/\s+/), [group, topic, '0', '0', String(total)]);
  const del = await shareGroupsTool(broker.bootstrap, ['--delete-offsets', '--group', group, '--topic', topic]);
  assert.equal(del.code, 0, del.stderr);
  assert.match((await shareGroupsTool(broker.bootstrap, ['--describe', '--group', group])).stdout.toString(), /has no offset information/);
  const gone = await shareGroupsTool(broker.bootstrap, ['--delete', '--group', group]);
  assert.match(gone.stdout.toString(), /was successful/, gone.stderr);
  assert.equal((await shareGroupsTool(broker.bootstrap, ['--list'])).stdout.toString().split('\n').includes(group), false);
});

test('a member SIGKILLed while holding records: another member gets them once their lock expires', { timeout: 180_000 }, async (t) => {
  // The holder's membership outlives the test: only its lock expiring can free its records.
  const s = await setUp(t, ['--set', 'group.share.record.lock.duration.ms=2000', '--set', 'group.share.session.timeout.ms=600000']);
  if (s === null) return;
  const { classpath, broker, tools } = s;
  const id = token();
  const topic = `share-kill-${id}`;
  const group = `sg-kill-${id}`;
  await tools.createTopic(topic, 1);
  const holder = javaShareMember(classpath, 'holder', broker.bootstrap, topic, group, 'hold');
  cleanups.push(() => holder.proc.kill());
  await waitFor('the holder to join', () => joinedCount(broker, group) >= 1, 60_000, () => holder.describe());
  await tools.produce(topic, id, 0, 50, () => 0);
  await waitFor('the holder to receive the 50 records', () => holder.records().length >= 50, 60_000, () => holder.describe());
  assert.deepEqual(holder.records().map((r) => r.d), new Array(50).fill(1));
  await holder.proc.kill('SIGKILL');

  const taker = javaShareMember(classpath, 'taker', broker.bootstrap, topic, group, 'accept');
  cleanups.push(() => taker.proc.kill());
  await waitFor('the other member to receive the held records', () => taker.records().length >= 50, 40_000, () => taker.describe());
  await taker.close();
  const got = taker.records();
  assert.deepEqual(got.map((r) => r.v).sort(), Array.from({ length: 50 }, (_, i) => `${id}|${i}`).sort());
  assert.deepEqual(got.map((r) => r.d), new Array(50).fill(2), 'each record was delivered a second time, after the holder\'s lock expired');
});

test('kill -9 of the broker: acknowledged records are not redelivered, held ones are offered again', { timeout: 240_000 }, async (t) => {
  const dataDir = await makeTempDir();
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const s = await setUp(t, [], dataDir);
  if (s === null) return;
  const { classpath, tools } = s;
  let broker = s.broker;
  const id = token();
  const topic = `share-restart-${id}`;
  const group = `sg-restart-${id}`;
  await tools.createTopic(topic, 1);
  await tools.produce(topic, id, 0, 20, () => 0);
  const first = javaShareMember(classpath, 'first', broker.bootstrap, topic, group, 'accept');
  cleanups.push(() => first.proc.kill());
  await waitFor('the first member to process 20 records', () => first.records().length >= 20, 60_000, () => first.describe());
  await first.close();
  await tools.produce(topic, id, 20, 30, () => 0);
  const holder = javaShareMember(classpath, 'holder', broker.bootstrap, topic, group, 'hold');
  cleanups.push(() => holder.proc.kill());
  await waitFor('the holder to receive the 10 new records', () => holder.records().length >= 10, 60_000, () => holder.describe());
  assert.deepEqual(holder.records().map((r) => r.o), Array.from({ length: 10 }, (_, i) => 20 + i));
  await tools.close();
  await broker.kill();
  await holder.proc.kill();

  broker = await startBroker({ args: ['--set', 'share.auto.offset.reset=earliest'], dataDir });
  cleanups.push(() => broker.cleanup());
  const after = javaShareMember(classpath, 'after', broker.bootstrap, topic, group, 'accept');
  cleanups.push(() => after.proc.kill());
  await waitFor('the member after the restart to receive the held records', () => after.records().length >= 10, 60_000, () => after.describe());
  // Acknowledged records offered again would have come first (lower offsets) and fail this.
  await after.close();
  assert.deepEqual(after.records().map((r) => r.o).sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => 20 + i), 'only the unacknowledged records, each once');
});
