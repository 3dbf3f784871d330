// Opening a partition directory: find the segments, restore the log start offset, validate
// the tail and rebuild what a crash may have damaged.
//
// Why only the last segment is scanned in full: the writer seals a segment (index files
// written, data fsynced) before the first byte goes to the next one, so after a crash every
// segment but the last is whole. The last one is read batch by batch (length, magic 2,
// contiguous offsets and, unless the previous shutdown was clean, CRC32C) and cut at the
// first batch that fails. Its indexes are rebuilt from that scan, so stale index files of
// the active segment never matter. Older segments keep their index files unless they are
// missing or fail the sanity checks, in which case they are rebuilt from a header scan.

import { join } from 'node:path';
import { baseSequence, producerEpoch, producerId, baseOffset as batchBaseOffset, batchSize, lastOffsetDelta, maxTimestamp } from '../protocol/record-batch.js';
import { CLEAN_SHUTDOWN_MARKER, LOG_START_CHECKPOINT, TEMP_SUFFIX, readLogStartOffset, replaceFile } from './checkpoint.js';
import { ioError } from './errors.js';
import { OpenMode, type FileOps } from './file-ops.js';
import type { LogConfig } from './log-config.js';
import { OffsetIndex } from './offset-index.js';
import { FileSuffix, Segment, parseSegmentFileName, scanSegment } from './segment.js';
import { TimeIndex } from './time-index.js';

/** A batch with a producer id found while scanning, for rebuilding idempotent producer state. */
export interface RecoveredProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastSequence: number;
  baseOffset: number;
  lastOffset: number;
}

/** Kafka keeps the last five batches per producer for duplicate detection. */
export const PRODUCER_BATCHES_KEPT = 5;

export interface RecoveredLog {
  segments: Segment[];
  logStartOffset: number;
  producerBatches: RecoveredProducerBatch[];
  /** What recovery found and did, one sentence each, for the broker's log. */
  notes: string[];
}

export async function recoverLog(dir: string, ops: FileOps, config: LogConfig, now: number): Promise<RecoveredLog> {
  const notes: string[] = [];
  try {
    await ops.mkdir(dir);
  } catch (err) {
    throw ioError(`creating partition directory ${dir}`, err);
  }
  let names: string[];
  try {
    names = await ops.readdir(dir);
  } catch (err) {
    throw ioError(`listing partition directory ${dir}`, err);
  }
  const clean = names.includes(CLEAN_SHUTDOWN_MARKER);
  const bases: number[] = [];
  const logNames = new Set<string>();
  for (const name of names) {
    const base = parseSegmentFileName(name);
    if (base >= 0) {
      bases.push(base);
      logNames.add(name.slice(0, 20));
    }
  }
  bases.sort((a, b) => a - b);
  // Leftovers of an interrupted checkpoint write, and index files whose segment is gone
  // (a crash between unlinking a segment's files), are removed so they cannot be mistaken later.
  for (const name of names) {
    const orphanIndex = (name.endsWith(FileSuffix.index) || name.endsWith(FileSuffix.timeIndex)) && !logNames.has(name.slice(0, 20));
    if (name.endsWith(TEMP_SUFFIX) || orphanIndex) {
      await ops.unlink(join(dir, name)).catch(() => undefined);
    }
  }

  const checkpoint = await readLogStartOffset(ops, dir).catch((err: unknown) => {
    throw ioError(`reading ${LOG_START_CHECKPOINT} in ${dir}`, err);
  });
  if (checkpoint.problem !== '') notes.push(checkpoint.problem);

  // Segments wholly below the stored start offset: a crash came after the checkpoint was
  // written and before their files were unlinked. Finish the job (never the last segment).
  while (bases.length > 1 && checkpoint.offset >= bases[1]!) {
    const base = bases.shift()!;
    const seg = new Segment(dir, base);
    await Promise.all([ops.unlink(seg.logPath), ops.unlink(seg.indexPath), ops.unlink(seg.timeIndexPath)]).catch(() => undefined);
    notes.push(`removed segment ${base}, below the log start offset ${checkpoint.offset}`);
  }

  const segments: Segment[] = [];
  if (bases.length === 0) bases.push(Math.max(0, checkpoint.offset));
  for (let i = 0; i < bases.length - 1; i++) {
    segments.push(await loadSealedSegment(dir, ops, config, bases[i]!, bases[i + 1]!, notes));
  }
  const producers = new Map<number, RecoveredProducerBatch[]>();
  segments.push(await recoverLastSegment(dir, ops, config, bases[bases.length - 1]!, !clean, now, producers, notes));

  const last = segments[segments.length - 1]!;
  let logStartOffset = Math.max(checkpoint.offset, segments[0]!.baseOffset);
  if (logStartOffset > last.writtenNextOffset) {
    notes.push(`log start offset ${logStartOffset} is past the recovered log end ${last.writtenNextOffset}; lowered to it`);
    logStartOffset = last.writtenNextOffset;
  }

  if (clean) {
    // Removed before any append can land, so a crash from here on is seen as one.
    try {
      await ops.unlink(join(dir, CLEAN_SHUTDOWN_MARKER));
      await ops.syncDir(dir);
    } catch (err) {
      throw ioError(`removing the clean-shutdown marker in ${dir}`, err);
    }
  }

  const producerBatches: RecoveredProducerBatch[] = [];
  for (const list of producers.values()) producerBatches.push(...list);
  producerBatches.sort((a, b) => a.baseOffset - b.baseOffset);
  return { segments, logStartOffset, producerBatches, notes };
}

