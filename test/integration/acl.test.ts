// ACLs with real clients and mTLS principals: a broker with an SSL listener requiring client
// certificates and ACLs on, User:CN=admin a super user who creates the ACLs with kafkajs's admin
// API. kafkajs as User:CN=alice and @platformatic/kafka as User:CN=carol produce and consume
// with their groups; User:CN=bob, without ACLs, gets the errors as the clients report them and
// does not see the topics in Metadata. ACL changes apply to open connections and to a
// consumer's running fetches. Denials are counted by operation and resource type.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import kafkajsPackage, { Kafka, logLevel, type Admin, type AclResourceTypes as ResourceTypeEnum, type AclOperationTypes as OperationEnum, type ResourcePatternTypes as PatternEnum } from 'kafkajs';
import { Producer, Consumer, stringSerializers, stringDeserializers, MessagesStreamModes } from '@platformatic/kafka';
import { startBroker, brokerTail, listenerPorts, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts, type ClientCert } from '../helpers/tls-certs.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';

// kafkajs is CommonJS: its ACL enums are only on the default export.
const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajsPackage;

let certs: TestCerts;
let broker: BrokerProcess;
let port = 0;
const who: Record<'admin' | 'alice' | 'bob' | 'carol', ClientCert> = {} as never;
let admin: Admin;

before(async () => {
  certs = await makeTestCerts();
  for (const name of ['admin', 'alice', 'bob', 'carol'] as const) who[name] = await certs.makeClient(name);
  broker = await startBroker({
    args: [
      '--set', 'listeners=SSL://127.0.0.1:0',
      '--set', `ssl.certificate.location=${certs.serverCertFile}`,
      '--set', `ssl.key.location=${certs.serverKeyFile}`,
      '--set', `ssl.truststore.location=${certs.caFile}`,
      '--set', 'ssl.client.auth=required',
      '--set', 'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      '--set', 'super.users=User:CN=admin',
      '--set', 'group.initial.rebalance.delay.ms=0',
    ],
  });
  port = listenerPorts(broker).SSL!;
  admin = kafkajs('admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }, { topic: 'payments', numPartitions: 1 }, { topic: 'carol-events', numPartitions: 1 }] });
  await admin.createAcls({
    acl: [
      allow('alice', AclResourceTypes.TOPIC, 'orders', AclOperationTypes.WRITE),
      allow('alice', AclResourceTypes.TOPIC, 'orders', AclOperationTypes.READ),
      allow('alice', AclResourceTypes.GROUP, 'orders-app', AclOperationTypes.READ),
      allow('carol', AclResourceTypes.TOPIC, 'carol-', AclOperationTypes.ALL, ResourcePatternTypes.PREFIXED),
      allow('carol', AclResourceTypes.GROUP, 'carol-', AclOperationTypes.READ, ResourcePatternTypes.PREFIXED),
    ],
  });
});

after(async () => {
  await admin?.disconnect().catch(() => undefined);
  await broker?.cleanup();
  await certs?.cleanup();
});

function tls(name: keyof typeof who) {
  return { ca: [readFileSync(certs.caFile, 'utf8')], cert: readFileSync(who[name].certFile, 'utf8'), key: readFileSync(who[name].keyFile, 'utf8') };
}

function kafkajs(name: keyof typeof who): Kafka {
  return new Kafka({ clientId: `acl-${name}`, brokers: [`127.0.0.1:${port}`], ssl: tls(name), logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } });
}

function allow(name: string, resourceType: ResourceTypeEnum, resourceName: string, operation: OperationEnum, resourcePatternType: PatternEnum = ResourcePatternTypes.LITERAL) {
  return { resourceType, resourceName, resourcePatternType, principal: `User:CN=${name}`, host: '*', operation, permissionType: AclPermissionTypes.ALLOW };
}

/** The kafkajs error type of `e` or of the errors it wraps. */
function kafkajsType(e: unknown): string {
  for (let x = e as { type?: string; cause?: unknown; originalError?: unknown } | undefined; x; x = (x.cause ?? x.originalError) as typeof x) if (x.type) return x.type;
  return String(e);
}

