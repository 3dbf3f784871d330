// Apache Kafka's own command line tools (the classes behind bin/kafka-*.sh, from the
// kafka-tools jar) against the broker:
//   kafka-topics (TopicCommand): create, list, describe, a duplicate create, add partitions, delete;
//   kafka-producer-perf-test (ProducerPerformance), kafka-get-offsets (GetOffsetShell) and
//   kafka-delete-records (DeleteRecordsCommand).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { describeRun, javaClasspath, javaInstallHint, javaJarsPresent, requireTool, run, token, works } from './tools.js';

let broker: BrokerProcess | undefined;
let javaOk = false;

before(async () => {
  javaOk = await works('java', ['-version']);
  broker = await startBroker();
});

after(async () => {
  await broker?.cleanup();
});

function tool(cls: string, args: string[]) {
  return run('java', ['-cp', javaClasspath(), `org.apache.kafka.tools.${cls}`, ...args], { timeoutMs: 120_000 });
}

function topics(args: string[]) {
  return tool('TopicCommand', ['--bootstrap-server', broker!.bootstrap, ...args]);
}

function present(t: import('node:test').TestContext): boolean {
  return requireTool(t, javaOk, 'java (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')
    && requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint);
}

/** Parses kafka-topics --describe output: the topic line and one line per partition. */
function parseDescribe(text: string, topic: string) {
  const fields = (line: string) => {
    const m = new Map<string, string>();
    for (const part of line.trim().split('\t')) {
      const i = part.indexOf(':');
      if (i > 0) m.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
    }
    return m;
  };
  const lines = text.split('\n').filter((l) => l.includes(`Topic: ${topic}\t`) || l.trim() === `Topic: ${topic}`);
  const header = lines.map(fields).find((f) => f.has('PartitionCount'));
  const partitions = lines.map(fields).filter((f) => f.has('Partition') && !f.has('PartitionCount'));
  return { header, partitions };
}

test('TopicCommand: create, list, describe, duplicate create, alter partitions, delete', { timeout: 400_000 }, async (t) => {
  if (!present(t)) return;
  const topic = `tool-${token()}`;

  await t.test('--create --partitions 3 --replication-factor 1', async () => {
    const r = await topics(['--create', '--topic', topic, '--partitions', '3', '--replication-factor', '1', '--config', 'retention.ms=3600000']);
    assert.equal(r.code, 0, describeRun('kafka-topics --create', r, broker));
    assert.match(r.stdout.toString(), new RegExp(`Created topic ${topic}\\.`), describeRun('kafka-topics --create output', r, broker));
  });

  await t.test('--list shows the topic', async () => {
    const r = await topics(['--list']);
    assert.equal(r.code, 0, describeRun('kafka-topics --list', r, broker));
    const names = r.stdout.toString().split('\n').map((l) => l.trim()).filter(Boolean);
    assert.ok(names.includes(topic), `"${topic}" not in --list output:\n${r.stdout}\n${describeRun('kafka-topics --list', r, broker)}`);
  });

  await t.test('--describe shows 3 partitions led by broker 0', async () => {
    const r = await topics(['--describe', '--topic', topic]);
    assert.equal(r.code, 0, describeRun('kafka-topics --describe', r, broker));
    const out = r.stdout.toString();
    const d = parseDescribe(out, topic);
    assert.ok(d.header, `no topic line in --describe output:\n${out}`);
    assert.equal(d.header.get('PartitionCount'), '3', out);
    assert.equal(d.header.get('ReplicationFactor'), '1', out);
    assert.match(d.header.get('Configs') ?? '', /(^|,)retention\.ms=3600000(,|$)/, `the topic config given at creation:\n${out}`);
    assert.match(d.header.get('TopicId') ?? '', /^[A-Za-z0-9_-]{22}$/, `TopicId should be a base64 UUID:\n${out}`);
    assert.deepEqual(d.partitions.map((p) => p.get('Partition')), ['0', '1', '2'], out);
    for (const p of d.partitions) {
      assert.equal(p.get('Leader'), '0', out);
      assert.equal(p.get('Replicas'), '0', out);
      assert.equal(p.get('Isr'), '0', out);
    }
  });

  await t.test('a second --create of the same topic fails with "already exists"', async () => {
    const r = await topics(['--create', '--topic', topic, '--partitions', '1', '--replication-factor', '1']);
    assert.notEqual(r.code, 0, describeRun('duplicate kafka-topics --create should fail', r, broker));
    assert.match(r.stdout.toString() + r.stderr, /already exists/i, describeRun('duplicate kafka-topics --create', r, broker));
  });

  await t.test('--describe of a topic that does not exist fails', async () => {
    const r = await topics(['--describe', '--topic', `${topic}-missing`]);
    assert.notEqual(r.code, 0, describeRun('kafka-topics --describe of a missing topic should fail', r, broker));
    assert.match(r.stdout.toString() + r.stderr, /does not exist/, describeRun('kafka-topics --describe of a missing topic', r, broker));
  });

  await t.test('--alter --partitions 5, then --describe shows 5', async () => {
    const a = await topics(['--alter', '--topic', topic, '--partitions', '5']);
    assert.equal(a.code, 0, describeRun('kafka-topics --alter --partitions 5', a, broker));
    const r = await topics(['--describe', '--topic', topic]);
    assert.equal(r.code, 0, describeRun('kafka-topics --describe after --alter', r, broker));
    const out = r.stdout.toString();
    const d = parseDescribe(out, topic);
    assert.equal(d.header?.get('PartitionCount'), '5', out);
    assert.deepEqual(d.partitions.map((p) => p.get('Partition')), ['0', '1', '2', '3', '4'], out);
  });

  await t.test('--delete, then --list no longer shows it', async () => {
    const del = await topics(['--delete', '--topic', topic]);
    assert.equal(del.code, 0, describeRun('kafka-topics --delete', del, broker));
    const r = await topics(['--list']);
    assert.equal(r.code, 0, describeRun('kafka-topics --list after --delete', r, broker));
    const names = r.stdout.toString().split('\n').map((l) => l.trim()).filter(Boolean);
    assert.ok(!names.includes(topic), `"${topic}" still listed after --delete:\n${r.stdout}`);
  });
});

