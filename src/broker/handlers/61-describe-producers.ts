// DescribeProducers (key 61), v0: per partition the producers its log keeps state for, with
// their epoch, last sequence, last timestamp and the first offset of their open transaction
// (-1 when none), as `kafka-transactions describe-producers` and `find-hanging` read them. The
// coordinator epoch is -1 (unknown): Rivulet's transaction coordinator never moves, and
// writes its markers with coordinator epoch 0. A partition that does not exist is answered
// UNKNOWN_TOPIC_OR_PARTITION.
//
// ACLs: READ on the topic (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeProducersRequest, DescribeProducersResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { describeProducersServer } from '../../protocol/generated/describe-producers.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

function handle(ctx: RequestContext, req: DescribeProducersRequest): DescribeProducersResponse {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      const denied = !ctx.authorize(AclOperation.READ, ResourceType.TOPIC, t.name);
      const topic = ctx.topics.byName.get(t.name);
      return {
        name: t.name,
        partitions: t.partitionIndexes.map((index) => {
          if (denied) return { partitionIndex: index, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, activeProducers: [] };
          const partition = topic === undefined || topic.deleted ? undefined : topic.partitions[index];
          if (partition === undefined) {
            return { partitionIndex: index, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `partition ${t.name}-${index} does not exist on this broker`, activeProducers: [] };
          }
          const activeProducers = partition.producers.describe().map((p) => ({
            producerId: p.producerId,
            producerEpoch: p.producerEpoch,
            lastSequence: p.lastSequence,
            lastTimestamp: p.lastTimestamp,
            coordinatorEpoch: -1,
            currentTxnStartOffset: p.currentTxnStartOffset,
          }));
          return { partitionIndex: index, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
        }),
      };
    }),
  };
}

function errorCodes(res: DescribeProducersResponse, visit: (code: number) => void): void {
  for (const t of res.topics) for (const p of t.partitions) visit(p.errorCode);
}

export const describeProducers: HandlerEntry<DescribeProducersRequest, DescribeProducersResponse> = { codec: describeProducersServer, minVersion: 0, maxVersion: 0, handle, errorCodes };
