// AddPartitionsToTxn (key 24), v0-5. v0-3 come from producers: one transaction, its
// partitions added (the transaction starts with the first). v4+ batch several transactions
// and may ask only to verify that partitions are already in them (verifyOnly).
//
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition
// of the transaction) and WRITE on each topic (TOPIC_AUTHORIZATION_FAILED, the others
// OPERATION_NOT_ATTEMPTED), per transaction; v4+ (brokers) also CLUSTER_ACTION on the cluster
// first (CLUSTER_AUTHORIZATION_FAILED), as Kafka.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnRequestAddPartitionsToTxnTopic, AddPartitionsToTxnResponse, AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { addPartitionsToTxnServer } from '../../protocol/generated/add-partitions-to-txn.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

function asPairs(topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[]): [string, number][] {
  return topics.flatMap((t) => t.partitions.map((p) => [t.name, p] as [string, number]));
}

function results(topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], codes: Map<string, number>): AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult[] {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: codes.get(`${t.name}\0${p}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR })),
  }));
}

/** Error codes of a transaction's partitions the principal may not add, or null when it may add them all. */
function denials(ctx: RequestContext, transactionalId: string, topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[]): Map<string, number> | null {
  if (!ctx.authz.enabled) return null;
  const codes = new Map<string, number>();
  const txnDenied = !ctx.authorize(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId);
  let any = txnDenied;
  const deniedTopics = new Set<string>();
  if (!txnDenied) for (const t of topics) if (!ctx.authorize(AclOperation.WRITE, ResourceType.TOPIC, t.name)) deniedTopics.add(t.name);
  any ||= deniedTopics.size > 0;
  if (!any) return null;
  for (const t of topics) {
    const code = txnDenied ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : deniedTopics.has(t.name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED;
    for (const p of t.partitions) codes.set(`${t.name}\0${p}`, code);
  }
  return codes;
}

async function handle(ctx: RequestContext, req: AddPartitionsToTxnRequest): Promise<AddPartitionsToTxnResponse> {
  if (ctx.version <= 3) {
    const topics = req.v3AndBelowTopics ?? [];
    const denied = denials(ctx, req.v3AndBelowTransactionalId ?? '', topics);
    if (denied !== null) return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results(topics, denied) };
    const codes = await ctx.txns.addPartitions(req.v3AndBelowTransactionalId ?? '', req.v3AndBelowProducerId ?? -1, req.v3AndBelowProducerEpoch ?? -1, asPairs(topics));
    return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results(topics, codes) };
  }
  // Batches of transactions (v4+) come from brokers: CLUSTER_ACTION on the cluster.
  if (!ctx.authorize(AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] };
  const resultsByTransaction = await Promise.all(
    (req.transactions ?? []).map(async (t) => {
      // As Kafka, each transaction also needs WRITE on its transactional id and its topics.
      const denied = denials(ctx, t.transactionalId, t.topics);
      if (denied !== null) return { transactionalId: t.transactionalId, topicResults: results(t.topics, denied) };
      const pairs = asPairs(t.topics);
      const codes = t.verifyOnly ? ctx.txns.verifyPartitions(t.transactionalId, t.producerId, t.producerEpoch, pairs) : await ctx.txns.addPartitions(t.transactionalId, t.producerId, t.producerEpoch, pairs);
      return { transactionalId: t.transactionalId, topicResults: results(t.topics, codes) };
    }),
  );
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
}

export const addPartitionsToTxn: HandlerEntry<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = { codec: addPartitionsToTxnServer, minVersion: 0, maxVersion: 5, handle };
