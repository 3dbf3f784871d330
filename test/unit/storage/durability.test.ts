import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PartitionLog, StorageError, StorageErrorCode } from '../../../src/storage/partition-log.js';
import { batchRanges, makeBatch } from '../../helpers/batches.js';
import { FaultyOps, errno, testConfig, withLogDir } from './helpers.js';
import { waitFor } from '../../helpers/wait.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { buildControlBatch } from '../../../src/protocol/control-batch.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** True once the log answers reads again (recovery after a failed fsync has finished). */
async function online(log: PartitionLog): Promise<boolean> {
  try {
    await log.read(0, 1 << 20);
    return true;
  } catch {
    return false;
  }
}

describe('PartitionLog group commit and write failures', () => {
  it('50 concurrent flushes share fsyncs, each after an fsync that started after its write', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, testConfig(), { fileOps: ops });
      await log.append(makeBatch()).written;
      await log.flush();
      const before = ops.syncs;
      assert.equal(before, 1);
      ops.syncDelayTurns = 3;
      const done: Array<Promise<void>> = [];
      const appendSeq: number[] = [];
      const resolveSeq: number[] = [];
      for (let i = 0; i < 50; i++) {
        const k = i;
        log.append(makeBatch());
        appendSeq[k] = ops.seq++;
        done.push(log.flush().then(() => void (resolveSeq[k] = ops.seq++)));
        if (i % 5 === 4) await turn(); // callers keep arriving while fsyncs run
      }
      await Promise.all(done);
      const used = ops.syncs - before;
      assert.ok(used >= 2 && used <= 15, `50 flushes took ${used} fsyncs`);
      assert.ok(ops.syncSpans.every((s) => s.end >= 0));
      for (let k = 0; k < 50; k++) {
        const covering = ops.syncSpans.some((s) => s.start > appendSeq[k]! && s.end < resolveSeq[k]!);
        assert.ok(covering, `flush ${k} resolved without an fsync started after its append`);
      }
      assert.equal(log.durableOffset, 51);
      // Nothing new to sync: no fsync at all.
      await log.flush();
      assert.equal(ops.syncs - before, used);
      await log.close();
    });
  });

  it('a failed write rejects its appends and those queued behind it, rolls back, and later appends work', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, testConfig(), { fileOps: ops });
      const good1 = log.append(makeBatch({ records: 3, fill: 1 }));
      await good1.written;
      let advances = 0;
      log.advanceListeners.add(() => advances++);
      ops.failWrites.push(errno('ENOSPC'));
      const bad = log.append(makeBatch({ records: 2, fill: 2 }));
      const flushed = log.flush();
      // Queued behind the failing write (arrives after it started).
      await Promise.resolve();
      const queued = log.append(makeBatch({ records: 4, fill: 3 }));
      assert.equal(bad.baseOffset, 3);
      assert.equal(queued.baseOffset, 5);
      const isStorage = (e: unknown): boolean => e instanceof StorageError && e.code === StorageErrorCode.io && e.retriable && /ENOSPC/.test(e.message);
      await assert.rejects(bad.written, isStorage);
      await assert.rejects(queued.written, isStorage);
      await assert.rejects(flushed, isStorage);
      assert.equal(log.logEndOffset, 3);
      assert.equal(log.highWatermark, 3);
      assert.equal(advances, 0);

      const good2 = log.append(makeBatch({ records: 5, fill: 4 }));
      assert.equal(good2.baseOffset, 3, 'offsets continue from the last good write');
      await good2.written;
      await log.flush();
      assert.equal(advances, 1);
      assert.equal(log.highWatermark, 8);
      const all = await log.read(0, 1 << 20);
      assert.deepEqual(batchRanges(all), [[0, 3], [3, 8]]);
      const bytes = Buffer.concat(all);
      assert.equal(bytes[bytes.length - 1], 4, 'the second batch is the good one, not the failed one');
      assert.equal((await stat(join(dir, '00000000000000000000.log'))).size, bytes.length, 'no bytes of the failed write remain');
      await log.close();

      const reopened = await PartitionLog.open(dir, testConfig());
      assert.equal(reopened.logEndOffset, 8);
      assert.deepEqual(reopened.recoveryNotes, []);
      await reopened.close();
    });
  });

  it('a failed write or fsync rolls producer and transaction state back with the log: a retry is appended, not taken for a duplicate', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, testConfig(), { fileOps: ops });
      const data = makeBatch({ records: 2, producerId: 4, producerEpoch: 0, baseSequence: 0, transactional: true });
      await log.append(data).written;
      await log.flush();
      assert.equal(log.lastStableOffset, 0, 'producer 4 has a transaction open at 0');
      ops.failWrites.push(errno('ENOSPC'));
      const abort = log.append(buildControlBatch({ producerId: 4, producerEpoch: 0, commit: false, coordinatorEpoch: 0, timestamp: 1 }));
      const next = log.append(makeBatch({ records: 1, producerId: 5, producerEpoch: 0, baseSequence: 0 }));
      assert.deepEqual(log.producers.check(5, 0, 0, 0), { kind: 'duplicate', baseOffset: 3 });
      await assert.rejects(abort.written);
      await assert.rejects(next.written);
      assert.deepEqual(log.producers.check(5, 0, 0, 0), { kind: 'append' }, 'the failed batch is forgotten');
      assert.deepEqual(log.producers.openTransactions().map((t) => t.firstOffset), [0], 'the failed ABORT closed nothing');
      assert.deepEqual(log.abortedTransactions(0, 10), []);
      // The same after a failed fsync, which takes the log offline until recovery.
      await log.append(makeBatch({ records: 1, producerId: 5, producerEpoch: 0, baseSequence: 0 })).written;
      ops.failSyncs.push(errno('EIO'));
      await assert.rejects(log.flush());
      assert.deepEqual(log.producers.check(5, 0, 0, 0), { kind: 'append' }, 'forgotten as soon as the fsync failed');
      await waitFor('recovery from disk', async () => {
        try {
          await log.read(0, 1);
          return true;
        } catch {
          return false;
        }
      });
      assert.deepEqual(log.producers.check(5, 0, 0, 0), { kind: 'append' });
      assert.deepEqual(log.producers.openTransactions().map((t) => t.firstOffset), [0], 'recovered from disk');
      await log.close();
    });
  });

  it('a failed write into a freshly rolled segment rolls back and the next append retries the roll', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const config = testConfig({ segmentBytes: 200 });
      const log = await PartitionLog.open(dir, config, { fileOps: ops });
      await log.append(makeBatch({ payload: 100 })).written;
      ops.failWrites.push(errno('EIO'));
      const bad = log.append(makeBatch({ payload: 100 }));
      await assert.rejects(bad.written, (e: unknown) => e instanceof StorageError && /EIO/.test(e.message));
      const good = log.append(makeBatch({ payload: 100, fill: 9 }));
      assert.equal(good.baseOffset, 1);
      await good.written;
      assert.deepEqual(log.segmentBaseOffsets(), [0, 1]);
      assert.deepEqual(batchRanges(await log.read(0, 1 << 20)), [[0, 1], [1, 2]]);
      await log.close();
      const reopened = await PartitionLog.open(dir, config);
      assert.equal(reopened.logEndOffset, 2);
      await reopened.close();
    });
  });

  it('advance listeners run in the turn the write completes, with the new high watermark visible', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, testConfig());
      const seen: number[] = [];
      log.advanceListeners.add(() => seen.push(log.highWatermark));
      const a = log.append(makeBatch({ records: 2 }));
      const b = log.append(makeBatch({ records: 3 }));
      assert.deepEqual(seen, []);
      await Promise.all([a.written, b.written]);
      assert.deepEqual(seen, [5], 'two appends in one turn share one write and one wake-up');
      await log.close();
    });
  });

  it('close() waits for pending writes and fsyncs them; destroy() removes the directory', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      let log = await PartitionLog.open(dir, testConfig(), { fileOps: ops });
      const pending: Array<Promise<void>> = [];
      for (let i = 0; i < 20; i++) pending.push(log.append(makeBatch({ records: 2 })).written);
      await log.close();
      assert.equal(log.durableOffset, 40);
      assert.ok(ops.syncs >= 1);
      await Promise.all(pending);
      log = await PartitionLog.open(dir, testConfig());
      assert.equal(log.logEndOffset, 40);
      await log.destroy();
      await assert.rejects(stat(dir), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    });
  });

  /** Offset ranges of every batch from the log start to the high watermark (reads stop at a segment's end). */
  const allRanges = async (log: PartitionLog): Promise<Array<[number, number]>> => {
    const out: Array<[number, number]> = [];
    for (let at = log.logStartOffset; at < log.highWatermark; ) {
      const ranges = batchRanges(await log.read(at, 1 << 20));
      out.push(...ranges);
      at = ranges[ranges.length - 1]![1];
    }
    return out;
  };


  it('case 2: a failed fsync after a successful write takes the log offline; the retry lands once and the failed copy is never readable', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, testConfig(), { fileOps: ops });
      await log.append(makeBatch({ records: 2, fill: 1 })).written;
      await log.flush();
      ops.failSyncs.push(errno('EIO'));
      const bad = log.append(makeBatch({ records: 3, fill: 2 }));
      await bad.written; // the write itself lands
      await assert.rejects(log.flush(), (e: unknown) => e instanceof StorageError && e.kafkaCode === ErrorCode.KAFKA_STORAGE_ERROR && /EIO/.test(e.message));
      assert.equal(log.highWatermark, 2, 'the high watermark does not stay past the durable offset');
      await waitFor('recovery from disk', () => online(log));
      assert.equal(log.logEndOffset, 2, 'recovery cut the log back to its last successful fsync');
      // The producer retries what it was told failed: one copy, at the next offset.
      const retry = log.append(makeBatch({ records: 3, fill: 2 }));
      assert.equal(retry.baseOffset, 2);
      await retry.written;
      await log.flush();
      assert.deepEqual(await allRanges(log), [[0, 2], [2, 5]]);
      await log.close();
      const reopened = await PartitionLog.open(dir, testConfig());
      assert.deepEqual(await allRanges(reopened), [[0, 2], [2, 5]]);
      await reopened.close();
    });
  });

  it('case 2: while offline, appends, reads and flushes fail with KAFKA_STORAGE_ERROR; a failed recovery is tried again on the next request', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, testConfig(), { fileOps: ops });
      await log.append(makeBatch({ records: 2, fill: 1 })).written;
      await log.flush();
      // The first fails the group commit, the second the recovery's own fsync of the cut file.
      ops.failSyncs.push(errno('ENOSPC'), errno('EIO'));
      const acked = log.append(makeBatch({ records: 1, fill: 7 })); // acks=1: answered once written
      const bad = log.append(makeBatch({ records: 3, fill: 2 }));
      await acked.written;
      await bad.written;
      await assert.rejects(log.flush(), (e: unknown) => e instanceof StorageError && /ENOSPC/.test(e.message));
      const isOffline = (e: unknown): boolean => e instanceof StorageError && e.kafkaCode === ErrorCode.KAFKA_STORAGE_ERROR && e.retriable && /offline/.test(e.message);
      assert.throws(() => log.append(makeBatch()), isOffline);
      await assert.rejects(log.read(0, 100), isOffline);
      await assert.rejects(log.flush(), isOffline);
      assert.equal(log.highWatermark, 2);
      await waitFor('recovery from disk, tried again after the first attempt failed', () => online(log));
      assert.equal(ops.failSyncs.length, 0, 'the first recovery hit the injected failure');
      assert.equal(log.logEndOffset, 2, 'nothing past the last successful fsync survives, written or not');
      assert.deepEqual(await allRanges(log), [[0, 2]]);
      await log.append(makeBatch({ records: 3, fill: 2 })).written;
      await log.flush();
      assert.deepEqual(await allRanges(log), [[0, 2], [2, 5]]);
      await log.close();
    });
  });

  it('case 2: an fsync that fails while closing cuts the log back to its last successful fsync before close() returns', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, testConfig(), { fileOps: ops });
      await log.append(makeBatch({ records: 2, fill: 1 })).written;
      await log.flush();
      await log.append(makeBatch({ records: 3, fill: 2 })).written; // written, never fsynced
      ops.failSyncs.push(errno('EIO'));
      await assert.rejects(log.close(), (e: unknown) => e instanceof StorageError && /EIO/.test(e.message));
      const reopened = await PartitionLog.open(dir, testConfig());
      assert.equal(reopened.logEndOffset, 2);
      assert.deepEqual(await allRanges(reopened), [[0, 2]]);
      await reopened.close();
    });
  });
});

