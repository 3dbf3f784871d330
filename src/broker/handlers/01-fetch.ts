// Fetch (key 1), v4-17. Returns whole stored batches, as the bytes on disk, starting with
// the batch that holds the requested offset; the answer stays within the request's and
// each partition's byte limits, except that the first batch of the first partition with
// data is returned whole, however large, so a consumer always progresses (KIP-74). With fewer than minBytes
// ready, the request parks on its partitions and is woken by the append itself, or
// answered when maxWaitMs runs out.
//
// Fetch sessions (KIP-227, v7+; see fetch-sessions.ts), as Kafka's FetchManager decides:
// - epoch -1 (FINAL): a full fetch without a session; the session named, if any, is closed.
// - epoch 0 (INITIAL): a full fetch; the session named, if any, is closed, and a new one is
//   created if the cache has room (the answer carries its id, else id 0).
// - epoch > 0: incremental. An unknown session answers FETCH_SESSION_ID_NOT_FOUND, a wrong
//   epoch INVALID_FETCH_SESSION_EPOCH, a session by topic id fetched by name (or the reverse)
//   FETCH_SESSION_TOPIC_ID_ERROR, all with no partitions. Otherwise the request's partitions
//   are added to the session or update it, its forgotten topics leave it, the whole session
//   is fetched (long poll included) and the answer carries only the partitions with something
//   new. A session left empty is closed and the answer carries id 0.
// One request of a session runs at a time (they share its partitions' state): a newer one
// wakes a parked older one and runs after it.
//
// Over its consumer_byte_rate quota (quotas.ts), a consumer gets, as from Kafka, an answer with
// its throttle time and no partitions (the data read is not sent, nor counted against the quota,
// and a session is neither created nor advanced past it); while a quota applies, one answer
// carries at most what the quota allows over quota.window.num - 1 windows.
//
// read_committed fetches (isolation level 1) stop at the last stable offset (the first offset
// of the oldest open transaction) and carry the aborted transactions in the range they
// return, so the client drops those records; control batches go out like any batch.
//
// ACLs: READ on the topic, checked for every partition at every read (those a session carries
// too), so a change of ACLs takes effect on the next fetch of an open session; a partition
// denied answers TOPIC_AUTHORIZATION_FAILED and nothing of its log. With ACLs on, the decision
// comes from the connection's cache (acl/authorizer.ts); off, nothing is checked.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { FetchRequest, FetchResponse, FetchResponsePartitionData, FetchResponseFetchableTopicResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { recordsLength } from '../../protocol/writer.js';
import type { Partition, TopicRegistry } from '../topics.js';
import type { Waiter } from '../wait-list.js';
import { storageErrorCode } from './common.js';
import { AclOperation, ResourceType } from '../acl/acl.js';
import { fetchServer } from '../../protocol/generated/fetch.js';
import { BATCH_HEADER_SIZE, baseOffset, batchSize, lastOffsetDelta } from '../../protocol/record-batch.js';
import { QuotaType } from '../quotas.js';
import { FetchPartition, FINAL_EPOCH, INITIAL_EPOCH, INVALID_SESSION_ID, nextEpoch, type FetchSession } from '../fetch-sessions.js';

const NO_RECORDS: readonly Buffer[] = [];
const NO_TOPICS: FetchResponseFetchableTopicResponse[] = [];

/** The answer's entry for one partition, from its latest read. */
function partitionData(it: FetchPartition): FetchResponsePartitionData {
  return {
    partitionIndex: it.index,
    errorCode: it.errorCode,
    highWatermark: it.highWatermark,
    lastStableOffset: it.lastStableOffset,
    logStartOffset: it.logStartOffset,
    // Tagged fields left out of the answer (their defaults); undefined rather than a default
    // object, so the encoder need not compare them field by field for every partition.
    divergingEpoch: undefined,
    currentLeader: undefined,
    snapshotId: undefined,
    abortedTransactions: it.abortedTransactions,
    preferredReadReplica: -1,
    records: it.records,
  };
}

