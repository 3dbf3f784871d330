// DescribeShareGroupOffsets (key 90), v0-1. Per partition of a share group: its start offset
// (the SPSO: every record before it is acknowledged or archived; -1 when the group never
// read the partition) and, v1+, its lag: records from the SPSO to the high watermark not yet
// acknowledged or archived. Topics null asks for every partition the group has state on.
// An id no share group holds answers GROUP_ID_NOT_FOUND.
//
// ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED); topics the principal may not DESCRIBE
// answer TOPIC_AUTHORIZATION_FAILED when named and are left out of a listing of all.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse, DescribeShareGroupOffsetsResponseDescribeShareGroupOffsetsResponseTopic as TopicAnswer } from '../../protocol/generated/describe-share-group-offsets.js';
import { describeShareGroupOffsetsServer } from '../../protocol/generated/describe-share-group-offsets.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { partitionKey } from '../groups/share-state-store.js';
import type { ShareGroup } from '../groups/share-group.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

function partitionAnswer(ctx: RequestContext, group: ShareGroup, topicId: string, index: number) {
  const sp = group.partitions.get(partitionKey(topicId, index));
  const log = ctx.topics.byId.get(topicId)?.partitions[index]?.log;
  if (log === undefined) return { partitionIndex: index, startOffset: -1, leaderEpoch: -1, lag: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This partition does not exist.' };
  if (sp === undefined) return { partitionIndex: index, startOffset: -1, leaderEpoch: 0, lag: -1, errorCode: ErrorCode.NONE, errorMessage: null };
  const start = Math.max(sp.startOffset, log.logStartOffset);
  return { partitionIndex: index, startOffset: start, leaderEpoch: 0, lag: Math.max(0, log.highWatermark - start - sp.doneCount()), errorCode: ErrorCode.NONE, errorMessage: null };
}

function handle(ctx: RequestContext, req: DescribeShareGroupOffsetsRequest): DescribeShareGroupOffsetsResponse {
  return {
    throttleTimeMs: 0,
    groups: req.groups.map((g) => {
      if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId)) return { groupId: g.groupId, topics: [], errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null };
      const group = ctx.shares.groups.get(g.groupId);
      if (group === undefined) return { groupId: g.groupId, topics: [], errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `Group ${g.groupId} is not a share group.` };
      const topics: TopicAnswer[] = [];
      if (g.topics === null) {
        const byTopic = new Map<string, number[]>();
        for (const key of group.partitions.keys()) {
          const i = key.lastIndexOf(':');
          const id = key.slice(0, i);
          if (!ctx.topics.byId.has(id)) continue; // deleted since
          let ps = byTopic.get(id);
          if (ps === undefined) byTopic.set(id, (ps = []));
          ps.push(Number(key.slice(i + 1)));
        }
        for (const [id, ps] of byTopic) {
          if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, ctx.topics.byId.get(id)!.name, true)) continue;
          topics.push({ topicName: ctx.topics.byId.get(id)!.name, topicId: id, partitions: ps.sort((a, b) => a - b).map((p) => partitionAnswer(ctx, group, id, p)) });
        }
      } else {
        for (const t of g.topics) {
          if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, t.topicName)) {
            topics.push({ topicName: t.topicName, topicId: ZERO_UUID, partitions: t.partitions.map((p) => ({ partitionIndex: p, startOffset: -1, leaderEpoch: -1, lag: -1, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null })) });
            continue;
          }
          const topic = ctx.topics.byName.get(t.topicName);
          if (topic === undefined) {
            topics.push({ topicName: t.topicName, topicId: ZERO_UUID, partitions: t.partitions.map((p) => ({ partitionIndex: p, startOffset: -1, leaderEpoch: -1, lag: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${t.topicName} does not exist.` })) });
            continue;
          }
          topics.push({ topicName: t.topicName, topicId: topic.id, partitions: t.partitions.map((p) => partitionAnswer(ctx, group, topic.id, p)) });
        }
      }
      return { groupId: g.groupId, topics, errorCode: ErrorCode.NONE, errorMessage: null };
    }),
  };
}

export const describeShareGroupOffsets: HandlerEntry<DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse> = { codec: describeShareGroupOffsetsServer, minVersion: 0, maxVersion: 1, handle };
