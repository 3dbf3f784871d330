// ShareGroupHeartbeat (key 76), v1 (KIP-932; v0 was Kafka 4.0's early access). Joins
// (epoch 0, with the subscription), keeps alive, or leaves (epoch -1) a share group; the
// answer carries the member's epoch and, when it changed, its assignment. See
// groups/share-group.ts.
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED), DESCRIBE on each subscribed topic
// (TOPIC_AUTHORIZATION_FAILED).

import { ErrorCode } from '../../protocol/errors.js';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse } from '../../protocol/generated/share-group-heartbeat.js';
import { shareGroupHeartbeatServer } from '../../protocol/generated/share-group-heartbeat.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

function handle(ctx: RequestContext, req: ShareGroupHeartbeatRequest): ShareGroupHeartbeatResponse {
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, memberId: req.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
  }
  const hidden = (req.subscribedTopicNames ?? []).filter((t) => !ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, t));
  if (hidden.length > 0) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: `Unauthorized topics: ${hidden.join(', ')}`, memberId: req.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
  }
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
