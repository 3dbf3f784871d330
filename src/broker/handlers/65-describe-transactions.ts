// DescribeTransactions (key 65), v0: per transactional id its state, timeout, the start of
// its open transaction (-1 when none is open), the producer id and epoch it holds, and the
// partitions of the open or ending transaction. An id this coordinator does not know is
// answered TRANSACTIONAL_ID_NOT_FOUND. While a transaction ends (PrepareCommit/PrepareAbort)
// every one of its partitions is listed until all markers are written; Kafka lists only the
// partitions still without one.
//
// ACLs: DESCRIBE on each transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); the topics of a
// transaction are listed only when the principal may DESCRIBE them, as Kafka.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeTransactionsRequest, DescribeTransactionsResponse, DescribeTransactionsResponseTopicData } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { describeTransactionsServer } from '../../protocol/generated/describe-transactions.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

function byTopic(partitions: readonly [string, number][]): DescribeTransactionsResponseTopicData[] {
  const topics = new Map<string, number[]>();
  for (const [topic, p] of partitions) {
    let list = topics.get(topic);
    if (list === undefined) topics.set(topic, (list = []));
    list.push(p);
  }
  return [...topics].map(([topic, ps]) => ({ topic, partitions: ps.sort((a, b) => a - b) }));
}

function handle(ctx: RequestContext, req: DescribeTransactionsRequest): DescribeTransactionsResponse {
  return {
    throttleTimeMs: 0,
    transactionStates: req.transactionalIds.map((id) => {
      if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id)) {
        return { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, transactionalId: id, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] };
      }
      const t = ctx.txns.txns.get(id);
      if (t === undefined) {
        return { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId: id, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] };
      }
      return {
        errorCode: ErrorCode.NONE,
        transactionalId: id,
        transactionState: t.state,
        transactionTimeoutMs: t.timeoutMs,
        transactionStartTimeMs: t.startMs,
        producerId: t.producerId,
        producerEpoch: t.producerEpoch,
        topics: byTopic(t.partitions).filter((p) => ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, p.topic, true)),
      };
    }),
  };
}

function errorCodes(res: DescribeTransactionsResponse, visit: (code: number) => void): void {
  for (const t of res.transactionStates) visit(t.errorCode);
}

export const describeTransactions: HandlerEntry<DescribeTransactionsRequest, DescribeTransactionsResponse> = { codec: describeTransactionsServer, minVersion: 0, maxVersion: 0, handle, errorCodes };
