// Log compaction's copy work: one pass over a partition's cleanable segments, run in the
// cleaner worker thread (cleaner-worker.ts) so decompressing, filtering and writing never
// hold the event loop. The log plans the pass and swaps the results in (partition-log.ts);
// this file only reads segment files and writes `<name>.cleaned` files beside them.
//
// The pass, as Kafka's cleaner does it:
// 1. Offset map: for every record with a key in the dirty segments (those not cleaned
//    before), the offset of its latest record. Aborted transactional data and control
//    batches are not values, so they are left out.
// 2. Each segment from the first to the end of the cleanable range is filtered with that
//    map: a record is dropped when a later record has its key; a tombstone (null value) and
//    a transaction marker whose transaction kept no data are dropped once delete.retention.ms
//    has passed since the pass that first cleaned their segment; aborted transactional
//    batches are dropped. Records without a key cannot be compacted and are kept.
// 3. Batches keep their base offset and lastOffsetDelta, so offsets never move (gaps are
//    normal). A batch losing some records is rebuilt from the kept records' bytes and
//    compressed again with its codec. A batch losing all of them goes, unless it is its
//    producer's last in the range: its header stays, empty, so the producer's sequence and
//    epoch survive in the log as Kafka keeps them.
// 4. A segment that changed is written as `<base>.log.cleaned` with its indexes
//    (`.index.cleaned`, `.timeindex.cleaned`, `.txnindex.cleaned`), all fsynced; its
//    modification time records when it was first cleaned (the tombstone clock).
//
// The worker uses node:fs directly rather than the log's FileOps: it runs in another
// thread, and what it writes is invisible until the log's swap (which goes through FileOps).

import { open, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Attr, BATCH_HEADER_SIZE, LOG_OVERHEAD, Off, attributes, baseOffset, batchSize, computeCrc, lastOffsetDelta, producerId } from '../protocol/record-batch.js';
import { DataError, DataErrorCode, compress } from '../protocol/compression.js';
import { forEachRecordIn, recordsSection } from '../protocol/records.js';
import { FileSuffix, Segment, segmentFileName } from './segment.js';
import { txnIndexToBuffer, type AbortedTxnEntry } from './txn-index.js';
import type { AbortedTransaction } from './log.js';

/** Suffix of the files a pass writes; the swap renames them over the segment's own. */
export const CLEANED_SUFFIX = '.cleaned';
/** The files of a segment a pass rewrites (the producer snapshot stays as it is). */
export const CLEANED_FILES: readonly string[] = [FileSuffix.log, FileSuffix.index, FileSuffix.timeIndex, FileSuffix.txnIndex];

export interface CleanSegment {
  base: number;
  /** Base offset of the next segment: this one's offsets end below it. */
  nextBase: number;
  size: number;
  /** When it was first cleaned (or last written, if never cleaned): the tombstone clock. */
  mtimeMs: number;
  /** Not cleaned by an earlier pass: its keys go into the offset map. */
  dirty: boolean;
  aborted: AbortedTxnEntry[];
}

export interface CleanJob {
  dir: string;
  /** Oldest first, back to back; the last one's nextBase is the end of the cleanable range. */
  segments: CleanSegment[];
  /** Aborted transactions with data in the range (from every later segment's index). */
  aborted: AbortedTransaction[];
  now: number;
  deleteRetentionMs: number;
  indexIntervalBytes: number;
  /**
   * Most keys the offset map holds (it bounds the thread's memory, as Kafka's
   * log.cleaner.dedupe.buffer.size does): once a dirty segment takes it past this, the pass
   * ends with that segment and the next pass goes on from there.
   */
  maxKeys: number;
}

export interface CleanedSegment {
  base: number;
  sizeBefore: number;
  size: number;
  offsetIndex: Uint8Array;
  timeIndex: Uint8Array;
  aborted: AbortedTxnEntry[];
  mtimeMs: number;
}

export interface CleanResult {
  /** Where this pass's range ended: the job's end, or earlier when the offset map filled up. */
  cleanEnd: number;
  /** Segments written as `.cleaned` files, to be swapped in. */
  cleaned: CleanedSegment[];
  /** Dirty segments that needed no change: their clock now starts (their mtime is `now`). */
  touched: number[];
  /** Records dropped, for the broker's log. */
  recordsRemoved: number;
}

const READ_CHUNK = 1024 * 1024;
const WRITE_CHUNK = 1024 * 1024;

