// JoinGroup (key 11), v0-9. New dynamic members get MEMBER_ID_REQUIRED and a member id
// first (v4+, KIP-394); the answer comes once the rebalance completes. See
// groups/coordinator.ts for the state machine.
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../../protocol/generated/index.js';
import { joinGroupServer } from '../../protocol/generated/join-group.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

/** Largest delay setTimeout accepts; beyond it Node fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

async function handle(ctx: RequestContext, req: JoinGroupRequest): Promise<JoinGroupResponse> {
  const version = ctx.version;
  // A group id is of one protocol at a time. A share group's id refuses classic members, as
  // does a consumer-protocol group with members (as Kafka does with
  // group.consumer.migration.policy=disabled); an empty consumer-protocol group becomes classic.
  const inconsistent = (why: string): JoinGroupResponse => {
    ctx.logger.info(`JoinGroup refused: ${why}`, { group: req.groupId, client: ctx.header.clientId });
    return { throttleTimeMs: 0, errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL, generationId: -1, protocolType: null, protocolName: version >= 7 ? null : '', leader: '', skipAssignment: false, memberId: req.memberId, members: [] };
  };
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, protocolType: null, protocolName: version >= 7 ? null : '', leader: '', skipAssignment: false, memberId: req.memberId, members: [] };
  }
  if (ctx.shares.groups.has(req.groupId)) return inconsistent('the group is a share group');
  if (ctx.consumerGroups.groups.has(req.groupId) && !(await ctx.consumerGroups.releaseForClassic(req.groupId))) return inconsistent('the group uses the consumer protocol');
  const answer = await ctx.groups.join({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: req.groupInstanceId ?? null,
    sessionTimeoutMs: req.sessionTimeoutMs,
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    // Clamped to what a timer can hold: a client's absurd value must not turn into a 1 ms timer.
    rebalanceTimeoutMs: Math.min(MAX_TIMER_MS, Math.max(0, version >= 1 ? (req.rebalanceTimeoutMs ?? req.sessionTimeoutMs) : req.sessionTimeoutMs)),
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
    clientId: ctx.header.clientId ?? '',
    clientHost: `/${ctx.session.peerAddress}`,
    requireKnownMemberId: version >= 4,
    supportsSkipAssignment: version >= 9,
  });
  return {
    throttleTimeMs: 0,
    errorCode: answer.errorCode,
    generationId: answer.generationId,
    protocolType: answer.protocolType,
    protocolName: answer.protocolName ?? (version >= 7 ? null : ''),
    leader: answer.leader,
    skipAssignment: answer.skipAssignment,
    memberId: answer.memberId,
    members: answer.members,
  };
}

export const joinGroup: HandlerEntry<JoinGroupRequest, JoinGroupResponse> = { codec: joinGroupServer, minVersion: 0, maxVersion: 9, handle };
