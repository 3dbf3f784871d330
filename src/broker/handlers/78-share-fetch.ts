// ShareFetch (key 78), v1-2 (KIP-932). A share group member's fetch: it acknowledges what it
// was given (piggybacked AcknowledgementBatches), then acquires available records of its
// share session's partitions and gets them as the stored batches, with the acquired offset
// ranges in AcquiredRecords (records of a returned batch outside them are not the member's:
// the client skips them). Records are acquired whole batch by whole batch until MaxRecords is
// reached (batch-optimized, as Kafka does; MaxRecords may be exceeded to end on a batch), or,
// in the record-limit mode (ShareAcquireMode 1, v2), up to MaxRecords exactly.
// With nothing to acquire the request parks on its partitions, woken by an append or by
// records made available again (released, lock expired, member gone), or answers empty after
// MaxWaitMs.
//
// Share sessions (see groups/share-group.ts): epoch 0 opens a session of the request's
// partitions (acknowledgements are refused on it: INVALID_REQUEST); a positive epoch must be
// the session's next (INVALID_SHARE_SESSION_EPOCH, SHARE_SESSION_NOT_FOUND) and adds the
// request's partitions (ForgottenTopicsData leave it); -1 acknowledges, closes the session and
// releases what the member still holds there, without fetching. A full answer (epoch 0)
// names every partition; a later one only those with records, errors or acknowledgement
// results.
//
// ACLs: READ on the group (GROUP_AUTHORIZATION_FAILED) and READ on each topic, checked at every
// fetch of the session (TOPIC_AUTHORIZATION_FAILED, nothing acquired).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ShareFetchRequest, ShareFetchResponse, ShareFetchResponsePartitionData } from '../../protocol/generated/share-fetch.js';
import { shareFetchServer } from '../../protocol/generated/share-fetch.js';
import { ErrorCode } from '../../protocol/errors.js';
import { recordsLength } from '../../protocol/writer.js';
import { BATCH_HEADER_SIZE, baseOffset, batchSize, lastOffsetDelta } from '../../protocol/record-batch.js';
import { storageErrorCode } from './common.js';
import type { Waiter } from '../wait-list.js';
import type { ShareGroup, ShareSession } from '../groups/share-group.js';
import { partitionKey } from '../groups/share-state-store.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

const NO_RECORDS: Buffer[] = [];
/** MaxRecords when a client sends none (Kafka's max.poll.records default). */
const DEFAULT_MAX_RECORDS = 500;

type Entry = ShareFetchResponsePartitionData & { topicId: string };

/** Per-partition answers in the order first touched. */
class Answers {
  readonly byKey = new Map<string, Entry>();
  constructor(private readonly leaderId: number) {}

  get(topicId: string, index: number): Entry {
    const key = partitionKey(topicId, index);
    let e = this.byKey.get(key);
    if (e === undefined) {
      e = {
        topicId,
        partitionIndex: index,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        acknowledgeErrorCode: ErrorCode.NONE,
        acknowledgeErrorMessage: null,
        currentLeader: { leaderId: this.leaderId, leaderEpoch: 0 },
        records: NO_RECORDS,
        acquiredRecords: [],
      };
      this.byKey.set(key, e);
    }
    return e;
  }

  response(lockMs: number): ShareFetchResponse {
    const topics = new Map<string, ShareFetchResponsePartitionData[]>();
    for (const e of this.byKey.values()) {
      let ps = topics.get(e.topicId);
      if (ps === undefined) topics.set(e.topicId, (ps = []));
      const { topicId: _, ...p } = e;
      ps.push(p);
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, acquisitionLockTimeoutMs: lockMs, responses: [...topics].map(([topicId, partitions]) => ({ topicId, partitions })), nodeEndpoints: [] };
  }
}

function failure(errorCode: number, errorMessage: string, lockMs: number): ShareFetchResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage, acquisitionLockTimeoutMs: lockMs, responses: [], nodeEndpoints: [] };
}