describe("PartitionLog with visibleWhen 'durable'", () => {
  const durable = testConfig({ visibleWhen: 'durable' });


  /** Records, at every advance, whether the high watermark or the LSO passed the durable offset. */
  const watch = (log: PartitionLog): { seen: number[]; violations: string[] } => {
    const w = { seen: [] as number[], violations: [] as string[] };
    log.advanceListeners.add(() => {
      w.seen.push(log.highWatermark);
      if (log.highWatermark > log.durableOffset || log.lastStableOffset > log.durableOffset) w.violations.push(`hw ${log.highWatermark} lso ${log.lastStableOffset} durable ${log.durableOffset}`);
    });
    return w;
  };

  it('refuses a visibleWhen that is neither written nor durable', async () => {
    await withLogDir(async (dir) => {
      const bad = { ...durable, visibleWhen: 'fsynced' } as unknown as typeof durable;
      await assert.rejects(PartitionLog.open(dir, bad), (e: unknown) => e instanceof StorageError && e.code === StorageErrorCode.invalidConfig && /visibleWhen/.test(e.message));
      const log = await PartitionLog.open(dir, durable);
      assert.throws(() => log.setConfig(bad), /visibleWhen/);
      await log.close();
    });
  });

  it('keeps the high watermark, reads and the LSO at the last fsync while one is held back, then advances them and fires listeners', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, durable, { fileOps: ops });
      const w = watch(log);
      const release = ops.holdSyncs();
      const a = log.append(makeBatch({ records: 2, maxTimestamp: 1_700_000_000_005 }));
      await a.written;
      await waitFor('the fsync the write run started by itself', () => ops.syncs >= 1);
      const b = log.append(makeBatch({ records: 3 }));
      await b.written; // written while the first fsync is held: rides the next one
      assert.equal(log.logEndOffset, 5);
      assert.equal(log.durableOffset, 0);
      assert.equal(log.highWatermark, 0);
      assert.equal(log.lastStableOffset, 0);
      assert.deepEqual(await log.read(0, 1 << 20), []);
      await assert.rejects(log.read(1, 1 << 20), 'past the high watermark is out of range, written or not');
      assert.equal(await log.offsetForTimestamp(0), null);
      assert.deepEqual(await log.maxTimestampInfo(), { offset: -1, timestamp: -1 });
      assert.deepEqual(w.seen, [], 'no listener heard of unsynced records');
      release();
      await waitFor('both writes fsynced and visible', () => log.highWatermark === 5);
      assert.deepEqual(w.violations, []);
      assert.ok(w.seen.length >= 1 && w.seen[w.seen.length - 1] === 5, `listeners fired: ${JSON.stringify(w.seen)}`);
      assert.ok(ops.syncs >= 2, 'the second run got its own fsync without anyone flushing');
      assert.equal(log.lastStableOffset, 5);
      assert.deepEqual(batchRanges(await log.read(0, 1 << 20)), [[0, 2], [2, 5]]);
      assert.deepEqual(await log.maxTimestampInfo(), { offset: 1, timestamp: 1_700_000_000_005 });
      await log.close();
    });
  });

  it('after a failed fsync nothing past the last successful one was ever readable', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, durable, { fileOps: ops });
      await log.append(makeBatch({ records: 2, fill: 1 })).written;
      await waitFor('first run fsynced', () => log.highWatermark === 2);
      const w = watch(log);
      const release = ops.holdSyncs();
      const bad = log.append(makeBatch({ records: 3, fill: 2 }));
      await bad.written;
      await waitFor('its fsync started', () => ops.syncs >= 2);
      assert.equal(log.highWatermark, 2);
      assert.deepEqual(batchRanges(await log.read(0, 1 << 20)), [[0, 2]], 'the written, unsynced batch is not served');
      assert.deepEqual(await log.read(2, 1 << 20), []);
      ops.failSyncs.push(errno('EIO'));
      release();
      await waitFor('recovery from disk after the failed fsync', async () => log.recoveryNotes.some((n) => n.includes('failed fsync')) && (await online(log)));
      assert.equal(log.logEndOffset, 2, 'cut back to the last successful fsync');
      assert.deepEqual(w.violations, []);
      assert.ok(w.seen.every((hw) => hw <= 2), `high watermarks announced: ${JSON.stringify(w.seen)}`);
      assert.deepEqual(batchRanges(await log.read(0, 1 << 20)), [[0, 2]]);
      await log.close();
    });
  });
});
