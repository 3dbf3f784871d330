// `rivulet topic ...` as child processes against a real broker. Steps that need an admin
// API the broker does not advertise yet (ApiVersions) are skipped with the API's name.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { runCli as rivulet } from '../helpers/cli.js';



let broker: BrokerProcess;
let bs: string;
before(async () => {
  broker = await startBroker();
  bs = broker.bootstrap;
});

after(async () => {
  await broker?.cleanup();
});

test('list and describe a topic (Metadata, ListOffsets)', async () => {
  const p = await rivulet(['produce', 'described', '-b', bs], { input: 'a\nb\nc\n' });
  assert.equal(p.code, 0, p.stderr);

  const list = await rivulet(['topic', 'list', '-b', bs]);
  assert.equal(list.code, 0, list.stderr);
  assert.ok(list.stdout.split('\n').includes('described'), list.stdout);

  const listJson = await rivulet(['topic', 'list', '-b', bs, '--json']);
  assert.equal(listJson.code, 0, listJson.stderr);
  assert.deepEqual((JSON.parse(listJson.stdout) as Array<{ name: string }>).find((t) => t.name === 'described'), { name: 'described', partitions: 1 });

  const d = await rivulet(['topic', 'describe', 'described', '-b', bs, '--json']);
  assert.equal(d.code, 0, d.stderr);
  const desc = JSON.parse(d.stdout) as Record<string, unknown> & { partitions: Array<Record<string, unknown>> };
  assert.equal(desc.name, 'described');
  assert.equal(desc.partitionCount, 1);
  assert.match(String(desc.id), /^[A-Za-z0-9_-]{22}$/);
  assert.deepEqual(desc.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr, p.earliestOffset, p.latestOffset]), [[0, 0, [0], [0], 0, 3]]);

  const text = await rivulet(['topic', 'describe', 'described', '-b', bs]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Topic: described\tTopicId: \S+\tPartitionCount: 1\tReplicationFactor: 1$/m);
  assert.match(text.stdout, /^\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\tEarliestOffset: 0\tLatestOffset: 3$/m);
});

test('describe, alter and delete of an unknown topic exit 1 and name it', async () => {
  for (const args of [['describe', 'ghost'], ['alter', 'ghost', '--partitions', '2'], ['delete', 'ghost']]) {
    const r = await rivulet(['topic', ...args, '-b', bs]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /topic "ghost" does not exist/);
  }
  const ok = await rivulet(['topic', 'delete', 'ghost', '--if-exists', '-b', bs]);
  assert.equal(ok.code, 0, ok.stderr);
});

test('topic usage errors exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['topic', 'create', 'x', '-p', '0'], /--partitions must be from 1/],
    [['topic', 'create', 'x', '-c', 'retention.ms'], /--config expects key=value/],
    [['topic', 'create', 'bad name'], /invalid topic name "bad name"/],
    [['topic', 'alter', 'x'], /nothing to change: give --partitions, --config or --delete-config/],
    [['topic', 'alter', 'x', '--config', 'a=1', '--delete-config', 'a'], /config "a" is both set and deleted/],
    [['topic', 'frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = await rivulet([...args, '-b', bs]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('create: partitions, configs, exists, --if-not-exists, --validate-only', async () => {
  const c = await rivulet(['topic', 'create', 'made', '-b', bs, '-p', '3', '-r', '1', '-c', 'retention.ms=3600000', '-c', 'cleanup.policy=delete']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /created topic "made" \(3 partition\(s\), replication factor 1\)/);

  const list = await rivulet(['topic', 'list', '-b', bs, '--json']);
  assert.deepEqual((JSON.parse(list.stdout) as Array<{ name: string }>).find((t) => t.name === 'made'), { name: 'made', partitions: 3 });

  const again = await rivulet(['topic', 'create', 'made', '-b', bs]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /topic "made" already exists \(add --if-not-exists/);

  const tolerated = await rivulet(['topic', 'create', 'made', '-b', bs, '--if-not-exists']);
  assert.equal(tolerated.code, 0, tolerated.stderr);

  const dry = await rivulet(['topic', 'create', 'dry-run', '-b', bs, '-p', '2', '--validate-only']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would be created/);
  const after = await rivulet(['topic', 'list', '-b', bs]);
  assert.ok(!after.stdout.split('\n').includes('dry-run'), after.stdout);
});

test('describe shows configs set on the topic', async () => {
  const c = await rivulet(['topic', 'create', 'configured', '-b', bs, '-p', '2', '-c', 'retention.ms=3600000']);
  assert.equal(c.code, 0, c.stderr);
  const d = await rivulet(['topic', 'describe', 'configured', '-b', bs, '--json']);
  assert.equal(d.code, 0, d.stderr);
  const desc = JSON.parse(d.stdout) as { configs: Record<string, string>; partitionCount: number };
  assert.equal(desc.partitionCount, 2);
  assert.deepEqual(desc.configs, { 'retention.ms': '3600000' });
  assert.doesNotMatch(d.stderr, /unavailable/);
});

test('alter: add partitions, set and delete configs', async () => {
  assert.equal((await rivulet(['topic', 'create', 'grown', '-b', bs, '-p', '1'])).code, 0);
  const a = await rivulet(['topic', 'alter', 'grown', '-b', bs, '--partitions', '4', '--config', 'retention.ms=60000', '--config', 'segment.bytes=1048576']);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /partitions 1 -> 4/);
  let desc = JSON.parse((await rivulet(['topic', 'describe', 'grown', '-b', bs, '--json'])).stdout) as { configs: Record<string, string>; partitionCount: number };
  assert.equal(desc.partitionCount, 4);
  assert.deepEqual(desc.configs, { 'retention.ms': '60000', 'segment.bytes': '1048576' });

  const del = await rivulet(['topic', 'alter', 'grown', '-b', bs, '--delete-config', 'retention.ms']);
  assert.equal(del.code, 0, del.stderr);
  desc = JSON.parse((await rivulet(['topic', 'describe', 'grown', '-b', bs, '--json'])).stdout) as typeof desc;
  assert.deepEqual(desc.configs, { 'segment.bytes': '1048576' });

  const shrink = await rivulet(['topic', 'alter', 'grown', '-b', bs, '--partitions', '2']);
  assert.equal(shrink.code, 1);
  assert.match(shrink.stderr, /has 4 partitions; Kafka can add partitions but never remove them/);
});

test('delete removes the topic; --if-exists tolerates a missing one', async () => {
  assert.equal((await rivulet(['produce', 'doomed', '-b', bs], { input: 'x\n' })).code, 0);
  const d = await rivulet(['topic', 'delete', 'doomed', '-b', bs]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /deleted topic "doomed"/);
  const list = await rivulet(['topic', 'list', '-b', bs]);
  assert.ok(!list.stdout.split('\n').includes('doomed'), list.stdout);
  const again = await rivulet(['topic', 'delete', 'doomed', '-b', bs]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /topic "doomed" does not exist \(add --if-exists/);
});
