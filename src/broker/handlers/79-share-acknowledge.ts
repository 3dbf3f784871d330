// ShareAcknowledge (key 79), v1-2 (KIP-932). Acknowledges records a member acquired
// (ACCEPT, RELEASE, REJECT, RENEW; GAP for offsets without a record) without fetching, on
// the member's share session: the epoch must be the session's next (0 is refused:
// INVALID_SHARE_SESSION_EPOCH), -1 acknowledges and closes the session, releasing what the
// member still holds on its partitions. Each partition answers INVALID_RECORD_STATE for
// records the member does not hold (never given, or its lock expired).
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED) and on each topic (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareAcknowledgeResponsePartitionData } from '../../protocol/generated/share-acknowledge.js';
import { shareAcknowledgeServer } from '../../protocol/generated/share-acknowledge.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ackError } from './78-share-fetch.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

function handle(ctx: RequestContext, req: ShareAcknowledgeRequest): Promise<ShareAcknowledgeResponse> | ShareAcknowledgeResponse {
  const shares = ctx.shares;
  const groupId = req.groupId ?? '';
  const memberId = req.memberId ?? '';
  const lockMs = shares.groupConfig(groupId).recordLockDurationMs;
  const failure = (errorCode: number, errorMessage: string): ShareAcknowledgeResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, acquisitionLockTimeoutMs: lockMs, responses: [], nodeEndpoints: [] });
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, groupId)) return failure(ErrorCode.GROUP_AUTHORIZATION_FAILED, 'ShareAcknowledge needs READ on the group');
  if (groupId === '') return failure(ErrorCode.INVALID_GROUP_ID, 'GroupId must be the share group of the member.');
  if (memberId === '') return failure(ErrorCode.INVALID_REQUEST, 'MemberId must be the member id the client heartbeats with.');
  const group = shares.groups.get(groupId);
  if (group === undefined) return failure(ErrorCode.GROUP_ID_NOT_FOUND, `No share group ${groupId}: members join it with ShareGroupHeartbeat before acknowledging.`);
  const epoch = req.shareSessionEpoch;
  if (epoch === 0) return failure(ErrorCode.INVALID_SHARE_SESSION_EPOCH, 'ShareAcknowledge cannot open a share session (epoch 0): open it with ShareFetch.');
  const session = shares.session(groupId, memberId, epoch);
  if (typeof session === 'number') {
    return failure(session, session === ErrorCode.SHARE_SESSION_NOT_FOUND ? 'No share session for this member: open one with a ShareFetch of epoch 0.' : `Share session epoch ${epoch} is not the next one: reopen the session with epoch 0.`);
  }
  return (async () => {
    const responses = await Promise.all(
      req.topics.map(async (t) => ({
        topicId: t.topicId,
        partitions: await Promise.all(
          t.partitions.map(async (p): Promise<ShareAcknowledgeResponsePartitionData> => {
            const name = ctx.topics.byId.get(t.topicId)?.name;
            const code = name !== undefined && !ctx.authorize(AclOperation.READ, ResourceType.TOPIC, name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : await shares.acknowledge(group, t.topicId, p.partitionIndex, memberId, p.acknowledgementBatches);
            return { partitionIndex: p.partitionIndex, errorCode: code, errorMessage: code === ErrorCode.NONE ? null : ackError(code), currentLeader: { leaderId: ctx.cluster.nodeId, leaderEpoch: 0 } };
          }),
        ),
      })),
    );
    if (epoch === -1) shares.closeSession(session);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, acquisitionLockTimeoutMs: lockMs, responses, nodeEndpoints: [] };
  })();
}

function errorCodes(res: ShareAcknowledgeResponse, visit: (code: number) => void): void {
  visit(res.errorCode);
  for (const t of res.responses) for (const p of t.partitions) visit(p.errorCode);
}

export const shareAcknowledge: HandlerEntry<ShareAcknowledgeRequest, ShareAcknowledgeResponse> = { codec: shareAcknowledgeServer, minVersion: 1, maxVersion: 2, handle, errorCodes };
