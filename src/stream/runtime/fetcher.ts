// One fetch loop step for many partitions of many topics: each partition from its leader, all
// leaders in parallel, the answers turned into input records (records.ts). Stale leadership
// refreshes the metadata; the caller retries. Offsets outside the log are reported per
// partition so the caller can reset them.

import type { ClusterTopicMetadata, Consumer, FetchIsolationLevelValue } from '@platformatic/kafka';
import { offsetsAt, EARLIEST, LATEST } from '../../client/admin.js';
import { findProtocolError } from '../../client/errors.js';
import type { InputRecord } from '../types.js';
import { readBatches, type ReadState } from './records.js';

const OFFSET_OUT_OF_RANGE = 1;

export interface FetchedPartition<S extends ReadState> {
  state: S;
  records: InputRecord[];
  /** The partition's high watermark (or last stable offset under read_committed): for lag. */
  end: bigint;
  /** The log start offset (for a reset when the position fell out of the log). */
  logStart: bigint;
  outOfRange: boolean;
}

export class Fetcher {
  private readonly meta = new Map<string, ClusterTopicMetadata>();
  constructor(private readonly consumer: Consumer, private readonly isolationLevel: FetchIsolationLevelValue, private readonly committedOnly: boolean) {}

  /** Loads (or reloads) the metadata of `topics`. */
  async refresh(topics: Iterable<string>): Promise<void> {
    const list = [...new Set(topics)];
    if (list.length === 0) return;
    const cluster = await this.consumer.metadata({ topics: list, autocreateTopics: false, forceUpdate: true });
    for (const t of list) {
      const m = cluster.topics.get(t);
      if (!m) throw new Error(`topic "${t}" does not exist (any more): the pipeline needs it`);
      this.meta.set(t, m);
    }
  }

  /** One Fetch per leader of `states`, in parallel; waits at most maxWaitMs for data. */
  async fetch<S extends ReadState>(states: S[], maxWaitMs: number, maxBytes = 16 * 1024 * 1024): Promise<FetchedPartition<S>[]> {
    const missing = states.filter((s) => !this.meta.has(s.topic)).map((s) => s.topic);
    if (missing.length > 0) await this.refresh(missing);
    const byNode = new Map<number, Map<string, S[]>>();
    for (const s of states) {
      const m = this.meta.get(s.topic)!;
      const leader = m.partitions[s.partition]?.leader ?? -1;
      if (leader < 0) {
        this.meta.delete(s.topic);
        throw new Error(`partition ${s.partition} of "${s.topic}" has no leader right now`);
      }
      let topics = byNode.get(leader);
      if (!topics) byNode.set(leader, (topics = new Map()));
      let list = topics.get(s.topic);
      if (!list) topics.set(s.topic, (list = []));
      list.push(s);
    }
    const key = (topicId: string, p: number) => `${topicId}:${p}`;
    const byId = new Map<string, S>();
    for (const s of states) byId.set(key(this.meta.get(s.topic)!.id, s.partition), s);
    let answers;
    try {
      answers = await Promise.all(
        [...byNode].map(([node, topics]) =>
          this.consumer.fetch({
            node,
            maxWaitTime: maxWaitMs,
            minBytes: 1,
            maxBytes,
            isolationLevel: this.isolationLevel,
            topics: [...topics].map(([topic, ss]) => ({
              topicId: this.meta.get(topic)!.id,
              partitions: ss.map((s) => ({ partition: s.partition, currentLeaderEpoch: -1, fetchOffset: s.next, lastFetchedEpoch: -1, partitionMaxBytes: 1024 * 1024 })),
            })),
          }),
        ),
      );
    } catch (e) {
      // Leadership moved, a topic was recreated, or a partition is out of range: start from fresh metadata.
      this.meta.clear();
      if (findProtocolError(e, 'OFFSET_OUT_OF_RANGE')) return this.outOfRange(states);
      throw e;
    }
    const out: FetchedPartition<S>[] = [];
    for (const answer of answers) {
      for (const t of answer.responses) {
        for (const pr of t.partitions) {
          const s = byId.get(key(t.topicId, pr.partitionIndex));
          if (!s) continue;
          const records: InputRecord[] = [];
          if (pr.errorCode === OFFSET_OUT_OF_RANGE) {
            out.push({ state: s, records, end: pr.highWatermark, logStart: pr.logStartOffset, outOfRange: true });
            continue;
          }
          readBatches(s, pr.records, pr.abortedTransactions, this.committedOnly, records);
          const end = this.committedOnly && pr.lastStableOffset >= 0n ? pr.lastStableOffset : pr.highWatermark;
          out.push({ state: s, records, end, logStart: pr.logStartOffset, outOfRange: false });
        }
      }
    }
    return out;
  }

  /**
   * The library fails a whole Fetch answer when one of its partitions is out of range, without
   * saying which: each log's bounds tell. Only those partitions are reported out of range (and
   * reset by the caller); the others are fetched again as they were.
   */
  private async outOfRange<S extends ReadState>(states: S[]): Promise<FetchedPartition<S>[]> {
    const byTopic = new Map<string, S[]>();
    for (const s of states) (byTopic.get(s.topic) ?? byTopic.set(s.topic, []).get(s.topic)!).push(s);
    const out: FetchedPartition<S>[] = [];
    for (const [topic, ss] of byTopic) {
      const partitions = ss.map((s) => s.partition);
      const start = await offsetsAt(this.consumer, topic, partitions, EARLIEST);
      const end = await offsetsAt(this.consumer, topic, partitions, LATEST);
      for (const s of ss) {
        const logStart = start.get(s.partition) ?? -1n;
        const logEnd = end.get(s.partition) ?? -1n;
        out.push({ state: s, records: [], end: logEnd, logStart, outOfRange: s.next < logStart || s.next > logEnd });
      }
    }
    return out;
  }
}
