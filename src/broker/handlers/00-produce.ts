// Produce (key 0), v3-12 (record batch v2 only, the format of every current client; v12
// tells the broker the producer uses transaction version 2, which adds partitions to its
// transaction implicitly).
//
// Each partition's data is checked (lengths, magic, CRC32C, max.message.bytes), then,
// for idempotent producers, its sequence, and for transactional ones, that the producer's
// transaction is open and holds the partition; then it is appended as the bytes that arrived
// and the base offset is stamped in place. Appends for one request happen in one turn,
// so partition order follows request order. The answer waits according to acks and the
// fsync policy: acks=0 gets none, acks=1 waits for the write, acks=all also for fsync.
// A topic whose cleanup.policy holds compact refuses records without a key (INVALID_RECORD).
// ACLs: WRITE on each topic (TOPIC_AUTHORIZATION_FAILED, checked before the topic is looked up
// or auto-created, which needs CREATE too) and, for a transactional producer, WRITE on its
// transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition). Transactional
// batches need the request's transactional id (the same error without one, ACLs on or off), and
// their producer id must be the one that id holds (INVALID_PRODUCER_ID_MAPPING otherwise).
//
// Order: the appends of a connection's Produce requests happen in request order. A request may
// wait before its appends (a topic auto-created, a compacted topic's keys read, the transaction
// coordinator adding a partition), and the connection dispatches the requests pipelined behind
// it meanwhile; without the turn below, a later request of the same producer could be appended
// first (a TV2 producer's second batch to a partition while its first request waits for the
// coordinator to add another partition), and the earlier batch would then be refused as out of
// sequence. Kafka reads one request per connection at a time; here only the appends wait.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ProduceRequest, ProduceResponse, ProduceResponsePartitionProduceResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { batchSize, hasTransactionalBatch, validateBatches, stampLogAppendTime, type BatchesSummary } from '../../protocol/record-batch.js';
import { DataError, firstKeylessRecord, recordsSection } from '../../protocol/records.js';
import { FsyncPolicy } from '../config.js';
import { findOrCreateTopic, storageErrorCode } from './common.js';
import { AclOperation, ResourceType } from '../acl/acl.js';
import type { Partition, Topic } from '../topics.js';
import type { Session } from '../session.js';
import { produceServer } from '../../protocol/generated/produce.js';

function partitionResponse(index: number, errorCode: number, baseOffset: number, logStartOffset: number, errorMessage: string | null): ProduceResponsePartitionProduceResponse {
  return { index, errorCode, baseOffset, logAppendTimeMs: -1, logStartOffset, recordErrors: [], errorMessage };
}

/** Per connection, settles once the appends of every Produce request dispatched so far are done (or refused). */
const appendTurns = new WeakMap<Session, Promise<void>>();

/**
 * Takes this request's place in its connection's append order: `ready` settles when the
 * requests before it have appended (null when none is in progress: nothing to wait for, not
 * even a turn); `done()` lets the next one go.
 */
function takeTurn(session: Session): { ready: Promise<void> | null; done: () => void } {
  const ready = appendTurns.get(session) ?? null;
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  // The next request waits for this one and, through it, for every earlier one.
  const tail = ready === null ? mine : ready.then(() => mine);
  appendTurns.set(session, tail);
  void tail.then(() => {
    if (appendTurns.get(session) === tail) appendTurns.delete(session);
  });
  return { ready, done };
}

async function handle(ctx: RequestContext, req: ProduceRequest): Promise<ProduceResponse | null> {
  const turn = takeTurn(ctx.session);
  try {
    return await handleInTurn(ctx, req, turn.ready, turn.done);
  } finally {
    turn.done();
  }
}

