// Heartbeat (key 12), v0-4. Keeps a member's session alive; REBALANCE_IN_PROGRESS tells
// it to rejoin.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { HeartbeatRequest, HeartbeatResponse } from '../../protocol/generated/index.js';
import { heartbeatServer } from '../../protocol/generated/heartbeat.js';

function handle(ctx: RequestContext, req: HeartbeatRequest): HeartbeatResponse {
  const errorCode = ctx.groups.heartbeat(req.groupId, req.memberId, req.groupInstanceId ?? null, req.generationId);
  return { throttleTimeMs: 0, errorCode };
}

export const heartbeat: HandlerEntry<HeartbeatRequest, HeartbeatResponse> = { codec: heartbeatServer, minVersion: 0, maxVersion: 4, handle };