/** A segment before the last: trusted to be whole; its index files are loaded or rebuilt. */
async function loadSealedSegment(dir: string, ops: FileOps, config: LogConfig, base: number, nextBase: number, notes: string[]): Promise<Segment> {
  const seg = new Segment(dir, base);
  try {
    const st = await ops.stat(seg.logPath);
    const size = st === null ? 0 : st.size;
    const relLimit = nextBase - base;
    const [indexBuf, timeBuf] = await Promise.all([ops.readFile(seg.indexPath), ops.readFile(seg.timeIndexPath)]);
    const offsetIndex = indexBuf === null ? null : OffsetIndex.parse(indexBuf, relLimit, size);
    const timeIndex = timeBuf === null ? null : TimeIndex.parse(timeBuf, relLimit);
    seg.size = size;
    seg.writtenSize = size;
    seg.nextOffset = nextBase;
    seg.writtenNextOffset = nextBase;
    seg.lastModifiedMs = st === null ? 0 : st.mtimeMs;
    seg.sealed = true;
    if (offsetIndex !== null && timeIndex !== null) {
      seg.offsetIndex = offsetIndex;
      seg.timeIndex = timeIndex;
      seg.maxTimestamp = timeIndex.lastTimestamp();
      seg.offsetOfMaxTimestamp = timeIndex.length === 0 ? -1 : base + timeIndex.lastRelOffset();
      return seg;
    }
    const which = [offsetIndex === null ? (indexBuf === null ? 'missing .index' : 'damaged .index') : '', timeIndex === null ? (timeBuf === null ? 'missing .timeindex' : 'damaged .timeindex') : '']
      .filter((s) => s !== '')
      .join(' and ');
    seg.file = await ops.open(seg.logPath, OpenMode.read);
    const scan = await scanSegment(seg.file, size, base, false, (buf, pos, end, filePos) => {
      seg.recordWritten(buf, pos, end, filePos, config.indexIntervalBytes);
    });
    if (scan.problem !== '' || scan.nextOffset !== nextBase) {
      notes.push(`segment ${base} is damaged before its end (${scan.problem || `ends at offset ${scan.nextOffset}, next segment starts at ${nextBase}`}); offsets past the damage cannot be read`);
    }
    // Keep the bounds the file name order implies; reads past the damage fail with a clear error.
    seg.writtenSize = size;
    seg.size = size;
    seg.writtenNextOffset = nextBase;
    seg.nextOffset = nextBase;
    seg.finishTimeIndex();
    await replaceFile(ops, seg.indexPath, seg.offsetIndex.toBuffer());
    await replaceFile(ops, seg.timeIndexPath, seg.timeIndex.toBuffer());
    // Sealed segments are opened on demand by reads; rebuilding must not leave one open each.
    await seg.file.close();
    seg.file = null;
    notes.push(`segment ${base}: rebuilt index files (${which})`);
    return seg;
  } catch (err) {
    if (seg.file !== null) await seg.file.close().catch(() => undefined);
    throw ioError(`loading segment ${seg.logPath}`, err);
  }
}

/** The active segment: scanned batch by batch, cut at the first torn or corrupt batch. */
async function recoverLastSegment(
  dir: string,
  ops: FileOps,
  config: LogConfig,
  base: number,
  verifyCrc: boolean,
  now: number,
  producers: Map<number, RecoveredProducerBatch[]>,
  notes: string[],
): Promise<Segment> {
  const seg = new Segment(dir, base);
  try {
    const st = await ops.stat(seg.logPath);
    if (st === null) return seg; // created by the writer on the first append
    seg.file = await ops.open(seg.logPath, OpenMode.readWrite);
    const size = await seg.file.size();
    let firstTimestamp = -1;
    const scan = await scanSegment(seg.file, size, base, verifyCrc, (buf, pos, end, filePos) => {
      if (firstTimestamp < 0 && pos < end) firstTimestamp = maxTimestamp(buf, pos);
      seg.recordWritten(buf, pos, end, filePos, config.indexIntervalBytes);
      collectProducerBatches(buf, pos, end, producers);
    });
    if (scan.validSize < size) {
      await seg.file.truncate(scan.validSize);
      await seg.file.sync();
      notes.push(`segment ${base}: ${scan.problem}; truncated ${size - scan.validSize} bytes, log ends at offset ${scan.nextOffset}`);
    }
    seg.size = seg.writtenSize;
    seg.nextOffset = seg.writtenNextOffset;
    seg.lastModifiedMs = st.mtimeMs;
    // segment.ms counts from the first batch's timestamp, as Kafka does; an unusable one counts from now.
    if (seg.writtenSize > 0) seg.rollStartMs = firstTimestamp >= 0 && firstTimestamp <= now ? firstTimestamp : now;
    return seg;
  } catch (err) {
    if (seg.file !== null) await seg.file.close().catch(() => undefined);
    throw ioError(`recovering segment ${seg.logPath}`, err);
  }
}

function collectProducerBatches(buf: Buffer, pos: number, end: number, producers: Map<number, RecoveredProducerBatch[]>): void {
  for (let p = pos; p < end; p += batchSize(buf, p)) {
    const pid = producerId(buf, p);
    if (pid < 0) continue;
    const delta = lastOffsetDelta(buf, p);
    const seq = baseSequence(buf, p);
    const first = batchBaseOffset(buf, p);
    let list = producers.get(pid);
    if (list === undefined) {
      list = [];
      producers.set(pid, list);
    }
    list.push({
      producerId: pid,
      producerEpoch: producerEpoch(buf, p),
      baseSequence: seq,
      lastSequence: seq < 0 ? -1 : (seq + delta) % 2147483648,
      baseOffset: first,
      lastOffset: first + delta,
    });
    // Recovery only, so the O(n) shift on a five-element list is fine.
    if (list.length > PRODUCER_BATCHES_KEPT) list.shift();
  }
}
