// Shared helpers for storage tests: log configs, temporary directories, and a file-ops
// wrapper that counts fsyncs, delays them and fails writes on demand. Batches come from
// test/helpers/batches.ts.

import { join } from 'node:path';
import { nodeFileOps, type FileOps, type LogFile } from '../../../src/storage/file-ops.js';
import { defaultLogConfig, type LogConfig } from '../../../src/storage/log-config.js';
import { withTempDir } from '../../helpers/temp.js';

export function testConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...defaultLogConfig, indexIntervalBytes: 256, ...overrides };
}

/** Runs `fn` with a partition directory (not yet created) inside a temporary directory removed afterwards. */
export function withLogDir(fn: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir((root) => fn(join(root, 'topic-0')), 'rivulet-storage-');
}

/** Records what the log does to its files; can fail or delay operations. */
export class FaultyOps implements FileOps {
  syncs = 0;
  writes = 0;
  /** Monotonic event counter shared with the test, to order syncs against appends. */
  seq = 0;
  syncSpans: Array<{ start: number; end: number }> = [];
  /** Errors thrown by the next writev calls, in turn. */
  failWrites: Error[] = [];
  /** When set, every fsync waits this many macrotask turns (lets callers pile up). */
  syncDelayTurns = 0;
  /** Errors thrown by the next fsyncs of data files, in turn, after the data was written (EIO, ENOSPC, EMFILE). */
  failSyncs: Error[] = [];
  /** While set, every fsync of a data file waits for it (holdSyncs). */
  private syncGate: Promise<void> | null = null;

  /** Holds every fsync of a data file back until the returned function is called. */
  holdSyncs(): () => void {
    let release = (): void => undefined;
    this.syncGate = new Promise<void>((r) => {
      release = () => {
        this.syncGate = null;
        r();
      };
    });
    return release;
  }

  open = async (path: string, mode: Parameters<FileOps['open']>[1]): Promise<LogFile> => {
    const inner = await nodeFileOps.open(path, mode);
    const self = this;
    return {
      async writev(buffers, position) {
        self.writes++;
        const err = self.failWrites.shift();
        if (err !== undefined) {
          // Like a disk filling mid-write: a part of the bytes lands, then the error.
          const first = buffers[0]!;
          await inner.writev([first.subarray(0, Math.min(first.length, 7))], position);
          throw err;
        }
        return inner.writev(buffers, position);
      },
      read: (into, offset, length, position) => inner.read(into, offset, length, position),
      async sync() {
        self.syncs++;
        const span = { start: self.seq++, end: -1 };
        self.syncSpans.push(span);
        for (let i = 0; i < self.syncDelayTurns; i++) await new Promise((r) => setImmediate(r));
        while (self.syncGate !== null) await self.syncGate;
        const err = self.failSyncs.shift();
        if (err !== undefined) throw err;
        await inner.sync();
        span.end = self.seq++;
      },
      truncate: (size) => inner.truncate(size),
      size: () => inner.size(),
      close: () => inner.close(),
    };
  };
  readFile = nodeFileOps.readFile;
  writeFile = nodeFileOps.writeFile;
  rename = nodeFileOps.rename;
  unlink = nodeFileOps.unlink;
  readdir = nodeFileOps.readdir;
  mkdir = nodeFileOps.mkdir;
  rmdir = nodeFileOps.rmdir;
  stat = nodeFileOps.stat;
  syncDir = nodeFileOps.syncDir;
}

export function errno(code: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: injected failure`);
  e.code = code;
  return e;
}