export async function runClean(job: CleanJob): Promise<CleanResult> {
  const abortedBy = new Map<number, AbortedTransaction[]>();
  for (const a of job.aborted) {
    const list = abortedBy.get(a.producerId);
    if (list === undefined) abortedBy.set(a.producerId, [a]);
    else list.push(a);
  }
  const isAborted = (pid: number, offset: number): boolean => {
    const list = abortedBy.get(pid);
    return list !== undefined && list.some((a) => offset >= a.firstOffset && offset <= a.lastOffset);
  };
  const latest = new Map<string, number>();
  const lastBatchOf = new Map<number, number>();
  let segments = job.segments;
  for (const [i, seg] of job.segments.entries()) {
    await forEachBatch(job.dir, seg, async (batch) => {
      const attrs = attributes(batch, 0);
      const pid = producerId(batch, 0);
      const isControl = (attrs & Attr.control) !== 0;
      if (pid >= 0 && !isControl) lastBatchOf.set(pid, baseOffset(batch, 0) + lastOffsetDelta(batch, 0));
      if (!seg.dirty || isControl) return;
      if ((attrs & Attr.transactional) !== 0 && isAborted(pid, baseOffset(batch, 0))) return;
      forEachRecordIn(batch, await recordsSection(batch), (r) => {
        if (r.key !== null) latest.set(r.key.toString('latin1'), r.offset);
      });
    });
    if (seg.dirty && latest.size >= job.maxKeys && i + 1 < job.segments.length) {
      segments = job.segments.slice(0, i + 1);
      break;
    }
  }

  const result: CleanResult = { cleanEnd: segments[segments.length - 1]!.nextBase, cleaned: [], touched: [], recordsRemoved: 0 };
  // Whether the open transaction of a producer kept any data so far (its marker must stay then).
  const txnKept = new Map<number, boolean>();
  for (const seg of segments) {
    const horizonPassed = !seg.dirty && seg.mtimeMs <= job.now - job.deleteRetentionMs;
    const out: Buffer[] = [];
    const droppedMarkers = new Set<number>();
    let changed = false;
    await forEachBatch(job.dir, seg, async (batch) => {
      const attrs = attributes(batch, 0);
      const pid = producerId(batch, 0);
      const base = baseOffset(batch, 0);
      const last = base + lastOffsetDelta(batch, 0);
      if ((attrs & Attr.control) !== 0) {
        const kept = txnKept.get(pid) ?? false;
        txnKept.delete(pid);
        if (horizonPassed && !kept) {
          droppedMarkers.add(last);
          changed = true;
          return;
        }
        out.push(batch);
        return;
      }
      const transactional = (attrs & Attr.transactional) !== 0;
      if (transactional && isAborted(pid, base)) {
        changed = true;
        result.recordsRemoved += batch.readInt32BE(Off.recordsCount);
        return;
      }
      const section = await recordsSection(batch);
      const keep: Array<[number, number]> = [];
      let total = 0;
      forEachRecordIn(batch, section, (r) => {
        total++;
        if (r.key !== null) {
          const newest = latest.get(r.key.toString('latin1'));
          if (newest !== undefined && r.offset < newest) return;
          if (r.value === null && horizonPassed) return;
        }
        keep.push([r.start, r.end]);
      });
      if (keep.length === total) {
        out.push(batch);
        // An empty batch (a producer's sequence kept by an earlier pass) is no data of its transaction.
        if (transactional && total > 0) txnKept.set(pid, true);
        return;
      }
      changed = true;
      result.recordsRemoved += total - keep.length;
      if (keep.length === 0) {
        if (pid >= 0 && lastBatchOf.get(pid) === last) out.push(emptyBatch(batch));
        return;
      }
      out.push(await rebuildBatch(batch, section, keep));
      if (transactional) txnKept.set(pid, true);
    });
    if (changed) {
      result.cleaned.push(await writeCleaned(job, seg, out, droppedMarkers));
    } else if (seg.dirty) {
      // Cleaned now, as is: the tombstone clock of this segment starts at this pass.
      await utimes(join(job.dir, segmentFileName(seg.base, FileSuffix.log)), job.now / 1000, job.now / 1000);
      result.touched.push(seg.base);
    }
  }
  if (result.cleaned.length > 0) await syncDir(job.dir);
  return result;
}

