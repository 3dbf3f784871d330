// SyncGroup (key 14), v0-5. Followers wait until the leader sends the assignment; each
// member then receives its own bytes, which the broker never interprets.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../../protocol/generated/index.js';
import { syncGroupServer } from '../../protocol/generated/sync-group.js';

async function handle(ctx: RequestContext, req: SyncGroupRequest): Promise<SyncGroupResponse> {
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
