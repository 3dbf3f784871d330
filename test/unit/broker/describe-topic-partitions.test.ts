// DescribeTopicPartitions (75) through the real dispatch path: pages that cross topics, the
// cursor, unknown topics and a cursor naming a topic the request does not list.

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
  for (const [name, n] of [['dtp-b', 3], ['dtp-a', 2], ['dtp-c', 1]] as const) {
    const res = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(name, n));
    assert.equal(res.topics[0].errorCode, ErrorCode.NONE);
  }
});
after(async () => {
  c.close();
  await b.stop();
});

const describe = (topics: string[], limit: number, cursor: { topicName: string; partitionIndex: number } | null) =>
  c.request(ApiKey.DescribeTopicPartitions, 0, { topics: topics.map((name) => ({ name })), responsePartitionLimit: limit, cursor });

/** Follows nextCursor to the end; returns every page as "topic:partition" lists. */
async function allPages(topics: string[], limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor = null;
  do {
    const res: any = await describe(topics, limit, cursor);
    pages.push(res.topics.flatMap((t: any) => t.partitions.map((p: any) => `${t.name}:${p.partitionIndex}`)));
    cursor = res.nextCursor;
    assert.ok(pages.length < 10, 'the cursor moves forward');
  } while (cursor !== null);
  return pages;
}

test('pages of 2 partitions walk every topic in name order, across topic boundaries', async () => {
  const pages = await allPages(['dtp-b', 'dtp-c', 'dtp-a'], 2);
  assert.deepEqual(pages, [['dtp-a:0', 'dtp-a:1'], ['dtp-b:0', 'dtp-b:1'], ['dtp-b:2', 'dtp-c:0']]);
});

test('a large limit answers everything at once, with no cursor', async () => {
  const res: any = await describe(['dtp-a', 'dtp-b'], 2000, null);
  assert.equal(res.nextCursor, null);
  assert.deepEqual(res.topics.map((t: any) => [t.name, t.partitions.length, t.errorCode]), [['dtp-a', 2, 0], ['dtp-b', 3, 0]]);
  const p = res.topics[1].partitions[2];
  assert.deepEqual([p.leaderId, p.leaderEpoch, p.replicaNodes, p.isrNodes], [0, 0, [0], [0]]);
});

test('a cursor starts mid-topic; unknown topics answer UNKNOWN_TOPIC_OR_PARTITION', async () => {
  const res: any = await describe(['dtp-b', 'nope'], 10, { topicName: 'dtp-b', partitionIndex: 1 });
  assert.deepEqual(res.topics.map((t: any) => [t.name, t.errorCode, t.partitions.map((x: any) => x.partitionIndex)]), [['dtp-b', 0, [1, 2]], ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []]]);
});

test('a cursor naming a topic the request does not list is INVALID_REQUEST', async () => {
  const res: any = await describe(['dtp-a'], 10, { topicName: 'dtp-b', partitionIndex: 0 });
  assert.deepEqual(res.topics.map((t: any) => [t.name, t.errorCode]), [['dtp-a', ErrorCode.INVALID_REQUEST]]);
});

test('a cursor past its topic\'s end names no partition and keeps the page limit for the topics after it', async () => {
  const res: any = await describe(['dtp-a', 'dtp-b'], 2, { topicName: 'dtp-a', partitionIndex: 1_000_000 });
  assert.deepEqual(res.topics.map((t: any) => [t.name, t.partitions.map((x: any) => x.partitionIndex)]), [['dtp-a', []], ['dtp-b', [0, 1]]]);
  assert.deepEqual(res.nextCursor, { topicName: 'dtp-b', partitionIndex: 2 });
});
