// OffsetDelete (key 47), v0. Removes committed offsets of a group, except for topics its
// live consumer members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC), in either protocol.
//
// ACLs: DELETE on the group (GROUP_AUTHORIZATION_FAILED), READ on each topic
// (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { storageErrorCode } from './common.js';
import { offsetDeleteServer } from '../../protocol/generated/offset-delete.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: OffsetDeleteRequest): Promise<OffsetDeleteResponse> {
  if (!ctx.authorize(AclOperation.DELETE, ResourceType.GROUP, req.groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
  const coordinator = ctx.groups;
  const consumerGroup = ctx.consumerGroups.groups.has(req.groupId);
  const group = coordinator.groupOrOffsetsOnly(req.groupId);
  if (!group && !consumerGroup) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, throttleTimeMs: 0, topics: [] };
  const subscribed = consumerGroup ? ctx.consumerGroups.subscribedTopicNames(req.groupId) : coordinator.subscribedTopics(group!);
  const toDelete: { topic: string; partition: number }[] = [];
  const topics = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => {
      if (!ctx.authorize(AclOperation.READ, ResourceType.TOPIC, t.name)) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED as number };
      if (subscribed.has(t.name)) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC as number };
      if (!ctx.topics.byName.get(t.name)?.partitions[p.partitionIndex]) return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION as number };
      toDelete.push({ topic: t.name, partition: p.partitionIndex });
      return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE as number };
    }),
  }));
  try {
    await coordinator.offsets.deleteOffsets(req.groupId, toDelete);
  } catch (e) {
    return { errorCode: storageErrorCode(e), throttleTimeMs: 0, topics: [] };
  }
  return { errorCode: ErrorCode.NONE, throttleTimeMs: 0, topics };
}

export const offsetDelete: HandlerEntry<OffsetDeleteRequest, OffsetDeleteResponse> = { codec: offsetDeleteServer, minVersion: 0, maxVersion: 0, handle };
