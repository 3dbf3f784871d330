// ConsumerGroupHeartbeat (key 68), v0-1: the consumer group protocol of KIP-848. A member
// joins with epoch 0, heartbeats with its epoch, leaves with -1 (or -2, a static member that
// will come back); each answer carries its epoch and, when it changed, its assignment. v1
// adds regex subscriptions and has the client make up its member id (v0: the broker does
// when it is empty). See groups/consumer-group.ts for the state machine.
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED) and DESCRIBE on every topic subscribed by name
// (TOPIC_AUTHORIZATION_FAILED naming them), as Kafka; a regex subscription resolves to the
// matching topics the member's principal may DESCRIBE (again when the ACLs change).

import { randomBytes } from 'node:crypto';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../../protocol/generated/consumer-group-heartbeat.js';
import { consumerGroupHeartbeatServer } from '../../protocol/generated/consumer-group-heartbeat.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: ConsumerGroupHeartbeatRequest): Promise<ConsumerGroupHeartbeatResponse> {
  const memberId = req.memberId === '' && ctx.version === 0 && req.memberEpoch === 0 ? randomBytes(16).toString('base64url') : req.memberId;
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
  }
  const hidden = (req.subscribedTopicNames ?? []).filter((t) => !ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, t));
  if (hidden.length > 0) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: `Unauthorized topics: ${hidden.join(', ')}`, memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
  }
  if (ctx.shares.groups.has(req.groupId)) {
    const errorMessage = `Group ${req.groupId} is not a consumer group: it is a share group. Use another group id.`;
    return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage, memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
  }
  const a = await ctx.consumerGroups.heartbeat({
    groupId: req.groupId,
    memberId,
    memberEpoch: req.memberEpoch,
    instanceId: req.instanceId,
    rackId: req.rackId,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    subscribedTopicNames: req.subscribedTopicNames,
    subscribedTopicRegex: req.subscribedTopicRegex ?? null,
    serverAssignor: req.serverAssignor,
    topicPartitions: req.topicPartitions,
    clientId: ctx.header.clientId ?? '',
    clientHost: `/${ctx.session.peerAddress}`,
    principal: ctx.authz.enabled ? ctx.session.principal : undefined,
    principalHost: ctx.session.peerAddress,
  });
  return {
    throttleTimeMs: 0,
    errorCode: a.errorCode,
    errorMessage: a.errorMessage,
    memberId: a.memberId,
    memberEpoch: a.memberEpoch,
    heartbeatIntervalMs: a.heartbeatIntervalMs,
    assignment: a.assignment === null ? null : { topicPartitions: a.assignment },
  };
}

export const consumerGroupHeartbeat: HandlerEntry<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> = {
  codec: consumerGroupHeartbeatServer,
  minVersion: 0,
  maxVersion: 1,
  handle,
  errorCodes: (r, visit) => visit(r.errorCode),
};
