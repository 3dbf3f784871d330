// The fetcher of a stream runtime: many partitions of many topics, each from its leader,
// long-polled (the broker holds the request until data arrives or maxWaitMs), with
// partitions added and removed as the assignment changes and paused for back-pressure.
// read_committed is filtered as Kafka's Java consumer does it, not as @platformatic/kafka's
// Consumer does (which leaks aborted records): from the Fetch answer's abortedTransactions, a
// producer's records are dropped from the listed first offset until that producer's ABORT
// marker, whichever later answer carries the marker. Positions advance past control batches
// and compacted gaps; each partition's end offset (LSO under read_committed, else the high
// watermark) is kept for lag and restore progress.

import { Consumer, type BaseOptions, type RecordsBatch } from '@platformatic/kafka';
import { ClientError, ClientErrorCode, findProtocolError } from './errors.js';
import type { TopicPartition } from './group-member.js';
import { delay, sendApi, type AnyClient, type BrokerAddress } from './kafka-api.js';

const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;
const LOG_APPEND_TIME = 0x08;
/** Control record types (the int16 after the version in a control record's key). */
const ABORT_MARKER = 0;

/** A record as fetched; the shape of src/stream's InputRecord. */
export interface FetchedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** CreateTime, or the batch's LogAppendTime when the topic stamps batches, ms. */
  timestamp: number;
  headers: Array<[string, Buffer]>;
  /** The batch's LogAppendTime, ms, when the topic stamps it. */
  appendTime?: number;
}

/** What the fetcher keeps per partition. */
export interface PartitionState {
  topic: string;
  partition: number;
  /** The next offset to fetch. */
  position: bigint;
  /** The LSO (read_committed) or high watermark of the last answer; -1n before the first. */
  end: bigint;
  paused: boolean;
  /** read_committed: producers whose records are dropped until their ABORT marker. */
  abortedProducers: Set<bigint>;
}

export function newPartitionState(topic: string, partition: number, position: bigint): PartitionState {
  return { topic, partition, position, end: -1n, paused: false, abortedProducers: new Set() };
}

/** One partition's part of a Fetch answer, as the library parses it. */
export interface PartitionAnswer {
  highWatermark: bigint;
  lastStableOffset: bigint;
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null;
  records?: RecordsBatch[];
}

/**
 * Applies one partition's answer to its state: appends its records from `position` on to
 * `out` (aborted ones dropped under read_committed), moves `position` past everything it
 * read (markers and compacted gaps too) and records the end offset.
 */
export function applyPartitionAnswer(s: PartitionState, a: PartitionAnswer, readCommitted: boolean, out: FetchedRecord[]): void {
  s.end = readCommitted && a.lastStableOffset >= 0n ? a.lastStableOffset : a.highWatermark;
  // Aborted transactions of this answer by first offset; each joins the set when a batch reaches it.
  const aborted = readCommitted && a.abortedTransactions ? [...a.abortedTransactions].sort((x, y) => (x.firstOffset < y.firstOffset ? -1 : x.firstOffset > y.firstOffset ? 1 : 0)) : [];
  let nextAborted = 0;
  for (const b of a.records ?? []) {
    const lastOffset = b.firstOffset + BigInt(b.lastOffsetDelta);
    if (lastOffset < s.position) continue;
    if (readCommitted) {
      while (nextAborted < aborted.length && aborted[nextAborted]!.firstOffset <= lastOffset) s.abortedProducers.add(aborted[nextAborted++]!.producerId);
    }
    if ((b.attributes & IS_CONTROL) !== 0) {
      const key = b.records[0]?.key;
      if (key && key.length >= 4 && key.readInt16BE(2) === ABORT_MARKER) s.abortedProducers.delete(b.producerId);
    } else if (!(readCommitted && (b.attributes & IS_TRANSACTIONAL) !== 0 && s.abortedProducers.has(b.producerId))) {
      const appendTime = (b.attributes & LOG_APPEND_TIME) !== 0 ? Number(b.maxTimestamp) : undefined;
      const base = Number(b.firstTimestamp);
      for (const r of b.records) {
        const offset = b.firstOffset + BigInt(r.offsetDelta);
        if (offset < s.position) continue;
        const headers: Array<[string, Buffer]> = r.headers.length === 0 ? [] : r.headers.map(([k, v]) => [k?.toString() ?? '', v ?? Buffer.alloc(0)]);
        const rec: FetchedRecord = { topic: s.topic, partition: s.partition, offset, key: r.key, value: r.value, timestamp: appendTime ?? base + Number(r.timestampDelta), headers };
        if (appendTime !== undefined) rec.appendTime = appendTime;
        out.push(rec);
      }
    }
    s.position = lastOffset + 1n;
  }
}

