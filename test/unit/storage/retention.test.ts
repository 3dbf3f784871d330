import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { PartitionLog, StorageErrorCode } from '../../../src/storage/partition-log.js';
import { batchRanges, makeBatch } from '../../helpers/batches.js';
import { testConfig, withLogDir } from './helpers.js';

const T0 = 1_700_000_000_000;

/** One batch per segment (segmentBytes below two batches), timestamps T0 + i * 1000. */
async function oneBatchPerSegment(log: PartitionLog, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await log.append(makeBatch({ records: 2, payload: 100, maxTimestamp: T0 + i * 1000 })).written;
}

async function logFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
}

describe('PartitionLog retention, DeleteRecords and timestamps', () => {
  it('deleteRecordsBefore raises the start offset, drops whole segments and persists across reopen', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 200 });
      let log = await PartitionLog.open(dir, config);
      await oneBatchPerSegment(log, 6); // segments at 0, 2, 4, 6, 8, 10
      assert.equal(await log.deleteRecordsBefore(5), 5);
      assert.equal(log.logStartOffset, 5);
      assert.deepEqual(log.segmentBaseOffsets(), [4, 6, 8, 10]);
      assert.equal((await logFiles(dir)).length, 4);
      assert.equal(await log.deleteRecordsBefore(3), 5, 'never lowers the start offset');
      await assert.rejects(log.deleteRecordsBefore(13), (e: Error & { code?: string }) => e.code === StorageErrorCode.offsetOutOfRange);
      // The batch holding offset 5 starts at 4; it is returned whole, as Kafka does.
      assert.deepEqual(batchRanges(await log.read(5, 1)), [[4, 6]]);
      await log.close();
      log = await PartitionLog.open(dir, config);
      assert.equal(log.logStartOffset, 5);
      assert.equal(log.logEndOffset, 12);
      await assert.rejects(log.read(4, 100), (e: Error & { code?: string }) => e.code === StorageErrorCode.offsetOutOfRange);
      // Up to the high watermark: the active segment stays, the start offset moves.
      assert.equal(await log.deleteRecordsBefore(12), 12);
      assert.deepEqual(log.segmentBaseOffsets(), [10]);
      assert.deepEqual(await log.read(12, 100), []);
      assert.equal((await log.append(makeBatch()).written, log.highWatermark), 13);
      await log.close();
      log = await PartitionLog.open(dir, config);
      assert.equal(log.logStartOffset, 12);
      await log.close();
    });
  });

  it('retention.bytes deletes the oldest segments, never the active one', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 200 }));
      await oneBatchPerSegment(log, 6); // 161 bytes per segment
      assert.equal(log.sizeBytes(), 6 * 161);
      log.setConfig(testConfig({ segmentBytes: 200, retentionMs: -1, retentionBytes: 3 * 161 }));
      await log.enforceRetention(T0);
      assert.deepEqual(log.segmentBaseOffsets(), [6, 8, 10]);
      assert.equal(log.logStartOffset, 6);
      assert.equal(log.sizeBytes(), 3 * 161);
      assert.equal((await logFiles(dir)).length, 3);
      log.setConfig(testConfig({ segmentBytes: 200, retentionMs: -1, retentionBytes: 0 }));
      await log.enforceRetention(T0);
      assert.deepEqual(log.segmentBaseOffsets(), [10], 'the active segment stays even over the limit');
      assert.deepEqual(batchRanges(await log.read(10, 1)), [[10, 12]]);
      await log.close();
    });
  });

  it('retention.ms deletes segments whose newest timestamp is too old, never the active one', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 200, retentionMs: 10_000 }));
      await oneBatchPerSegment(log, 6); // newest timestamps T0, T0+1000, ... T0+5000
      await log.enforceRetention(T0 + 10_000);
      assert.equal(log.segmentCount, 6, 'nothing is older than 10 s yet');
      await log.enforceRetention(T0 + 12_500); // T0 and T0+1000, T0+2000 are older than 10 s
      assert.deepEqual(log.segmentBaseOffsets(), [6, 8, 10]);
      assert.equal(log.logStartOffset, 6);
      await log.enforceRetention(T0 + 1_000_000);
      assert.deepEqual(log.segmentBaseOffsets(), [10]);
      assert.deepEqual(await log.maxTimestampInfo(), { offset: 11, timestamp: T0 + 5000 });
      await log.close();
    });
  });

  it('offsetForTimestamp finds the first batch at or after a timestamp; maxTimestampInfo tracks the newest', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 1000, indexIntervalBytes: 100 });
      let log = await PartitionLog.open(dir, config);
      assert.equal(await log.offsetForTimestamp(0), null);
      assert.deepEqual(await log.maxTimestampInfo(), { offset: -1, timestamp: -1 });
      // Timestamps rise by 10 per batch except one late outlier, which is the maximum.
      const stamps: number[] = [];
      for (let i = 0; i < 40; i++) stamps.push(i === 17 ? T0 + 5000 : T0 + i * 10);
      for (const ts of stamps) await log.append(makeBatch({ records: 3, payload: 50, maxTimestamp: ts })).written;
      const check = async (): Promise<void> => {
        assert.deepEqual(await log.offsetForTimestamp(T0), { offset: 0, timestamp: T0 });
        assert.deepEqual(await log.offsetForTimestamp(T0 + 1), { offset: 3, timestamp: T0 + 10 });
        assert.deepEqual(await log.offsetForTimestamp(T0 + 250), { offset: 17 * 3, timestamp: T0 + 5000 });
        assert.deepEqual(await log.offsetForTimestamp(T0 + 390), { offset: 17 * 3, timestamp: T0 + 5000 });
        assert.deepEqual(await log.offsetForTimestamp(T0 + 5000), { offset: 17 * 3, timestamp: T0 + 5000 });
        assert.equal(await log.offsetForTimestamp(T0 + 5001), null);
        assert.deepEqual(await log.maxTimestampInfo(), { offset: 17 * 3 + 2, timestamp: T0 + 5000 });
      };
      await check();
      assert.ok(log.segmentCount > 3);
      await log.close();
      log = await PartitionLog.open(dir, config);
      await check();
      // Below the start offset nothing is returned; the answer moves up to the start offset.
      await log.deleteRecordsBefore(4);
      assert.deepEqual(await log.offsetForTimestamp(T0), { offset: 4, timestamp: T0 + 10 });
      await log.close();
    });
  });
});
