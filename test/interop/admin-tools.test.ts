// Apache Kafka's own admin tools (the classes behind bin/kafka-*.sh, from the kafka-tools jar)
// against one broker, answered truthfully for a cluster of one:
//   kafka-topics --describe paging through DescribeTopicPartitions, kafka-configs --describe
//   --all, kafka-log-dirs, kafka-features, kafka-metadata-quorum, kafka-leader-election,
//   kafka-reassign-partitions; and through the Java Admin client (java/AdminChecks.java):
//   authorized operations, an admin offset commit, dynamic broker configs, group configs.

import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { makeBatch } from '../helpers/batches.js';
import { createTopicsBody, produceBody } from '../helpers/requests.js';
import { makeTempDir } from '../helpers/temp.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { describeRun, javaClasspath, lastJson, requireJava, run, runJava, token, type RunResult } from './tools.js';

let broker: BrokerProcess | undefined;
let wire: WireClient | undefined;
/** Data directories of brokers restarted on a directory they did not create, removed at the end. */
const leftovers: string[] = [];

before(async () => {
  broker = await startBroker();
  wire = await WireClient.connect(broker.port);
});

after(async () => {
  wire?.close();
  await broker?.cleanup();
  for (const d of leftovers) await rm(d, { recursive: true, force: true });
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

/** The lines of a tool's stdout that are neither blank nor the Java client's configuration dump. */
function lines(out: string): string[] {
  return out.split('\n').filter((l) => l.trim() !== '' && !/^\s/.test(l));
}

/** kafka-features describe as { feature: [supportedMin, supportedMax, finalized, epoch] }. */
async function describeFeatures(): Promise<Record<string, string[]>> {
  const out = await ok('FeatureCommand', ['describe']);
  const rows: Record<string, string[]> = {};
  for (const l of lines(out)) {
    const m = /^Feature: (\S+)\s+SupportedMinVersion: (\S+)\s+SupportedMaxVersion: (\S+)\s+FinalizedVersionLevel: (\S+)\s+Epoch: (\S+)/.exec(l);
    if (m) rows[m[1]!] = [m[2]!, m[3]!, m[4]!, m[5]!];
  }
  return rows;
}

test('kafka-features: describe, a refused upgrade, an accepted downgrade that survives a restart', { timeout: 300_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const before = await describeFeatures();
  assert.deepEqual(before['metadata.version']!.slice(0, 3), ['4.0-IV3', '4.0-IV3', '4.0-IV3']);
  assert.deepEqual(before['transaction.version']!.slice(0, 3), ['0', '2', '2']);
  assert.deepEqual(before['group.version']!.slice(0, 3), ['0', '1', '1'], 'the consumer group protocol (KIP-848) is served');
  assert.deepEqual(before['share.version']!.slice(0, 3), ['1', '1', '1'], 'share groups are served');
  const epoch = Number(before['transaction.version']![3]);

  const tooHigh = await tool('FeatureCommand', ['upgrade', '--feature', 'transaction.version=3']);
  assert.notEqual(tooHigh.code, 0, describeRun('upgrade to an unsupported level', tooHigh, broker));
  assert.match(tooHigh.stdout.toString() + tooHigh.stderr, /transaction\.version level 3 is not supported by this broker: it supports 0 to 2/);
  const metadata = await tool('FeatureCommand', ['upgrade', '--release-version', '4.1']);
  assert.notEqual(metadata.code, 0, describeRun('metadata.version upgrade', metadata, broker));
  assert.match(metadata.stdout.toString() + metadata.stderr, /metadata\.version cannot change/);

  const down = await ok('FeatureCommand', ['downgrade', '--feature', 'transaction.version=1']);
  assert.match(down, /transaction\.version was downgraded to 1\./);
  const after = await describeFeatures();
  assert.equal(after['transaction.version']![2], '1');
  assert.ok(Number(after['transaction.version']![3]) > epoch, 'the epoch grows with the change');

  // The level is stored: a restart on the same data directory keeps it.
  const dataDir = broker!.dataDir;
  wire!.close();
  assert.equal(await broker!.stop(), 0);
  leftovers.push(dataDir);
  broker = await startBroker({ dataDir });
  wire = await WireClient.connect(broker.port);
  assert.equal((await describeFeatures())['transaction.version']![2], '1', 'transaction.version after a restart');
  const up = await ok('FeatureCommand', ['upgrade', '--feature', 'transaction.version=2']);
  assert.match(up, /transaction\.version was upgraded to 2\./);
});

test('kafka-metadata-quorum describe: one voter, this broker, the leader', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const status = lines(await ok('MetadataQuorumCommand', ['describe', '--status']));
  const field = (name: string) => status.find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
  assert.equal(field('LeaderId'), '0', status.join('\n'));
  assert.equal(field('MaxFollowerLag'), '0');
  assert.equal(field('CurrentVoters'), `[{"id": 0, "endpoints": ["PLAINTEXT://${broker!.bootstrap}"]}]`);
  assert.equal(field('CurrentObservers'), '[]');
  const replication = lines(await ok('MetadataQuorumCommand', ['describe', '--replication']));
  assert.equal(replication.length, 2, replication.join('\n'));
  assert.match(replication[1]!, /^0\s.*\sLeader\s*$/);
});

test('kafka-leader-election: the one broker already leads every partition', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const topic = `elect-${token()}`;
  await createTopic(topic, 2);
  const out = await ok('LeaderElectionCommand', ['--election-type', 'preferred', '--topic', topic, '--partition', '1']);
  assert.match(out, new RegExp(`Valid replica already elected for partitions ${topic}-1`));
  const unknown = await tool('LeaderElectionCommand', ['--election-type', 'preferred', '--topic', `${topic}-missing`, '--partition', '0']);
  assert.equal(unknown.code, 1, describeRun('election for an unknown topic', unknown, broker));
  assert.match(unknown.stdout.toString() + unknown.stderr, /UnknownTopicOrPartitionException/);
});