interface FetchAnswer {
  responses: Array<{ topicId: string; partitions: Array<PartitionAnswer & { partitionIndex: number }> }>;
}

export interface RecordFetcherOptions {
  /** The library client options (see baseClientOptions in connection.ts). */
  client: BaseOptions;
  /** Default true: records of aborted transactions are dropped, and fetches stop at the LSO. */
  readCommitted?: boolean;
  /** Long-poll time of each fetch (default 500 ms). */
  maxWaitMs?: number;
  /** Most bytes per answer (default 16 MiB) and per partition (default 1 MiB). */
  maxBytes?: number;
  partitionMaxBytes?: number;
  log?: (line: string) => void;
}

/** Leadership moved or metadata lags: refresh it and fetch again. */
const STALE_ERRORS = ['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'NOT_COORDINATOR'];

const keyOf = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class RecordFetcher {
  readonly consumer: Consumer;
  private readonly o: RecordFetcherOptions;
  private readonly readCommitted: boolean;
  private readonly states = new Map<string, PartitionState>();
  /** Topic id -> name, and name -> (id, leader of each partition). */
  private readonly topicNames = new Map<string, string>();
  private readonly topics = new Map<string, { id: string; leaders: number[] }>();
  private readonly brokers = new Map<number, BrokerAddress>();
  /** Settles the current wait (no partition to fetch, or a long poll) when the assignment changes or close is called. */
  private wakeUp: AbortController = new AbortController();
  private closed = false;

  constructor(o: RecordFetcherOptions) {
    this.o = o;
    this.readCommitted = o.readCommitted ?? true;
    // A Consumer for its connections and metadata; it never joins its group.
    this.consumer = new Consumer({ ...o.client, groupId: `${o.client.clientId ?? 'rivulet'}-fetcher`, isolationLevel: this.readCommitted ? 1 : 0 } as never);
  }

  /** Starts fetching a partition from `offset` (the next offset to read); replaces any position it had. */
  add(tp: TopicPartition, offset: bigint): void {
    this.states.set(keyOf(tp.topic, tp.partition), newPartitionState(tp.topic, tp.partition, offset));
    this.wake();
  }

  /** Stops fetching a partition; records of it already returned stay returned. */
  remove(tp: TopicPartition): void {
    this.states.delete(keyOf(tp.topic, tp.partition));
    this.wake();
  }

  /** Back-pressure: a paused partition is left out of fetches until resumed; its position stays. */
  pause(tp: TopicPartition): void {
    const s = this.states.get(keyOf(tp.topic, tp.partition));
    if (s) s.paused = true;
  }

  resume(tp: TopicPartition): void {
    const s = this.states.get(keyOf(tp.topic, tp.partition));
    if (s && s.paused) {
      s.paused = false;
      this.wake();
    }
  }

  /** The next offset to read of a partition (undefined when not fetched). */
  position(tp: TopicPartition): bigint | undefined {
    return this.states.get(keyOf(tp.topic, tp.partition))?.position;
  }

  /** The LSO (read_committed) or high watermark of the last answer; undefined before one. */
  endOffset(tp: TopicPartition): bigint | undefined {
    const end = this.states.get(keyOf(tp.topic, tp.partition))?.end;
    return end === undefined || end < 0n ? undefined : end;
  }

  /** Records between the position and the end offset (0 when caught up; undefined before an answer). */
  lag(tp: TopicPartition): bigint | undefined {
    const s = this.states.get(keyOf(tp.topic, tp.partition));
    if (!s || s.end < 0n) return undefined;
    return s.end > s.position ? s.end - s.position : 0n;
  }

  /** The partitions being fetched. */
  partitions(): TopicPartition[] {
    return [...this.states.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** Ends a waiting poll early (it returns what it has, maybe nothing). */
  wake(): void {
    this.wakeUp.abort();
  }

  /**
   * One long-poll fetch of every unpaused partition: resolves with their new records (in
   * offset order per partition), or none when maxWaitMs passed without data, the assignment
   * changed, or wake() was called. With nothing to fetch it waits for add/resume/wake.
   * Offsets outside a partition's log fail with a ClientError (code offsetOutOfRange).
   */
  async poll(): Promise<FetchedRecord[]> {
    if (this.closed) return [];
    // A fresh signal per poll: listeners never pile up, and a wake() between polls is moot (the poll reads the state anew).
    this.wakeUp = new AbortController();
    const signal = this.wakeUp.signal;
    const active = [...this.states.values()].filter((s) => !s.paused);
    if (active.length === 0) {
      await new Promise<void>((res) => signal.addEventListener('abort', () => res(), { once: true }));
      return [];
    }
    try {
      await this.ensureMetadata(active);
      const byLeader = new Map<number, PartitionState[]>();
      for (const s of active) {
        const leader = this.topics.get(s.topic)!.leaders[s.partition] ?? -1;
        if (leader < 0) throw new ClientError(`partition ${s.topic}-${s.partition} has no leader`, { code: ClientErrorCode.noLeader });
        (byLeader.get(leader) ?? byLeader.set(leader, []).get(leader)!).push(s);
      }
      const asked = Promise.all([...byLeader].map(([node, ss]) => this.fetchFrom(node, ss)));
      asked.catch(() => undefined);
      const aborted = new Promise<null>((res) => signal.addEventListener('abort', () => res(null), { once: true }));
      const answers = await Promise.race([asked, aborted]);
      // Woken: the answer in flight is dropped; positions did not move, so nothing is lost.
      if (answers === null) return [];
      const out: FetchedRecord[] = [];
      for (const answer of answers) {
        for (const t of answer.responses) {
          const topic = this.topicNames.get(t.topicId);
          if (topic === undefined) continue;
          for (const pr of t.partitions) {
            const s = this.states.get(keyOf(topic, pr.partitionIndex));
            // Removed or re-added meanwhile: this answer is for a position that no longer counts.
            if (!s || s.paused || !answer.asked.has(s)) continue;
            applyPartitionAnswer(s, pr, this.readCommitted, out);
          }
        }
      }
      return out;
    } catch (e) {
      if (findProtocolError(e, 'OFFSET_OUT_OF_RANGE')) {
        throw new ClientError(`the offsets being fetched (${active.map((s) => `${s.topic}-${s.partition}@${s.position}`).join(', ')}) are no longer (or not yet) in the log; retention may have removed them.`, { code: ClientErrorCode.offsetOutOfRange, cause: e });
      }
      if ((e instanceof ClientError && e.code === ClientErrorCode.noLeader) || findProtocolError(e, ...STALE_ERRORS) || isNetwork(e)) {
        this.o.log?.(`fetch: ${String((e as Error).message ?? e)}; refreshing metadata`);
        this.topics.clear();
        await delay(200, signal);
        return [];
      }
      throw e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    await this.consumer.close().catch(() => undefined);
  }

  private async fetchFrom(node: number, ss: PartitionState[]) {
    const broker = this.brokers.get(node);
    if (!broker) throw new ClientError(`broker ${node} is not in the cluster metadata`, { code: ClientErrorCode.noLeader });
    const byTopic = new Map<string, PartitionState[]>();
    for (const s of ss) (byTopic.get(s.topic) ?? byTopic.set(s.topic, []).get(s.topic)!).push(s);
    const topics = [...byTopic].map(([topic, list]) => ({
      topicId: this.topics.get(topic)!.id,
      partitions: list.map((s) => ({ partition: s.partition, currentLeaderEpoch: -1, fetchOffset: s.position, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: this.o.partitionMaxBytes ?? 1024 * 1024 })),
    }));
    // Fetch directly, not through Consumer.fetch: its read_committed filter would run first.
    // Session id 0 and epoch -1: a full fetch that opens no fetch session on the broker.
    const resp = await sendApi<FetchAnswer>(this.consumer as unknown as AnyClient, broker, 'Fetch',
      this.o.maxWaitMs ?? 500, 1, this.o.maxBytes ?? 16 * 1024 * 1024, this.readCommitted ? 1 : 0, 0, -1, topics, [], '');
    return { responses: resp.responses, asked: new Set(ss) };
  }

  private async ensureMetadata(active: PartitionState[]): Promise<void> {
    const missing = [...new Set(active.map((s) => s.topic))].filter((t) => !this.topics.has(t));
    if (missing.length === 0) return;
    const meta = await this.consumer.metadata({ topics: missing, forceUpdate: true });
    for (const name of missing) {
      const t = meta.topics.get(name);
      if (!t) throw new ClientError(`topic "${name}" does not exist.`, { code: ClientErrorCode.unknownTopic });
      this.topics.set(name, { id: t.id, leaders: t.partitions.map((p) => p.leader) });
      this.topicNames.set(t.id, name);
    }
    for (const [id, b] of meta.brokers) this.brokers.set(id, { host: b.host, port: b.port });
  }
}

function isNetwork(e: unknown): boolean {
  return e instanceof Error && /PLT_KFK_NETWORK|ECONNREFUSED|ECONNRESET|closed/i.test(`${(e as { code?: string }).code} ${e.message}`);
}
