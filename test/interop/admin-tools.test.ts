// Apache Kafka's own admin tools (the classes behind bin/kafka-*.sh, from the kafka-tools jar)
// against one broker, answered truthfully for a cluster of one:
//   kafka-topics --describe paging through DescribeTopicPartitions, kafka-configs --describe
//   --all, kafka-log-dirs, kafka-features, kafka-metadata-quorum, kafka-leader-election,
//   kafka-reassign-partitions.

import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { makeBatch } from '../helpers/batches.js';
import { createTopicsBody, produceBody } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { describeRun, javaClasspath, requireJava, run, token, type RunResult } from './tools.js';

let broker: BrokerProcess | undefined;
let wire: WireClient | undefined;

before(async () => {
  broker = await startBroker();
  wire = await WireClient.connect(broker.port);
});

after(async () => {
  wire?.close();
  await broker?.cleanup();
});

function tool(cls: string, args: string[]): Promise<RunResult> {
  return run('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', javaClasspath(), `org.apache.kafka.tools.${cls}`, '--bootstrap-server', broker!.bootstrap, ...args], { timeoutMs: 120_000 });
}

async function ok(cls: string, args: string[]): Promise<string> {
  const r = await tool(cls, args);
  assert.equal(r.code, 0, describeRun(`${cls} ${args.join(' ')}`, r, broker));
  return r.stdout.toString();
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const res = await wire!.request(ApiKey.CreateTopics, 7, createTopicsBody(name, partitions));
  assert.equal(res.topics[0].errorCode, 0, res.topics[0].errorMessage ?? '');
}

async function requests(api: string): Promise<number> {
  return (await scrapeMetrics(broker!.httpPort)).get(`rivulet_requests_total{api="${api}"}`) ?? 0;
}

test('kafka-topics --describe pages through DescribeTopicPartitions and shows every partition', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const topic = `pages-${token()}`;
  await createTopic(topic, 7);
  const before = await requests('DescribeTopicPartitions');
  const out = await ok('TopicCommand', ['--describe', '--topic', topic, '--partition-size-limit-per-response', '3']);
  const partitions = out.split('\n').filter((l) => l.includes(`Topic: ${topic}\tPartition:`)).map((l) => Number(/Partition: (\d+)/.exec(l)![1]));
  assert.deepEqual(partitions, [0, 1, 2, 3, 4, 5, 6], out);
  assert.match(out, /PartitionCount: 7\tReplicationFactor: 1/, out);
  assert.match(out, new RegExp(`Topic: ${topic}\\tPartition: 6\\tLeader: 0\\tReplicas: 0\\tIsr: 0`), out);
  // 7 partitions, 3 per answer: the tool asked three times.
  assert.equal((await requests('DescribeTopicPartitions')) - before, 3, 'DescribeTopicPartitions requests for 3 pages');
});

test('kafka-configs --describe --all lists the topic configs Kafka lists', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const topic = `configs-${token()}`;
  await createTopic(topic, 1);
  const out = await ok('ConfigCommand', ['--describe', '--all', '--entity-type', 'topics', '--entity-name', topic]);
  for (const line of ['preallocate=false sensitive=false synonyms={DEFAULT_CONFIG:log.preallocate=false}', 'segment.jitter.ms=0 sensitive=false synonyms={DEFAULT_CONFIG:log.roll.jitter.ms=0}', 'remote.storage.enable=false sensitive=false synonyms={}', 'retention.ms=604800000 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.ms=604800000}']) {
    assert.ok(out.includes(line), `"${line}" in\n${out}`);
  }
});

test('kafka-log-dirs --describe shows the data directory and each partition\'s size', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const topic = `dirs-${token()}`;
  await createTopic(topic, 2);
  const batch = makeBatch({ records: 3, payload: 500 });
  const produced = await wire!.request(ApiKey.Produce, 9, produceBody(topic, [[1, batch]]));
  assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0);
  const out = await ok('LogDirsCommand', ['--describe', '--topic-list', topic]);
  const json = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as { brokers: Array<{ broker: number; logDirs: Array<{ logDir: string; error: string | null; partitions: Array<{ partition: string; size: number; offsetLag: number; isFuture: boolean }> }> }> };
  assert.equal(json.brokers.length, 1, out);
  assert.equal(json.brokers[0]!.broker, 0);
  const dirs = json.brokers[0]!.logDirs;
  assert.equal(dirs.length, 1, out);
  assert.equal(dirs[0]!.logDir, resolve(broker!.dataDir));
  assert.equal(dirs[0]!.error, null);
  const byName = new Map(dirs[0]!.partitions.map((p) => [p.partition, p]));
  assert.deepEqual([...byName.keys()].sort(), [`${topic}-0`, `${topic}-1`], out);
  assert.equal(byName.get(`${topic}-0`)!.size, 0);
  assert.equal(byName.get(`${topic}-1`)!.size, batch.length, 'the produced batch, as stored');
  for (const p of byName.values()) {
    assert.equal(p.offsetLag, 0);
    assert.equal(p.isFuture, false);
  }
});