test('ProducerPerformance, GetOffsetShell and DeleteRecordsCommand', { timeout: 400_000 }, async (t) => {
  if (!present(t)) return;
  const topic = `perf-${token()}`;
  const records = 20_000;

  const c = await topics(['--create', '--topic', topic, '--partitions', '1', '--replication-factor', '1']);
  assert.equal(c.code, 0, describeRun('kafka-topics --create', c, broker));

  // --bootstrap-server and --command-property (Kafka 4.4): --producer-props is deprecated there.
  const p = await tool('ProducerPerformance', [
    '--bootstrap-server', broker!.bootstrap,
    '--topic', topic, '--num-records', String(records), '--record-size', '100', '--throughput', '-1',
    '--command-property', 'acks=all', 'enable.idempotence=true', 'compression.type=snappy',
  ]);
  assert.equal(p.code, 0, describeRun('ProducerPerformance', p, broker));
  assert.match(p.stdout.toString(), new RegExp(`^${records} records sent`, 'm'), describeRun('ProducerPerformance output', p, broker));

  const offsets = async (time: string) => {
    const r = await tool('GetOffsetShell', ['--bootstrap-server', broker!.bootstrap, '--topic', topic, '--time', time]);
    assert.equal(r.code, 0, describeRun(`GetOffsetShell --time ${time}`, r, broker));
    return r.stdout.toString().trim();
  };
  assert.equal(await offsets('-1'), `${topic}:0:${records}`, 'log end offset after ProducerPerformance');
  assert.equal(await offsets('-2'), `${topic}:0:0`, 'log start offset before deleting records');

  const dir = await makeTempDir('rivulet-interop-');
  const json = join(dir, 'delete-records.json');
  await writeFile(json, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, offset: 1234 }] }));
  const d = await tool('DeleteRecordsCommand', ['--bootstrap-server', broker!.bootstrap, '--offset-json-file', json]);
  await rm(dir, { recursive: true, force: true });
  assert.equal(d.code, 0, describeRun('DeleteRecordsCommand', d, broker));
  assert.match(d.stdout.toString(), new RegExp(`partition: ${topic}-0\\s+low_watermark: 1234`), describeRun('DeleteRecordsCommand output', d, broker));

  assert.equal(await offsets('-2'), `${topic}:0:1234`, 'log start offset after DeleteRecordsCommand');
  assert.equal(await offsets('-1'), `${topic}:0:${records}`, 'log end offset after DeleteRecordsCommand');
});
