// A transactional batch names its transaction through the Produce request's transactional id,
// never through its producer id alone (Kafka's rule): without a transactional id the request is
// refused (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ACLs on or off), and a producer id that is not
// the one the named transactional id holds gets INVALID_PRODUCER_ID_MAPPING. Either way nothing
// is appended and the other producer's transaction does not gain the partition (Produce v12
// adds partitions implicitly, so a producer id alone used to be enough to join a transaction).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessBroker, type InProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { buildBatch } from '../../helpers/batches.js';
import { createTopicsBody, produceBody } from '../../helpers/requests.js';
import { initTxnProducer, partitionOffsets, type TxnProducer } from '../../helpers/txn-requests.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../../../src/broker/acl/acl.js';

const TRANSACTIONAL = 0x10;

function txnBatch(p: TxnProducer, value: string): Buffer {
  return buildBatch([{ key: null, value: Buffer.from(value) }], { producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: 0, attributes: TRANSACTIONAL });
}

async function produce(c: WireClient, topic: string, batch: Buffer, transactionalId: string | null): Promise<number[]> {
  const r = await c.request(ApiKey.Produce, 12, { ...produceBody(topic, [[0, batch], [1, batch]]), transactionalId });
  return r.responses[0].partitionResponses.map((x: { errorCode: number }) => x.errorCode);
}

async function setup(b: InProcessBroker, c: WireClient): Promise<TxnProducer> {
  const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('victim-t', 2));
  assert.equal(created.topics[0].errorCode, 0);
  const victim = await initTxnProducer(c, 'victim-x');
  // The victim's transaction is open on partition 0 (Produce v12 adds it).
  const own = await c.request(ApiKey.Produce, 12, { ...produceBody('victim-t', [[0, txnBatch(victim, 'mine')]]), transactionalId: 'victim-x' });
  assert.equal(own.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  assert.deepEqual(b.broker.txns.txns.get('victim-x')!.partitions, [['victim-t', 0]]);
  return victim;
}

async function assertUntouched(b: InProcessBroker, c: WireClient): Promise<void> {
  assert.deepEqual(b.broker.txns.txns.get('victim-x')!.partitions, [['victim-t', 0]], 'the victim transaction gained no partition');
  assert.equal((await partitionOffsets(c, 'victim-t', 0)).highWatermark, 1, 'nothing appended to partition 0');
  assert.equal((await partitionOffsets(c, 'victim-t', 1)).highWatermark, 0, 'nothing appended to partition 1');
}

test('ACLs off: a transactional batch without a transactional id, or under another one, cannot join a transaction', async () => {
  const b = await startInProcessBroker();
  const c = await WireClient.connect(b.port);
  try {
    const victim = await setup(b, c);
    const forged = txnBatch(victim, 'forged');
    assert.deepEqual(await produce(c, 'victim-t', forged, null), [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
    await assertUntouched(b, c);
    await initTxnProducer(c, 'other-x');
    assert.deepEqual(await produce(c, 'victim-t', forged, 'other-x'), [ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    assert.deepEqual(await produce(c, 'victim-t', forged, 'never-initialised-x'), [ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    await assertUntouched(b, c);
    assert.deepEqual(b.broker.txns.txns.get('other-x')!.partitions, [], 'nor did the named one');
  } finally {
    c.close();
    await b.stop();
  }
});

test('ACLs on: WRITE on the topic alone does not let a principal write into another producer transaction', async () => {
  const b = await startInProcessBroker({ authorizerClassName: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' });
  const admin = await WireClient.connect(b.port, '127.0.0.1', '127.0.0.2');
  const user = await WireClient.connect(b.port, '127.0.0.1', '127.0.0.1');
  try {
    const acl = (resourceType: number, resourceName: string, host: string, operation: number) => ({ resourceType, resourceName, patternType: PatternType.LITERAL, principal: 'User:ANONYMOUS', host, operation, permission: AclPermission.ALLOW });
    await b.broker.authz.create([
      acl(ResourceType.CLUSTER, 'kafka-cluster', '127.0.0.2', AclOperation.ALL),
      acl(ResourceType.TOPIC, '*', '127.0.0.2', AclOperation.ALL),
      acl(ResourceType.TRANSACTIONAL_ID, '*', '127.0.0.2', AclOperation.ALL),
      acl(ResourceType.TOPIC, 'victim-t', '127.0.0.1', AclOperation.WRITE),
      acl(ResourceType.TOPIC, 'victim-t', '127.0.0.1', AclOperation.DESCRIBE),
    ]);
    const victim = await setup(b, admin);
    const forged = txnBatch(victim, 'forged');
    assert.deepEqual(await produce(user, 'victim-t', forged, null), [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
    assert.deepEqual(await produce(user, 'victim-t', forged, 'victim-x'), [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
    await assertUntouched(b, admin);
  } finally {
    user.close();
    admin.close();
    await b.stop();
  }
});