test('kafka-reassign-partitions: --list shows none, --execute onto this broker and its data directory succeeds, another directory is refused', { timeout: 300_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const topic = `move-${token()}`;
  await createTopic(topic, 2);
  assert.match(await ok('reassign.ReassignPartitionsCommand', ['--list']), /No partition reassignments found\./);
  const dir = await makeTempDir('rivulet-plan-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const plan = async (name: string, partitions: object[]) => {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify({ version: 1, partitions }));
    return file;
  };
  const here = await plan('here.json', [
    { topic, partition: 0, replicas: [0] },
    { topic, partition: 1, replicas: [0], log_dirs: [resolve(broker!.dataDir)] },
  ]);
  const out = await ok('reassign.ReassignPartitionsCommand', ['--execute', '--reassignment-json-file', here]);
  assert.match(out, new RegExp(`Successfully started partition reassignments for ${topic}-0,${topic}-1`));
  assert.match(out, new RegExp(`Successfully started moving log directory to ${resolve(broker!.dataDir)} for replica ${topic}-1 with broker 0`));
  assert.match(await ok('reassign.ReassignPartitionsCommand', ['--list']), /No partition reassignments found\./);

  const elsewhere = await plan('elsewhere.json', [{ topic, partition: 0, replicas: [0], log_dirs: [join(dir, 'other-disk')] }]);
  const refused = await tool('reassign.ReassignPartitionsCommand', ['--execute', '--reassignment-json-file', elsewhere]);
  assert.equal(refused.code, 1, describeRun('a move to another log directory', refused, broker));
  assert.match(refused.stdout.toString() + refused.stderr, /LogDirNotFoundException/);
});

test('kafka-reassign-partitions --verify: done, and clearing the replication throttles is accepted', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const topic = `verify-${token()}`;
  await createTopic(topic, 1);
  const dir = await makeTempDir('rivulet-plan-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'plan.json');
  await writeFile(file, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [0] }] }));
  await ok('reassign.ReassignPartitionsCommand', ['--execute', '--reassignment-json-file', file]);
  const out = await ok('reassign.ReassignPartitionsCommand', ['--verify', '--reassignment-json-file', file]);
  assert.match(out, new RegExp(`Reassignment of partition ${topic}-0 is completed\\.`));
  assert.match(out, /Clearing broker-level throttles on broker 0/);
});

async function adminCheck(args: string[]): Promise<Record<string, any>> {
  const r = await runJava('AdminChecks.java', [broker!.bootstrap, ...args], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, describeRun(`AdminChecks ${args.join(' ')}`, r, broker));
  return lastJson(r.stdout, describeRun(`AdminChecks ${args.join(' ')}`, r, broker));
}

test('Java Admin: DescribeCluster authorized operations are Kafka\'s cluster operations, CLUSTER_ACTION included', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const r = await adminCheck(['cluster-ops']);
  assert.deepEqual(r.ops, ['ALTER', 'ALTER_CONFIGS', 'CLUSTER_ACTION', 'CREATE', 'DESCRIBE', 'DESCRIBE_CONFIGS', 'IDEMPOTENT_WRITE']);
});