/** The answer's topics: the partitions `include` accepts, in order, consecutive ones of a topic under one entry. */
function topicResponses(items: readonly FetchPartition[], usesTopicIds: boolean, include: ((it: FetchPartition) => boolean) | null): FetchResponseFetchableTopicResponse[] {
  const out: FetchResponseFetchableTopicResponse[] = [];
  let cur: FetchResponseFetchableTopicResponse | null = null;
  for (const it of items) {
    if (include !== null && !include(it)) continue;
    if (cur === null || (usesTopicIds ? cur.topicId !== it.topicId : cur.topic !== it.topicName)) {
      cur = { topic: it.topicName, topicId: it.topicId, partitions: [] };
      out.push(cur);
    }
    cur.partitions.push(partitionData(it));
  }
  return out;
}

function answer(errorCode: number, sessionId: number, responses: FetchResponseFetchableTopicResponse[]): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId, responses, nodeEndpoints: [] };
}

const mustRespond = (it: FetchPartition): boolean => it.mustRespond();

/** The ACL version each session's partitions were last checked against: a change of ACLs reads (and so checks) them all again. */
const aclVersionSeen = new WeakMap<FetchSession, number>();

async function handle(ctx: RequestContext, req: FetchRequest): Promise<FetchResponse> {
  const usesTopicIds = ctx.version >= 13;
  const sessionId = req.sessionId ?? INVALID_SESSION_ID;
  const epoch = req.sessionEpoch ?? FINAL_EPOCH;
  const cache = ctx.fetchSessions;
  const principal = ctx.session.principal;
  if (epoch === INITIAL_EPOCH || epoch === FINAL_EPOCH) {
    if (sessionId !== INVALID_SESSION_ID) cache.closeNamed(sessionId, principal);
    const items = requestPartitions(ctx, req, usesTopicIds);
    await fetchInto(ctx, req, items, null);
    if (ctx.quotas.active && overQuota(ctx, items)) return answer(ErrorCode.NONE, INVALID_SESSION_ID, NO_TOPICS);
    const responses = topicResponses(items, usesTopicIds, null);
    let id = INVALID_SESSION_ID;
    if (epoch === INITIAL_EPOCH) {
      const session = cache.maybeCreate(Date.now(), principal, usesTopicIds, items);
      if (session !== null) {
        id = session.id;
        if (ctx.authz.enabled) aclVersionSeen.set(session, ctx.authz.version);
        session.markAnswered();
      }
    }
    return answer(ErrorCode.NONE, id, responses);
  }

  const claimed = await cache.claim(sessionId, epoch, principal, usesTopicIds);
  if (typeof claimed === 'number') return answer(claimed, INVALID_SESSION_ID, NO_TOPICS);
  const session = claimed;
  try {
    updateSession(ctx, session, req);
    if (session.size > ctx.config.requestMaxEntries) {
      // One request cannot name more partitions than this; without the bound a client could
      // grow a session request by request (unknown partitions included) without limit.
      cache.remove(session);
      return answer(ErrorCode.INVALID_REQUEST, INVALID_SESSION_ID, NO_TOPICS);
    }
    if (session.size === 0) {
      cache.remove(session);
      return answer(ErrorCode.NONE, INVALID_SESSION_ID, NO_TOPICS);
    }
    cache.touch(session, Date.now());
    if (ctx.authz.enabled && aclVersionSeen.get(session) !== ctx.authz.version) {
      aclVersionSeen.set(session, ctx.authz.version);
      for (const p of session.order) p.dirty = true;
    }
    session.epoch = nextEpoch(session.epoch);
    ctx.metrics.fetchIncremental.inc();
    await fetchInto(ctx, req, session.order, session);
    if (ctx.quotas.active && overQuota(ctx, session.order)) {
      // Nothing is marked as answered: the next request of the session returns what this one read.
      session.release();
      return answer(ErrorCode.NONE, session.id, NO_TOPICS);
    }
    const responses = topicResponses(session.order, usesTopicIds, mustRespond);
    session.release();
    return answer(ErrorCode.NONE, session.id, responses);
  } finally {
    session.finish();
  }
}

/**
 * Records the answer's record bytes against the consumer_byte_rate quota; when that puts the
 * client over it, takes them back, sets the throttle time (the connection mutes for it) and
 * returns true: the answer goes out without data, as Kafka's.
 */
