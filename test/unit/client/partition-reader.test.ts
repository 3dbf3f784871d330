// The one partition reader (src/client/partition-reader.ts) against a scripted consumer: one
// fetch per leader, offsets advanced past control batches and up to the end, records before
// the fetch offset dropped, a truncated log ends the read, stale leadership refreshes
// metadata and retries, offsets outside the log are a ClientError, idle and stop end it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterTopicMetadata, Consumer } from '@platformatic/kafka';
import { readPartitions, type PartitionPosition, type ReadRecord } from '../../../src/client/partition-reader.js';
import { ClientError, ClientErrorCode } from '../../../src/client/errors.js';

const TOPIC = 't';
const IS_CONTROL = 0x20;
const LOG_APPEND_TIME = 0x08;

interface FetchCall {
  node: number;
  topics: Array<{ topicId: string; partitions: Array<{ partition: number; fetchOffset: bigint }> }>;
}

function meta(leaders: number[], id = 'topic-id'): ClusterTopicMetadata {
  return { id, partitionsCount: leaders.length, partitions: leaders.map((leader) => ({ leader })) } as unknown as ClusterTopicMetadata;
}

/** A batch of `count` records from `first`; values are "offset" as text. */
function batch(first: bigint, count: number, attributes = 0, firstTimestamp = 1000n): unknown {
  return {
    firstOffset: first,
    lastOffsetDelta: count - 1,
    attributes,
    firstTimestamp,
    maxTimestamp: firstTimestamp + 99n,
    records: Array.from({ length: count }, (_, i) => ({ offsetDelta: i, timestampDelta: BigInt(i), key: null, value: Buffer.from(String(first + BigInt(i))), headers: [] })),
  };
}

function answer(partitions: Array<{ partition: number; records: unknown[]; hw?: bigint }>): unknown {
  return { responses: [{ topicId: 'topic-id', partitions: partitions.map((p) => ({ partitionIndex: p.partition, highWatermark: p.hw ?? 1000n, lastStableOffset: p.hw ?? 1000n, records: p.records })) }] };
}

/** A consumer whose fetch answers come from `script` (called with each request) and whose metadata is `md`. */
function fakeConsumer(script: (call: FetchCall, n: number) => unknown | Promise<unknown>, md: () => ClusterTopicMetadata = () => meta([0])): { consumer: Consumer; calls: FetchCall[]; metadataCalls: () => number } {
  const calls: FetchCall[] = [];
  let metadataCalls = 0;
  const consumer = {
    fetch: async (o: FetchCall) => {
      calls.push(o);
      return script(o, calls.length);
    },
    metadata: async () => {
      metadataCalls++;
      return { topics: new Map([[TOPIC, md()]]) };
    },
  } as unknown as Consumer;
  return { consumer, calls, metadataCalls: () => metadataCalls };
}

const offsets = (records: ReadRecord[]): number[] => records.map((r) => Number(r.offset));

test('one fetch per leader; control batches skipped; reading stops at each end offset', async () => {
  const { consumer, calls } = fakeConsumer((call) => {
    const p = call.topics[0]!.partitions[0]!;
    if (call.node === 0) return answer([{ partition: 0, records: p.fetchOffset === 0n ? [batch(0n, 3), batch(3n, 1, IS_CONTROL), batch(4n, 3)] : [] }]);
    return answer([{ partition: 1, records: [batch(p.fetchOffset, 5, LOG_APPEND_TIME)] }]);
  });
  const positions: PartitionPosition[] = [
    { partition: 0, next: 0n, end: 6n, done: false },
    { partition: 1, next: 10n, end: 12n, done: false },
  ];
  const got = new Map<number, ReadRecord[]>();
  const outcome = await readPartitions(consumer, {
    topic: TOPIC,
    metadata: meta([0, 1]),
    positions,
    onRecords: (s, records) => void got.set(s.partition, [...(got.get(s.partition) ?? []), ...records]),
  });
  assert.equal(outcome, 'done');
  assert.deepEqual(calls.map((c) => c.node).sort(), [0, 1], 'the first round asks each leader once');
  assert.deepEqual(offsets(got.get(0)!), [0, 1, 2, 4, 5], 'the control record at 3 is skipped, 6 is past the end');
  assert.deepEqual(offsets(got.get(1)!), [10, 11]);
  assert.equal(got.get(0)![1]!.timestamp, 1001n, 'CreateTime: first timestamp + delta');
  assert.equal(got.get(1)![1]!.timestamp, 1099n, 'LogAppendTime: the batch max timestamp');
  assert.deepEqual(positions.map((s) => [s.next, s.done]), [[6n, true], [12n, true]]);
});

