import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { runClean } from '../../../src/storage/cleaner.js';
import { buildControlBatch } from '../../../src/protocol/control-batch.js';
import { forEachRecord } from '../../../src/protocol/records.js';
import { BatchField, buildBatch, withRecordsSection } from '../../helpers/batches.js';
import { FaultyOps, errno, testConfig, withLogDir } from './helpers.js';
import { nodeFileOps } from '../../../src/storage/file-ops.js';
import { waitFor } from '../../helpers/wait.js';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

const rec = (key: string | null, value: string | null, ts = T0) => ({ key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), timestamp: ts });
const kv = (key: string | null, value: string | null, ts = T0): Buffer => buildBatch([rec(key, value, ts)], { baseTimestamp: ts });

interface Seen {
  offset: number;
  key: string | null;
  value: string | null;
}

/** Every record the log serves from its start, decoded (compressed batches too), and the batches' codecs. */
async function readAll(log: PartitionLog): Promise<{ records: Seen[]; codecs: number[]; batches: number }> {
  const records: Seen[] = [];
  const codecs: number[] = [];
  let batches = 0;
  let next = log.logStartOffset;
  while (next < log.highWatermark) {
    const bufs = await log.read(next, 1 << 20);
    if (bufs.length === 0 || bufs.every((b) => b.length === 0)) break;
    for (const buf of bufs) {
      for (let p = 0; p < buf.length; ) {
        const size = buf.readInt32BE(p + 8) + 12;
        const batch = buf.subarray(p, p + size);
        batches++;
        codecs.push(batch.readInt16BE(BatchField.attributes) & 7);
        const isControl = (batch.readInt16BE(BatchField.attributes) & 0x20) !== 0;
        if (!isControl) {
          await forEachRecord(batch, (r) => {
            if (r.offset >= next) records.push({ offset: r.offset, key: r.key === null ? null : r.key.toString(), value: r.value === null ? null : r.value.toString() });
          });
        }
        next = Number(batch.readBigInt64BE(0)) + batch.readInt32BE(BatchField.lastOffsetDelta) + 1;
        p += size;
      }
    }
  }
  return { records, codecs, batches };
}

/** The latest value per key as a map, from records in offset order. */
function latestByKey(records: Seen[]): Map<string, Seen> {
  const m = new Map<string, Seen>();
  for (const r of records) if (r.key !== null) m.set(r.key, r);
  return m;
}

/** Appends each batch with its own write, waiting for each. */
async function appendAll(log: PartitionLog, batches: Buffer[]): Promise<void> {
  for (const b of batches) await log.append(b).written;
  await log.flush();
}