async function handle(ctx: RequestContext, req: ShareFetchRequest): Promise<ShareFetchResponse> {
  const shares = ctx.shares;
  const groupId = req.groupId ?? '';
  const memberId = req.memberId ?? '';
  const lockMs = shares.groupConfig(groupId).recordLockDurationMs;
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, groupId)) return failure(ErrorCode.GROUP_AUTHORIZATION_FAILED, 'ShareFetch needs READ on the group', lockMs);
  if (groupId === '') return failure(ErrorCode.INVALID_GROUP_ID, 'GroupId must be the share group of the member.', lockMs);
  if (memberId === '') return failure(ErrorCode.INVALID_REQUEST, 'MemberId must be the member id the client heartbeats with.', lockMs);
  // Only ShareGroupHeartbeat creates share groups: a fetch cannot make the broker hold a group for any id.
  const group = shares.groups.get(groupId);
  if (group === undefined) return failure(ErrorCode.GROUP_ID_NOT_FOUND, `No share group ${groupId}: members join it with ShareGroupHeartbeat before fetching.`, lockMs);
  const epoch = req.shareSessionEpoch;
  const hasAcks = req.topics.some((t) => t.partitions.some((p) => p.acknowledgementBatches.length > 0));
  if (epoch === 0 && hasAcks) return failure(ErrorCode.INVALID_REQUEST, 'Acknowledgements are not allowed in the request that opens a share session (epoch 0).', lockMs);
  const session = shares.session(groupId, memberId, epoch);
  if (typeof session === 'number') return failure(session, sessionError(session, epoch), lockMs);
  if (epoch !== -1) {
    for (const t of req.topics) for (const p of t.partitions) session.partitions.set(partitionKey(t.topicId, p.partitionIndex), [t.topicId, p.partitionIndex]);
    for (const f of req.forgottenTopicsData) for (const p of f.partitions) session.partitions.delete(partitionKey(f.topicId, p));
    if (session.partitions.size > ctx.config.requestMaxEntries) {
      // Without the bound a client could grow a session request by request.
      shares.closeSession(session);
      return failure(ErrorCode.INVALID_REQUEST, `A share session may hold at most ${ctx.config.requestMaxEntries} partitions (request.max.entries).`, lockMs);
    }
  }
  const answers = new Answers(ctx.cluster.nodeId);
  const acks: Promise<void>[] = [];
  for (const t of req.topics) {
    for (const p of t.partitions) {
      if (p.acknowledgementBatches.length === 0) continue;
      const e = answers.get(t.topicId, p.partitionIndex);
      const name = ctx.topics.byId.get(t.topicId)?.name;
      if (name !== undefined && !ctx.authorize(AclOperation.READ, ResourceType.TOPIC, name)) {
        e.acknowledgeErrorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        continue;
      }
      acks.push(
        shares.acknowledge(group, t.topicId, p.partitionIndex, memberId, p.acknowledgementBatches).then((code) => {
          e.acknowledgeErrorCode = code;
          if (code !== ErrorCode.NONE) e.acknowledgeErrorMessage = ackError(code);
        }),
      );
    }
  }
  await Promise.all(acks);
  if (epoch === -1) {
    shares.closeSession(session);
    return answers.response(lockMs);
  }
  if (epoch === 0) for (const [topicId, index] of session.partitions.values()) answers.get(topicId, index);
  await fetchInto(ctx, req, group, session, memberId, answers);
  return answers.response(lockMs);
}

function sessionError(code: number, epoch: number): string {
  if (code === ErrorCode.SHARE_SESSION_NOT_FOUND) return 'No share session for this member: open one with epoch 0.';
  if (code === ErrorCode.INVALID_SHARE_SESSION_EPOCH) return `Share session epoch ${epoch} is not the next one: reopen the session with epoch 0.`;
  return 'share session refused';
}

export function ackError(code: number): string {
  if (code === ErrorCode.INVALID_RECORD_STATE) return 'Some acknowledged records are not held by this member (never acquired by it, or their lock expired).';
  if (code === ErrorCode.INVALID_REQUEST) return 'Invalid acknowledgement batch: FirstOffset <= LastOffset, and AcknowledgeTypes one type 0-4 or one per offset.';
  return 'acknowledgement failed';
}

/**
 * Acquires records on the session's partitions into `answers`, parking until some are
 * available, an error is found, the wait is over or a newer request of the session arrives.
 */
