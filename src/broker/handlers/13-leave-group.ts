// LeaveGroup (key 13), v0-5. One member (v0-2) or a batch (v3+, by member id or by
// group.instance.id for static members); the group rebalances without them.
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { leaveGroupServer } from '../../protocol/generated/leave-group.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

function handle(ctx: RequestContext, req: LeaveGroupRequest): LeaveGroupResponse {
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
  if (ctx.version < 3) {
    const [code] = ctx.groups.leave(req.groupId, [{ memberId: req.memberId ?? '', groupInstanceId: null }]);
    return { throttleTimeMs: 0, errorCode: code!, members: [] };
  }
  const members = (req.members ?? []).map((m) => ({ memberId: m.memberId ?? '', groupInstanceId: m.groupInstanceId ?? null }));
  const codes = ctx.groups.leave(req.groupId, members);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    members: members.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: codes[i]! })),
  };
}

export const leaveGroup: HandlerEntry<LeaveGroupRequest, LeaveGroupResponse> = { codec: leaveGroupServer, minVersion: 0, maxVersion: 5, handle };
