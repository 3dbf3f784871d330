// Fetch sessions (KIP-227), as Apache Kafka's broker keeps them: a consumer's first full fetch
// (epoch 0) may create a session holding its partitions and fetch positions; later fetches
// (epoch 1, 2, ...) name only the partitions that changed, and the broker answers only the
// partitions with something new. The cache is bounded (max.incremental.fetch.session.cache.slots);
// when it is full a new session may take the place of one idle for longer than
// min.incremental.fetch.session.eviction.ms, or of a smaller one that is not recently created.
//
// An incremental fetch reads only the session's partitions that may have something new (its
// "dirty" ones: named by the request, woken by an append or a log start change since they were
// last read, or not yet read to their end), and parks without registering on every partition:
// each partition of a session keeps one standing watch that marks it dirty and wakes the
// session's parked fetch. With 1,000 partitions and one append per wake, a fetch otherwise read
// and re-registered on all 1,000 partitions per record (Kafka reads them all too).
//
// Sessions belong to the broker, not to a connection: a client may continue its session on a
// new connection. A session remembers the principal that created it and is invisible to any
// other. With ACLs on, every partition a fetch of the session reads is authorized (READ), and a
// change of ACLs has the next fetch read all of them (handlers/01-fetch.ts), as Kafka checks
// every partition of a session on every fetch.

import { randomInt } from 'node:crypto';
import { ErrorCode } from '../protocol/errors.js';
import type { Partition } from './topics.js';
import type { Waiter } from './wait-list.js';

/** Session id 0: no session. */
export const INVALID_SESSION_ID = 0;
/** Epoch of a full fetch that may create a session. */
export const INITIAL_EPOCH = 0;
/** Epoch of a full fetch that closes its session and creates none. */
export const FINAL_EPOCH = -1;

/** The epoch after `epoch`, as Kafka's FetchMetadata.nextEpoch: FINAL stays FINAL, MAX_INT wraps to 1. */
export function nextEpoch(epoch: number): number {
  if (epoch < 0) return FINAL_EPOCH;
  if (epoch === 0x7fffffff) return 1;
  return epoch + 1;
}

const NO_RECORDS: readonly Buffer[] = [];

/**
 * One partition of a fetch: what the client asked (position, limit), the result of the latest
 * read, and, inside a session, what the session last told the client (to decide whether an
 * incremental answer must carry it). A sessionless fetch makes one per requested partition; a
 * session keeps the ones of the full fetch that created it and makes one per partition added
 * later, and reuses them for every fetch (one request at a time per session).
 */
export class FetchPartition {
  /** The topic as the client named it (v12 and older) or as resolved from its id ('' when unknown). */
  topicName: string;
  /** The topic id (v13+), or the zero id for fetches by name. */
  readonly topicId: string;
  readonly index: number;
  /** The partition served, null while its topic or index is unknown. */
  partition: Partition | null;
  fetchOffset: number;
  /** The partition's byte limit, already capped by fetch.max.bytes. */
  maxBytes: number;
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
  /** The log start offset a follower reports; kept as Kafka keeps it, unused by consumers. */
  fetcherLogStartOffset: number;

  // The latest read.
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  records: readonly Buffer[];
  abortedTransactions: { producerId: number; firstOffset: number }[] | null;
  /** The end seen by the last read (high watermark, or last stable offset for read_committed), to notice appends that raced with it. */
  seenEnd: number;

  // What the session last answered for this partition (-1: nothing yet, or an error).
  sentHighWatermark: number;
  sentLastStableOffset: number;
  sentLogStartOffset: number;

  /** In a session: may have something new, so the next fetch of the session reads it. */
  dirty: boolean;
  /** In a session: the standing watch on `partition` that sets `dirty`. */
  watch: PartitionWatch | null;

  constructor(topicName: string, topicId: string, index: number, partition: Partition | null) {
    this.topicName = topicName;
    this.topicId = topicId;
    this.index = index;
    this.partition = partition;
    this.fetchOffset = 0;
    this.maxBytes = 0;
    this.currentLeaderEpoch = -1;
    this.lastFetchedEpoch = -1;
    this.fetcherLogStartOffset = -1;
    this.errorCode = 0;
    this.highWatermark = -1;
    this.lastStableOffset = -1;
    this.logStartOffset = -1;
    this.records = NO_RECORDS;
    this.abortedTransactions = null;
    this.seenEnd = -1;
    this.sentHighWatermark = -1;
    this.sentLastStableOffset = -1;
    this.sentLogStartOffset = -1;
    this.dirty = true;
    this.watch = null;
  }