/** Calls `visit` with a copy of each whole batch of the segment, in order. */
async function forEachBatch(dir: string, seg: CleanSegment, visit: (batch: Buffer) => Promise<void>): Promise<void> {
  const fh = await open(join(dir, segmentFileName(seg.base, FileSuffix.log)), 'r');
  try {
    let filePos = 0;
    let chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(seg.size, BATCH_HEADER_SIZE)));
    while (filePos < seg.size) {
      const want = Math.min(chunk.length, seg.size - filePos);
      const { bytesRead } = await fh.read(chunk, 0, want, filePos);
      if (bytesRead < BATCH_HEADER_SIZE) throw new Error(`segment ${seg.base} ends at byte ${filePos + bytesRead} inside a batch header; it is ${seg.size} bytes`);
      let p = 0;
      const batches: Buffer[] = [];
      while (bytesRead - p >= BATCH_HEADER_SIZE) {
        const size = batchSize(chunk, p);
        if (size < BATCH_HEADER_SIZE) throw new Error(`segment ${seg.base}: batch length ${size} at byte ${filePos + p}`);
        if (size > bytesRead - p) break;
        batches.push(Buffer.from(chunk.subarray(p, p + size)));
        p += size;
      }
      if (p === 0) {
        // One batch larger than the chunk: read it whole next time round, unless it runs past
        // the segment's end (a torn or corrupt file), which no larger read can mend.
        const size = batchSize(chunk, 0);
        if (filePos + size > seg.size || size <= chunk.length) throw new Error(`segment ${seg.base}: the batch at byte ${filePos} declares ${size} bytes, past the segment's end at ${seg.size}`);
        chunk = Buffer.allocUnsafe(size);
        continue;
      }
      filePos += p;
      for (const b of batches) await visit(b);
    }
  } finally {
    await fh.close();
  }
}

/** The batch's header over the kept records' bytes, compressed again with its codec. */
async function rebuildBatch(batch: Buffer, section: Buffer, keep: Array<[number, number]>): Promise<Buffer> {
  const raw = Buffer.concat(keep.map(([s, e]) => section.subarray(s, e)));
  let attrs = attributes(batch, 0);
  const codec = attrs & Attr.compressionMask;
  let records: Buffer = raw;
  if (codec !== 0) {
    try {
      records = await compress(codec, raw);
    } catch (err) {
      // zstd on a Node without it: the records are stored uncompressed, which every client reads.
      if (!(err instanceof DataError) || err.code !== DataErrorCode.unsupportedCodec) throw err;
      attrs &= ~Attr.compressionMask;
    }
  }
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + records.length);
  batch.copy(out, 0, 0, BATCH_HEADER_SIZE);
  records.copy(out, BATCH_HEADER_SIZE);
  out.writeInt32BE(out.length - LOG_OVERHEAD, Off.batchLength);
  out.writeInt16BE(attrs, Off.attributes);
  out.writeInt32BE(keep.length, Off.recordsCount);
  out.writeUInt32BE(computeCrc(out, 0, out.length), Off.crc);
  return out;
}

/** The batch's header with no records (uncompressed): keeps the producer's last sequence and epoch in the log. */
function emptyBatch(batch: Buffer): Buffer {
  const out = Buffer.from(batch.subarray(0, BATCH_HEADER_SIZE));
  out.writeInt32BE(BATCH_HEADER_SIZE - LOG_OVERHEAD, Off.batchLength);
  out.writeInt16BE(attributes(batch, 0) & ~Attr.compressionMask, Off.attributes);
  out.writeInt32BE(0, Off.recordsCount);
  out.writeUInt32BE(computeCrc(out, 0, out.length), Off.crc);
  return out;
}

async function writeCleaned(job: CleanJob, seg: CleanSegment, batches: Buffer[], droppedMarkers: Set<number>): Promise<CleanedSegment> {
  const index = new Segment(job.dir, seg.base);
  const path = (suffix: string): string => join(job.dir, segmentFileName(seg.base, suffix) + CLEANED_SUFFIX);
  const fh = await open(path(FileSuffix.log), 'w');
  let pos = 0;
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      await writeAll(fh, buf, pos);
      index.recordWritten(buf, 0, buf.length, pos, job.indexIntervalBytes);
      pos += buf.length;
      pending = [];
      pendingBytes = 0;
    };
    for (const b of batches) {
      pending.push(b);
      pendingBytes += b.length;
      if (pendingBytes >= WRITE_CHUNK) await flush();
    }
    await flush();
    await fh.sync();
  } finally {
    await fh.close();
  }
  index.finishTimeIndex();
  const aborted = seg.aborted.filter((e) => !droppedMarkers.has(e.lastOffset));
  const offsetIndex = index.offsetIndex.toBuffer();
  const timeIndex = index.timeIndex.toBuffer();
  await writeSynced(path(FileSuffix.index), offsetIndex);
  await writeSynced(path(FileSuffix.timeIndex), timeIndex);
  await writeSynced(path(FileSuffix.txnIndex), txnIndexToBuffer(aborted));
  // A segment cleaned for the first time starts its tombstone clock now; one cleaned before keeps its time.
  const mtimeMs = seg.dirty ? job.now : seg.mtimeMs;
  await utimes(path(FileSuffix.log), mtimeMs / 1000, mtimeMs / 1000);
  return { base: seg.base, sizeBefore: seg.size, size: pos, offsetIndex, timeIndex, aborted, mtimeMs };
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write made no progress at byte ${position + done}`);
    done += bytesWritten;
  }
}

async function writeSynced(path: string, data: Buffer): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await writeAll(fh, data, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
