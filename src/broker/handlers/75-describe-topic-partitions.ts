// DescribeTopicPartitions (key 75), v0. Kafka 4's Admin.describeTopics (and so
// kafka-topics --describe) pages through partitions with it: topics in name order (all of
// them when the request names none), from the cursor's topic and partition on, at most
// responsePartitionLimit partitions (and never more than MAX_PARTITIONS_PER_RESPONSE, Kafka's
// max.request.partition.size.limit default) per answer; nextCursor says where the next page
// starts, null on the last. One broker leads every partition at epoch 0, as in Metadata.
//
// ACLs: DESCRIBE on each topic: named ones the principal may not DESCRIBE answer
// TOPIC_AUTHORIZATION_FAILED, a listing of all leaves them out; topicAuthorizedOperations is the
// principal's own.

import type { HandlerEntry, RequestContext } from './handler.js';
import type {
  DescribeTopicPartitionsRequest,
  DescribeTopicPartitionsResponse,
  DescribeTopicPartitionsResponseDescribeTopicPartitionsResponseTopic as TopicResult,
} from '../../protocol/generated/describe-topic-partitions.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { OPERATIONS_NOT_REQUESTED } from './common.js';
import { describeTopicPartitionsServer } from '../../protocol/generated/describe-topic-partitions.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

const MAX_PARTITIONS_PER_RESPONSE = 2000;

function missing(name: string, errorCode: number): TopicResult {
  return { errorCode, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED };
}

function handle(ctx: RequestContext, req: DescribeTopicPartitionsRequest): DescribeTopicPartitionsResponse {
  const all = req.topics.length === 0;
  const names = all ? [...ctx.topics.byName.keys()] : [...new Set(req.topics.map((t) => t.name))];
  names.sort();
  const cursor = req.cursor;
  if (cursor !== null && !all && !names.includes(cursor.topicName)) {
    return { throttleTimeMs: 0, topics: names.map((n) => missing(n, ErrorCode.INVALID_REQUEST)), nextCursor: null };
  }
  let budget = Math.min(Math.max(req.responsePartitionLimit, 1), MAX_PARTITIONS_PER_RESPONSE);
  const nodeId = ctx.cluster.nodeId;
  const topics: TopicResult[] = [];
  let nextCursor: DescribeTopicPartitionsResponse['nextCursor'] = null;
  for (const name of names) {
    if (cursor !== null && name < cursor.topicName) continue;
    if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, name, all)) {
      if (!all) topics.push(missing(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      continue;
    }
    const topic = ctx.topics.byName.get(name);
    if (topic === undefined) {
      if (!all) topics.push(missing(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      continue;
    }
    if (budget === 0) {
      nextCursor = { topicName: name, partitionIndex: 0 };
      break;
    }
    // A cursor past the topic's end names no partition (and must not give the page budget back).
    const first = cursor !== null && name === cursor.topicName ? Math.min(Math.max(cursor.partitionIndex, 0), topic.partitions.length) : 0;
    const end = Math.min(topic.partitions.length, first + budget);
    const partitions = [];
    for (let i = first; i < end; i++) {
      partitions.push({
        errorCode: ErrorCode.NONE, partitionIndex: i, leaderId: nodeId, leaderEpoch: 0,
        replicaNodes: [nodeId], isrNodes: [nodeId], eligibleLeaderReplicas: [], lastKnownElr: [], offlineReplicas: [],
      });
    }
    budget -= end - first;
    topics.push({ errorCode: ErrorCode.NONE, name, topicId: topic.id, isInternal: false, partitions, topicAuthorizedOperations: ctx.authorizedOperations(ResourceType.TOPIC, name) });
    if (end < topic.partitions.length) {
      nextCursor = { topicName: name, partitionIndex: end };
      break;
    }
  }
  return { throttleTimeMs: 0, topics, nextCursor };
}

export const describeTopicPartitions: HandlerEntry<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse> = {
  codec: describeTopicPartitionsServer, minVersion: 0, maxVersion: 0, handle,
};