function overQuota(ctx: RequestContext, items: readonly FetchPartition[]): boolean {
  let bytes = 0;
  for (const it of items) if (it.records.length > 0) bytes += recordsLength(it.records);
  const now = performance.now();
  const clientId = ctx.header.clientId ?? '';
  const ms = ctx.quotas.record(QuotaType.FETCH, ctx.session.principal, clientId, bytes, now);
  if (ms <= 0) return false;
  ctx.quotas.unrecord(QuotaType.FETCH, ctx.session.principal, clientId, bytes, now);
  ctx.throttleMs = ms;
  return true;
}

/** One FetchPartition per partition of a full fetch, in request order. */
function requestPartitions(ctx: RequestContext, req: FetchRequest, usesTopicIds: boolean): FetchPartition[] {
  const items: FetchPartition[] = [];
  const cap = ctx.config.fetchMaxBytes;
  for (const t of req.topics) {
    const topic = usesTopicIds ? ctx.topics.byId.get(t.topicId ?? ZERO_UUID) : ctx.topics.byName.get(t.topic ?? '');
    const name = usesTopicIds ? (topic?.name ?? '') : (t.topic ?? '');
    const id = t.topicId ?? ZERO_UUID;
    for (const p of t.partitions) {
      const it = new FetchPartition(name, id, p.partition, topic?.partitions[p.partition] ?? null);
      it.setRequest(p.fetchOffset, Math.min(p.partitionMaxBytes, cap), p.currentLeaderEpoch ?? -1, p.lastFetchedEpoch ?? -1, p.logStartOffset ?? -1);
      items.push(it);
    }
  }
  return items;
}

/** Applies an incremental request: its partitions join the session or update their position; its forgotten topics leave. */
function updateSession(ctx: RequestContext, session: FetchSession, req: FetchRequest): void {
  const usesTopicIds = session.usesTopicIds;
  const cap = ctx.config.fetchMaxBytes;
  for (const t of req.topics) {
    const key = usesTopicIds ? (t.topicId ?? ZERO_UUID) : (t.topic ?? '');
    for (const p of t.partitions) {
      let it = session.find(key, p.partition);
      if (it === undefined) {
        const topic = usesTopicIds ? ctx.topics.byId.get(key) : ctx.topics.byName.get(key);
        it = new FetchPartition(usesTopicIds ? (topic?.name ?? '') : key, usesTopicIds ? key : ZERO_UUID, p.partition, topic?.partitions[p.partition] ?? null);
        session.add(it);
      }
      it.setRequest(p.fetchOffset, Math.min(p.partitionMaxBytes, cap), p.currentLeaderEpoch ?? -1, p.lastFetchedEpoch ?? -1, p.logStartOffset ?? -1);
    }
  }
  for (const f of req.forgottenTopicsData ?? []) session.remove(usesTopicIds ? (f.topicId ?? ZERO_UUID) : (f.topic ?? ''), f.partitions);
}

/**
 * Reads `items` until minBytes are ready, an error is found or maxWaitMs is over (parking on
 * their partitions meanwhile); each item holds its result. A session's newer request ends the
 * wait early.
 */
async function fetchInto(ctx: RequestContext, req: FetchRequest, items: readonly FetchPartition[], session: FetchSession | null): Promise<void> {
  const readCommitted = req.isolationLevel === READ_COMMITTED;
  const usesTopicIds = ctx.version >= 13;
  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  let maxBytes = Math.min(req.maxBytes ?? 0x7fffffff, ctx.config.fetchMaxBytes);
  let minBytes = Math.max(1, req.minBytes);
  if (ctx.quotas.active) {
    // Under a consumer_byte_rate quota the answer is capped, and minBytes with it (as Kafka).
    maxBytes = Math.min(maxBytes, ctx.quotas.fetchCap(ctx.session.principal, ctx.header.clientId ?? '', performance.now()));
    minBytes = Math.max(1, Math.min(minBytes, maxBytes));
  }
  const end = (partition: Partition): number => visibleEnd(partition, readCommitted);
  const mayRead = ctx.authz.enabled ? (topic: string): boolean => ctx.authorize(AclOperation.READ, ResourceType.TOPIC, topic) : null;
  for (;;) {
    // A session reads its dirty partitions only. A partition that returned records stays dirty
    // (its end is past the request's position), so each round still reads every partition
    // holding records from scratch, and the others hold none.
    const wakes = session?.wakes ?? 0;
    const toRead = session !== null ? session.takeDirty() : items;
    const { bytes, errors } = await readAll(ctx.topics, toRead, maxBytes, readCommitted, usesTopicIds, mayRead);
    if (session !== null) for (const it of toRead) session.afterRead(it, end);
    const remaining = deadline - Date.now();
    if (bytes >= minBytes || errors || items.length === 0 || remaining <= 0 || ctx.session.closed || ctx.cluster.closing || (session !== null && session.queued > 0)) break;
    if (session !== null ? session.wakes !== wakes : items.some((it) => it.partition !== null && (end(it.partition) !== it.seenEnd || it.partition.topic.deleted))) continue;
    await waitForAppend(ctx, items, remaining, session);
  }
  for (const it of items) {
    const n = it.records.length === 0 ? 0 : recordsLength(it.records);
    if (n > 0) ctx.metrics.topicOut(it.partition!.topic.name, n);
  }
}