describe('log compaction', () => {
  it('keeps the latest record per key at its offset, leaves the active segment alone, and survives a reopen', async () => {
    await withLogDir(async (dir) => {
      // About two batches per segment: many sealed segments.
      const config = testConfig({ segmentBytes: 190, compact: true });
      let log = await PartitionLog.open(dir, config);
      const written: Seen[] = [];
      for (let round = 0; round < 6; round++) {
        for (let k = 0; k < 4; k++) {
          const value = `v${round}-${k}`;
          const { baseOffset } = log.append(kv(`k${k}`, value));
          written.push({ offset: baseOffset, key: `k${k}`, value });
        }
      }
      await log.flush();
      // A keyless record cannot be compacted: it stays.
      await appendAll(log, [kv(null, 'no-key'), kv('k0', 'last')]);
      const hw = log.highWatermark;
      const bases = log.segmentBaseOffsets();
      const activeBase = bases[bases.length - 1]!;
      const activeFile = join(dir, `${String(activeBase).padStart(20, '0')}.log`);
      const activeBefore = await readFile(activeFile);
      const before = await readAll(log);

      const stats = await log.clean(T0, true);
      assert.ok(stats !== null && stats.segmentsCleaned > 0, 'a pass ran and rewrote segments');
      assert.ok(stats.bytesAfter < stats.bytesBefore);
      const after = await readAll(log);
      assert.deepEqual(await readFile(activeFile), activeBefore, 'the active segment is untouched');
      assert.equal(log.highWatermark, hw);
      assert.equal(log.logEndOffset, hw);
      // Every record now served is one that was written, at the same offset.
      const byOffset = new Map(before.records.map((r) => [r.offset, r]));
      for (const r of after.records) assert.deepEqual(byOffset.get(r.offset), r);
      // Below the active segment each key appears once, with the latest value the cleaned range held.
      const sealed = after.records.filter((r) => r.offset < activeBase && r.key !== null);
      assert.equal(new Set(sealed.map((r) => r.key)).size, sealed.length, `one record per key below the active segment: ${JSON.stringify(sealed)}`);
      assert.ok(after.records.length < before.records.length);
      assert.deepEqual(latestByKey(after.records), latestByKey(before.records), 'the latest value of every key is unchanged');
      assert.ok(after.records.some((r) => r.key === null && r.value === 'no-key'), 'the keyless record stays');
      // Offsets still resolve: a read in the middle of a gap returns the next batch.
      const gapRead = await log.read(1, 1);
      assert.ok(gapRead.length > 0);

      await log.close();
      log = await PartitionLog.open(dir, config);
      const reopened = await readAll(log);
      assert.deepEqual(reopened.records, after.records, 'the cleaned log reads the same after a reopen');
      assert.equal(log.highWatermark, hw);
      // Nothing new is dirty: no pass is due.
      assert.equal(await log.clean(T0 + 1), null);
      await log.close();
    });
  });

  it('drops a tombstone only delete.retention.ms after the pass that first cleaned its segment', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 190, compact: true, deleteRetentionMs: HOUR });
      const log = await PartitionLog.open(dir, config);
      await appendAll(log, [kv('a', '1'), kv('b', '1'), kv('a', null), kv('c', '1'), kv('c', '2'), kv('d', '1'), kv('e', '1')]);
      const keys = async (): Promise<Array<[string | null, string | null]>> => (await readAll(log)).records.map((r) => [r.key, r.value]);
      assert.ok((await log.clean(T0, true)) !== null);
      const first = await keys();
      assert.ok(first.some(([k, v]) => k === 'a' && v === null), `the tombstone stays at first: ${JSON.stringify(first)}`);
      assert.ok(!first.some(([k, v]) => k === 'a' && v === '1'), 'the value it deletes goes');
      // Not yet: just under an hour after that pass.
      await log.clean(T0 + HOUR - 1, true);
      assert.ok((await keys()).some(([k, v]) => k === 'a' && v === null), 'still there before delete.retention.ms');
      // A quiet log: no new data, yet the pass is due once the hour is over.
      const stats = await log.clean(T0 + HOUR + 1);
      assert.ok(stats !== null, 'the tombstone clock running out makes a pass due');
      const last = await keys();
      assert.ok(!last.some(([k]) => k === 'a'), `the tombstone is gone: ${JSON.stringify(last)}`);
      assert.ok(last.some(([k, v]) => k === 'b' && v === '1'));
      assert.ok(last.some(([k, v]) => k === 'c' && v === '2'));
      await log.close();
    });
  });

  it('filters compressed batches and compresses them again with their codec', async () => {
    const snappy = await import('snappy');
    const lz4 = await import('lz4-napi');
    const codecs: Array<[string, number, (b: Buffer) => Promise<Buffer>]> = [
      ['gzip', 1, async (b) => gzipSync(b)],
      ['snappy', 2, async (b) => (await snappy.compress(b)) as Buffer],
      ['lz4', 3, (b) => lz4.compressFrame(b)],
    ];
    for (const [name, codec, compress] of codecs) {
      await withLogDir(async (dir) => {
        const config = testConfig({ segmentBytes: 120, compact: true });
        const log = await PartitionLog.open(dir, config);
        const plainBatch = buildBatch([rec('x', 'old'), rec('y', 'keep'), rec('x', 'mid'), rec('z', 'old')], { baseTimestamp: T0 });
        const section = plainBatch.subarray(61);
        const compressed = withRecordsSection(plainBatch, await compress(section), codec);
        await appendAll(log, [compressed, kv('x', 'new'), kv('z', 'new'), kv('w', 'tail')]);
        assert.ok((await log.clean(T0, true)) !== null);
        const after = await readAll(log);
        assert.equal(after.codecs[0], codec, `${name}: the filtered batch keeps its codec`);
        assert.deepEqual(
          after.records.filter((r) => r.offset < 4).map((r) => [r.offset, r.key, r.value]),
          [[1, 'y', 'keep']],
          `${name}: only the record no later one replaces stays, at its offset`,
        );
        assert.deepEqual(after.records.map((r) => r.offset), [1, 4, 5, 6]);
        await log.close();
      });
    }
  });

  it('removes aborted transactional data at once and markers of emptied transactions after delete.retention.ms', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 190, compact: true, deleteRetentionMs: HOUR });
      const log = await PartitionLog.open(dir, config);
      const txn = (pid: number, seq: number, key: string, value: string): Buffer => buildBatch([rec(key, value)], { baseTimestamp: T0, producerId: pid, producerEpoch: 0, baseSequence: seq, attributes: 0x10 });
      const marker = (pid: number, commit: boolean): Buffer => buildControlBatch({ producerId: pid, producerEpoch: 0, commit, coordinatorEpoch: 0, timestamp: T0 });
      await appendAll(log, [
        kv('a', 'committed-before'), // 0
        txn(7, 0, 'a', 'aborted'), // 1: must not replace offset 0
        marker(7, false), // 2: ABORT
        txn(8, 0, 'b', 'in-commit'), // 3
        marker(8, true), // 4: COMMIT, its data stays
        txn(9, 0, 'c', 'replaced'), // 5
        marker(9, true), // 6: COMMIT, its data will be replaced
        kv('c', 'plain'), // 7
        kv('q', '1'), // 8
        kv('q', '2'), // 9
      ]);
      assert.equal(log.abortedTransactions(0, log.highWatermark).length, 1);
      assert.ok((await log.clean(T0, true)) !== null);
      let after = await readAll(log);
      const values = (): Array<[number, string | null, string | null]> => after.records.map((r) => [r.offset, r.key, r.value]);
      assert.ok(!after.records.some((r) => r.value === 'aborted'), 'aborted data is gone');
      assert.ok(after.records.some((r) => r.offset === 0 && r.value === 'committed-before'), `an aborted record does not replace a committed one: ${JSON.stringify(values())}`);
      assert.ok(!after.records.some((r) => r.value === 'replaced'));
      const markersAt = async (): Promise<number[]> => {
        const out: number[] = [];
        for (let o = 0; o < log.highWatermark; ) {
          const bufs = await log.read(o, 1);
          const b = bufs[0]!;
          const base = Number(b.readBigInt64BE(0));
          if ((b.readInt16BE(BatchField.attributes) & 0x20) !== 0) out.push(base);
          o = base + b.readInt32BE(BatchField.lastOffsetDelta) + 1;
        }
        return out;
      };
      assert.deepEqual(await markersAt(), [2, 4, 6], 'markers stay until delete.retention.ms');
      await log.clean(T0 + HOUR + 1);
      after = await readAll(log);
      assert.deepEqual(await markersAt(), [4], 'markers of transactions that kept no data go; the one whose data stays, stays');
      assert.deepEqual(log.abortedTransactions(0, log.highWatermark), [], 'the aborted-transaction index lost the removed marker');
      assert.ok(after.records.some((r) => r.offset === 3 && r.value === 'in-commit'));
      await log.close();
      const reopened = await PartitionLog.open(dir, config);
      assert.deepEqual(reopened.abortedTransactions(0, reopened.highWatermark), []);
      assert.equal(reopened.lastStableOffset, reopened.highWatermark, 'no transaction looks open after recovery');
      await reopened.close();
    });
  });

  it('never cleans at or past the last stable offset', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 190, compact: true });
      const log = await PartitionLog.open(dir, config);
      const txn = buildBatch([rec('t', 'open')], { baseTimestamp: T0, producerId: 5, producerEpoch: 0, baseSequence: 0, attributes: 0x10 });
      await appendAll(log, [kv('k', '1'), kv('k', '2'), txn, kv('k', '3'), kv('k', '4'), kv('k', '5'), kv('k', '6')]);
      assert.equal(log.lastStableOffset, 2);
      await log.clean(T0, true);
      const after = await readAll(log);
      // Offset 1 ('2') is the latest below the LSO's segment; everything from the open transaction on stays.
      assert.deepEqual(after.records.filter((r) => r.offset >= 2).map((r) => r.offset), [2, 3, 4, 5, 6]);
      assert.deepEqual(after.records.filter((r) => r.offset < 2).map((r) => r.offset), [1], 'below the LSO the pass did clean: k=1 went');
      await log.close();
    });
  });

  it('waits min.compaction.lag.ms before cleaning a record', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 190, compact: true, minCompactionLagMs: HOUR });
      const log = await PartitionLog.open(dir, config);
      await appendAll(log, [kv('k', '1', T0), kv('k', '2', T0), kv('k', '3', T0), kv('k', '4', T0), kv('k', '5', T0)]);
      assert.equal(await log.clean(T0 + HOUR - 1, true), null, 'no segment is old enough');
      assert.equal((await readAll(log)).records.length, 5);
      assert.ok((await log.clean(T0 + HOUR + 1, true)) !== null);
      assert.ok((await readAll(log)).records.length < 5);
      await log.close();
    });
  });

  it('cleans when the dirty ratio reaches min.cleanable.dirty.ratio, and rolls a quiet log at segment.ms', async () => {
    await withLogDir(async (dir) => {
      let now = T0;
      const config = testConfig({ segmentBytes: 1 << 20, segmentMs: HOUR, compact: true, minCleanableDirtyRatio: 0.5 });
      const log = await PartitionLog.open(dir, config, { clock: () => now });
      await appendAll(log, [kv('k', '1'), kv('k', '2'), kv('k', '3')]);
      assert.equal(await log.clean(now), null, 'all in the active segment: nothing cleanable');
      now += HOUR;
      await log.rollIfDue(now);
      assert.equal(log.segmentCount, 2, 'segment.ms rolled the quiet log');
      assert.equal(log.cleaner.dirtyRatio, 0);
      const stats = await log.clean(now);
      assert.ok(stats !== null);
      assert.equal(stats.dirtyRatio, 1);
      assert.deepEqual((await readAll(log)).records.map((r) => r.value), ['3']);
      await log.close();
    });
  });

  it('cleans a dirty range with more keys than one pass maps over several passes', async () => {
    await withLogDir(async (dir) => {
      // About two single-record batches per segment; at most 3 keys mapped per pass.
      const config = testConfig({ segmentBytes: 190, compact: true, cleanerMaxKeys: 3 });
      const log = await PartitionLog.open(dir, config);
      const batches: Buffer[] = [];
      for (let k = 0; k < 8; k++) batches.push(kv(`k${k}`, 'old'));
      for (let k = 0; k < 8; k++) batches.push(kv(`k${k}`, 'new'));
      batches.push(kv('tail', 'x'));
      await appendAll(log, batches);
      assert.ok((await log.clean(T0, true)) !== null);
      // The map filled within the old values: this pass saw none of the new ones, so nothing went yet.
      assert.equal((await readAll(log)).records.length, 17);
      await log.clean(T0, true);
      assert.ok(log.cleaner.firstDirtyOffset > 0, 'the next pass starts where the last one stopped');
      let passes = 2;
      while ((await readAll(log)).records.length > 9 && passes < 12) {
        await log.clean(T0, true);
        passes++;
      }
      const values = (await readAll(log)).records.map((r) => `${r.key}=${r.value}`);
      assert.deepEqual(values, [...Array.from({ length: 8 }, (_, k) => `k${k}=new`), 'tail=x'], 'every old value went, over the passes');
      assert.ok(passes > 2, `it took several passes (${passes})`);
      await log.close();
    });
  });

  it('a rename failing in the middle of a swap takes the log offline, and recovery finishes the swap', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      let cleanedRenames = 0;
      ops.rename = async (from: string, to: string) => {
        if (from.endsWith('.cleaned') && ++cleanedRenames === 3) throw errno('EIO');
        return nodeFileOps.rename(from, to);
      };
      const config = testConfig({ segmentBytes: 190, compact: true });
      const log = await PartitionLog.open(dir, config, { fileOps: ops });
      await appendAll(log, [kv('k', '1'), kv('j', '1'), kv('k', '2'), kv('j', '2'), kv('k', '3'), kv('j', '3'), kv('x', '1')]);
      const before = (await readAll(log)).records;
      await assert.rejects(log.clean(T0, true), /swapping in cleaned segments/);
      // Offline until recovery from disk has finished the swap the marker committed to.
      await waitFor('the log to come back', async () => {
        try {
          await log.read(log.logStartOffset, 1);
          return true;
        } catch {
          return false;
        }
      });
      assert.ok(log.recoveryNotes.some((n) => n.includes('finished swapping')), log.recoveryNotes.join('; '));
      const after = (await readAll(log)).records;
      assert.deepEqual(latestByKey(after), latestByKey(before));
      assert.ok(after.length < before.length, 'the cleaned segments are in place');
      assert.ok(!(await readdir(dir)).some((n) => n.endsWith('.cleaned') || n === 'cleaner-swap'));
      await log.close();
    });
  });

  it('an append racing a segment.ms roll of a quiet log lands in the new segment, and the old one is sealed once', async () => {
    await withLogDir(async (dir) => {
      let now = T0;
      const ops = new FaultyOps();
      const config = testConfig({ segmentBytes: 1 << 20, segmentMs: HOUR, compact: true });
      let log = await PartitionLog.open(dir, config, { clock: () => now, fileOps: ops });
      await appendAll(log, [kv('k', '1'), kv('k', '2')]);
      now += HOUR;
      const syncsBefore = ops.syncs;
      const roll = log.rollIfDue(now);
      const appended = log.append(kv('k', '3'));
      await Promise.all([roll, appended.written]);
      await log.flush();
      assert.deepEqual(log.segmentBaseOffsets(), [0, 2]);
      assert.equal(appended.baseOffset, 2);
      // One fsync sealing segment 0, one group commit of segment 2.
      assert.equal(ops.syncs - syncsBefore, 2, 'the old segment was sealed once');
      await log.close();
      log = await PartitionLog.open(dir, config, { clock: () => now });
      assert.deepEqual((await readAll(log)).records.map((r) => r.value), ['1', '2', '3']);
      await log.close();
    });
  });

  it('a crash at any step of the swap recovers to whole segments with every key\'s latest value at its offset', async () => {
    // Each round dies at the k-th change the swap makes on disk (marker write, each rename,
    // directory fsync, marker removal): from then on nothing more reaches the disk, as after
    // SIGKILL. A fresh open of the directory must then read the latest value of every key at
    // its offset, and segments that are either wholly old or wholly cleaned.
    // Several batches of different sizes per segment and an index entry per batch, so an index
    // that does not belong to its .log points into the middle of batches.
    const batches = (): Buffer[] => Array.from({ length: 16 }, (_, i) => ['k', 'j', 'i'][i % 3]!).concat(['x']).map((key, i) => kv(key, `${key}${i}${'-'.repeat((i * 7) % 23)}`));
    let finished = false;
    for (let k = 1; !finished && k < 100; k++) {
      await withLogDir(async (dir) => {
        const ops = new FaultyOps();
        let steps = 0;
        let dead = false;
        const step = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
          if (dead || ++steps === k) {
            dead = true;
            throw errno('EIO');
          }
          return fn(...args);
        };
        const config = testConfig({ segmentBytes: 500, indexIntervalBytes: 0, compact: true });
        const log = await PartitionLog.open(dir, config, { fileOps: ops });
        await appendAll(log, batches());
        const before = (await readAll(log)).records;
        // Armed only for the swap: the pass's own writes happen in the cleaner thread.
        ops.writeFile = step(nodeFileOps.writeFile);
        ops.rename = step(nodeFileOps.rename);
        ops.unlink = step(nodeFileOps.unlink);
        ops.syncDir = step(nodeFileOps.syncDir);
        const outcome = await log.clean(T0, true).then(() => 'done', () => 'crashed');
        if (!dead) finished = true;
        // The process is gone: whatever the old object holds is abandoned; the directory is reopened.
        const reopened = await PartitionLog.open(dir, config);
        const after = (await readAll(reopened)).records;
        const byOffset = new Map(before.map((r) => [r.offset, r]));
        for (const r of after) assert.deepEqual(byOffset.get(r.offset), r, `k=${k} (${outcome}): offset ${r.offset}`);
        assert.deepEqual(latestByKey(after), latestByKey(before), `k=${k} (${outcome}): the latest value of every key`);
        // Every offset is found through the index: the batch holding it, or the next one after a gap.
        for (let o = reopened.logStartOffset; o < reopened.highWatermark; o++) {
          const got = await reopened.read(o, 1);
          const b = got[0]!;
          const base = Number(b.readBigInt64BE(0));
          const last = base + b.readInt32BE(BatchField.lastOffsetDelta);
          assert.ok(last >= o, `k=${k}: a read at ${o} starts with the batch ${base}..${last}`);
          const expected = after.find((r) => r.offset >= o);
          const first: Seen[] = [];
          await forEachRecord(b.subarray(0, b.readInt32BE(8) + 12), (r) => void first.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null }));
          if (expected !== undefined && expected.offset <= last) assert.deepEqual(first.find((r) => r.offset === expected.offset), expected, `k=${k}: read at ${o}`);
        }
        assert.ok(!(await readdir(dir)).some((n) => n.endsWith('.cleaned') || n === 'cleaner-swap'), `k=${k}: leftovers are gone`);
        await reopened.close();
        dead = true;
        await log.close().catch(() => undefined);
      });
    }
    assert.ok(finished, 'some round ran the swap to its end');
  });

  it('cleans below min.cleanable.dirty.ratio once the oldest dirty record passes max.compaction.lag.ms', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 190, compact: true, minCleanableDirtyRatio: 0.99, maxCompactionLagMs: HOUR });
      const log = await PartitionLog.open(dir, config);
      await appendAll(log, Array.from({ length: 12 }, (_, i) => kv(`k${i}`, 'v', T0)));
      assert.ok((await log.clean(T0, true)) !== null, 'a first, forced pass cleans everything sealed');
      // A little more: dirty, but far below the ratio.
      await appendAll(log, [kv('k0', 'w', T0), kv('k1', 'w', T0), kv('tail', 'x', T0)]);
      assert.equal(await log.clean(T0 + HOUR - 1), null, 'below the ratio and younger than max.compaction.lag.ms');
      assert.ok(log.cleaner.dirtyRatio > 0 && log.cleaner.dirtyRatio < 0.99, String(log.cleaner.dirtyRatio));
      assert.ok(log.cleaner.lagMs > 0);
      const stats = await log.clean(T0 + HOUR + 1);
      assert.ok(stats !== null, 'past max.compaction.lag.ms the pass is due');
      assert.deepEqual((await readAll(log)).records.filter((r) => r.key === 'k0' || r.key === 'k1').map((r) => r.value), ['w', 'w']);
      await log.close();
    });
  });

  it('recovery removes the files of a pass that did not reach its swap marker, and finishes one that did', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 190, compact: true });
      let log = await PartitionLog.open(dir, config);
      await appendAll(log, [kv('k', '1'), kv('k', '2'), kv('k', '3'), kv('k', '4'), kv('k', '5'), kv('k', '6')]);
      const bases = log.segmentBaseOffsets();
      const sizes = new Map<number, number>();
      for (const b of bases) sizes.set(b, (await readFile(join(dir, `${String(b).padStart(20, '0')}.log`))).length);
      const before = (await readAll(log)).records;
      await log.close();
      const job = {
        dir,
        segments: bases.slice(0, -1).map((b, i) => ({ base: b, nextBase: bases[i + 1]!, size: sizes.get(b)!, mtimeMs: T0, dirty: true, aborted: [] })),
        aborted: [],
        now: T0,
        deleteRetentionMs: HOUR,
        indexIntervalBytes: 256,
        maxKeys: 1000,
      };
      // A crash before the marker: the .cleaned files are left over.
      let result = await runClean(job);
      assert.ok(result.cleaned.length > 0);
      assert.ok((await readdir(dir)).some((n) => n.endsWith('.cleaned')));
      log = await PartitionLog.open(dir, config);
      assert.ok(log.recoveryNotes.some((n) => n.includes('interrupted cleaning pass')), log.recoveryNotes.join('; '));
      assert.ok(!(await readdir(dir)).some((n) => n.endsWith('.cleaned')));
      assert.deepEqual((await readAll(log)).records, before, 'the old segments, whole');
      await log.close();
      // A crash after the marker and one rename: recovery finishes the others.
      result = await runClean(job);
      const cleanedBases = result.cleaned.map((c) => c.base);
      await writeFile(join(dir, 'cleaner-swap'), `1\n${cleanedBases.map((b) => `${b}\n`).join('')}`);
      const first = `${String(cleanedBases[0]).padStart(20, '0')}.log`;
      await rename(join(dir, `${first}.cleaned`), join(dir, first));
      log = await PartitionLog.open(dir, config);
      assert.ok(log.recoveryNotes.some((n) => n.includes('finished swapping')), log.recoveryNotes.join('; '));
      const names = await readdir(dir);
      assert.ok(!names.some((n) => n.endsWith('.cleaned') || n === 'cleaner-swap'), names.join(' '));
      const after = (await readAll(log)).records;
      assert.deepEqual(latestByKey(after), latestByKey(before));
      assert.ok(after.length < before.length, 'the cleaned segments are in place');
      await log.close();
    });
  });
});

describe('the cleaner thread on a damaged segment', () => {
  it('fails the pass (rather than looping) when a batch runs past the segment\'s end', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 190, compact: true });
      const log = await PartitionLog.open(dir, config);
      await appendAll(log, [kv('k', '1'), kv('k', '2'), kv('k', '3'), kv('k', '4')]);
      const bases = log.segmentBaseOffsets();
      await log.close();
      const file = join(dir, `${String(bases[0]).padStart(20, '0')}.log`);
      const bytes = await readFile(file);
      // The first batch now declares far more bytes than the file holds.
      bytes.writeInt32BE(1 << 20, 8);
      await writeFile(file, bytes);
      const job = {
        dir,
        segments: [{ base: bases[0]!, nextBase: bases[1]!, size: bytes.length, mtimeMs: T0, dirty: true, aborted: [] }],
        aborted: [],
        now: T0,
        deleteRetentionMs: HOUR,
        indexIntervalBytes: 256,
        maxKeys: 1000,
      };
      await assert.rejects(runClean(job), /past the segment's end/);
    });
  });
});
