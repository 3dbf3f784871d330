// SyncGroup (key 14), v0-5. Followers wait until the leader sends the assignment; each
// member then receives its own bytes, which the broker never interprets.
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED).

import { ErrorCode } from '../../protocol/errors.js';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../../protocol/generated/index.js';
import { syncGroupServer } from '../../protocol/generated/sync-group.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: SyncGroupRequest): Promise<SyncGroupResponse> {
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
  const answer = await ctx.groups.sync(
    req.groupId,
    req.memberId,
    req.groupInstanceId ?? null,
    req.generationId,
    req.protocolType ?? null,
    req.protocolName ?? null,
    req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
  );
  return { throttleTimeMs: 0, errorCode: answer.errorCode, protocolType: answer.protocolType, protocolName: answer.protocolName, assignment: answer.assignment };
}

export const syncGroup: HandlerEntry<SyncGroupRequest, SyncGroupResponse> = { codec: syncGroupServer, minVersion: 0, maxVersion: 5, handle };
