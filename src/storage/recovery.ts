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
//
// Producer state comes from the snapshot written when the active segment was rolled (the
// state as of its base offset) plus the active segment's batches, which the scan reads
// anyway. Without a usable snapshot it is rebuilt from the oldest segment forward. A sealed
// segment's aborted-transaction index is loaded from its `.txnindex`; a missing or bad one is
// rebuilt by scanning that segment from the snapshot at its base (or in that same full pass).

import { join } from 'node:path';
import { batchSize, maxTimestamp } from '../protocol/record-batch.js';
import { CLEANER_SWAP_MARKER, CLEAN_SHUTDOWN_MARKER, LOG_START_CHECKPOINT, TEMP_SUFFIX, parseSwapMarker, readLogStartOffset, replaceFile } from './checkpoint.js';
import { CLEANED_FILES, CLEANED_SUFFIX } from './cleaner.js';
import { ioError } from './errors.js';
import { OpenMode, type FileOps } from './file-ops.js';
import type { LogConfig } from './log-config.js';
import { OffsetIndex } from './offset-index.js';
import { ProducerStates } from './producer-state.js';
import { FileSuffix, Segment, parseSegmentFileName, scanSegment, segmentFileName } from './segment.js';
import { TimeIndex } from './time-index.js';
import { abortedEntry, parseTxnIndex, txnIndexToBuffer, type AbortedTxnEntry } from './txn-index.js';

export interface RecoveredLog {
  segments: Segment[];
  logStartOffset: number;
  /** Producer state as of the recovered log end. */
  producers: ProducerStates;
  /** What recovery found and did, one sentence each, for the broker's log. */
  notes: string[];
}

/** Files that belong to a segment and go with it. */
const SEGMENT_FILES: readonly string[] = [FileSuffix.index, FileSuffix.timeIndex, FileSuffix.txnIndex, FileSuffix.snapshot];

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
    if (await finishCleanerSwap(dir, ops, names, notes)) names = await ops.readdir(dir);
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
    const orphanIndex = SEGMENT_FILES.some((suffix) => name.endsWith(suffix)) && !logNames.has(name.slice(0, 20));
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
    await Promise.all(seg.filePaths().map((path) => ops.unlink(path))).catch(() => undefined);
    notes.push(`removed segment ${base}, below the log start offset ${checkpoint.offset}`);
  }

  const segments: Segment[] = [];
  const txnIndexes = new Map<Segment, AbortedTxnEntry[] | string>();
  if (bases.length === 0) bases.push(Math.max(0, checkpoint.offset));
  for (let i = 0; i < bases.length - 1; i++) {
    segments.push(await loadSealedSegment(dir, ops, config, bases[i]!, bases[i + 1]!, txnIndexes, notes));
  }
  const activeBase = bases[bases.length - 1]!;
  const producers = await recoverTransactionState(dir, ops, segments, txnIndexes, activeBase, notes);
  segments.push(await recoverLastSegment(dir, ops, config, activeBase, !clean, now, producers, notes));

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

  return { segments, logStartOffset, producers, notes };
}

/**
 * A cleaning pass interrupted by a crash. With the swap marker (written only once every
 * `.cleaned` file was fsynced) the renames are finished: each segment is then wholly the
 * cleaned one. Without it the pass never reached its commit point and its `.cleaned` files
 * go: each segment is wholly the old one. Either way no segment mixes the two. Returns whether
 * anything was changed.
 */
async function finishCleanerSwap(dir: string, ops: FileOps, names: string[], notes: string[]): Promise<boolean> {
  const leftovers = names.filter((n) => n.endsWith(CLEANED_SUFFIX));
  const hasMarker = names.includes(CLEANER_SWAP_MARKER);
  if (leftovers.length === 0 && !hasMarker) return false;
  const bases = hasMarker ? parseSwapMarker(await ops.readFile(join(dir, CLEANER_SWAP_MARKER))) : null;
  const present = new Set(leftovers);
  if (bases !== null) {
    for (const base of bases) {
      for (const suffix of CLEANED_FILES) {
        const name = segmentFileName(base, suffix);
        if (present.has(name + CLEANED_SUFFIX)) {
          await ops.rename(join(dir, name + CLEANED_SUFFIX), join(dir, name));
          present.delete(name + CLEANED_SUFFIX);
        }
      }
    }
    await ops.syncDir(dir);
    notes.push(`finished swapping in the cleaned segments ${bases.join(', ')} (a cleaning pass was interrupted after its commit point)`);
  } else if (leftovers.length > 0) {
    notes.push(`removed the files of an interrupted cleaning pass (${leftovers.length}); the segments stay as they were`);
  }
  for (const name of present) await ops.unlink(join(dir, name));
  if (hasMarker) await ops.unlink(join(dir, CLEANER_SWAP_MARKER));
  await ops.syncDir(dir);
  return true;
}

