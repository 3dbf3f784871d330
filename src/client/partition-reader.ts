// One partition reader: fetches a set of partitions of one topic from given offsets, each
// from its leader, without a consumer group (the library's Consumer.consume() always joins
// one). It owns the fetch loop, the offset advance (past control batches and compacted
// gaps), an optional end offset per partition, and the errors a reader survives (stale
// leadership: metadata is refreshed and the fetch retried) or reports (offsets outside the log).

import { performance } from 'node:perf_hooks';
import type { ClusterTopicMetadata, Consumer, FetchIsolationLevelValue } from '@platformatic/kafka';
import { requireTopic } from './admin.js';
import { ClientError, ClientErrorCode, findProtocolError } from './errors.js';

const IS_CONTROL = 0x20;
const LOG_APPEND_TIME = 0x08;

/** Where one partition is read from, and (optionally) where reading it stops. Updated as records arrive. */
export interface PartitionPosition {
  partition: number;
  /** The next offset to read. */
  next: bigint;
  /** Stop before this offset; -1n reads on forever. */
  end: bigint;
  /** Set once `next` reached `end`, or the log ends below `end` (truncated by retention). */
  done: boolean;
}

/** A record as read: its offset and timestamp resolved. */
export interface ReadRecord {
  offset: bigint;
  /** CreateTime of the record, or the batch's LogAppendTime when the topic stamps batches. */
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[Buffer | null, Buffer | null]>;
}

export interface ReadOptions {
  topic: string;
  /** The topic's metadata (partition leaders, topic id); refreshed when leadership moves. */
  metadata: ClusterTopicMetadata;
  /** Updated in place as records arrive. */
  positions: PartitionPosition[];
  /**
   * Called with each partition's new records (those from `next` and before `end`), in
   * offset order, with the time they arrived (performance.now()). A promise returned is
   * awaited before the next fetch (back-pressure).
   */
  onRecords: (position: PartitionPosition, records: ReadRecord[], now: number) => void | Promise<void>;
  /** Checked before every fetch: true ends the read ('done'). */
  done?: () => boolean;
  /** End the read ('idle') when no record arrived for `ms` while `armed()` is true. */
  idle?: { ms: number; armed: () => boolean };
  /** Settles when the caller gives up: a pending long poll is abandoned and the read returns 'stopped'. */
  stopped?: Promise<void>;
  /** Long-poll time of each fetch (default 500 ms). */
  maxWaitMs?: number;
  /** Most bytes per fetch answer (default 16 MiB) and per partition (default 1 MiB). */
  maxBytes?: number;
  partitionMaxBytes?: number;
  /** The consumer's own isolation level unless given. */
  isolationLevel?: FetchIsolationLevelValue;
}

/** Why a read ended; 'stopped' leaves a fetch unanswered (close the consumer without waiting for it). */
export type ReadOutcome = 'done' | 'idle' | 'stopped';

/** Leadership moved or metadata lags: refresh it and fetch again, this many times in a row at most. */
const STALE_RETRIES = 20;
const STALE_ERRORS = ['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID', 'FENCED_LEADER_EPOCH'];

/**
 * Reads `positions` until every one is done, `done()` says so, the read goes idle, or
 * `stopped` settles. Offsets outside the log fail with a ClientError (code offsetOutOfRange);
 * a topic deleted meanwhile with an UnknownTopicError.
 */
