// ListOffsets by timestamp and MAX_TIMESTAMP answered per record, as Apache Kafka does:
// the first record whose timestamp is >= the target (with its own timestamp), and the first
// record holding the largest timestamp. Regression for the interop failure where the log
// answered with the batch's base offset and max timestamp (and the batch's last offset for
// the max). Run against both Log implementations; the file log also across segments,
// after reopening, and with compressed batches.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { Log } from '../../../src/storage/log.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { BATCH_HEADER_SIZE, buildBatch, makeBatch, withRecordsSection } from '../../helpers/batches.js';
import { testConfig, withLogDir } from './helpers.js';

const T = 1_700_000_000_000;
// offset:       0  1  2  3  4  5  6  7  8  9
const example = [0, 1, 2, 9, 3, 4, 5, 6, 7, 8].map((d) => T + d);

function batchOf(stamps: number[]): Buffer {
  return buildBatch(stamps.map((ts, i) => ({ key: null, value: Buffer.from(`v${i}`), timestamp: ts })), { baseTimestamp: stamps[0]! });
}

function gzipBatch(stamps: number[]): Buffer {
  const plain = batchOf(stamps);
  return withRecordsSection(plain, gzipSync(plain.subarray(BATCH_HEADER_SIZE)), 1);
}

async function appendAll(log: Log, batches: Buffer[]): Promise<void> {
  for (const b of batches) await log.append(b).written;
}

type Answer = [number, number] | null;

async function lookups(log: Log, targets: number[]): Promise<Answer[]> {
  const out: Answer[] = [];
  for (const t of targets) {
    const r = await log.offsetForTimestamp(t);
    out.push(r === null ? null : [r.offset, r.timestamp]);
  }
  return out;
}

async function max(log: Log): Promise<[number, number]> {
  const m = await log.maxTimestampInfo();
  return [m.offset, m.timestamp];
}

const implementations: Array<[string, (dir: string) => Promise<Log>]> = [
  ['PartitionLog', async (dir) => PartitionLog.open(dir, testConfig({ segmentBytes: 400, indexIntervalBytes: 100 }))],
  ['MemoryLog', async () => new MemoryLog(testConfig())],
];

for (const [name, openLog] of implementations) {
  describe(`timestamp lookups: ${name}`, () => {
    it('answers with the first record at or after the timestamp, and the first record holding the max', async () => {
      await withLogDir(async (dir) => {
        const log = await openLog(dir);
        assert.equal(await log.offsetForTimestamp(0), null);
        assert.deepEqual(await max(log), [-1, -1]);
        await appendAll(log, [batchOf(example)]);
        assert.deepEqual(await lookups(log, [T - 1, T, T + 2, T + 3, T + 5, T + 9, T + 10]), [
          [0, T], [0, T], [2, T + 2], [3, T + 9], [3, T + 9], [3, T + 9], null,
        ]);
        assert.deepEqual(await max(log), [3, T + 9]);
        await log.destroy();
      });
    });

    it('picks the first batch and the first record when several hold the largest timestamp', async () => {
      await withLogDir(async (dir) => {
        const log = await openLog(dir);
        await appendAll(log, [batchOf([T, T + 1]), batchOf([T + 2, T + 9, T + 5, T + 9]), batchOf([T + 9, T + 3])]);
        assert.deepEqual(await max(log), [3, T + 9]);
        assert.deepEqual(await lookups(log, [T + 6, T + 9]), [[3, T + 9], [3, T + 9]]);
        await log.destroy();
      });
    });

    it('never answers below the log start offset', async () => {
      await withLogDir(async (dir) => {
        const log = await openLog(dir);
        await appendAll(log, [batchOf(example), batchOf([T + 20, T + 21])]);
        await log.flush();
        await log.deleteRecordsBefore(2);
        assert.deepEqual(await lookups(log, [T - 1, T + 3]), [[2, T + 2], [3, T + 9]]);
        await log.deleteRecordsBefore(4);
        // The record with T+9 now lies below the start: the next qualifying record answers.
        assert.deepEqual(await lookups(log, [T, T + 3, T + 9, T + 10]), [[4, T + 3], [4, T + 3], [10, T + 20], [10, T + 20]]);
        await log.deleteRecordsBefore(9);
        assert.deepEqual(await lookups(log, [T + 8, T + 9]), [[9, T + 8], [10, T + 20]]);
        await log.destroy();
      });
    });

    it('looks inside compressed batches', async () => {
      await withLogDir(async (dir) => {
        const log = await openLog(dir);
        await appendAll(log, [gzipBatch([T + 30, T + 31]), gzipBatch(example.map((t) => t + 100))]);
        assert.deepEqual(await lookups(log, [T + 31, T + 102, T + 103]), [[1, T + 31], [4, T + 102], [5, T + 109]]);
        assert.deepEqual(await max(log), [5, T + 109]);
        await log.destroy();
      });
    });

    it('falls back to the batch header when its records cannot be decoded', async () => {
      await withLogDir(async (dir) => {
        const log = await openLog(dir);
        // makeBatch fills the records section with filler bytes, not records.
        await appendAll(log, [makeBatch({ records: 3, payload: 40, maxTimestamp: T + 5 })]);
        assert.deepEqual(await lookups(log, [T]), [[0, T + 5]]);
        assert.deepEqual(await max(log), [2, T + 5]);
        await log.destroy();
      });
    });
  });
}

