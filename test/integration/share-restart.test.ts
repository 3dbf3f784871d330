// Share-group state across a broker kill -9, over the wire: acknowledged records (accepted or
// rejected) are never handed out again, records held when the broker died are offered again,
// delivery counts stored with the state are kept, and the group's start offset is where it was.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { WireClient } from '../helpers/wire-client.js';
import { makeBatch } from '../helpers/batches.js';
import { createTopicsBody, produceBody } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';

type Acks = { firstOffset: number; lastOffset: number; acknowledgeTypes: number[] }[];

const fetchBody = (memberId: string, epoch: number, topicId: string, acks: Acks = []) => ({
  groupId: 'g-restart', memberId, shareSessionEpoch: epoch, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, maxRecords: 500, batchSize: 500,
  topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: acks }] }], forgottenTopicsData: [],
});

async function join(c: WireClient, memberId: string): Promise<void> {
  const r = await c.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'g-restart', memberId, memberEpoch: 0, rackId: null, subscribedTopicNames: ['share-restart'] });
  assert.equal(r.errorCode, ErrorCode.NONE);
}

test('kill -9: acknowledged records stay done, held ones come back, stored delivery counts are kept', { timeout: 60_000 }, async () => {
  const dataDir = await makeTempDir('rivulet-share-restart-');
  let broker: BrokerProcess | null = null;
  let c: WireClient | null = null;
  try {
    broker = await startBroker({ dataDir, args: ['--set', 'share.auto.offset.reset=earliest'] });
    c = await WireClient.connect(broker.port);
    assert.equal((await c.request(ApiKey.CreateTopics, 7, createTopicsBody('share-restart'))).topics[0].errorCode, ErrorCode.NONE);
    const topicId: string = (await c.request(ApiKey.Metadata, 12, { topics: [{ topicId: null, name: 'share-restart' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).topics[0].topicId;
    for (let i = 0; i < 3; i++) {
      const r: { responses: { partitionResponses: { errorCode: number }[] }[] } = await c.request(ApiKey.Produce, 9, produceBody('share-restart', makeBatch({ records: 10, payload: 100 })));
      assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
    await join(c, 'a');
    const got = await c.request(ApiKey.ShareFetch, 2, fetchBody('a', 0, topicId));
    assert.deepEqual(got.responses[0].partitions[0].acquiredRecords, [{ firstOffset: 0, lastOffset: 29, deliveryCount: 1 }]);
    // 0-9 accepted, 10 released (delivered once), 11 rejected, 12-19 renewed (still held),
    // 20-24 accepted, 25-29 still held
    const types = [...new Array(10).fill(1), 2, 3, ...new Array(8).fill(4), ...new Array(5).fill(1)];
    const acked = await c.request(ApiKey.ShareAcknowledge, 2, { groupId: 'g-restart', memberId: 'a', shareSessionEpoch: 1, isRenewAck: true, topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 24, acknowledgeTypes: types }] }] }] });
    assert.equal(acked.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    c.close();
    await broker.kill();

    broker = await startBroker({ dataDir, args: ['--set', 'share.auto.offset.reset=earliest'] });
    c = await WireClient.connect(broker.port);
    const offsets = await c.request(ApiKey.DescribeShareGroupOffsets, 1, { groups: [{ groupId: 'g-restart', topics: [{ topicName: 'share-restart', partitions: [0] }] }] });
    assert.equal(offsets.groups[0].topics[0].partitions[0].startOffset, 10, 'the start offset moved past the first accepted records, and stayed');
    await join(c, 'b');
    const after = await c.request(ApiKey.ShareFetch, 2, fetchBody('b', 0, topicId));
    // 10 was released after one delivery; 12-19 and 25-29 were held when the broker died, their
    // first delivery stored with the acknowledgement: they come back on their second delivery.
    // 11 (rejected) and 20-24 (accepted) never come back.
    assert.deepEqual(after.responses[0].partitions[0].acquiredRecords, [
      { firstOffset: 10, lastOffset: 10, deliveryCount: 2 },
      { firstOffset: 12, lastOffset: 19, deliveryCount: 2 },
      { firstOffset: 25, lastOffset: 29, deliveryCount: 2 },
    ]);
  } finally {
    c?.close();
    await broker?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
});
