// DescribeGroups (key 15), v0-5. State, protocol and members with their metadata and
// assignment bytes. A group the broker does not know is reported Dead, as Kafka does; a share
// group answers GROUP_ID_NOT_FOUND (it is described with ShareGroupDescribe), as Kafka does.
//
// ACLs: DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED); authorizedOperations is the
// principal's own among the group operations of acl.ts operationsOf.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeGroupsRequest, DescribeGroupsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { GroupState } from '../groups/group.js';
import { OPERATIONS_NOT_REQUESTED } from './common.js';
import { describeGroupsServer } from '../../protocol/generated/describe-groups.js';
import { AclOperation, ResourceType } from '../acl/acl.js';


function handle(ctx: RequestContext, req: DescribeGroupsRequest): DescribeGroupsResponse {
  const coordinator = ctx.groups;
  return {
    throttleTimeMs: 0,
    groups: req.groups.map((id) => {
      if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, id)) {
        return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId: id, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: OPERATIONS_NOT_REQUESTED };
      }
      const ops = req.includeAuthorizedOperations ? ctx.authorizedOperations(ResourceType.GROUP, id) : OPERATIONS_NOT_REQUESTED;
      if (ctx.shares.groups.has(id)) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, groupId: id, groupState: GroupState.Dead, protocolType: '', protocolData: '', members: [], authorizedOperations: ops };
      const g = coordinator.groupOrOffsetsOnly(id);
      // A consumer-protocol group is not a classic group: Kafka answers Dead below v6.
      if (!g || ctx.consumerGroups.groups.has(id)) return { errorCode: ErrorCode.NONE, groupId: id, groupState: GroupState.Dead, protocolType: '', protocolData: '', members: [], authorizedOperations: ops };
      const stable = g.state === GroupState.Stable;
      return {
        errorCode: ErrorCode.NONE,
        groupId: id,
        groupState: g.state,
        protocolType: g.protocolType ?? '',
        protocolData: stable || g.state === GroupState.CompletingRebalance ? (g.protocolName ?? '') : '',
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: stable ? m.metadataFor(g.protocolName ?? '') : Buffer.alloc(0),
          memberAssignment: stable ? m.assignment : Buffer.alloc(0),
        })),
        authorizedOperations: ops,
      };
    }),
  };
}

export const describeGroups: HandlerEntry<DescribeGroupsRequest, DescribeGroupsResponse> = { codec: describeGroupsServer, minVersion: 0, maxVersion: 5, handle };
