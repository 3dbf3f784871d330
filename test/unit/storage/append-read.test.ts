import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { PartitionLog, StorageErrorCode } from '../../../src/storage/partition-log.js';
import { baseOffsetOf, batchRanges, batchSizeOf, makeBatch, partitionLeaderEpochOf, totalBytes } from '../../helpers/batches.js';
import { testConfig, withLogDir } from './helpers.js';

/** Appends `n` batches of `records` records each, one append per batch, and waits for all writes. */
async function fill(log: PartitionLog, n: number, records = 3, payload = 100): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) pending.push(log.append(makeBatch({ records, payload, fill: i & 0xff })).written);
  await Promise.all(pending);
}

/** Reads everything from `from` to the high watermark, in `maxBytes` steps. */
async function readAll(log: PartitionLog, from: number, maxBytes: number): Promise<Array<[number, number]>> {
  const out: Array<[number, number]> = [];
  let next = from;
  while (next < log.highWatermark) {
    const chunk = await log.read(next, maxBytes);
    assert.ok(chunk.length > 0, `read at ${next} returned nothing below the high watermark`);
    const ranges = batchRanges(chunk);
    out.push(...ranges);
    next = ranges[ranges.length - 1]![1];
  }
  return out;
}

function assertContiguous(ranges: Array<[number, number]>, from: number, to: number): void {
  let expected = from;
  for (const [base, end] of ranges) {
    assert.equal(base, expected, `batch at ${base} where ${expected} was expected`);
    expected = end;
  }
  assert.equal(expected, to);
}

