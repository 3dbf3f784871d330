// Heartbeat (key 12), v0-4. Keeps a member's session alive; REBALANCE_IN_PROGRESS tells
// it to rejoin.
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED).

import { ErrorCode } from '../../protocol/errors.js';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { HeartbeatRequest, HeartbeatResponse } from '../../protocol/generated/index.js';
import { heartbeatServer } from '../../protocol/generated/heartbeat.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

function handle(ctx: RequestContext, req: HeartbeatRequest): HeartbeatResponse {
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
  const errorCode = ctx.groups.heartbeat(req.groupId, req.memberId, req.groupInstanceId ?? null, req.generationId);
  return { throttleTimeMs: 0, errorCode };
}

export const heartbeat: HandlerEntry<HeartbeatRequest, HeartbeatResponse> = { codec: heartbeatServer, minVersion: 0, maxVersion: 4, handle };
