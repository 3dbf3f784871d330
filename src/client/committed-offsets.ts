// A group's committed offsets, for a stream runtime: OffsetFetch with requireStable (a task
// must not start from offsets an open transaction is about to replace: the coordinator answers
// UNSTABLE_OFFSET_COMMIT until it ends, and we wait), and OffsetCommit for at-least-once,
// within the member's epoch (a fenced member's commit is refused: FencedError).

import { asFenced, ClientError, ClientErrorCode, findProtocolError } from './errors.js';
import { CoordinatorClient, CoordinatorType, delay, type AnyClient } from './kafka-api.js';
import type { OffsetToCommit, GroupMembership } from './stream-producer.js';
import type { TopicPartition } from './group-member.js';

interface OffsetFetchResponse {
  groups: Array<{ topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint }> }> }>;
}

export interface FetchCommittedOptions {
  /** Wait while a transaction holding offsets of the group is open (default true). */
  requireStable?: boolean;
  /** Give up waiting for open transactions after this long (default 60 s, Kafka's default transaction timeout). */
  timeoutMs?: number;
  /** The member asking (Kafka 4 checks the epoch on v9+); absent: asked as an admin would. */
  member?: { memberId: string; memberEpoch: number };
  log?: (line: string) => void;
}

/**
 * The committed offset (the next offset to read) of each partition; -1n where none is
 * committed. Keys: "topic:partition".
 */
export async function fetchCommittedOffsets(client: AnyClient, groupId: string, partitions: TopicPartition[], o: FetchCommittedOptions = {}): Promise<Map<string, bigint>> {
  const coordinator = new CoordinatorClient(client, CoordinatorType.group, groupId, o.log);
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) (byTopic.get(p.topic) ?? byTopic.set(p.topic, []).get(p.topic)!).push(p.partition);
  const request = [{
    groupId,
    memberId: o.member?.memberId ?? null,
    memberEpoch: o.member?.memberEpoch ?? -1,
    topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
  }];
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let backoff = 50;
  for (;;) {
    let resp: OffsetFetchResponse;
    try {
      resp = await coordinator.send<OffsetFetchResponse>('OffsetFetch', [request, o.requireStable ?? true]);
    } catch (e) {
      const fenced = asFenced(e, `group "${groupId}" member (OffsetFetch)`);
      if (fenced) throw fenced;
      if (!findProtocolError(e, 'UNSTABLE_OFFSET_COMMIT')) throw e;
      if (Date.now() + backoff > deadline) {
        throw new ClientError(`group "${groupId}": a transaction holding its offsets stayed open for ${o.timeoutMs ?? 60_000} ms (UNSTABLE_OFFSET_COMMIT). It ends when its producer commits or aborts, or when the coordinator times it out (transaction.timeout.ms).`, { code: ClientErrorCode.unexpectedAnswer, cause: e });
      }
      o.log?.(`group "${groupId}": offsets held by an open transaction; asking again in ${backoff} ms`);
      await delay(backoff);
      backoff = Math.min(backoff * 2, 1000);
      continue;
    }
    const out = new Map<string, bigint>();
    for (const g of resp.groups) for (const t of g.topics) for (const p of t.partitions) out.set(`${t.name}:${p.partitionIndex}`, p.committedOffset);
    for (const p of partitions) if (!out.has(`${p.topic}:${p.partition}`)) out.set(`${p.topic}:${p.partition}`, -1n);
    return out;
  }
}

/** Commits offsets outside a transaction (at-least-once), as the member at its current epoch. */
export async function commitOffsets(client: AnyClient, member: GroupMembership, offsets: OffsetToCommit[], log?: (line: string) => void): Promise<void> {
  if (offsets.length === 0) return;
  const coordinator = new CoordinatorClient(client, CoordinatorType.group, member.groupId, log);
  const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }>>();
  for (const o of offsets) (byTopic.get(o.topic) ?? byTopic.set(o.topic, []).get(o.topic)!).push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: null });
  try {
    await coordinator.send('OffsetCommit', [member.groupId, member.memberEpoch, member.memberId, null, [...byTopic].map(([name, partitions]) => ({ name, partitions }))]);
  } catch (e) {
    throw asFenced(e, `group "${member.groupId}" member ${member.memberId} (OffsetCommit)`) ?? e;
  }
}
