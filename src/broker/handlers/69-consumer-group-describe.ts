// ConsumerGroupDescribe (key 69), v0-1: consumer-protocol groups with their epochs, assignor
// and members (subscriptions, current and target assignments). A group id that is not a
// consumer group answers GROUP_ID_NOT_FOUND, which tells Kafka's admin client to describe it
// with DescribeGroups instead (classic groups).
//
// ACLs: DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED), and DESCRIBE on every topic the answer
// names: its members' assignments, target assignments and subscribed topic names that exist
// (TOPIC_AUTHORIZATION_FAILED); authorizedOperations is the principal's own.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, ConsumerGroupDescribeResponseAssignment } from '../../protocol/generated/consumer-group-describe.js';
import { consumerGroupDescribeServer } from '../../protocol/generated/consumer-group-describe.js';
import { ErrorCode } from '../../protocol/errors.js';
import { OPERATIONS_NOT_REQUESTED, mayDescribeGroupTopics } from './common.js';
import type { Assignment } from '../groups/assignors.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

/** MemberType v1+: a member of the consumer protocol. */
const CONSUMER_MEMBER = 1;

function handle(ctx: RequestContext, req: ConsumerGroupDescribeRequest): ConsumerGroupDescribeResponse {
  const described = (a: Assignment): ConsumerGroupDescribeResponseAssignment => ({
    topicPartitions: [...a].map(([topicId, partitions]) => ({ topicId, topicName: ctx.topics.byId.get(topicId)?.name ?? '', partitions })),
  });
  return {
    throttleTimeMs: 0,
    groups: req.groupIds.map((id) => {
      if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, id)) {
        return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, groupId: id, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [], authorizedOperations: OPERATIONS_NOT_REQUESTED };
      }
      const ops = req.includeAuthorizedOperations ? ctx.authorizedOperations(ResourceType.GROUP, id) : OPERATIONS_NOT_REQUESTED;
      const g = ctx.consumerGroups.groups.get(id);
      if (g === undefined) {
        const classic = ctx.groups.groupOrOffsetsOnly(id) !== undefined;
        return {
          errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
          errorMessage: classic ? `Group ${id} is not a consumer group.` : `Group ${id} not found.`,
          groupId: id, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [], authorizedOperations: ops,
        };
      }
      // A group whose answer would name topics the principal may not DESCRIBE (assigned, target
      // or subscribed by name) is not described, as Kafka.
      const members = [...g.members.values()];
      const ids = members.flatMap((m) => [...m.assigned.keys(), ...(g.target.get(m.memberId)?.keys() ?? [])]);
      if (!mayDescribeGroupTopics(ctx, ids, members.flatMap((m) => m.subscribedTopicNames))) {
        return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'The group has member(s) that read topics you may not describe', groupId: id, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [], authorizedOperations: OPERATIONS_NOT_REQUESTED };
      }
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        groupId: id,
        groupState: g.state(),
        groupEpoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        assignorName: g.assignorName,
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: described(m.assigned),
          targetAssignment: described(g.target.get(m.memberId) ?? new Map()),
          memberType: CONSUMER_MEMBER,
        })),
        authorizedOperations: ops,
      };
    }),
  };
}

export const consumerGroupDescribe: HandlerEntry<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse> = { codec: consumerGroupDescribeServer, minVersion: 0, maxVersion: 1, handle };
