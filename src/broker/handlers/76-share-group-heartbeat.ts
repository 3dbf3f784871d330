// ShareGroupHeartbeat (key 76), v1 (KIP-932; v0 was Kafka 4.0's early access). Joins
// (epoch 0, with the subscription), keeps alive, or leaves (epoch -1) a share group; the
// answer carries the member's epoch and, when it changed, its assignment. See
// groups/share-group.ts.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse } from '../../protocol/generated/share-group-heartbeat.js';
import { shareGroupHeartbeatServer } from '../../protocol/generated/share-group-heartbeat.js';

function handle(ctx: RequestContext, req: ShareGroupHeartbeatRequest): ShareGroupHeartbeatResponse {
  const a = ctx.shares.heartbeat({
    groupId: req.groupId,
    memberId: req.memberId,
    memberEpoch: req.memberEpoch,
    rackId: req.rackId,
    subscribedTopicNames: req.subscribedTopicNames,
    clientId: ctx.header.clientId ?? '',
    clientHost: `/${ctx.session.peerAddress}`,
  });
  return {
    throttleTimeMs: 0,
    errorCode: a.errorCode,
    errorMessage: a.errorMessage,
    memberId: a.memberId,
    memberEpoch: a.memberEpoch,
    heartbeatIntervalMs: a.heartbeatIntervalMs,
    assignment: a.assignment === null ? null : { topicPartitions: [...a.assignment].map(([topicId, partitions]) => ({ topicId, partitions })) },
  };
}

export const shareGroupHeartbeat: HandlerEntry<ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse> = { codec: shareGroupHeartbeatServer, minVersion: 1, maxVersion: 1, handle };
