// Topic administration through kafkajs's admin client and raw requests: create (with
// validateOnly and configs), describe and alter configs, add partitions, delete records,
// list offsets, delete; and that topics, configs and data survive a restart.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import kafkajs, { type Admin } from 'kafkajs';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { readPartition } from '../helpers/read-all.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { fetchBody, produceBody } from '../helpers/requests.js';

let broker: BrokerProcess;
let admin: Admin;

async function connectAdmin(): Promise<Admin> {
  const a = new Kafka({ clientId: 'admin-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await a.connect();
  return a;
}

before(async () => {
  broker = await startBroker({ args: ['--set', 'log.tail.cache.bytes=0'] });
  admin = await connectAdmin();
});
after(async () => {
  await admin.disconnect();
  await broker.cleanup();
  await rm(broker.dataDir, { recursive: true, force: true });
});

async function produce(topic: string, partition: number, values: string[], timestamp?: number): Promise<number> {
  const c = await WireClient.connect(broker.port);
  const batch = buildBatch(values.map((v) => ({ key: null, value: Buffer.from(v), timestamp })), { baseTimestamp: timestamp });
  const res = await c.request(ApiKey.Produce, 9, produceBody(topic, [[partition, batch]]));
  c.close();
  assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
  return res.responses[0].partitionResponses[0].baseOffset;
}

test('validateOnly creates nothing; a real create does; a second create is refused', async () => {
  await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'vo', numPartitions: 2 }] });
  assert.ok(!(await admin.listTopics()).includes('vo'));
  assert.equal(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }), true);
  assert.ok((await admin.listTopics()).includes('orders'));
  assert.equal(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }] }), false, 'kafkajs reports an existing topic as not created');
  const firstError = (type: string) => (e: any) => e.errors?.[0]?.type === type;
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad-rf', numPartitions: 1, replicationFactor: 3 }] }), firstError('INVALID_REPLICATION_FACTOR'));
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad-cfg', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }), firstError('INVALID_CONFIG'));
  assert.ok(!(await admin.listTopics()).includes('bad-rf'));
});

test('configs: describe shows overrides and defaults, alter replaces them', async () => {
  const described = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders' }] });
  const entries = described.resources[0]!.configEntries;
  const retention = entries.find((e) => e.configName === 'retention.ms')!;
  assert.equal(retention.configValue, '3600000');
  assert.equal(retention.isDefault, false);
  const segment = entries.find((e) => e.configName === 'segment.bytes')!;
  assert.equal(segment.configValue, String(1024 ** 3));
  assert.equal(segment.isDefault, true);
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders', configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }] });
  const after = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders' }] });
  const map = new Map(after.resources[0]!.configEntries.map((e) => [e.configName, e]));
  assert.equal(map.get('retention.ms')!.isDefault, true, 'AlterConfigs replaced the whole set');
  assert.equal(map.get('cleanup.policy')!.isDefault, false);
  const broker0 = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }] });
  assert.equal(broker0.resources[0]!.configEntries.find((e) => e.configName === 'fsync')!.configValue, 'acks-all');
  assert.equal(broker0.resources[0]!.configEntries.find((e) => e.configName === 'broker.id')?.configValue, '0', 'the broker id under its Kafka name');
});

test('incremental alter configs: SET, DELETE and an unknown name', async () => {
  const c = await WireClient.connect(broker.port);
  const set = await c.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.bytes', configOperation: 0, value: '1048576' }] }], validateOnly: false });
  assert.equal(set.responses[0].errorCode, 0);
  const bad = await c.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'no.such.config', configOperation: 0, value: '1' }] }], validateOnly: false });
  assert.equal(bad.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
  const described = await c.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.bytes'] }], includeSynonyms: true, includeDocumentation: true });
  assert.equal(described.results[0].configs.length, 1);
  assert.equal(described.results[0].configs[0].value, '1048576');
  assert.equal(described.results[0].configs[0].synonyms[0].source, 1, 'TOPIC_CONFIG first');
  const del = await c.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.bytes', configOperation: 1, value: null }] }], validateOnly: false });
  assert.equal(del.responses[0].errorCode, 0);
  const again = await c.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.bytes'] }], includeSynonyms: false, includeDocumentation: false });
  assert.equal(again.results[0].configs[0].value, '-1');
  c.close();
});

test('create partitions grows a topic and refuses to shrink it', async () => {
  await admin.createPartitions({ topicPartitions: [{ topic: 'orders', count: 5 }] });
  const md = await admin.fetchTopicMetadata({ topics: ['orders'] });
  assert.equal(md.topics[0]!.partitions.length, 5);
  await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: 'orders', count: 2 }] }), /partitions/i);
  await produce('orders', 4, ['on-new-partition']);
  assert.equal((await readPartition(broker.port, 'orders', 4))[0]!.value!.toString(), 'on-new-partition');
});

