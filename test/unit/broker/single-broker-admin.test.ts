// The cluster-management APIs answered for a cluster of one, on the wire through the real
// dispatch path: what Kafka's tools cannot send (another broker id, a cancellation of nothing,
// UpdateFeatures v2's top-level error) and what ApiVersions announces.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessBroker, type InProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { createTopicsBody } from '../../helpers/requests.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';

let b: InProcessBroker;
let c: WireClient;

before(async () => {
  b = await startInProcessBroker();
  c = await WireClient.connect(b.port);
  const res = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('solo', 2));
  assert.equal(res.topics[0].errorCode, ErrorCode.NONE);
});
after(async () => {
  c.close();
  await b.stop();
});

const reassign = (partitions: Array<{ partitionIndex: number; replicas: number[] | null }>, topic = 'solo') =>
  c.request(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 1000, topics: [{ name: topic, partitions }] });

test('AlterPartitionReassignments: onto this broker is done at once, any other broker is refused, a cancel finds nothing', async () => {
  const res: any = await reassign([
    { partitionIndex: 0, replicas: [0] },
    { partitionIndex: 1, replicas: [0, 3] },
    { partitionIndex: 0, replicas: null },
    { partitionIndex: 0, replicas: [] },
    { partitionIndex: 7, replicas: [0] },
  ]);
  assert.equal(res.errorCode, ErrorCode.NONE);
  assert.deepEqual(res.responses[0].partitions.map((p: any) => p.errorCode), [
    ErrorCode.NONE, ErrorCode.INVALID_REPLICA_ASSIGNMENT, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, ErrorCode.INVALID_REPLICA_ASSIGNMENT, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ]);
  assert.match(res.responses[0].partitions[1].errorMessage, /broker 3, but no such broker is registered/);
  const listed: any = await c.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 1000, topics: null });
  assert.deepEqual([listed.errorCode, listed.topics], [ErrorCode.NONE, []]);
});

test('ElectLeaders: ELECTION_NOT_NEEDED for every existing partition, preferred or unclean', async () => {
  for (const electionType of [0, 1]) {
    const res: any = await c.request(ApiKey.ElectLeaders, 2, { electionType, timeoutMs: 1000, topicPartitions: [{ topic: 'solo', partitions: [0, 1, 9] }] });
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.deepEqual(res.replicaElectionResults[0].partitionResult.map((p: any) => [p.partitionId, p.errorCode]), [
      [0, ErrorCode.ELECTION_NOT_NEEDED], [1, ErrorCode.ELECTION_NOT_NEEDED], [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
  }
});

test('ApiVersions announces the finalized features; UpdateFeatures v2 refuses a bad update at the top level and changes nothing', async () => {
  const features = async () => {
    const v: any = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    return { epoch: v.finalizedFeaturesEpoch, finalized: Object.fromEntries(v.finalizedFeatures.map((f: any) => [f.name, f.maxVersionLevel])) };
  };
  const before = await features();
  assert.deepEqual(before.finalized, { 'metadata.version': 25, 'transaction.version': 2, 'group.version': 1, 'share.version': 1 });
  const update = (updates: Array<[string, number, number]>, validateOnly = false) =>
    c.request(ApiKey.UpdateFeatures, 2, { timeoutMs: 1000, validateOnly, featureUpdates: updates.map(([feature, maxVersionLevel, upgradeType]) => ({ feature, maxVersionLevel, upgradeType })) });
  // One bad update refuses the whole request.
  const refused: any = await update([['transaction.version', 1, 2], ['group.version', 2, 1]]);
  assert.equal(refused.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
  assert.match(refused.errorMessage, /group\.version level 2 is not supported/);
  const wrongWay: any = await update([['transaction.version', 1, 1]]);
  assert.equal(wrongWay.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
  assert.match(wrongWay.errorMessage, /with an upgrade; use downgrade/);
  const unknown: any = await update([['kraft.version', 1, 1]]);
  assert.equal(unknown.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
  assert.match(unknown.errorMessage, /Unknown feature kraft\.version/);
  const validated: any = await update([['transaction.version', 1, 2]], true);
  assert.equal(validated.errorCode, ErrorCode.NONE);
  assert.deepEqual(await features(), before, 'refused and validate-only updates change nothing');
  const done: any = await update([['transaction.version', 1, 2]]);
  assert.equal(done.errorCode, ErrorCode.NONE);
  const after = await features();
  assert.equal(after.finalized['transaction.version'], 1);
  assert.ok(after.epoch > before.epoch);
});

test('AlterReplicaLogDirs: the data directory is a no-op, another path LOG_DIR_NOT_FOUND', async () => {
  const res: any = await c.request(ApiKey.AlterReplicaLogDirs, 2, {
    dirs: [{ path: b.dataDir, topics: [{ name: 'solo', partitions: [0, 5] }] }, { path: '/nonexistent-dir', topics: [{ name: 'solo', partitions: [1] }] }],
  });
  assert.deepEqual(res.results.map((r: any) => r.partitions.map((p: any) => p.errorCode)), [[ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [ErrorCode.LOG_DIR_NOT_FOUND]]);
});
