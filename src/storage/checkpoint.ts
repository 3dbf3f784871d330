// Small per-partition metadata files: the log start offset (raised by DeleteRecords and
// retention, which must survive a restart) and the clean-shutdown marker.
//
// log-start-offset.checkpoint holds two text lines: a format version (1) and the offset.
// It is replaced atomically: written to a temporary file, fsynced, renamed, directory fsynced.

import { join } from 'node:path';
import type { FileOps } from './file-ops.js';

export const LOG_START_CHECKPOINT = 'log-start-offset.checkpoint';
/** Present only between a successful close() and the next open(); its absence means a crash. */
export const CLEAN_SHUTDOWN_MARKER = '.clean-shutdown';
export const TEMP_SUFFIX = '.tmp';
/** First offset the log cleaner has not cleaned yet (the start of the dirty range). */
export const CLEANER_CHECKPOINT = 'cleaner-offset.checkpoint';
/**
 * Written (atomically) once a cleaning pass's `.cleaned` files are all fsynced, and removed
 * once they are renamed over the segments': its presence at open means "finish the renames".
 * Lines: a format version (1), then the base offsets of the cleaned segments.
 */
export const CLEANER_SWAP_MARKER = 'cleaner-swap';

/** The stored log start offset, or -1 when there is none or it cannot be read. */
export async function readLogStartOffset(ops: FileOps, dir: string): Promise<{ offset: number; problem: string }> {
  const buf = await ops.readFile(join(dir, LOG_START_CHECKPOINT));
  if (buf === null) return { offset: -1, problem: '' };
  const lines = buf.toString('latin1').split('\n');
  const offset = Number(lines[1]);
  if (lines[0] !== '1' || lines[1] === '' || !Number.isSafeInteger(offset) || offset < 0) {
    return { offset: -1, problem: `unreadable ${LOG_START_CHECKPOINT} (${JSON.stringify(buf.toString('latin1').slice(0, 40))}), ignored` };
  }
  return { offset, problem: '' };
}

export async function writeLogStartOffset(ops: FileOps, dir: string, offset: number): Promise<void> {
  await writeAtomically(ops, dir, LOG_START_CHECKPOINT, `1\n${offset}\n`);
}

/** The cleaner's stored first dirty offset, or -1 when there is none or it cannot be read. */
export async function readCleanerOffset(ops: FileOps, dir: string): Promise<number> {
  const buf = await ops.readFile(join(dir, CLEANER_CHECKPOINT));
  if (buf === null) return -1;
  const lines = buf.toString('latin1').split('\n');
  const offset = Number(lines[1]);
  return lines[0] === '1' && lines[1] !== '' && Number.isSafeInteger(offset) && offset >= 0 ? offset : -1;
}

export async function writeCleanerOffset(ops: FileOps, dir: string, offset: number): Promise<void> {
  await writeAtomically(ops, dir, CLEANER_CHECKPOINT, `1\n${offset}\n`);
}

/** The segment bases a swap marker lists, or null when the file is missing or unreadable (then the swap never began). */
export function parseSwapMarker(buf: Buffer | null): number[] | null {
  if (buf === null) return null;
  const lines = buf.toString('latin1').split('\n');
  if (lines[0] !== '1' || lines[lines.length - 1] !== '') return null;
  const bases = lines.slice(1, -1).map(Number);
  return bases.every((b) => Number.isSafeInteger(b) && b >= 0) ? bases : null;
}

export async function writeSwapMarker(ops: FileOps, dir: string, bases: number[]): Promise<void> {
  await writeAtomically(ops, dir, CLEANER_SWAP_MARKER, `1\n${bases.map((b) => `${b}\n`).join('')}`);
}

/** Written to a temporary file, fsynced, renamed over `name`, directory fsynced. */
async function writeAtomically(ops: FileOps, dir: string, name: string, text: string): Promise<void> {
  const path = join(dir, name);
  await ops.writeFile(path + TEMP_SUFFIX, Buffer.from(text, 'latin1'), true);
  await ops.rename(path + TEMP_SUFFIX, path);
  await ops.syncDir(dir);
}

/**
 * Replaces a file through a temporary one and a rename (no fsync: index files are checked at
 * open and rebuilt when damaged). A failed write, on a full disk say, leaves the old file or
 * none, never a truncated one; the temporary file is removed, or by the next open if not.
 */
export async function replaceFile(ops: FileOps, path: string, data: Buffer): Promise<void> {
  try {
    await ops.writeFile(path + TEMP_SUFFIX, data, false);
    await ops.rename(path + TEMP_SUFFIX, path);
  } catch (err) {
    await ops.unlink(path + TEMP_SUFFIX).catch(() => undefined);
    throw err;
  }
}