async function fetchInto(ctx: RequestContext, req: ShareFetchRequest, group: ShareGroup, session: ShareSession, memberId: string, answers: Answers): Promise<void> {
  const shares = ctx.shares;
  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  const myEpoch = session.epoch;
  let recordsLeft = req.maxRecords > 0 ? req.maxRecords : DEFAULT_MAX_RECORDS;
  let bytesLeft = Math.min(req.maxBytes > 0 ? req.maxBytes : 0x7fffffff, ctx.config.fetchMaxBytes);
  // ShareAcquireMode 1 (v2, record-limit): never more than MaxRecords, batches split if need be.
  const strict = req.shareAcquireMode === 1;
  let retries = 0;
  for (;;) {
    let answered = false;
    let again = false;
    for (const [topicId, index] of session.partitions.values()) {
      if (recordsLeft <= 0 || bytesLeft <= 0) break;
      const topic = ctx.topics.byId.get(topicId);
      const partition = topic === undefined || topic.deleted ? undefined : topic.partitions[index];
      if (partition === undefined) {
        const e = answers.get(topicId, index);
        e.errorCode = topic === undefined ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        answered = true;
        continue;
      }
      if (!ctx.authorize(AclOperation.READ, ResourceType.TOPIC, topic!.name)) {
        answers.get(topicId, index).errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        answered = true;
        continue;
      }
      try {
        const sp = await shares.sharePartition(group, partition);
        const log = partition.log;
        const hw = log.highWatermark;
        const from = Math.max(sp.nextAcquirable(), log.logStartOffset);
        if (from >= hw) continue;
        const cut = cutBatches(await log.read(from, bytesLeft), recordsLeft, from, hw);
        if (cut.last < from) continue;
        const acquired = shares.acquire(group, partition, sp, memberId, from, cut.last, recordsLeft, strict);
        if (acquired.length === 0) {
          again ||= sp.nextAcquirable() < hw; // others took these meanwhile; more may be free further on
          continue;
        }
        const e = answers.get(topicId, index);
        e.records = cut.records;
        e.acquiredRecords = acquired;
        for (const a of acquired) recordsLeft -= a.lastOffset - a.firstOffset + 1;
        const n = recordsLength(cut.records);
        bytesLeft -= n;
        ctx.metrics.topicOut(partition.topic.name, n);
        answered = true;
      } catch (err) {
        const e = answers.get(topicId, index);
        e.errorCode = storageErrorCode(err);
        e.errorMessage = 'The partition could not be read.';
        answered = true;
      }
    }
    const remaining = deadline - Date.now();
    if (answered || remaining <= 0 || ctx.session.closed || ctx.cluster.closing || session.epoch !== myEpoch || shares.sessions.get(sessionKeyOf(session)) !== session) return;
    if (again && retries++ < 3) continue;
    await park(ctx, session, remaining);
  }
}

function sessionKeyOf(s: ShareSession): string {
  return `${s.groupId}\0${s.memberId}`;
}

/**
 * The batches of `chunks` from the first on, stopping once they hold `maxRecords` offsets
 * from `from` and before any batch at or past `end`; `last` is the last offset they hold
 * (-1 for none). Batches stay the stored bytes (views into the chunks).
 */
export function cutBatches(chunks: readonly Buffer[], maxRecords: number, from: number, end: number): { records: Buffer[]; last: number } {
  const records: Buffer[] = [];
  let last = -1;
  for (const chunk of chunks) {
    let pos = 0;
    let stop = false;
    while (pos + BATCH_HEADER_SIZE <= chunk.length) {
      const base = baseOffset(chunk, pos);
      if (base >= end || (last >= from && last - from + 1 >= maxRecords)) {
        stop = true;
        break;
      }
      last = base + lastOffsetDelta(chunk, pos);
      pos += batchSize(chunk, pos);
    }
    if (pos > 0) records.push(pos === chunk.length ? chunk : chunk.subarray(0, pos));
    if (stop) break;
  }
  return { records, last };
}

/** A ShareFetch parked until its partitions change, its connection closes, a newer request of its session arrives or its wait is over. */
class ParkedShareFetch implements Waiter {
  finished = false;
  private readonly timer: NodeJS.Timeout;
  private readonly parkedAt = performance.now();

  constructor(
    private readonly ctx: RequestContext,
    ms: number,
    private readonly resolve: () => void,
  ) {
    this.timer = setTimeout(() => this.wake(), ms);
  }

  wake(): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.parkedMs += performance.now() - this.parkedAt;
    clearTimeout(this.timer);
    this.resolve();
  }
}

function park(ctx: RequestContext, session: ShareSession, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const parked = new ParkedShareFetch(ctx, ms, resolve);
    for (const [topicId, index] of session.partitions.values()) ctx.topics.byId.get(topicId)?.partitions[index]?.waiters.add(parked);
    ctx.session.closeWaiters.add(parked);
    session.parked = parked;
  });
}

function errorCodes(res: ShareFetchResponse, visit: (code: number) => void): void {
  visit(res.errorCode);
  for (const t of res.responses) {
    for (const p of t.partitions) {
      visit(p.errorCode);
      visit(p.acknowledgeErrorCode);
    }
  }
}

function memoryEstimate(req: ShareFetchRequest, config: { fetchMaxBytes: number }): number {
  return Math.max(0, Math.min(req.maxBytes > 0 ? req.maxBytes : config.fetchMaxBytes, config.fetchMaxBytes));
}

export const shareFetch: HandlerEntry<ShareFetchRequest, ShareFetchResponse> = { codec: shareFetchServer, minVersion: 1, maxVersion: 2, handle, errorCodes, memoryEstimate };