  /** Takes the position and limits of a request's entry for this partition. */
  setRequest(fetchOffset: number, maxBytes: number, currentLeaderEpoch: number, lastFetchedEpoch: number, logStartOffset: number): void {
    this.fetchOffset = fetchOffset;
    this.maxBytes = maxBytes;
    this.currentLeaderEpoch = currentLeaderEpoch;
    this.lastFetchedEpoch = lastFetchedEpoch;
    this.fetcherLogStartOffset = logStartOffset;
  }

  /**
   * Whether an incremental answer must carry this partition, as Kafka's CachedPartition decides:
   * records, an error, or a high watermark or log start offset other than last told (and the
   * last stable offset too, so read_committed consumers see transactions end). Remembers what
   * is told; an error forgets the high watermark, so the partition is answered again once the
   * error clears.
   */
  mustRespond(): boolean {
    let must = this.records.length > 0;
    if (this.highWatermark !== this.sentHighWatermark) {
      must = true;
      this.sentHighWatermark = this.highWatermark;
    }
    if (this.lastStableOffset !== this.sentLastStableOffset) {
      must = true;
      this.sentLastStableOffset = this.lastStableOffset;
    }
    if (this.logStartOffset !== this.sentLogStartOffset) {
      must = true;
      this.sentLogStartOffset = this.logStartOffset;
    }
    if (this.errorCode !== 0) {
      must = true;
      this.sentHighWatermark = -1;
    }
    return must;
  }
}

/**
 * A session partition's standing registration on its partition's waiter list: every wake-up
 * (high watermark or log start moved, partition deleted) marks the partition dirty and wakes
 * the session's parked fetch, then re-registers for the next one.
 */
export class PartitionWatch implements Waiter {
  finished = false;

  constructor(
    private readonly session: FetchSession,
    private readonly item: FetchPartition,
    readonly partition: Partition,
  ) {
    partition.waiters.add(this);
  }

  wake(): void {
    if (this.finished) return;
    this.item.dirty = true;
    this.session.wakes++;
    this.session.parked?.wake();
    this.partition.waiters.add(this);
  }

  cancel(): void {
    this.finished = true;
  }
}

/** A fetch session: its partitions in fetch order, and the epoch its next request must carry. */
export class FetchSession {
  readonly id: number;
  /** Who created it; no other principal can use or close it. */
  readonly principal: string;
  /** True when created by Fetch v13+ (partitions keyed by topic id), false by name. */
  readonly usesTopicIds: boolean;
  readonly creationMs: number;
  lastUsedMs: number;
  /** The epoch the next incremental request must carry. */
  epoch: number;
  /** Partitions in the order they are read: those that returned records move to the end, so a byte limit cannot starve the later ones. */
  order: FetchPartition[];
  /** Topic key (id or name) -> partition index -> partition. */
  private readonly byTopic: Map<string, Map<number, FetchPartition>>;
  /** Set while a request of this session runs: the next one waits for it (they share the partitions' state). */
  running: Promise<void> | null;
  private endRunning: (() => void) | null = null;
  /** The running request while it waits for data; a newer request of the session wakes it. */
  parked: Waiter | null;
  /** Requests waiting for the running one to end. */
  queued: number;
  /** Wake-ups of its partitions' watches so far: a fetch that sees it move while reading looks again instead of parking. */
  wakes: number;
  /** Out of the cache: its watches are ended and no new ones are made. */
  closed: boolean;

  constructor(id: number, principal: string, usesTopicIds: boolean, now: number, partitions: readonly FetchPartition[]) {
    this.id = id;
    this.principal = principal;
    this.usesTopicIds = usesTopicIds;
    this.creationMs = now;
    this.lastUsedMs = now;
    this.epoch = nextEpoch(INITIAL_EPOCH);
    this.order = [];
    this.byTopic = new Map();
    this.running = null;
    this.parked = null;
    this.queued = 0;
    this.wakes = 0;
    this.closed = false;
    for (const p of partitions) if (this.find(this.keyOf(p), p.index) === undefined) this.add(p);
  }