async function handleInTurn(ctx: RequestContext, req: ProduceRequest, ready: Promise<void> | null, done: () => void): Promise<ProduceResponse | null> {
  const acks = req.acks;
  ctx.metrics.produceRequest(acks);
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    // Refused before anything else happens: no topic is auto-created for a request that cannot be served.
    const message = `acks must be -1, 0 or 1, not ${acks}`;
    const responses = req.topicData.map((td) => ({ name: td.name, partitionResponses: td.partitionData.map((pd) => partitionResponse(pd.index, ErrorCode.INVALID_REQUIRED_ACKS, -1, -1, message)) }));
    return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
  }
  // As Kafka: a request holding a transactional batch needs a transactional id the principal may
  // WRITE, ACLs on or off (without one the batch could be steered into another producer's
  // transaction by its producer id). Only batch headers are read.
  const transactionalRecords = req.topicData.some((td) => td.partitionData.some((pd) => hasTransactionalBatch(pd.records as Buffer | null)));
  if ((transactionalRecords && req.transactionalId == null) || (req.transactionalId != null && !ctx.authorize(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId))) {
    if (acks === 0) return null;
    const responses = req.topicData.map((td) => ({ name: td.name, partitionResponses: td.partitionData.map((pd) => partitionResponse(pd.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1, null)) }));
    return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
  }
  // Topics that are missing are created (or refused) first; every append then happens in one turn.
  // Topics by name: v3-11 (what we serve) name them; v13 names them by topic id instead.
  const topics = new Map<string, Topic | number>();
  for (const t of req.topicData) {
    const name = t.name ?? '';
    if (topics.has(name)) continue;
    if (!ctx.authorize(AclOperation.WRITE, ResourceType.TOPIC, name)) {
      topics.set(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      continue;
    }
    const existing = ctx.topics.byName.get(name);
    topics.set(name, existing ?? -1);
  }
  for (const [name, t] of topics) {
    if (t === -1) {
      const found = await findOrCreateTopic(ctx, name, true);
      topics.set(name, found.topic ?? found.error);
    }
  }

  // Each partition's data is checked first; transactional data is then checked with the
  // transaction coordinator (which, for Produce v12+, adds the partition to the transaction);
  // every append then happens in one turn.
  const checked: Checked[] = [];
  const responses = req.topicData.map((td) => {
    const topic = topics.get(td.name ?? '')!;
    return {
      name: td.name,
      partitionResponses: td.partitionData.map((pd) => {
        if (typeof topic === 'number') return partitionResponse(pd.index, topic, -1, -1, null);
        const partition = topic.partitions[pd.index];
        if (partition === undefined || topic.deleted) return partitionResponse(pd.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, null);
        const res = partitionResponse(pd.index, ErrorCode.NONE, -1, partition.log.logStartOffset, null);
        const c = checkPartition(ctx, topic, partition, pd.records as Buffer | null, res);
        if (c !== null) checked.push(c);
        return res;
      }),
    };
  });
  // A compacted topic keeps the latest record per key, so a record without one is refused
  // (Kafka's INVALID_RECORD). Only these topics read record headers; compressed batches are
  // inflated off the event loop first.
  let compacted: Checked[] | null = null;
  for (const c of checked) if (c.topic.compacted) (compacted ??= []).push(c);
  if (compacted !== null) {
    await Promise.all(
      compacted.map(async (c) => {
        const problem = await keylessProblem(c.records, ctx.config.decompressedBatchMaxBytes);
        if (problem !== null) c.refused = refuse(ctx, c, problem.code, problem.message);
      }),
    );
  }
  const transactional = checked.filter((c) => c.summary.transactional && !c.refused);
  if (transactional.length > 0) {
    await Promise.all(
      transactional.map(async (c) => {
        const s = c.summary;
        const r = await ctx.txns.checkProduce(req.transactionalId!, s.producerId, s.producerEpoch, c.topic.name, c.partition.index, ctx.version >= 12);
        if (r.code !== ErrorCode.NONE) c.refused = refuse(ctx, c, r.code, r.message);
      }),
    );
  }
  // The requests dispatched before this one on the connection append first; then this one's
  // appends all happen in one turn (a topic deleted meanwhile is skipped).
  if (ready !== null) await ready;
  const waits: Promise<void>[] = [];
  for (const c of checked) {
    if (c.refused || c.topic.deleted) continue;
    const wait = appendPartition(ctx, c, acks);
    if (wait !== null) waits.push(wait);
  }
  done();
  if (waits.length > 0) await Promise.all(waits);
  if (acks === 0) return null;
  return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
}

/** A partition's data that passed the checks, on its way to the log. */
interface Checked {
  topic: Topic;
  partition: Partition;
  records: Buffer;
  summary: BatchesSummary;
  res: ProduceResponsePartitionProduceResponse;
  refused: boolean;
}

function refuse(ctx: RequestContext, c: { topic: Topic; partition: Partition; res: ProduceResponsePartitionProduceResponse }, code: number, message: string | null): true {
  c.res.errorCode = code;
  c.res.errorMessage = message;
  if (message) ctx.logger.debug('produce refused', { topic: c.topic.name, partition: c.partition.index, error: message });
  return true;
}