describe('timestamp lookups: PartitionLog segments and reopening', () => {
  it('finds records across segments, before and after a reopen and with rebuilt indexes', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 250, indexIntervalBytes: 100 });
      let log = await PartitionLog.open(dir, config);
      // 12 batches of 4 records; timestamps rise with one out-of-order maximum in batch 5,
      // tied later by batch 9 (the earlier one must win).
      const batches: number[][] = [];
      for (let b = 0; b < 12; b++) {
        const base = T + b * 100;
        batches.push(b === 5 || b === 9 ? [base, T + 5500, base + 2, base + 3] : [base + 3, base + 1, base + 2, base + 10]);
      }
      await appendAll(log, batches.map(batchOf));
      assert.ok(log.segmentCount >= 4, `expected several segments, got ${log.segmentCount}`);
      const targets = [T - 5, T + 2, T + 4, T + 11, T + 502, T + 503, T + 1110, T + 5000, T + 5500, T + 5501];
      const want: Answer[] = [
        [0, T + 3], [0, T + 3], [3, T + 10], [4, T + 103], [21, T + 5500], [21, T + 5500], [21, T + 5500], [21, T + 5500], [21, T + 5500], null,
      ];
      const check = async (when: string): Promise<void> => {
        assert.deepEqual(await lookups(log, targets), want, `lookups ${when}`);
        assert.deepEqual(await max(log), [21, T + 5500], `max ${when}`);
      };
      await check('while open');
      await log.close();
      log = await PartitionLog.open(dir, config);
      await check('after reopen');
      await log.close();
      // Without index files every sealed segment is rebuilt from a scan.
      const { readdir, unlink } = await import('node:fs/promises');
      for (const f of await readdir(dir)) if (f.endsWith('.timeindex') || f.endsWith('.index')) await unlink(`${dir}/${f}`);
      log = await PartitionLog.open(dir, config);
      await check('after rebuilding the indexes');
      await log.close();
    });
  });

  it('keeps the max exact after DeleteRecords drops the segment holding it', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 150 }));
      await appendAll(log, [batchOf([T, T + 90, T + 1]), batchOf([T + 2, T + 80, T + 80]), batchOf([T + 3, T + 4])]);
      assert.equal(log.segmentCount, 3);
      assert.deepEqual(await max(log), [1, T + 90]);
      await log.flush();
      await log.deleteRecordsBefore(3);
      assert.deepEqual(log.segmentBaseOffsets(), [3, 6]);
      assert.deepEqual(await max(log), [4, T + 80]);
      assert.deepEqual(await lookups(log, [T, T + 20]), [[3, T + 2], [4, T + 80]]);
      await log.close();
    });
  });
});
