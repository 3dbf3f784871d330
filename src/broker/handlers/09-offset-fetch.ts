// OffsetFetch (key 9), v1-9 (v0 is gone from Kafka 4's definitions). One group (v1-7) or several (v8+); null topics ask for every
// committed offset of the group. Unknown offsets are -1. With requireStable (v7+), a
// partition whose offset a transaction is about to commit answers UNSTABLE_OFFSET_COMMIT
// (the client retries), so a consumer never starts from an offset about to move.
//
// ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED); a topic named that the principal may
// not DESCRIBE answers TOPIC_AUTHORIZATION_FAILED, and a request for every offset leaves such
// topics out, as Kafka.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { offsetFetchServer } from '../../protocol/generated/offset-fetch.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

interface PartitionOffset {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

function fetchGroup(ctx: RequestContext, groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null, requireStable: boolean): { name: string; partitions: PartitionOffset[] }[] {
  const store = ctx.groups.offsets;
  if (topics === null) {
    const byTopic = new Map<string, PartitionOffset[]>();
    for (const [topic, partition, o] of store.all(groupId)) {
      if (!byTopic.has(topic)) {
        if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, topic, true)) continue;
        byTopic.set(topic, []);
      }
      const unstable = requireStable && store.hasPending(groupId, topic, partition);
      byTopic.get(topic)!.push(
        unstable
          ? { partitionIndex: partition, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
          : { partitionIndex: partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE },
      );
    }
    return [...byTopic.entries()].map(([name, partitions]) => ({ name, partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex) }));
  }
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((p) => {
      if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, t.name)) {
        return { partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
      }
      if (requireStable && store.hasPending(groupId, t.name, p)) {
        return { partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
      }
      const o = store.get(groupId, t.name, p);
      return { partitionIndex: p, committedOffset: o?.offset ?? -1, committedLeaderEpoch: o?.leaderEpoch ?? -1, metadata: o?.metadata ?? '', errorCode: ErrorCode.NONE };
    }),
  }));
}

function handle(ctx: RequestContext, req: OffsetFetchRequest): OffsetFetchResponse {
  const requireStable = req.requireStable ?? false;
  if (ctx.version >= 8) {
    return {
      throttleTimeMs: 0,
      groups: (req.groups ?? []).map((g) => {
        // v9+: a consumer-protocol member reads within its member epoch (KIP-848).
        const errorCode = !ctx.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId ?? '') ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ctx.version >= 9 && ctx.consumerGroups.groups.has(g.groupId ?? '') ? ctx.consumerGroups.offsetCheck(g.groupId ?? '', g.memberId ?? '', g.memberEpoch ?? -1, ctx.version, false) : ErrorCode.NONE;
        return {
          groupId: g.groupId ?? '',
          topics: errorCode !== ErrorCode.NONE ? [] : fetchGroup(ctx, g.groupId ?? '', g.topics === null || g.topics === undefined ? null : g.topics.map((t) => ({ name: t.name ?? '', partitionIndexes: t.partitionIndexes ?? [] })), requireStable),
          errorCode,
        };
      }),
    };
  }
  if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, req.groupId ?? '')) return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
  const topics = req.topics === null || req.topics === undefined ? null : req.topics.map((t) => ({ name: t.name ?? '', partitionIndexes: t.partitionIndexes ?? [] }));
  return { throttleTimeMs: 0, topics: fetchGroup(ctx, req.groupId ?? '', topics, requireStable), errorCode: ErrorCode.NONE };
}

export const offsetFetch: HandlerEntry<OffsetFetchRequest, OffsetFetchResponse> = { codec: offsetFetchServer, minVersion: 1, maxVersion: 9, handle };
