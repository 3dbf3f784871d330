// AddPartitionsToTxn (key 24), v0-5. v0-3 come from producers: one transaction, its
// partitions added (the transaction starts with the first). v4+ batch several transactions
// and may ask only to verify that partitions are already in them (verifyOnly).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnRequestAddPartitionsToTxnTopic, AddPartitionsToTxnResponse, AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { addPartitionsToTxnServer } from '../../protocol/generated/add-partitions-to-txn.js';

function asPairs(topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[]): [string, number][] {
  return topics.flatMap((t) => t.partitions.map((p) => [t.name, p] as [string, number]));
}

function results(topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], codes: Map<string, number>): AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult[] {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: codes.get(`${t.name}\0${p}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR })),
  }));
}

async function handle(ctx: RequestContext, req: AddPartitionsToTxnRequest): Promise<AddPartitionsToTxnResponse> {
  if (ctx.version <= 3) {
    const topics = req.v3AndBelowTopics ?? [];
    const codes = await ctx.txns.addPartitions(req.v3AndBelowTransactionalId ?? '', req.v3AndBelowProducerId ?? -1, req.v3AndBelowProducerEpoch ?? -1, asPairs(topics));
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results(topics, codes) };
  }
  const resultsByTransaction = await Promise.all(
    (req.transactions ?? []).map(async (t) => {
      const pairs = asPairs(t.topics);
      const codes = t.verifyOnly ? ctx.txns.verifyPartitions(t.transactionalId, t.producerId, t.producerEpoch, pairs) : await ctx.txns.addPartitions(t.transactionalId, t.producerId, t.producerEpoch, pairs);
      return { transactionalId: t.transactionalId, topicResults: results(t.topics, codes) };
    }),
  );
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
}

export const addPartitionsToTxn: HandlerEntry<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = { codec: addPartitionsToTxnServer, minVersion: 0, maxVersion: 5, handle };