export async function readPartitions(consumer: Consumer, o: ReadOptions): Promise<ReadOutcome> {
  const { topic, positions } = o;
  let meta = o.metadata;
  const byPartition = new Map(positions.map((s) => [s.partition, s]));
  for (const s of positions) if (s.end >= 0n && s.next >= s.end) s.done = true;
  const stopped = o.stopped?.then(() => null);
  let staleRetries = 0;
  let lastRecordAt = performance.now();

  while (!(o.done?.() ?? false)) {
    const active = positions.filter((s) => !s.done);
    if (active.length === 0) return 'done';
    if (o.idle && o.idle.armed() && performance.now() - lastRecordAt > o.idle.ms) return 'idle';
    const byLeader = new Map<number, PartitionPosition[]>();
    for (const s of active) {
      const leader = meta.partitions[s.partition]?.leader ?? -1;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), s]);
    }
    let responses;
    try {
      if (byLeader.has(-1)) throw new ClientError(`a partition of "${topic}" has no leader`, { code: ClientErrorCode.noLeader });
      const all = Promise.all(
        [...byLeader].map(([node, ss]) =>
          consumer.fetch({
            node,
            maxWaitTime: o.maxWaitMs ?? 500,
            minBytes: 1,
            maxBytes: o.maxBytes ?? 16 * 1024 * 1024,
            ...(o.isolationLevel === undefined ? {} : { isolationLevel: o.isolationLevel }),
            topics: [{ topicId: meta.id, partitions: ss.map((s) => ({ partition: s.partition, currentLeaderEpoch: -1, fetchOffset: s.next, lastFetchedEpoch: -1, partitionMaxBytes: o.partitionMaxBytes ?? 1024 * 1024 })) }],
          }),
        ),
      );
      if (stopped) {
        all.catch(() => undefined);
        const raced = await Promise.race([all, stopped]);
        if (raced === null) return 'stopped';
        responses = raced;
      } else {
        responses = await all;
      }
      staleRetries = 0;
    } catch (e) {
      if (findProtocolError(e, 'OFFSET_OUT_OF_RANGE')) {
        throw new ClientError(`the offsets being read are no longer (or not yet) in the log of "${topic}"; retention may have removed them.`, { code: ClientErrorCode.offsetOutOfRange, cause: e });
      }
      const stale = (e instanceof ClientError && e.code === ClientErrorCode.noLeader) || findProtocolError(e, ...STALE_ERRORS);
      if (stale && staleRetries < STALE_RETRIES) {
        staleRetries++;
        await new Promise((res) => setTimeout(res, 250));
        meta = await requireTopic(consumer, topic);
        continue;
      }
      throw e;
    }

    const now = performance.now();
    for (const resp of responses) {
      for (const t of resp.responses) {
        for (const pr of t.partitions) {
          const s = byPartition.get(pr.partitionIndex);
          if (!s || s.done) continue;
          const got: ReadRecord[] = [];
          for (const b of pr.records ?? []) {
            const batchEnd = b.firstOffset + BigInt(b.lastOffsetDelta) + 1n;
            if (batchEnd <= s.next) continue;
            if ((b.attributes & IS_CONTROL) === 0) {
              const logAppendTime = (b.attributes & LOG_APPEND_TIME) !== 0;
              for (const r of b.records) {
                const offset = b.firstOffset + BigInt(r.offsetDelta);
                if (offset < s.next) continue;
                if (s.end >= 0n && offset >= s.end) break;
                got.push({ offset, timestamp: logAppendTime ? b.maxTimestamp : b.firstTimestamp + r.timestampDelta, key: r.key, value: r.value, headers: r.headers });
              }
            }
            // Past compacted gaps and transaction markers too.
            s.next = s.end >= 0n && batchEnd > s.end ? s.end : batchEnd;
            if (s.end >= 0n && s.next >= s.end) {
              s.done = true;
              break;
            }
          }
          if (s.end >= 0n && !s.done && (pr.records?.length ?? 0) === 0) {
            // The log may have been truncated below `end` since it was chosen: stop at what exists.
            const last = pr.lastStableOffset >= 0n ? pr.lastStableOffset : pr.highWatermark;
            if (last <= s.next) s.done = true;
          }
          if (got.length > 0) {
            lastRecordAt = now;
            const wait = o.onRecords(s, got, now);
            if (wait) await wait;
          }
        }
      }
    }
  }
  return 'done';
}
