// AlterShareGroupOffsets (key 91), v0. Sets a share group's start offset on partitions, as
// `kafka-share-groups --reset-offsets --execute` does: each partition's state starts afresh
// there (nothing in flight, nothing acknowledged past it). Only while the group has no members
// (NON_EMPTY_GROUP otherwise); a group not known yet is created, so offsets can be set before
// the first member joins. Per partition: UNKNOWN_TOPIC_OR_PARTITION, or OFFSET_OUT_OF_RANGE
// for an offset outside the log (log start offset to high watermark).
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED) and on each topic (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse, AlterShareGroupOffsetsResponseAlterShareGroupOffsetsResponsePartition as PartitionAnswer } from '../../protocol/generated/alter-share-group-offsets.js';
import { alterShareGroupOffsetsServer } from '../../protocol/generated/alter-share-group-offsets.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { storageErrorCode } from './common.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: AlterShareGroupOffsetsRequest): Promise<AlterShareGroupOffsetsResponse> {
  const failure = (errorCode: number, errorMessage: string): AlterShareGroupOffsetsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, responses: [] });
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)) return failure(ErrorCode.GROUP_AUTHORIZATION_FAILED, 'Altering share group offsets needs READ on the group');
  if (req.groupId === '') return failure(ErrorCode.INVALID_GROUP_ID, 'GroupId must be set.');
  const group = ctx.shares.shareGroup(req.groupId);
  if (group === null) return failure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a share group.`);
  if (group.members.size > 0) return failure(ErrorCode.NON_EMPTY_GROUP, `Share group ${req.groupId} has ${group.members.size} member(s): stop them before altering its offsets.`);
  const responses = [];
  for (const t of req.topics) {
    const partitions: PartitionAnswer[] = [];
    if (!ctx.authorize(AclOperation.READ, ResourceType.TOPIC, t.topicName)) {
      for (const p of t.partitions) partitions.push({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null });
      responses.push({ topicName: t.topicName, topicId: ZERO_UUID, partitions });
      continue;
    }
    const topic = ctx.topics.byName.get(t.topicName);
    for (const p of t.partitions) {
      const partition = topic === undefined || topic.deleted ? undefined : topic.partitions[p.partitionIndex];
      if (partition === undefined) {
        partitions.push({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Partition ${t.topicName}-${p.partitionIndex} does not exist.` });
        continue;
      }
      const log = partition.log;
      if (p.startOffset < log.logStartOffset || p.startOffset > log.highWatermark) {
        partitions.push({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, errorMessage: `Offset ${p.startOffset} is outside ${t.topicName}-${p.partitionIndex}: it must be from ${log.logStartOffset} to ${log.highWatermark}.` });
        continue;
      }
      try {
        await ctx.shares.resetPartition(group, partition, p.startOffset);
        partitions.push({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (e) {
        partitions.push({ partitionIndex: p.partitionIndex, errorCode: storageErrorCode(e), errorMessage: 'The new offset could not be stored.' });
      }
    }
    responses.push({ topicName: t.topicName, topicId: topic?.id ?? ZERO_UUID, partitions });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
}

export const alterShareGroupOffsets: HandlerEntry<AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse> = { codec: alterShareGroupOffsetsServer, minVersion: 0, maxVersion: 0, handle };