/** The partition an item names, looked up again (its topic was unknown, or deleted since). */
function resolve(topics: TopicRegistry, it: FetchPartition, usesTopicIds: boolean): Partition | null {
  const topic = usesTopicIds ? topics.byId.get(it.topicId) : topics.byName.get(it.topicName);
  if (topic === undefined) return null;
  if (usesTopicIds) it.topicName = topic.name;
  return topic.partitions[it.index] ?? null;
}

const READ_COMMITTED = 1;

/** Where a fetch of this isolation level stops: the last stable offset for read_committed, else the high watermark. */
function visibleEnd(partition: Partition, readCommitted: boolean): number {
  return readCommitted ? partition.log.lastStableOffset : partition.log.highWatermark;
}

/** Partition reads in flight at once for one request: enough to keep libuv's file threads busy. */
const READ_CONCURRENCY = 4;

/**
 * Reads every partition that has data within the request's byte limit (KIP-74): partitions
 * are filled in request order, each up to its own limit and what the earlier ones left of
 * the request's; the first partition with data may exceed them by one batch so a consumer
 * always progresses. Reads run READ_CONCURRENCY at a time: each reserves its budget when it
 * starts and gives back what it did not use when it ends, so the bytes held stay within
 * the request's limit while disk reads overlap.
 */
async function readAll(topics: TopicRegistry, items: readonly FetchPartition[], maxBytes: number, readCommitted: boolean, usesTopicIds: boolean, mayRead: ((topic: string) => boolean) | null): Promise<{ bytes: number; errors: boolean }> {
  let errors = false;
  const toRead: FetchPartition[] = [];
  for (const it of items) {
    it.records = NO_RECORDS;
    it.abortedTransactions = null;
    let partition = it.partition;
    if (partition === null || partition.topic.deleted) partition = it.partition = resolve(topics, it, usesTopicIds);
    // An unknown topic id stays UNKNOWN_TOPIC_ID; an unknown name the principal may not read is denied, as in Kafka.
    const denied = mayRead !== null && (partition !== null ? !mayRead(partition.topic.name) : !usesTopicIds && !mayRead(it.topicName));
    if (partition === null || it.currentLeaderEpoch > 0 || denied) {
      it.errorCode = denied ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : partition !== null ? ErrorCode.UNKNOWN_LEADER_EPOCH : usesTopicIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      it.highWatermark = it.lastStableOffset = it.logStartOffset = -1;
      it.seenEnd = -1;
      errors = true;
      continue;
    }
    const log = partition.log;
    const hw = log.highWatermark;
    const lso = log.lastStableOffset;
    it.seenEnd = readCommitted ? lso : hw;
    it.highWatermark = hw;
    it.lastStableOffset = lso;
    it.logStartOffset = log.logStartOffset;
    it.errorCode = ErrorCode.NONE;
    if (it.fetchOffset < log.logStartOffset || it.fetchOffset > log.logEndOffset) {
      it.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
      errors = true;
    } else if (it.fetchOffset < it.seenEnd) {
      toRead.push(it);
    }
    // Between the visible end and the log end is in range, as in Kafka (an acks=1 answer may
    // hand out such an offset before its fsync): nothing to read yet, the fetch waits.
  }
  const read: (Buffer[] | null)[] = new Array(toRead.length).fill(null);
  let reserved = 0;
  let next = 0;
  let running = 0;
  await new Promise<void>((done) => {
    const launch = (): void => {
      while (running < READ_CONCURRENCY && next < toRead.length) {
        const it = toRead[next]!;
        const budget = Math.min(it.maxBytes, maxBytes - reserved);
        if (budget <= 0) {
          if (running > 0) return; // wait for a read to give back what it did not use
          next = toRead.length; // the request's bytes are used up: the rest get none
          break;
        }
        const i = next++;
        running++;
        reserved += budget;
        const log = it.partition!.log;
        const upTo = readCommitted ? it.seenEnd : undefined;
        log.read(it.fetchOffset, budget, upTo).then(
          (batches) => {
            read[i] = batches;
            if (upTo !== undefined && batches.length > 0) {
              const end = endOfBatches(batches);
              it.abortedTransactions = log.abortedTransactions(it.fetchOffset, end).map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
            }
            reserved += recordsLength(batches) - budget;
          },
          (e: unknown) => {
            reserved -= budget;
            // The range moved under us (retention, DeleteRecords) or the disk failed.
            it.errorCode = it.fetchOffset < log.logStartOffset ? ErrorCode.OFFSET_OUT_OF_RANGE : storageErrorCode(e);
            errors = true;
          },
        ).finally(() => {
          running--;
          launch();
        });
      }
      if (running === 0) done();
    };
    launch();
  });
  let total = 0;
  for (let i = 0; i < toRead.length; i++) {
    const batches = read[i];
    if (batches === null) continue;
    const n = recordsLength(batches);
    if (total > 0 && total + n > maxBytes) {
      toRead[i]!.abortedTransactions = null;
      continue;
    }
    toRead[i]!.records = batches;
    total += n;
  }
  return { bytes: total, errors };
}