test('Java Admin: alterConsumerGroupOffsets is refused with UNKNOWN_MEMBER_ID while the group has a member, accepted once it is empty', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const topic = `commit-${token()}`;
  const group = `g-${token()}`;
  await createTopic(topic, 1);
  const join = (memberId: string) => wire!.request(ApiKey.JoinGroup, 5, {
    groupId: group, sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 1000, memberId, groupInstanceId: null,
    protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }],
  });
  const first = await join('');
  const joined = await join(first.memberId);
  assert.equal(joined.errorCode, 0);
  const synced = await wire!.request(ApiKey.SyncGroup, 3, { groupId: group, generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }] });
  assert.equal(synced.errorCode, 0);
  assert.deepEqual(await adminCheck(['admin-commit', group, topic]), { result: 'UnknownMemberIdException' });
  const left = await wire!.request(ApiKey.LeaveGroup, 3, { groupId: group, members: [{ memberId: joined.memberId, groupInstanceId: null }] });
  assert.equal(left.errorCode, 0);
  assert.deepEqual(await adminCheck(['admin-commit', group, topic]), { result: 'ok' });
});

test('Java Admin: dynamic broker configs (this broker and the cluster default) apply to topics and report their source', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const topic = `dyn-${token()}`;
  await createTopic(topic, 1);
  const r = await adminCheck(['broker-configs', topic]);
  assert.match(r.refused, /^InvalidConfigurationException: log\.dirs cannot change at runtime on this broker/);
  assert.deepEqual(r['broker:log.retention.ms'], { value: '3600000', source: 'DYNAMIC_BROKER_CONFIG', readOnly: false });
  assert.deepEqual(r['broker:message.max.bytes'], { value: '2000000', source: 'DYNAMIC_DEFAULT_BROKER_CONFIG', readOnly: false });
  assert.deepEqual(r['broker:log.segment.bytes'], { value: '1073741824', source: 'DEFAULT_CONFIG', readOnly: false });
  assert.deepEqual(r['topic:retention.ms'], { value: '3600000', source: 'DYNAMIC_BROKER_CONFIG', readOnly: false });
  assert.deepEqual(r['topic:max.message.bytes'], { value: '2000000', source: 'DYNAMIC_DEFAULT_BROKER_CONFIG', readOnly: false });
  // Put the defaults back for the other tests of this file.
  for (const [resourceName, name] of [['0', 'log.retention.ms'], ['', 'message.max.bytes']] as const) {
    const res = await wire!.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 4, resourceName, configs: [{ name, configOperation: 1, value: null }] }], validateOnly: false });
    assert.equal(res.responses[0].errorCode, 0, res.responses[0].errorMessage ?? '');
  }
});

test('Java Admin: group configs (KIP-848 and share groups) are stored, checked against Kafka\'s bounds and described', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const r = await adminCheck(['group-configs', `cfg-${token()}`]);
  assert.match(r.refused, /^InvalidConfigurationException: Invalid value 1000 for configuration consumer\.session\.timeout\.ms: must be an integer from 45000 to 60000/);
  assert.equal(r.count, 27, 'every group config Kafka 4.4 lists');
  assert.deepEqual(r['consumer.session.timeout.ms'], { value: '50000', source: 'DYNAMIC_GROUP_CONFIG', readOnly: false });
  assert.deepEqual(r['consumer.heartbeat.interval.ms'], { value: '5000', source: 'DEFAULT_CONFIG', readOnly: false });
  assert.deepEqual(r['share.record.lock.duration.ms'], { value: '20000', source: 'DYNAMIC_GROUP_CONFIG', readOnly: false });
  assert.deepEqual(r['share.auto.offset.reset'], { value: 'earliest', source: 'DYNAMIC_GROUP_CONFIG', readOnly: false });
});

test('kafka-configs --describe --entity-type groups lists the groups with configs through ListConfigResources', { timeout: 200_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  const group = `listed-${token()}`;
  const set = await ok('ConfigCommand', ['--alter', '--entity-type', 'groups', '--entity-name', group, '--add-config', 'consumer.heartbeat.interval.ms=6000']);
  assert.match(set, new RegExp(`Completed updating config for group ${group}\\.`));
  const before = await requests('ListConfigResources');
  const out = await ok('ConfigCommand', ['--describe', '--entity-type', 'groups']);
  assert.ok(out.includes(`Dynamic configs for group ${group} are:\n  consumer.heartbeat.interval.ms=6000 sensitive=false synonyms={DYNAMIC_GROUP_CONFIG:consumer.heartbeat.interval.ms=6000, DEFAULT_CONFIG:group.consumer.heartbeat.interval.ms=5000}`), out);
  assert.ok((await requests('ListConfigResources')) > before, 'the tool listed the groups with ListConfigResources');
  // No client metrics subscriptions: nothing to list, and no error.
  await ok('ConfigCommand', ['--describe', '--entity-type', 'client-metrics']);
});
