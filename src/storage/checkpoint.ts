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
  const path = join(dir, LOG_START_CHECKPOINT);
  await ops.writeFile(path + TEMP_SUFFIX, Buffer.from(`1\n${offset}\n`, 'latin1'), true);
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