  get size(): number {
    return this.order.length;
  }

  keyOf(p: FetchPartition): string {
    return this.usesTopicIds ? p.topicId : p.topicName;
  }

  find(topicKey: string, index: number): FetchPartition | undefined {
    return this.byTopic.get(topicKey)?.get(index);
  }

  add(p: FetchPartition): void {
    p.dirty = true;
    const key = this.keyOf(p);
    let m = this.byTopic.get(key);
    if (m === undefined) this.byTopic.set(key, (m = new Map()));
    m.set(p.index, p);
    this.order.push(p);
  }

  /** Forgets partitions (an incremental request's forgotten topics); returns how many were in the session. */
  remove(topicKey: string, indexes: readonly number[]): number {
    const m = this.byTopic.get(topicKey);
    if (m === undefined) return 0;
    let removed = 0;
    for (const i of indexes) {
      const p = m.get(i);
      if (p === undefined) continue;
      p.watch?.cancel();
      p.watch = null;
      m.delete(i);
      removed++;
    }
    if (m.size === 0) this.byTopic.delete(topicKey);
    if (removed > 0) this.order = this.order.filter((p) => this.find(this.keyOf(p), p.index) === p);
    return removed;
  }

  /**
   * The partitions the next read covers, in fetch order: the dirty ones. Each is marked clean
   * before it is read, so a wake-up that lands while the read runs marks it dirty again.
   */
  takeDirty(): FetchPartition[] {
    const out: FetchPartition[] = [];
    for (const p of this.order) {
      if (!p.dirty) continue;
      p.dirty = false;
      out.push(p);
    }
    return out;
  }

  /**
   * After a read of `p`: it stays dirty while it has an error or more to read (the client's
   * next position may still be short of the end), and its watch follows the partition it now
   * names (a topic deleted and created again is another partition). A new watch compares the
   * end it would have been woken for with the one the read saw.
   */
  afterRead(p: FetchPartition, visibleEnd: (partition: Partition) => number): void {
    const partition = p.partition;
    if (p.errorCode !== 0 || partition === null || p.fetchOffset < p.seenEnd) p.dirty = true;
    if (p.watch !== null && p.watch.partition === partition) return;
    p.watch?.cancel();
    p.watch = null;
    if (partition === null || this.closed) return;
    p.watch = new PartitionWatch(this, p, partition);
    if (visibleEnd(partition) !== p.seenEnd || partition.log.logStartOffset !== p.logStartOffset) {
      p.dirty = true;
      this.wakes++;
    }
  }

  /** After the full fetch that created the session: what its answer told is what the next answers compare with. */
  markAnswered(): void {
    for (const p of this.order) {
      p.mustRespond();
      p.records = NO_RECORDS;
      p.abortedTransactions = null;
    }
  }

  /** Starts a request of the session (see FetchSessionCache.claim). */
  begin(): void {
    this.running = new Promise<void>((resolve) => (this.endRunning = resolve));
  }

  /** Ends the running request: the next queued one may start. */
  finish(): void {
    const end = this.endRunning;
    this.running = null;
    this.parked = null;
    this.endRunning = null;
    end?.();
  }

  /** Ends every watch: the session is gone from the cache. */
  close(): void {
    this.closed = true;
    for (const p of this.order) {
      p.watch?.cancel();
      p.watch = null;
    }
  }

  /**
   * Once an answer is built: moves the partitions that returned records to the end of the
   * order, keeping the relative order of both groups (Kafka's IncrementalFetchContext does the
   * same per partition), and lets go of the records, which the answer holds; a session kept
   * between fetches (or abandoned) must not keep its last answer's buffers alive.
   */
  release(): void {
    const order = this.order;
    let moved: FetchPartition[] | null = null;
    let w = 0;
    for (let i = 0; i < order.length; i++) {
      const p = order[i]!;
      if (p.records.length > 0) {
        (moved ??= []).push(p);
        p.records = NO_RECORDS;
        p.abortedTransactions = null;
      } else {
        order[w++] = p;
      }
    }
    if (moved === null) return;
    for (const p of moved) order[w++] = p;
  }
}

