// Shared helpers for storage tests: valid v2 batches, temporary directories, and a file-ops
// wrapper that counts fsyncs, delays them and fails writes on demand.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_HEADER_SIZE, Off, computeCrc, writeInt64, baseOffset, batchSize, lastOffsetDelta } from '../../../src/protocol/record-batch.js';
import { nodeFileOps, type FileOps, type LogFile } from '../../../src/storage/file-ops.js';
import { defaultLogConfig, type LogConfig } from '../../../src/storage/log-config.js';

export interface BatchSpec {
  records?: number;
  /** Bytes of record data after the header (the log never decodes them). */
  payload?: number;
  baseTimestamp?: number;
  maxTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Byte value of the payload, to tell batches apart. */
  fill?: number;
}

/** A v2 batch with a correct CRC32C; base offset 0 until the log assigns one. */
export function makeBatch(spec: BatchSpec = {}): Buffer {
  const records = spec.records ?? 1;
  const payload = spec.payload ?? 16;
  const buf = Buffer.alloc(BATCH_HEADER_SIZE + payload, spec.fill ?? 0x61);
  writeInt64(buf, Off.baseOffset, 0);
  buf.writeInt32BE(buf.length - 12, Off.batchLength);
  buf.writeInt32BE(-1, Off.partitionLeaderEpoch);
  buf.writeInt8(2, Off.magic);
  buf.writeInt16BE(0, Off.attributes);
  buf.writeInt32BE(records - 1, Off.lastOffsetDelta);
  const ts = spec.maxTimestamp ?? 1_700_000_000_000;
  writeInt64(buf, Off.baseTimestamp, spec.baseTimestamp ?? ts);
  writeInt64(buf, Off.maxTimestamp, ts);
  writeInt64(buf, Off.producerId, spec.producerId ?? -1);
  buf.writeInt16BE(spec.producerEpoch ?? -1, Off.producerEpoch);
  buf.writeInt32BE(spec.baseSequence ?? -1, Off.baseSequence);
  buf.writeInt32BE(records, Off.recordsCount);
  buf.writeUInt32BE(computeCrc(buf, 0, buf.length), Off.crc);
  return buf;
}

/** Base offsets and (exclusive) end offsets of the batches in `bufs`, in order. */
export function batchRanges(bufs: Buffer[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const b of bufs) {
    for (let p = 0; p < b.length; p += batchSize(b, p)) {
      const base = baseOffset(b, p);
      out.push([base, base + lastOffsetDelta(b, p) + 1]);
    }
  }
  return out;
}

export function totalBytes(bufs: Buffer[]): number {
  return bufs.reduce((n, b) => n + b.length, 0);
}

export function testConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...defaultLogConfig, indexIntervalBytes: 256, ...overrides };
}

export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'rivulet-storage-'));
  try {
    await fn(join(root, 'topic-0'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
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