/** Checks one partition's data (framing, CRC, sizes, idempotent sequences); fills `res` and returns null when refused. */
function checkPartition(ctx: RequestContext, topic: Topic, partition: Partition, records: Buffer | null, res: ProduceResponsePartitionProduceResponse): Checked | null {
  const fail = (code: number, message: string | null): null => {
    refuse(ctx, { topic, partition, res }, code, message);
    return null;
  };
  if (records === null || records.length === 0) return fail(ErrorCode.INVALID_RECORD, 'the partition has no record data');
  const maxBytes = topic.maxMessageBytes;
  const s = validateBatches(records, ctx.config.decompressedBatchMaxBytes);
  if (s.error !== ErrorCode.NONE) return fail(s.error, s.reason);
  if (s.largestBatch > maxBytes) {
    return fail(ErrorCode.MESSAGE_TOO_LARGE, `a batch is ${s.largestBatch} bytes, more than max.message.bytes ${maxBytes}`);
  }
  // KIP-937, as Kafka 4: a CreateTime record too far ahead of the broker clock is refused. Each
  // batch header's maxTimestamp is its newest record's, so no record needs reading.
  if (!topic.logAppendTime && s.maxTimestamp > Date.now() + topic.timestampAfterMaxMs) {
    return fail(ErrorCode.INVALID_TIMESTAMP, `a record's timestamp ${s.maxTimestamp} is more than message.timestamp.after.max.ms (${topic.timestampAfterMaxMs} ms) ahead of the broker clock; check the producer's clock, or raise the topic config`);
  }
  if (s.transactional && s.producerId < 0) return fail(ErrorCode.INVALID_RECORD, 'a transactional batch must carry a producer id');
  return { topic, partition, records, summary: s, res, refused: false };
}

/** Why a compacted topic refuses these batches (a record without a key, or records that do not decode), or null. */
async function keylessProblem(records: Buffer, maxInflated: number): Promise<{ code: number; message: string } | null> {
  for (let p = 0; p < records.length; ) {
    const size = batchSize(records, p);
    const batch = records.subarray(p, p + size);
    try {
      const delta = firstKeylessRecord(batch, await recordsSection(batch, maxInflated));
      if (delta >= 0) {
        return { code: ErrorCode.INVALID_RECORD, message: `Compacted topic cannot accept message without key in topic partition (record ${delta} of the batch at byte ${p} has a null key); give every record a key, or use cleanup.policy=delete` };
      }
    } catch (e) {
      if (e instanceof DataError) return { code: e.kafkaCode, message: e.message };
      throw e;
    }
    p += size;
  }
  return null;
}

/** Appends one partition's batches and fills `res`; returns what the answer must wait for. */
function appendPartition(ctx: RequestContext, c: Checked, acks: number): Promise<void> | null {
  const { topic, partition, records, summary: s, res } = c;
  const idempotent = s.producerId >= 0 && s.baseSequence >= 0;
  if (idempotent) {
    // Checked in the turn of the append, so no other batch of this producer slips in between.
    const check = partition.producers.check(s.producerId, s.producerEpoch, s.baseSequence, s.lastSequence);
    if (check.kind === 'duplicate') {
      res.baseOffset = check.baseOffset;
      return null;
    }
    if (check.kind === 'error') {
      refuse(ctx, c, check.code, check.message);
      return null;
    }
  }
  if (topic.logAppendTime) {
    const now = Date.now();
    stampLogAppendTime(records, now);
    res.logAppendTimeMs = now;
  }
  const log = partition.log;
  let appended: ReturnType<typeof log.append>;
  try {
    appended = log.append(records);
  } catch (e) {
    refuse(ctx, c, storageErrorCode(e), `the append was refused: ${(e as Error).message}`);
    return null;
  }
  res.baseOffset = appended.baseOffset;
  ctx.metrics.topicIn(topic.name, records.length);
  ctx.metrics.produceBatchBytes.observe(records.length);

  const policy = ctx.config.fsync;
  const needsFsync = (acks === -1 && policy !== FsyncPolicy.never) || (acks === 1 && policy === FsyncPolicy.always);
  const done = appended.written.then(() => (needsFsync ? log.flush() : undefined));
  const guarded = done.catch((e: Error) => {
    res.errorCode = storageErrorCode(e);
    res.errorMessage = `the append could not be stored: ${e.message}`;
    res.baseOffset = -1;
    ctx.logger.error('append failed', { topic: topic.name, partition: partition.index, error: e });
  });
  return acks === 0 ? (guarded.catch(() => undefined), null) : guarded;
}

function errorCodes(res: ProduceResponse, visit: (code: number) => void): void {
  for (const t of res.responses) for (const p of t.partitionResponses) visit(p.errorCode);
}

export const produce: HandlerEntry<ProduceRequest, ProduceResponse> = { codec: produceServer, minVersion: 3, maxVersion: 12, handle, errorCodes };
