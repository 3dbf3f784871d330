// The behaviour the broker relies on from any Log (src/broker/log.ts), run against every
// implementation: the file-backed PartitionLog and the in-memory MemoryLog. The assignment
// below also makes the build fail if PartitionLog drifts from the broker's interface.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Log } from '../../../src/storage/log.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { buildControlBatch } from '../../../src/protocol/control-batch.js';
import { batchRanges, makeBatch } from '../../helpers/batches.js';
import { testConfig, withLogDir } from './helpers.js';

const T0 = 1_700_000_000_000;

/** A transactional batch of `records` records from producer `pid` (epoch 0) starting at sequence `seq`. */
const txnBatch = (pid: number, seq: number, records = 2): Buffer => makeBatch({ records, payload: 40, producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true, maxTimestamp: T0 + seq });
const marker = (pid: number, commit: boolean): Buffer => buildControlBatch({ producerId: pid, producerEpoch: 0, commit, coordinatorEpoch: 0, timestamp: T0 });

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

    it('tracks transactions of several producers: last stable offset, aborted transactions, reads bounded by upTo', async () => {
      await withLogDir(async (dir) => {
        const log = await openLog(dir);
        let wakes = 0;
        log.advanceListeners.add(() => wakes++);
        const lsos: number[] = [];
        const append = async (b: Buffer): Promise<number> => {
          const r = log.append(b);
          await r.written;
          await log.flush();
          lsos.push(log.lastStableOffset);
          return r.baseOffset;
        };
        assert.equal(await append(makeBatch({ records: 2, payload: 40 })), 0);
        assert.equal(await append(txnBatch(1, 0)), 2); // opens producer 1's transaction at 2
        assert.equal(await append(txnBatch(2, 0)), 4); // and producer 2's at 4
        assert.equal(await append(makeBatch({ records: 2, payload: 40 })), 6);
        assert.equal(log.highWatermark, 8);
        assert.equal(log.lastStableOffset, 2, 'held at the oldest open transaction');
        assert.deepEqual(batchRanges(await log.read(0, 1 << 20, log.lastStableOffset)), [[0, 2]], 'nothing at or past the bound');
        assert.deepEqual(await log.read(2, 1 << 20, 2), [], 'empty when the offset is at the bound');
        assert.deepEqual(await log.read(3, 1 << 20, 3), [], 'even inside a batch that starts below it');
        assert.deepEqual(batchRanges(await log.read(0, 1 << 20)), [[0, 2], [2, 4], [4, 6], [6, 8]], 'no bound: up to the high watermark');
        const wakesBefore = wakes;
        assert.equal(await append(marker(1, true)), 8); // commits producer 1
        assert.ok(wakes > wakesBefore, 'listeners fire when the last stable offset moves');
        assert.equal(log.lastStableOffset, 4, 'producer 2 is still open');
        assert.equal(await append(txnBatch(2, 2)), 9);
        assert.equal(await append(marker(2, false)), 11); // aborts producer 2's 4..11
        assert.equal(log.lastStableOffset, 12);
        assert.equal(await append(txnBatch(3, 0)), 12);
        assert.equal(await append(marker(3, false)), 14); // aborts producer 3's 12..14
        assert.equal(await append(txnBatch(1, 2)), 15); // producer 1 opens a second transaction
        assert.equal(log.lastStableOffset, 15);
        assert.deepEqual(lsos, [2, 2, 2, 2, 4, 4, 12, 12, 15, 15], 'the LSO only ever moves forward here');
        const p2 = { producerId: 2, firstOffset: 4, lastOffset: 11 };
        const p3 = { producerId: 3, firstOffset: 12, lastOffset: 14 };
        assert.deepEqual(log.abortedTransactions(0, 15), [p2, p3]);
        assert.deepEqual(log.abortedTransactions(12, 15), [p3], 'producer 2 ends before 12');
        assert.deepEqual(log.abortedTransactions(0, 4), [], 'producer 2 starts at the bound');
        assert.deepEqual(log.abortedTransactions(0, 5), [p2]);
        assert.deepEqual(log.abortedTransactions(11, 13), [p2, p3]);
        assert.deepEqual(log.abortedTransactions(15, 17), []);
        // The at-least-one-batch rule holds within the bound, and the bound holds past maxBytes.
        assert.deepEqual(batchRanges(await log.read(2, 1, 15)), [[2, 4]]);
        assert.deepEqual(batchRanges(await log.read(6, 1 << 20, 9)), [[6, 8], [8, 9]]);
        assert.deepEqual(batchRanges(await log.read(13, 1 << 20, 15)), [[12, 14], [14, 15]]);
        assert.deepEqual(log.producers.openTransactions().map((t) => [t.producerId, t.firstOffset]), [[1, 15]]);
        const described = new Map(log.producers.describe().map((d) => [d.producerId, d]));
        assert.equal(described.get(1)!.currentTxnStartOffset, 15);
        assert.equal(described.get(1)!.lastSequence, 3);
        assert.equal(described.get(2)!.currentTxnStartOffset, -1);
        assert.equal(described.get(2)!.lastSequence, 3);
        await log.destroy();
      });
    });

    it('records producer state in append itself, in the same turn', async () => {
      await withLogDir(async (dir) => {
        const log = await openLog(dir);
        const first = log.append(makeBatch({ records: 3, producerId: 9, producerEpoch: 2, baseSequence: 0, maxTimestamp: T0 + 5 }));
        // Not yet written: a retry arriving now is still recognised.
        assert.deepEqual(log.producers.check(9, 2, 0, 2), { kind: 'duplicate', baseOffset: first.baseOffset });
        assert.deepEqual(log.producers.check(9, 2, 3, 3), { kind: 'append' });
        assert.equal(log.producers.check(9, 1, 3, 3).kind, 'error', 'an older epoch is fenced');
        // Two batches of one producer in one append are one run, as the produce handler checks them.
        const run = Buffer.concat([makeBatch({ records: 2, producerId: 9, producerEpoch: 2, baseSequence: 3 }), makeBatch({ records: 1, producerId: 9, producerEpoch: 2, baseSequence: 5 })]);
        const second = log.append(run);
        assert.deepEqual(log.producers.check(9, 2, 3, 5), { kind: 'duplicate', baseOffset: second.baseOffset });
        await second.written;
        assert.deepEqual(log.producers.describe(), [{ producerId: 9, producerEpoch: 2, lastSequence: 5, lastTimestamp: T0 + 5, currentTxnStartOffset: -1 }]);
        await log.destroy();
      });
    });

    it('expires idle producers, never one with an open transaction', async () => {
      await withLogDir(async (dir) => {
        const log = await openLog(dir);
        log.append(makeBatch({ producerId: 1, producerEpoch: 0, baseSequence: 0, maxTimestamp: T0 }));
        log.append(makeBatch({ producerId: 2, producerEpoch: 0, baseSequence: 0, maxTimestamp: T0 + 1000 }));
        log.append(txnBatch(3, 0)); // maxTimestamp T0 + 0, transaction open
        await log.append(makeBatch({ producerId: 4, producerEpoch: 0, baseSequence: 0, maxTimestamp: T0 + 5000 })).written;
        log.expireProducers(T0 + 3000, 2500);
        assert.deepEqual(log.producers.describe().map((d) => d.producerId).sort(), [2, 3, 4]);
        log.expireProducers(T0 + 100_000, 2500);
        assert.deepEqual(log.producers.describe().map((d) => d.producerId), [3]);
        assert.deepEqual(log.producers.check(1, 0, 7, 7), { kind: 'append' }, 'an expired producer may start at any sequence');
        await log.destroy();
      });
    });
  });
}
