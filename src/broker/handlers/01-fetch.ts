// Fetch (key 1), v4-17. Returns whole stored batches, as the bytes on disk, starting with
// the batch that holds the requested offset; the answer stays within the request's and
// each partition's byte limits, except that the first batch of the first partition with
// data is returned whole, however large, so a consumer always progresses (KIP-74). With fewer than minBytes
// ready, the request parks on its partitions and is woken by the append itself, or
// answered when maxWaitMs runs out. Fetch sessions (KIP-227) are not kept: every answer
// carries session id 0, which tells clients to send full fetches.
//
// read_committed fetches (isolation level 1) stop at the last stable offset (the first offset
// of the oldest open transaction) and carry the aborted transactions in the range they
// return, so the client drops those records; control batches go out like any batch.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { FetchRequest, FetchResponse, FetchResponsePartitionData, FetchResponseFetchableTopicResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { recordsLength } from '../../protocol/writer.js';
import type { Partition } from '../topics.js';
import type { Waiter } from '../wait-list.js';
import { storageErrorCode } from './common.js';
import { fetchServer } from '../../protocol/generated/fetch.js';
import { BATCH_HEADER_SIZE, baseOffset, batchSize, lastOffsetDelta } from '../../protocol/record-batch.js';

interface Item {
  partition: Partition | null;
  fetchOffset: number;
  maxBytes: number;
  res: FetchResponsePartitionData;
  /** The end seen by the last read (high watermark, or last stable offset for read_committed), to notice appends that raced with it. */
  seenEnd: number;
}

const NO_RECORDS: readonly Buffer[] = [];

function emptyPartition(index: number, errorCode: number): FetchResponsePartitionData {
  return {
    partitionIndex: index,
    errorCode,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    // Tagged fields left out of the answer (their defaults); undefined rather than a default
    // object, so the encoder need not compare them field by field for every partition.
    divergingEpoch: undefined,
    currentLeader: undefined,
    snapshotId: undefined,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: NO_RECORDS,
  };
}

async function handle(ctx: RequestContext, req: FetchRequest): Promise<FetchResponse> {
  const version = ctx.version;
  const items: Item[] = [];
  const responses: FetchResponseFetchableTopicResponse[] = req.topics.map((t) => {
    const topic = version >= 13 ? ctx.topics.byId.get(t.topicId ?? ZERO_UUID) : ctx.topics.byName.get(t.topic ?? '');
    const missingCode = version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return {
      topic: t.topic ?? topic?.name ?? '',
      topicId: t.topicId ?? ZERO_UUID,
      partitions: t.partitions.map((p) => {
        const partition = topic?.partitions[p.partition];
        let code: number = ErrorCode.NONE;
        if (partition === undefined) code = missingCode;
        else if ((p.currentLeaderEpoch ?? -1) > 0) code = ErrorCode.UNKNOWN_LEADER_EPOCH;
        const res = emptyPartition(p.partition, code);
        if (partition !== undefined && code === ErrorCode.NONE) {
          items.push({ partition, fetchOffset: p.fetchOffset, maxBytes: Math.min(p.partitionMaxBytes, ctx.config.fetchMaxBytes), res, seenEnd: -1 });
        }
        return res;
      }),
    };
  });
  const response: FetchResponse = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses, nodeEndpoints: [] };
  const refused = items.length === 0 || responses.some((t) => t.partitions.some((p) => p.errorCode !== ErrorCode.NONE));
  const readCommitted = req.isolationLevel === READ_COMMITTED;
  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  const minBytes = Math.max(1, req.minBytes);
  for (;;) {
    const { bytes, errors } = await readAll(items, Math.min(req.maxBytes ?? 0x7fffffff, ctx.config.fetchMaxBytes), readCommitted);
    const remaining = deadline - Date.now();
    if (bytes >= minBytes || errors || refused || remaining <= 0 || ctx.session.closed || ctx.cluster.closing) {
      for (const it of items) {
        const n = recordsLength(it.res.records!);
        if (n > 0) ctx.metrics.topicOut(it.partition!.topic.name, n);
      }
      return response;
    }
    if (items.some((it) => visibleEnd(it.partition!, readCommitted) !== it.seenEnd || it.partition!.topic.deleted)) continue;
    await waitForAppend(ctx, items, remaining);
  }
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
async function readAll(items: Item[], maxBytes: number, readCommitted: boolean): Promise<{ bytes: number; errors: boolean }> {
  let errors = false;
  const toRead: Item[] = [];
  for (const it of items) {
    const log = it.partition!.log;
    const res = it.res;
    const hw = log.highWatermark;
    const lso = log.lastStableOffset;
    it.seenEnd = readCommitted ? lso : hw;
    res.highWatermark = hw;
    res.lastStableOffset = lso;
    res.logStartOffset = log.logStartOffset;
    res.records = NO_RECORDS;
    res.abortedTransactions = null;
    if (it.partition!.topic.deleted) {
      res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      errors = true;
    } else if (it.fetchOffset < log.logStartOffset || it.fetchOffset > log.logEndOffset) {
      res.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
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
              it.res.abortedTransactions = log.abortedTransactions(it.fetchOffset, end).map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
            }
            reserved += recordsLength(batches) - budget;
          },
          (e: unknown) => {
            reserved -= budget;
            // The range moved under us (retention, DeleteRecords) or the disk failed.
            it.res.errorCode = it.fetchOffset < log.logStartOffset ? ErrorCode.OFFSET_OUT_OF_RANGE : storageErrorCode(e);
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
    if (total > 0 && total + n > maxBytes) continue;
    toRead[i]!.res.records = batches;
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

function waitForAppend(ctx: RequestContext, items: Item[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const parked = new ParkedFetch(ctx, ms, resolve);
    for (const it of items) it.partition!.waiters.add(parked);
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