/** Runs a kafkajs consumer of `orders` in `groupId` until it fails; the error's kafkajs type (or name). */
async function consumeError(kafka: Kafka, groupId: string): Promise<string> {
  const consumer = kafka.consumer({ groupId, retry: { retries: 0 } });
  const crashed = new Promise<unknown>((resolve) => consumer.on(consumer.events.CRASH, (e) => resolve(e.payload.error)));
  try {
    const error = await (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      return Promise.race([crashed, consumer.run({ eachMessage: async () => assert.fail('the consumer must not read') }).then(() => crashed)]);
    })().catch((e: unknown) => e);
    const type = kafkajsType(error);
    return type === String(error) ? (error as Error).name : type;
  } finally {
    await consumer.disconnect();
  }
}

async function denials(operation: string, resourceType: string): Promise<number> {
  return (await scrapeMetrics(broker.httpPort)).get(`rivulet_authorization_denials_total{operation="${operation}",resource_type="${resourceType}"}`) ?? 0;
}

test('kafkajs as an allowed principal produces and consumes with its group', { timeout: 60_000 }, async () => {
  const kafka = kafkajs('alice');
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ value: `o${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'orders-app' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  const got: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
  try {
    await waitFor('5 messages', () => got.length >= 5, 30_000, () => brokerTail(broker));
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(got, ['o0', 'o1', 'o2', 'o3', 'o4']);
  const offsets = await admin.fetchOffsets({ groupId: 'orders-app', topics: ['orders'] });
  assert.equal(offsets[0]!.partitions[0]!.offset, '5', 'the group committed its offsets');
});

test('kafkajs as a principal without ACLs: TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, and Metadata hides the topics', { timeout: 60_000 }, async () => {
  const kafka = kafkajs('bob');
  const bobAdmin = kafka.admin();
  await bobAdmin.connect();
  try {
    assert.deepEqual(await bobAdmin.listTopics(), [], 'bob sees no topic');
    const before = await denials('DESCRIBE', 'TOPIC');
    const producer = kafka.producer();
    await producer.connect();
    await assert.rejects(producer.send({ topic: 'orders', messages: [{ value: 'x' }] }), (e) => kafkajsType(e) === 'TOPIC_AUTHORIZATION_FAILED' || /TOPIC_AUTHORIZATION_FAILED|Not authorized to access topics/.test(String(e)));
    await producer.disconnect();
    assert.equal(await admin.fetchTopicOffsets('orders').then((o) => o[0]!.high), '5', 'nothing was written');
    // Not even DESCRIBE on the topic: the consumer's subscription fails on Metadata.
    assert.equal(await consumeError(kafka, 'orders-app'), 'TOPIC_AUTHORIZATION_FAILED');
    await admin.createAcls({ acl: [allow('bob', AclResourceTypes.TOPIC, 'orders', AclOperationTypes.DESCRIBE)] });
    assert.deepEqual(await bobAdmin.listTopics(), ['orders'], 'with DESCRIBE on orders bob sees it, and only it');
    // No ACL on the group: FindCoordinator is refused, which kafkajs reports as a coordinator it cannot find.
    const describeDenials = await denials('DESCRIBE', 'GROUP');
    assert.match(await consumeError(kafka, 'orders-app'), /GroupCoordinatorNotFound|GROUP_AUTHORIZATION_FAILED/);
    assert.ok((await denials('DESCRIBE', 'GROUP')) > describeDenials, 'FindCoordinator was refused');
    // DESCRIBE on the group (it may find it) but not READ: JoinGroup answers GROUP_AUTHORIZATION_FAILED.
    await admin.createAcls({ acl: [allow('bob', AclResourceTypes.GROUP, 'orders-app', AclOperationTypes.DESCRIBE)] });
    assert.equal(await consumeError(kafka, 'orders-app'), 'GROUP_AUTHORIZATION_FAILED');
    assert.ok((await denials('DESCRIBE', 'TOPIC')) > before, 'the denials are counted');
    assert.match(broker.output(), /authorization denied.*principal=User:CN=bob/, 'and logged with the principal');
  } finally {
    await bobAdmin.disconnect();
  }
});

test('an ACL created while a client is connected applies to its open connection', { timeout: 60_000 }, async () => {
  const producer = kafkajs('bob').producer();
  await producer.connect();
  try {
    await assert.rejects(producer.send({ topic: 'payments', messages: [{ value: 'denied' }] }), (e) => /TOPIC_AUTHORIZATION_FAILED|Not authorized/.test(`${kafkajsType(e)} ${e}`));
    await admin.createAcls({ acl: [allow('bob', AclResourceTypes.TOPIC, 'payments', AclOperationTypes.WRITE)] });
    await producer.send({ topic: 'payments', messages: [{ value: 'allowed' }] });
    assert.equal((await admin.fetchTopicOffsets('payments'))[0]!.high, '1');
    await admin.deleteAcls({ filters: [{ resourceType: AclResourceTypes.TOPIC, resourceName: 'payments', resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:CN=bob', host: '*', operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }] });
    await assert.rejects(producer.send({ topic: 'payments', messages: [{ value: 'denied again' }] }), (e) => /TOPIC_AUTHORIZATION_FAILED|Not authorized/.test(`${kafkajsType(e)} ${e}`));
    assert.equal((await admin.fetchTopicOffsets('payments'))[0]!.high, '1');
  } finally {
    await producer.disconnect();
  }
});

test('@platformatic/kafka as a second principal consumes through PREFIXED ACLs; revoking READ refuses its running fetches, granting it again lets it read', { timeout: 90_000 }, async () => {
  const base = { bootstrapBrokers: [`127.0.0.1:${port}`], tls: tls('carol'), clientId: 'acl-carol' };
  const producer = new Producer({ ...base, serializers: stringSerializers });
  const consumers: Consumer<string, string, string, string>[] = [];
  const got: string[] = [];
  const errors: unknown[] = [];
  const consume = async () => {
    const consumer = new Consumer({ ...base, groupId: 'carol-app', deserializers: stringDeserializers, maxWaitTime: 100 });
    consumers.push(consumer);
    const stream = await consumer.consume({ topics: ['carol-events'], mode: MessagesStreamModes.EARLIEST });
    stream.on('data', (m: { value: string }) => got.push(m.value));
    stream.on('error', (e: unknown) => errors.push(e));
  };
  try {
    await producer.send({ messages: [{ topic: 'carol-events', value: 'e1' }] });
    await consume();
    await waitFor('the first event', () => got.includes('e1'), 30_000, () => brokerTail(broker));
    const readDenials = await denials('READ', 'TOPIC');
    await admin.deleteAcls({ filters: [{ resourceType: AclResourceTypes.TOPIC, resourceName: 'carol-', resourcePatternType: ResourcePatternTypes.PREFIXED, principal: 'User:CN=carol', host: '*', operation: AclOperationTypes.ALL, permissionType: AclPermissionTypes.ALLOW }] });
    await admin.createAcls({ acl: [allow('carol', AclResourceTypes.TOPIC, 'carol-', AclOperationTypes.WRITE, ResourcePatternTypes.PREFIXED)] });
    await producer.send({ messages: [{ topic: 'carol-events', value: 'e2' }] });
    // The consumer's next fetch of the partition (on its open connection) is refused, and the client reports it.
    await waitFor('the refused fetch reported by the client', () => errors.length > 0, 30_000, () => brokerTail(broker));
    assert.match(inspect(errors[0], { depth: 8 }), /errorCode: 29|TOPIC_AUTHORIZATION_FAILED|authoriz/i, inspect(errors[0], { depth: 8 }));
    assert.ok((await denials('READ', 'TOPIC')) > readDenials, 'the refused fetch is counted');
    assert.ok(!got.includes('e2'), `e2 was delivered after READ was revoked: ${got}`);
    // The client gave up on its stream; it leaves the group and a new one reads on.
    await consumers[0]!.close(true);
    await admin.createAcls({ acl: [allow('carol', AclResourceTypes.TOPIC, 'carol-', AclOperationTypes.READ, ResourcePatternTypes.PREFIXED)] });
    await consume();
    await waitFor('e2 once READ is granted again', () => got.includes('e2'), 30_000, () => `${brokerTail(broker)}\nerrors: ${errors.map(String).join('\n')}`);
  } finally {
    for (const c of consumers) await Promise.resolve().then(() => c.close(true)).catch(() => undefined);
    await producer.close().catch(() => undefined);
  }
});

test('@platformatic/kafka without READ on the topic is refused its group and its topic', { timeout: 60_000 }, async () => {
  const base = { bootstrapBrokers: [`127.0.0.1:${port}`], tls: tls('carol'), clientId: 'acl-carol-denied', retries: 0 };
  const consumer = new Consumer({ ...base, groupId: 'orders-app', deserializers: stringDeserializers, maxWaitTime: 100 });
  try {
    await assert.rejects(consumer.consume({ topics: ['orders'], mode: MessagesStreamModes.EARLIEST }), (e: any) => /authoriz/i.test(`${e} ${e?.errors?.map(String)} ${JSON.stringify(e?.response ?? '')}`));
  } finally {
    await consumer.close(true);
  }
});