test('records before the fetch offset are dropped; a position already at its end is not fetched', async () => {
  const { consumer, calls } = fakeConsumer(() => answer([{ partition: 0, records: [batch(0n, 5)] }]));
  const got: ReadRecord[] = [];
  const positions: PartitionPosition[] = [
    { partition: 0, next: 3n, end: 5n, done: false },
    { partition: 1, next: 7n, end: 7n, done: false },
  ];
  await readPartitions(consumer, { topic: TOPIC, metadata: meta([0, 0]), positions, onRecords: (_s, r) => void got.push(...r) });
  assert.deepEqual(offsets(got), [3, 4]);
  assert.equal(positions[1]!.done, true);
  assert.deepEqual(calls[0]!.topics[0]!.partitions.map((p) => p.partition), [0]);
});

test('a log truncated below the end offset ends the read instead of waiting', async () => {
  const { consumer } = fakeConsumer(() => answer([{ partition: 0, records: [], hw: 5n }]));
  const positions: PartitionPosition[] = [{ partition: 0, next: 5n, end: 9n, done: false }];
  assert.equal(await readPartitions(consumer, { topic: TOPIC, metadata: meta([0]), positions, onRecords: () => undefined }), 'done');
  assert.equal(positions[0]!.done, true);
});

test('stale leadership refreshes the metadata and fetches from the new leader', async () => {
  const { consumer, calls, metadataCalls } = fakeConsumer(
    (call, n) => {
      if (n === 1) throw Object.assign(new Error('This server is not the leader for that topic-partition.'), { apiId: 'NOT_LEADER_OR_FOLLOWER' });
      return answer([{ partition: 0, records: [batch(call.topics[0]!.partitions[0]!.fetchOffset, 2)] }]);
    },
    () => meta([3]),
  );
  const got: ReadRecord[] = [];
  await readPartitions(consumer, { topic: TOPIC, metadata: meta([0]), positions: [{ partition: 0, next: 0n, end: 2n, done: false }], onRecords: (_s, r) => void got.push(...r) });
  assert.equal(metadataCalls(), 1);
  assert.deepEqual(calls.map((c) => c.node), [0, 3]);
  assert.deepEqual(offsets(got), [0, 1]);
});

test('offsets outside the log are a ClientError with code offsetOutOfRange', async () => {
  const { consumer } = fakeConsumer(() => {
    throw Object.assign(new Error('The requested offset is not within the range of offsets maintained by the server.'), { apiId: 'OFFSET_OUT_OF_RANGE' });
  });
  await assert.rejects(
    readPartitions(consumer, { topic: TOPIC, metadata: meta([0]), positions: [{ partition: 0, next: 0n, end: -1n, done: false }], onRecords: () => undefined }),
    (e: unknown) => e instanceof ClientError && e.code === ClientErrorCode.offsetOutOfRange && /no longer \(or not yet\) in the log of "t"/.test(e.message),
  );
});

test('no record for the idle time ends the read as idle; a settled stop abandons a pending fetch', async () => {
  const quiet = fakeConsumer(async () => {
    await new Promise((res) => setTimeout(res, 20));
    return answer([{ partition: 0, records: [] }]);
  });
  const idle = await readPartitions(quiet.consumer, { topic: TOPIC, metadata: meta([0]), positions: [{ partition: 0, next: 0n, end: -1n, done: false }], idle: { ms: 60, armed: () => true }, onRecords: () => undefined });
  assert.equal(idle, 'idle');

  const hanging = fakeConsumer(() => new Promise(() => undefined));
  let stop!: () => void;
  const stopped = new Promise<void>((res) => (stop = res));
  setTimeout(stop, 20);
  const outcome = await readPartitions(hanging.consumer, { topic: TOPIC, metadata: meta([0]), positions: [{ partition: 0, next: 0n, end: -1n, done: false }], stopped, onRecords: () => undefined });
  assert.equal(outcome, 'stopped');
});