/** The offset after the last batch of `batches`. */
function endOfBatches(batches: readonly Buffer[]): number {
  const last = batches[batches.length - 1]!;
  let pos = 0;
  let end = 0;
  while (pos + BATCH_HEADER_SIZE <= last.length) {
    end = baseOffset(last, pos) + lastOffsetDelta(last, pos) + 1;
    pos += batchSize(last, pos);
  }
  return end;
}

/** A Fetch parked until data arrives on one of its partitions, its connection closes or its wait is over. */
class ParkedFetch implements Waiter {
  finished = false;
  private readonly ctx: RequestContext;
  private readonly parkedAt: number;
  private readonly resolve: () => void;
  private readonly timer: NodeJS.Timeout;

  constructor(ctx: RequestContext, ms: number, resolve: () => void) {
    this.ctx = ctx;
    this.resolve = resolve;
    this.parkedAt = performance.now();
    ctx.metrics.fetchParked++;
    this.timer = setTimeout(() => this.wake(), ms);
  }

  wake(): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.metrics.fetchParked--;
    this.ctx.parkedMs += performance.now() - this.parkedAt;
    clearTimeout(this.timer);
    this.resolve();
  }
}

function waitForAppend(ctx: RequestContext, items: readonly FetchPartition[], ms: number, session: FetchSession | null): Promise<void> {
  return new Promise((resolve) => {
    const parked = new ParkedFetch(ctx, ms, resolve);
    // A session's partitions wake it through their standing watches.
    if (session !== null) session.parked = parked;
    else for (const it of items) it.partition?.waiters.add(parked);
    ctx.session.closeWaiters.add(parked);
  });
}

function errorCodes(res: FetchResponse, visit: (code: number) => void): void {
  visit(res.errorCode ?? 0);
  for (const t of res.responses) for (const p of t.partitions) visit(p.errorCode);
}

/** The most record bytes the answer can carry (the first batch may exceed it, rarely by much). */
function memoryEstimate(req: FetchRequest, config: { fetchMaxBytes: number }): number {
  return Math.max(0, Math.min(req.maxBytes ?? config.fetchMaxBytes, config.fetchMaxBytes));
}

export const fetch: HandlerEntry<FetchRequest, FetchResponse> = { codec: fetchServer, minVersion: 4, maxVersion: 17, handle, errorCodes, memoryEstimate };
