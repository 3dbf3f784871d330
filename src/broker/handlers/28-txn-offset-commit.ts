// TxnOffsetCommit (key 28), v0-5: offsets committed as part of a transaction. They are
// stored as pending and become the group's committed offsets only when the transaction
// commits. v3+ carry the member's generation (KIP-447), checked as OffsetCommit checks it,
// so a zombie member cannot commit. v5+ (transaction version 2) add the group to the
// transaction implicitly instead of through AddOffsetsToTxn.
//
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), READ on the group
// (GROUP_AUTHORIZATION_FAILED), READ on each topic (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { CommittedOffset } from '../groups/offset-store.js';
import { storageErrorCode } from './common.js';
import { txnOffsetCommitServer } from '../../protocol/generated/txn-offset-commit.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: TxnOffsetCommitRequest): Promise<TxnOffsetCommitResponse> {
  let groupError: number = ErrorCode.NONE;
  if (!ctx.authorize(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) groupError = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  else if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)) groupError = ErrorCode.GROUP_AUTHORIZATION_FAILED;
  else if (req.groupId === '') groupError = ErrorCode.INVALID_GROUP_ID;
  else if ((req.generationId ?? -1) >= 0) {
    groupError = ctx.consumerGroups.groups.has(req.groupId)
      ? // A consumer-protocol member commits within its member epoch; transactional clients know ILLEGAL_GENERATION, not STALE_MEMBER_EPOCH.
        ctx.consumerGroups.offsetCheck(req.groupId, req.memberId ?? '', req.generationId!, 0, true)
      : ctx.groups.commitCheck(req.groupId, req.generationId!, req.memberId ?? '', req.groupInstanceId ?? null, true);
    if (groupError === ErrorCode.STALE_MEMBER_EPOCH) groupError = ErrorCode.ILLEGAL_GENERATION;
  }
  const now = Date.now();
  const entries: { topic: string; partition: number; offset: CommittedOffset }[] = [];
  const topics = req.topics.map((t) => {
    const topic = ctx.topics.byName.get(t.name);
    return {
      name: t.name,
      partitions: t.partitions.map((p) => {
        let errorCode: number = groupError;
        if (errorCode === ErrorCode.NONE) {
          if (!ctx.authorize(AclOperation.READ, ResourceType.TOPIC, t.name)) errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          else if (!topic || topic.partitions[p.partitionIndex] === undefined) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          else if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > ctx.config.offsetMetadataMaxBytes) errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
          else entries.push({ topic: t.name, partition: p.partitionIndex, offset: { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata, commitTimestamp: now } });
        }
        return { partitionIndex: p.partitionIndex, errorCode };
      }),
    };
  });
  const setAll = (code: number): void => {
    for (const t of topics) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = code;
  };
  if (groupError === ErrorCode.NONE) {
    try {
      const code = await ctx.txns.commitOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId, ctx.version >= 5, () => ctx.groups.offsets.commitPending(req.producerId, req.groupId, entries));
      setAll(code);
    } catch (e) {
      ctx.logger.error('transactional offset commit failed', { group: req.groupId, transactionalId: req.transactionalId, error: e });
      setAll(storageErrorCode(e));
    }
  }
  return { throttleTimeMs: 0, topics };
}

export const txnOffsetCommit: HandlerEntry<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = { codec: txnOffsetCommitServer, minVersion: 0, maxVersion: 5, handle };