test('list offsets by timestamp, earliest, latest and max timestamp; delete records moves the start', async () => {
  await admin.createTopics({ topics: [{ topic: 'times', numPartitions: 1 }] });
  const t0 = 1_700_000_000_000;
  await produce('times', 0, ['a', 'b'], t0);
  await produce('times', 0, ['c'], t0 + 5000);
  await produce('times', 0, ['d', 'e'], t0 + 10000);
  const byTime = await admin.fetchTopicOffsetsByTimestamp('times', t0 + 4000);
  assert.equal(byTime[0]!.offset, '2');
  const c = await WireClient.connect(broker.port);
  const lo = async (timestamp: number) =>
    (await c.request(ApiKey.ListOffsets, 9, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'times', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] })).topics[0].partitions[0];
  assert.equal((await lo(-1)).offset, 5);
  assert.equal((await lo(-2)).offset, 0);
  const max = await lo(-3);
  assert.equal(max.timestamp, t0 + 10000);
  assert.equal(max.offset, 3, 'the first record holding the largest timestamp (d), not the last one (e), as Kafka answers');
  assert.equal((await lo(t0 + 60000)).offset, -1, 'no record that late');
  await admin.deleteTopicRecords({ topic: 'times', partitions: [{ partition: 0, offset: '3' }] });
  assert.equal((await lo(-2)).offset, 3);
  const fetchOld = await c.request(ApiKey.Fetch, 12, fetchBody('times', { offset: 1 }));
  assert.equal(fetchOld.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  c.close();
});

test('topics, configs, data and the log start survive a restart; delete removes a topic', async () => {
  await admin.disconnect();
  assert.equal(await broker.stop(), 0);
  broker = await startBroker({ dataDir: broker.dataDir, args: ['--set', 'log.tail.cache.bytes=0'] });
  admin = await connectAdmin();
  const topics = await admin.listTopics();
  assert.ok(topics.includes('orders') && topics.includes('times'));
  const md = await admin.fetchTopicMetadata({ topics: ['orders'] });
  assert.equal(md.topics[0]!.partitions.length, 5);
  const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders' }] });
  assert.equal(cfg.resources[0]!.configEntries.find((e) => e.configName === 'cleanup.policy')!.isDefault, false);
  const offsets = await admin.fetchTopicOffsets('times');
  assert.equal(offsets[0]!.low, '3');
  assert.equal(offsets[0]!.high, '5');
  assert.deepEqual((await readPartition(broker.port, 'orders', 4)).map((r) => r.value!.toString()), ['on-new-partition']);
  await admin.deleteTopics({ topics: ['orders'] });
  assert.ok(!(await admin.listTopics()).includes('orders'));
  await produce('orders', 0, ['recreated']);
  const meta = await admin.fetchTopicMetadata({ topics: ['orders'] });
  assert.equal(meta.topics[0]!.partitions.length, 1, 'auto-created anew with the default partition count');
  assert.deepEqual((await readPartition(broker.port, 'orders', 0)).map((r) => r.value!.toString()), ['recreated']);
});

test('message.timestamp.type=LogAppendTime stamps batches with the broker time', async () => {
  await admin.createTopics({ topics: [{ topic: 'append-time', numPartitions: 1, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }] });
  const c = await WireClient.connect(broker.port);
  const before = Date.now();
  const batch = buildBatch([{ key: null, value: Buffer.from('old') }], { baseTimestamp: 1000 });
  const res = await c.request(ApiKey.Produce, 9, produceBody('append-time', batch));
  const pr = res.responses[0].partitionResponses[0];
  assert.equal(pr.errorCode, 0);
  assert.ok(pr.logAppendTimeMs >= before, `logAppendTimeMs ${pr.logAppendTimeMs}`);
  c.close();
  const stored = await readPartition(broker.port, 'append-time', 0); // checks the CRC of what is stored
  assert.equal(stored.length, 1);
  const raw = await WireClient.connect(broker.port);
  const fetched = await raw.request(ApiKey.Fetch, 12, fetchBody('append-time'));
  raw.close();
  const b: Buffer = fetched.responses[0].partitions[0].records;
  assert.equal(b.readInt16BE(21) & 0x08, 0x08, 'timestamp type bit set');
  assert.equal(Number(b.readBigInt64BE(35)), pr.logAppendTimeMs, 'max timestamp is the append time');
});

test('a Produce with invalid acks is refused with INVALID_REQUIRED_ACKS and auto-creates no topic', async () => {
  const c = await WireClient.connect(broker.port);
  try {
    const batch = buildBatch([{ key: null, value: Buffer.from('x') }]);
    const res = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: 2, timeoutMs: 5000, topicData: [{ name: 'acks-two', partitionData: [{ index: 0, records: batch }] }] });
    const p = res.responses[0].partitionResponses[0];
    assert.equal(p.errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
    assert.match(p.errorMessage, /acks must be -1, 0 or 1, not 2/);
    const md = await c.request(ApiKey.Metadata, 12, { topics: [{ name: 'acks-two', topicId: null }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    c.close();
  }
});
