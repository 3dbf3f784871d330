// Transactions driven request by request over the project's wire client, for tests that
// need one left open on purpose (a producer that never ends it) or exact control of each
// step: InitProducerId v4, AddPartitionsToTxn v3, a transactional Produce v9, EndTxn v3,
// and the partition offsets (high watermark, last stable offset) read with ListOffsets v7.

import assert from 'node:assert/strict';
import type { WireClient } from './wire-client.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { buildBatch } from './batches.js';
import { produceBody } from './requests.js';

/** The transactional attribute bit of a record batch. */
const TRANSACTIONAL = 0x10;

export interface TxnProducer {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** Next sequence per `topic-partition`. */
  readonly sequences: Map<string, number>;
}

/** InitProducerId for a transactional id; asserts success. */
export async function initTxnProducer(c: WireClient, transactionalId: string, transactionTimeoutMs = 60_000): Promise<TxnProducer> {
  const r = await c.request(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs, producerId: -1, producerEpoch: -1 });
  assert.equal(r.errorCode, 0, `InitProducerId ${transactionalId}`);
  return { transactionalId, producerId: r.producerId, producerEpoch: r.producerEpoch, sequences: new Map() };
}

/** AddPartitionsToTxn v3 for one topic's partitions; asserts every partition was added. */
export async function addTxnPartitions(c: WireClient, p: TxnProducer, topic: string, partitions: number[]): Promise<void> {
  const r = await c.request(ApiKey.AddPartitionsToTxn, 3, {
    v3AndBelowTransactionalId: p.transactionalId,
    v3AndBelowProducerId: p.producerId,
    v3AndBelowProducerEpoch: p.producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions }],
  });
  for (const t of r.resultsByTopicV3AndBelow) for (const x of t.resultsByPartition) assert.equal(x.partitionErrorCode, 0, `AddPartitionsToTxn ${topic}-${x.partitionIndex}`);
}

/** A transactional Produce v9 (acks=all) of `values` to one partition; returns the base offset. */
export async function produceTxn(c: WireClient, p: TxnProducer, topic: string, partition: number, values: string[], timestamp = Date.now()): Promise<number> {
  const key = `${topic}-${partition}`;
  const seq = p.sequences.get(key) ?? 0;
  const batch = buildBatch(
    values.map((v) => ({ key: null, value: Buffer.from(v) })),
    { producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: seq, attributes: TRANSACTIONAL, baseTimestamp: timestamp },
  );
  const r = await c.request(ApiKey.Produce, 9, { ...produceBody(topic, [[partition, batch]]), transactionalId: p.transactionalId });
  const res = r.responses[0].partitionResponses[0];
  assert.equal(res.errorCode, 0, `transactional produce to ${key}: ${res.errorMessage}`);
  p.sequences.set(key, seq + values.length);
  return Number(res.baseOffset);
}

/** EndTxn v3 (commit or abort); asserts success. */
export async function endTxn(c: WireClient, p: TxnProducer, commit: boolean): Promise<void> {
  const r = await c.request(ApiKey.EndTxn, 3, { transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch, committed: commit });
  assert.equal(r.errorCode, 0, `EndTxn ${p.transactionalId} commit=${commit}`);
}

/** A partition's latest offset as read_uncommitted (high watermark) and read_committed (last stable offset) consumers see it. */
export async function partitionOffsets(c: WireClient, topic: string, partition: number): Promise<{ highWatermark: number; lastStableOffset: number }> {
  const at = async (isolationLevel: number): Promise<number> => {
    const r = await c.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }] });
    const p = r.topics[0].partitions[0];
    assert.equal(p.errorCode, 0, `ListOffsets ${topic}-${partition}`);
    return Number(p.offset);
  };
  return { highWatermark: await at(0), lastStableOffset: await at(1) };
}