/** What the cache reports to the broker's metrics. */
export interface FetchSessionMetrics {
  fetchSessions: number;
  readonly fetchSessionEvictions: { inc(n?: number): void };
}

/**
 * The broker's fetch sessions, bounded. The Map's insertion order is the order of last use
 * (touch re-inserts), so the least recently used session is its first entry.
 *
 * Eviction follows Kafka's FetchSessionCache for unprivileged sessions (consumers; Kafka
 * privileges only follower replicas, which do not exist here): a new session may evict the
 * least recently used one if it has been idle longer than evictionMs, else the smallest
 * session created more than evictionMs ago if the new one has more partitions. Kafka keeps
 * that second candidate in a sorted tree updated on every use; here it is found by a scan of
 * the sessions, done only when the cache is full and a new session is asked for.
 */
export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();

  constructor(
    readonly slots: number,
    readonly evictionMs: number,
    private readonly metrics: FetchSessionMetrics | null = null,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  get(id: number): FetchSession | undefined {
    return this.sessions.get(id);
  }

  /** Removes the session; true if it was cached. */
  remove(session: FetchSession): boolean {
    if (this.sessions.get(session.id) !== session) return false;
    this.sessions.delete(session.id);
    session.close();
    this.report();
    return true;
  }

  /** A full fetch naming a session closes it, if `principal` created it. */
  closeNamed(id: number, principal: string): void {
    const s = this.sessions.get(id);
    if (s !== undefined && s.principal === principal) this.remove(s);
  }

  /**
   * Claims session `id` for an incremental request of `epoch`, once the request before it has
   * ended (a newer request wakes a parked older one): returns the session, which the caller
   * must finish(), or the error code to answer.
   */
  async claim(id: number, epoch: number, principal: string, usesTopicIds: boolean): Promise<FetchSession | number> {
    const session = this.sessions.get(id);
    if (session === undefined || session.principal !== principal) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
    if (session.running !== null) {
      session.queued++;
      while (session.running !== null) {
        session.parked?.wake();
        await session.running;
      }
      session.queued--;
      if (this.sessions.get(id) !== session) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
    }
    if (session.epoch !== epoch) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
    if (session.usesTopicIds !== usesTopicIds) return ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR;
    session.begin();
    return session;
  }

  /** Marks the session used now. */
  touch(session: FetchSession, now: number): void {
    session.lastUsedMs = now;
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
  }

  /**
   * Creates a session of these partitions if there is room or one can be evicted; returns the
   * new session, or null (the answer then carries session id 0 and the client stays on full
   * fetches).
   */
  maybeCreate(now: number, principal: string, usesTopicIds: boolean, partitions: readonly FetchPartition[]): FetchSession | null {
    if (this.slots <= 0) return null;
    if (this.sessions.size >= this.slots && !this.tryEvict(partitions.length, now)) return null;
    let id: number;
    do id = randomInt(1, 0x80000000);
    while (this.sessions.has(id));
    const session = new FetchSession(id, principal, usesTopicIds, now, partitions);
    this.sessions.set(id, session);
    this.report();
    return session;
  }

  private tryEvict(size: number, now: number): boolean {
    const lru = this.sessions.values().next().value;
    if (lru === undefined) return false;
    if (now - lru.lastUsedMs > this.evictionMs) return this.evict(lru);
    let smallest: FetchSession | null = null;
    for (const s of this.sessions.values()) {
      if (now - s.creationMs <= this.evictionMs) continue;
      if (smallest === null || s.size < smallest.size || (s.size === smallest.size && s.id < smallest.id)) smallest = s;
    }
    // Kafka compares (size, id) with the new session's id as 0: equal sizes never evict.
    if (smallest === null || size <= smallest.size) return false;
    return this.evict(smallest);
  }

  private evict(s: FetchSession): boolean {
    this.sessions.delete(s.id);
    s.close();
    this.metrics?.fetchSessionEvictions.inc();
    return true;
  }

  private report(): void {
    if (this.metrics !== null) this.metrics.fetchSessions = this.sessions.size;
  }
}
