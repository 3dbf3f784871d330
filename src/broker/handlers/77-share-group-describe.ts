// ShareGroupDescribe (key 77), v1. State, epochs, assignor and members (subscriptions,
// assignments) of share groups; GROUP_ID_NOT_FOUND for an id no share group holds.
//
// ACLs: DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED), and DESCRIBE on every topic the answer
// names: its members' assignments and subscribed topic names that exist (TOPIC_AUTHORIZATION_FAILED,
// as Kafka); authorizedOperations is the principal's own.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ShareGroupDescribeRequest, ShareGroupDescribeResponse } from '../../protocol/generated/share-group-describe.js';
import { shareGroupDescribeServer } from '../../protocol/generated/share-group-describe.js';
import { ErrorCode } from '../../protocol/errors.js';
import { OPERATIONS_NOT_REQUESTED, mayDescribeGroupTopics } from './common.js';
import { ShareGroupState } from '../groups/share-group.js';
import { AclOperation, ResourceType } from '../acl/acl.js';


function handle(ctx: RequestContext, req: ShareGroupDescribeRequest): ShareGroupDescribeResponse {
  return {
    throttleTimeMs: 0,
    groups: req.groupIds.map((groupId) => {
      if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) {
        return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, groupId, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [], authorizedOperations: OPERATIONS_NOT_REQUESTED };
      }
      const ops = req.includeAuthorizedOperations ? ctx.authorizedOperations(ResourceType.GROUP, groupId) : OPERATIONS_NOT_REQUESTED;
      const g = ctx.shares.groups.get(groupId);
      if (g === undefined) {
        return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `Group ${groupId} not found.`, groupId, groupState: ShareGroupState.Dead, groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [], authorizedOperations: ops };
      }
      const members = [...g.members.values()];
      if (!mayDescribeGroupTopics(ctx, members.flatMap((m) => [...m.assignment.keys()]), members.flatMap((m) => m.subscribed))) {
        return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'The group has member(s) that read topics you may not describe', groupId, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [], authorizedOperations: OPERATIONS_NOT_REQUESTED };
      }
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        groupId,
        groupState: g.state,
        groupEpoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        assignorName: 'simple',
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribed,
          assignment: {
            topicPartitions: [...m.assignment].map(([topicId, partitions]) => ({ topicId, topicName: ctx.topics.byId.get(topicId)?.name ?? '', partitions })),
          },
        })),
        authorizedOperations: ops,
      };
    }),
  };
}

export const shareGroupDescribe: HandlerEntry<ShareGroupDescribeRequest, ShareGroupDescribeResponse> = { codec: shareGroupDescribeServer, minVersion: 1, maxVersion: 1, handle };
