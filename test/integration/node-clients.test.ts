// Acceptance with the two Node clients: an 8-partition topic, 100,000 keyed messages with
// acks=-1 and idempotence on, every partition read back from offset 0 without consumer
// groups: nothing missing, nothing duplicated, per-key order kept.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { Producer, Admin, stringSerializers } from '@platformatic/kafka';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { readPartition, checkKeyedPartition } from '../helpers/read-all.js';

const TOTAL = 100_000;
const KEYS = 500;
const PARTITIONS = 8;
const BATCH = 1000;

let broker: BrokerProcess;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.cleanup();
});

/** Message n: key k = n % KEYS, value "k<k>:<sequence within key>". */
function message(n: number): { key: string; value: string } {
  const k = n % KEYS;
  return { key: `k${k}`, value: `k${k}:${Math.floor(n / KEYS)}` };
}

async function verify(topic: string): Promise<void> {
  const all = new Set<string>();
  let total = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const records = await readPartition(broker.port, topic, p);
    const check = checkKeyedPartition(records);
    assert.ok(check.contiguous, `partition ${p}: offsets are contiguous from 0`);
    assert.ok(check.perKeyOrdered, `partition ${p}: per-key order kept`);
    for (const v of check.values) all.add(v);
    total += records.length;
  }
  assert.equal(total, TOTAL, 'nothing duplicated');
  assert.equal(all.size, TOTAL, 'nothing missing');
  for (let n = 0; n < TOTAL; n += 9973) assert.ok(all.has(message(n).value), `message ${n} present`);
}

test('kafkajs: idempotent acks=-1 producer into an 8-partition topic, read back in full', async () => {
  const kafka = new Kafka({ clientId: 'kafkajs-acceptance', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  assert.equal(await admin.createTopics({ topics: [{ topic: 'kafkajs-acc', numPartitions: PARTITIONS }] }), true);
  const meta = await admin.fetchTopicMetadata({ topics: ['kafkajs-acc'] });
  assert.equal(meta.topics[0]!.partitions.length, PARTITIONS);
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < TOTAL; i += BATCH) {
    const messages = Array.from({ length: BATCH }, (_, j) => message(i + j));
    await producer.send({ topic: 'kafkajs-acc', acks: -1, messages });
  }
  await producer.disconnect();
  await verify('kafkajs-acc');
});

test('@platformatic/kafka: idempotent acks=-1 producer into an 8-partition topic, read back in full', async () => {
  const admin = new Admin({ clientId: 'platformatic-acceptance', bootstrapBrokers: [broker.bootstrap] });
  await admin.createTopics({ topics: ['platformatic-acc'], partitions: PARTITIONS, replicas: 1 });
  await admin.close();
  const producer = new Producer({ clientId: 'platformatic-acceptance', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers, idempotent: true, acks: -1 });
  for (let i = 0; i < TOTAL; i += BATCH) {
    const messages = Array.from({ length: BATCH }, (_, j) => ({ topic: 'platformatic-acc', ...message(i + j) }));
    await producer.send({ messages });
  }
  await producer.close();
  await verify('platformatic-acc');
});