/** A segment before the last: trusted to be whole; its index files are loaded or rebuilt. */
async function loadSealedSegment(dir: string, ops: FileOps, config: LogConfig, base: number, nextBase: number, txnIndexes: Map<Segment, AbortedTxnEntry[] | string>, notes: string[]): Promise<Segment> {
  const seg = new Segment(dir, base);
  try {
    const st = await ops.stat(seg.logPath);
    const size = st === null ? 0 : st.size;
    const relLimit = nextBase - base;
    const [indexBuf, timeBuf, txnBuf] = await Promise.all([ops.readFile(seg.indexPath), ops.readFile(seg.timeIndexPath), ops.readFile(seg.txnIndexPath)]);
    // A string (why) marks it for rebuilding in recoverTransactionState.
    txnIndexes.set(seg, (txnBuf === null ? null : parseTxnIndex(txnBuf, base, nextBase)) ?? (txnBuf === null ? 'missing .txnindex' : 'damaged .txnindex'));
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
  producers: ProducerStates,
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
      applyBatches(buf, pos, end, producers, seg.abortedTxns);
    });
    if (scan.validSize < size) {
      await seg.file.truncate(scan.validSize);
      await seg.file.sync();
      notes.push(`segment ${base}: ${scan.problem}; truncated ${size - scan.validSize} bytes, log ends at offset ${scan.nextOffset}`);
    } else if (verifyCrc && size > 0) {
      // After a crash of the process alone the tail may sit only in the page cache; the log
      // treats all it recovers as durable (and visible), so make it so.
      await seg.file.sync();
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

/** Applies whole batches to the producer state, adding the transactions ABORT markers close to `aborted`. */
function applyBatches(buf: Buffer, pos: number, end: number, producers: ProducerStates, aborted: AbortedTxnEntry[]): void {
  for (let p = pos; p < end; p += batchSize(buf, p)) {
    const closed = producers.apply(buf, p, batchSize(buf, p), false);
    if (closed !== null && closed.aborted) aborted.push(abortedEntry(closed, producers));
  }
}

async function readSnapshot(ops: FileOps, seg: Segment): Promise<ProducerStates | null> {
  const buf = await ops.readFile(seg.snapshotPath);
  return buf === null ? null : ProducerStates.fromSnapshot(buf);
}

/** Applies a whole sealed segment's batches to `producers`; returns the aborted transactions it closes. */
async function scanTransactions(ops: FileOps, seg: Segment, producers: ProducerStates): Promise<AbortedTxnEntry[]> {
  const aborted: AbortedTxnEntry[] = [];
  const file = await ops.open(seg.logPath, OpenMode.read);
  try {
    await scanSegment(file, seg.writtenSize, seg.baseOffset, false, (buf, pos, end) => applyBatches(buf, pos, end, producers, aborted));
  } finally {
    await file.close().catch(() => undefined);
  }
  return aborted;
}

/**
 * Fills the sealed segments' aborted-transaction indexes (rebuilding missing or bad ones) and
 * returns the producer state as of `activeBase`, before the active segment's batches.
 */
async function recoverTransactionState(dir: string, ops: FileOps, sealed: Segment[], txnIndexes: Map<Segment, AbortedTxnEntry[] | string>, activeBase: number, notes: string[]): Promise<ProducerStates> {
  const damaged: Segment[] = [];
  for (const seg of sealed) {
    const entries = txnIndexes.get(seg)!;
    if (typeof entries === 'string') damaged.push(seg);
    else seg.abortedTxns = entries;
  }
  let producers = await readSnapshot(ops, new Segment(dir, activeBase));
  // A log of one segment without a snapshot is new (or lost what came before it): its scan is all there is.
  if (producers === null && sealed.length === 0) producers = new ProducerStates();
  // A damaged index is rebuilt from the snapshot at its segment's base when there is one.
  let fullPass = producers === null;
  for (const seg of damaged) {
    const from = await readSnapshot(ops, seg);
    if (from === null) {
      fullPass = true;
      break;
    }
    seg.abortedTxns = await scanTransactions(ops, seg, from);
  }
  if (fullPass) {
    // From the oldest segment's own snapshot if it has one: it carries what retention removed.
    const rebuilt = (await readSnapshot(ops, sealed[0]!)) ?? new ProducerStates();
    for (const seg of sealed) {
      const aborted = await scanTransactions(ops, seg, rebuilt);
      if (damaged.includes(seg)) seg.abortedTxns = aborted;
    }
    if (producers === null) {
      producers = rebuilt;
      notes.push(`no usable producer snapshot at offset ${activeBase}; producer state rebuilt from segment ${sealed[0]!.baseOffset} forward`);
    }
  }
  for (const seg of damaged) {
    await replaceFile(ops, seg.txnIndexPath, txnIndexToBuffer(seg.abortedTxns));
    notes.push(`segment ${seg.baseOffset}: rebuilt its aborted-transaction index (${String(txnIndexes.get(seg))})`);
  }
  return producers!;
}
