// OffsetCommit (key 8), v2-9 (v0-1 are gone from Kafka 4's definitions). A member commits within its generation
// (a consumer-protocol member within its member epoch: STALE_MEMBER_EPOCH otherwise, v9+); a commit with
// generation -1 comes from outside any group (admin tools, assign()-style consumers) and
// is accepted while the group has no members. Answered once the commit is in the
// offsets log (and fsynced unless the fsync policy is never).
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED for every partition), then READ on each
// topic (TOPIC_AUTHORIZATION_FAILED), as Kafka.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { CommittedOffset } from '../groups/offset-store.js';
import { storageErrorCode } from './common.js';
import { offsetCommitServer } from '../../protocol/generated/offset-commit.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
  const generation = req.generationIdOrMemberEpoch;
  let groupError: number =
    !ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)
      ? ErrorCode.GROUP_AUTHORIZATION_FAILED
      : req.groupId === ''
      ? ErrorCode.INVALID_GROUP_ID
      : ctx.consumerGroups.groups.has(req.groupId)
        ? ctx.consumerGroups.offsetCheck(req.groupId, req.memberId ?? '', generation, ctx.version, true)
        : ctx.groups.commitCheck(req.groupId, generation, req.memberId ?? '', req.groupInstanceId ?? null);
  const now = Date.now();
  const entries: { topic: string; partition: number; offset: CommittedOffset }[] = [];
  const topics = req.topics.map((t) => {
    // v2-9 (what we serve) name topics; v10 names them by topic id instead.
    const name = t.name ?? '';
    const topic = ctx.topics.byName.get(name);
    return {
      name,
      partitions: t.partitions.map((p) => {
        let errorCode: number = groupError;
        if (errorCode === ErrorCode.NONE) {
          if (!ctx.authorize(AclOperation.READ, ResourceType.TOPIC, name)) errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          else if (!topic || topic.partitions[p.partitionIndex] === undefined) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          else if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > ctx.config.offsetMetadataMaxBytes) errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
          else {
            entries.push({ topic: name, partition: p.partitionIndex, offset: { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.committedMetadata, commitTimestamp: now } });
          }
        }
        return { partitionIndex: p.partitionIndex, errorCode };
      }),
    };
  });
  try {
    await ctx.groups.offsets.commit(req.groupId, entries);
  } catch (e) {
    ctx.logger.error('offset commit failed', { group: req.groupId, error: e });
    groupError = storageErrorCode(e);
    for (const t of topics) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = groupError;
  }
  return { throttleTimeMs: 0, topics };
}

export const offsetCommit: HandlerEntry<OffsetCommitRequest, OffsetCommitResponse> = { codec: offsetCommitServer, minVersion: 2, maxVersion: 9, handle };
