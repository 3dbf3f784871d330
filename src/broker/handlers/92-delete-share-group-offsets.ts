// DeleteShareGroupOffsets (key 92), v0. Forgets a share group's state on every partition of
// the named topics, as `kafka-share-groups --delete-offsets` does; the group starts there
// again per share.auto.offset.reset. Only while the group has no members (NON_EMPTY_GROUP);
// GROUP_ID_NOT_FOUND for an id no share group holds; per topic UNKNOWN_TOPIC_OR_PARTITION.
//
// ACLs: DELETE on the group (GROUP_AUTHORIZATION_FAILED), READ on each topic (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse } from '../../protocol/generated/delete-share-group-offsets.js';
import { deleteShareGroupOffsetsServer } from '../../protocol/generated/delete-share-group-offsets.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { storageErrorCode } from './common.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: DeleteShareGroupOffsetsRequest): Promise<DeleteShareGroupOffsetsResponse> {
  const failure = (errorCode: number, errorMessage: string): DeleteShareGroupOffsetsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, responses: [] });
  if (!ctx.authorize(AclOperation.DELETE, ResourceType.GROUP, req.groupId)) return failure(ErrorCode.GROUP_AUTHORIZATION_FAILED, 'Deleting share group offsets needs DELETE on the group');
  const group = ctx.shares.groups.get(req.groupId);
  if (group === undefined) return failure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a share group.`);
  if (group.members.size > 0) return failure(ErrorCode.NON_EMPTY_GROUP, `Share group ${req.groupId} has ${group.members.size} member(s): stop them before deleting its offsets.`);
  const responses = [];
  for (const t of req.topics) {
    if (!ctx.authorize(AclOperation.READ, ResourceType.TOPIC, t.topicName)) {
      responses.push({ topicName: t.topicName, topicId: ZERO_UUID, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null });
      continue;
    }
    const topic = ctx.topics.byName.get(t.topicName);
    if (topic === undefined || topic.deleted) {
      responses.push({ topicName: t.topicName, topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${t.topicName} does not exist.` });
      continue;
    }
    try {
      await ctx.shares.deleteTopicState(group, topic.id);
      responses.push({ topicName: t.topicName, topicId: topic.id, errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (e) {
      responses.push({ topicName: t.topicName, topicId: topic.id, errorCode: storageErrorCode(e), errorMessage: 'The deletion could not be stored.' });
    }
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
}

export const deleteShareGroupOffsets: HandlerEntry<DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse> = { codec: deleteShareGroupOffsetsServer, minVersion: 0, maxVersion: 0, handle };
