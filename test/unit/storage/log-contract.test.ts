// The behaviour the broker relies on from any Log (src/broker/log.ts), run against every
// implementation: the file-backed PartitionLog and the in-memory MemoryLog. The assignment
// below also makes the build fail if PartitionLog drifts from the broker's interface.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Log } from '../../../src/storage/log.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { batchRanges, makeBatch } from '../../helpers/batches.js';
import { testConfig, withLogDir } from './helpers.js';

const T0 = 1_700_000_000_000;

const implementations: Array<[string, (dir: string) => Promise<Log>]> = [
  ['PartitionLog', async (dir) => {
    const log: Log = await PartitionLog.open(dir, testConfig({ segmentBytes: 600, tailCacheBytes: 300 }));
    return log;
  }],
  ['MemoryLog', async () => new MemoryLog(testConfig())],
];

for (const [name, openLog] of implementations) {
  describe(`Log contract: ${name}`, () => {
    it('appends, wakes, reads back whole batches and answers timestamp queries', async () => {
      await withLogDir(async (dir) => {
        const log = await openLog(dir);
        let wakes = 0;
        log.advanceListeners.add(() => wakes++);
        const results = [];
        for (let i = 0; i < 12; i++) results.push(log.append(makeBatch({ records: 2, payload: 60, maxTimestamp: T0 + i })));
        assert.deepEqual(results.map((r) => r.baseOffset), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]);
        assert.equal(log.logEndOffset, 24);
        await Promise.all(results.map((r) => r.written));
        assert.equal(log.highWatermark, 24);
        assert.ok(wakes >= 1);
        assert.deepEqual(batchRanges(await log.read(5, 1)), [[4, 6]]);
        const seen: Array<[number, number]> = [];
        for (let next = 0; next < log.highWatermark; ) {
          const r = batchRanges(await log.read(next, 200));
          seen.push(...r);
          next = r[r.length - 1]![1];
        }
        assert.equal(seen.length, 12);
        assert.deepEqual(await log.read(24, 100), []);
        await assert.rejects(log.read(25, 100));
        assert.deepEqual(await log.offsetForTimestamp(T0 + 7), { offset: 14, timestamp: T0 + 7 });
        assert.equal(await log.offsetForTimestamp(T0 + 12), null);
        assert.deepEqual(await log.maxTimestampInfo(), { offset: 23, timestamp: T0 + 11 });
        await log.flush();
        assert.equal(await log.deleteRecordsBefore(9), 9);
        assert.equal(log.logStartOffset, 9);
        await assert.rejects(log.read(8, 100));
        assert.deepEqual(batchRanges(await log.read(9, 1)), [[8, 10]]);
        assert.ok(log.sizeBytes() > 0);
        await log.destroy();
      });
    });
  });
}