describe('PartitionLog append and read', () => {
  it('assigns contiguous offsets, stamps them in place and reads them back across segment rolls', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 1000, tailCacheBytes: 0 }));
      const batch = makeBatch({ records: 4, payload: 50 });
      const r = log.append(batch);
      assert.deepEqual([r.baseOffset, r.lastOffset], [0, 3]);
      assert.equal(baseOffsetOf(batch, 0), 0);
      assert.equal(partitionLeaderEpochOf(batch, 0), 0);
      assert.equal(log.logEndOffset, 4);
      await r.written;
      assert.equal(log.highWatermark, 4);
      await fill(log, 60);
      assert.equal(log.logEndOffset, 4 + 60 * 3);
      assert.equal(log.highWatermark, log.logEndOffset);
      assert.ok(log.segmentCount > 10, `expected many segments, got ${log.segmentCount}`);
      const files = await readdir(dir);
      assert.equal(files.filter((f) => f.endsWith('.log')).length, log.segmentCount);
      assert.ok(files.includes('00000000000000000000.log'));
      // Sealed segments got their index files when they rolled.
      assert.equal(files.filter((f) => f.endsWith('.index')).length, log.segmentCount - 1);
      assertContiguous(await readAll(log, 0, 500), 0, log.highWatermark);
      assertContiguous(await readAll(log, 0, 1), 0, log.highWatermark);
      await log.close();
    });
  });

  it('a read from the middle of a batch returns that whole batch', async () => {
    for (const tailCacheBytes of [0, 1 << 20]) {
      await withLogDir(async (dir) => {
        const log = await PartitionLog.open(dir, testConfig({ tailCacheBytes }));
        await fill(log, 20, 10);
        const got = await log.read(57, 1);
        assert.deepEqual(batchRanges(got), [[50, 60]], `tailCacheBytes=${tailCacheBytes}`);
        await log.close();
      });
    }
  });

  it('respects maxBytes but always returns one whole batch (KIP-74)', async () => {
    for (const tailCacheBytes of [0, 1 << 20]) {
      await withLogDir(async (dir) => {
        const log = await PartitionLog.open(dir, testConfig({ tailCacheBytes }));
        await fill(log, 30, 2, 100); // 161 bytes each
        const size = batchSizeOf(makeBatch({ payload: 100 }), 0);
        const three = await log.read(0, size * 3 + size - 1);
        assert.equal(totalBytes(three), size * 3);
        assert.deepEqual(batchRanges(three), [[0, 2], [2, 4], [4, 6]]);
        const tiny = await log.read(10, 10);
        assert.deepEqual(batchRanges(tiny), [[10, 12]]);
        assert.equal(totalBytes(tiny), size);
        await log.close();
      });
    }
  });

  it('serves the same bytes from the tail cache and from the files', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, testConfig({ tailCacheBytes: 1 << 20, segmentBytes: 2000 }));
      await fill(log, 40);
      // Reads stop at segment ends on disk but not in the cache, so compare whole walks.
      const walk = async (): Promise<Buffer> => {
        const parts: Buffer[] = [];
        for (let next = 0; next < log.highWatermark; ) {
          const chunk = await log.read(next, 800);
          parts.push(...chunk);
          const ranges = batchRanges(chunk);
          next = ranges[ranges.length - 1]![1];
        }
        return Buffer.concat(parts);
      };
      const fromCache = await walk();
      log.setConfig(testConfig({ tailCacheBytes: 0, segmentBytes: 2000 }));
      const fromDisk = await walk();
      assert.equal(fromCache.length, 40 * batchSizeOf(makeBatch({ payload: 100 }), 0));
      assert.ok(fromCache.equals(fromDisk));
      await log.close();
    });
  });

  it('returns [] at the high watermark and rejects offsets out of range', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, testConfig());
      assert.deepEqual(await log.read(0, 100), []);
      await fill(log, 2);
      assert.deepEqual(await log.read(6, 100), []);
      await assert.rejects(log.read(7, 100), (e: Error & { code?: string }) => e.code === StorageErrorCode.offsetOutOfRange);
      await log.deleteRecordsBefore(3);
      await assert.rejects(log.read(2, 100), (e: Error & { code?: string }) => e.code === StorageErrorCode.offsetOutOfRange);
      assert.deepEqual(batchRanges(await log.read(3, 1)), [[3, 6]]);
      await log.close();
    });
  });

  it('keeps offsets contiguous after close and reopen', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 1500 });
      let log = await PartitionLog.open(dir, config);
      await fill(log, 25);
      const end = log.logEndOffset;
      await log.close();
      await assert.rejects(log.read(0, 100), (e: Error & { code?: string }) => e.code === StorageErrorCode.closed);
      assert.throws(() => log.append(makeBatch()), (e: Error & { code?: string }) => e.code === StorageErrorCode.closed);
      log = await PartitionLog.open(dir, config);
      assert.deepEqual(log.recoveryNotes, []);
      assert.equal(log.logEndOffset, end);
      assert.equal(log.highWatermark, end);
      const r = log.append(makeBatch({ records: 5 }));
      assert.equal(r.baseOffset, end);
      await r.written;
      await fill(log, 10);
      assertContiguous(await readAll(log, 0, 700), 0, log.highWatermark);
      await log.close();
    });
  });

  it('rolls by segment.ms using the injected clock, and a batch larger than segmentBytes gets a segment alone', async () => {
    await withLogDir(async (dir) => {
      let now = 1_000_000;
      const log = await PartitionLog.open(dir, testConfig({ segmentMs: 1000, segmentBytes: 300 }), { clock: () => now });
      await log.append(makeBatch({ payload: 10 })).written;
      await log.append(makeBatch({ payload: 10 })).written;
      assert.equal(log.segmentCount, 1);
      now += 1000;
      await log.append(makeBatch({ payload: 10 })).written;
      assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
      await log.append(makeBatch({ payload: 1000 })).written;
      await log.append(makeBatch({ payload: 10 })).written;
      assert.deepEqual(log.segmentBaseOffsets(), [0, 2, 3, 4]);
      assert.deepEqual(batchRanges(await log.read(3, 1)), [[3, 4]]);
      await log.close();
    });
  });

  it('coalesces appends made while a write is in flight into fewer writes', async () => {
    await withLogDir(async (dir) => {
      const { FaultyOps } = await import('./helpers.js');
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, testConfig(), { fileOps: ops });
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) pending.push(log.append(makeBatch()).written);
      await Promise.all(pending);
      assert.ok(ops.writes < 10, `100 appends in one turn took ${ops.writes} writes`);
      assertContiguous(await readAll(log, 0, 1 << 20), 0, 100);
      await log.close();
    });
  });
});
