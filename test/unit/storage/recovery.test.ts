import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { CLEAN_SHUTDOWN_MARKER } from '../../../src/storage/checkpoint.js';
import { batchRanges, makeBatch } from '../../helpers/batches.js';
import { testConfig, withLogDir } from './helpers.js';

const SEG0 = '00000000000000000000';

async function fill(log: PartitionLog, n: number, records = 2, payload = 60, ts = 1_700_000_000_000): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) pending.push(log.append(makeBatch({ records, payload, fill: i & 0xff, maxTimestamp: ts + i })).written);
  await Promise.all(pending);
}

/** Every offset below the high watermark reads back as the batch that holds it. */
async function assertEveryOffsetReadable(log: PartitionLog): Promise<void> {
  for (let o = log.logStartOffset; o < log.highWatermark; o++) {
    const [range] = batchRanges(await log.read(o, 1));
    assert.ok(range !== undefined && range[0] <= o && o < range[1], `offset ${o} read back as ${String(range)}`);
  }
}

async function lastSegmentPath(dir: string): Promise<string> {
  const logs = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
  return join(dir, logs[logs.length - 1]!);
}

/** What a kill -9 leaves: no clean-shutdown marker. */
async function simulateCrash(dir: string): Promise<void> {
  await unlink(join(dir, CLEAN_SHUTDOWN_MARKER));
}

describe('PartitionLog recovery', () => {
  it('cuts a torn final batch and keeps appending contiguously', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 1000 });
      let log = await PartitionLog.open(dir, config);
      await fill(log, 30);
      const end = log.logEndOffset;
      await log.close();
      await simulateCrash(dir);
      const path = await lastSegmentPath(dir);
      const size = (await stat(path)).size;
      await truncate(path, size - 10);
      log = await PartitionLog.open(dir, config);
      assert.equal(log.logEndOffset, end - 2);
      assert.equal(log.highWatermark, end - 2);
      assert.equal((await stat(path)).size, size - 121, 'the torn batch is cut from the file');
      assert.match(log.recoveryNotes.join('\n'), /torn/);
      const r = log.append(makeBatch({ records: 4 }));
      assert.equal(r.baseOffset, end - 2);
      await r.written;
      await assertEveryOffsetReadable(log);
      await log.close();
    });
  });

  it('cuts trailing garbage (partial header, zeros) even after a clean shutdown', async () => {
    for (const garbage of [Buffer.from([1, 2, 3]), Buffer.alloc(200), Buffer.from('not a record batch at all, but long enough to hold a header..........')]) {
      await withLogDir(async (dir) => {
        let log = await PartitionLog.open(dir, testConfig());
        await fill(log, 5);
        await log.close();
        const path = join(dir, `${SEG0}.log`);
        const size = (await stat(path)).size;
        await appendFile(path, garbage);
        log = await PartitionLog.open(dir, testConfig());
        assert.equal(log.logEndOffset, 10);
        assert.equal((await stat(path)).size, size);
        assert.equal(log.recoveryNotes.length, 1);
        assert.equal((await log.append(makeBatch()).written, log.highWatermark), 11);
        await assertEveryOffsetReadable(log);
        await log.close();
      });
    }
  });

  it('truncates from the first batch with a bad CRC in the tail after a crash', async () => {
    await withLogDir(async (dir) => {
      let log = await PartitionLog.open(dir, testConfig());
      await fill(log, 10); // 121-byte batches, 2 records each
      await log.close();
      await simulateCrash(dir);
      const path = join(dir, `${SEG0}.log`);
      const bytes = await readFile(path);
      bytes[7 * 121 + 100] ^= 0xff; // a payload byte of the 8th batch
      await writeFile(path, bytes);
      log = await PartitionLog.open(dir, testConfig());
      assert.equal(log.logEndOffset, 14);
      assert.equal((await stat(path)).size, 7 * 121);
      assert.match(log.recoveryNotes.join('\n'), /CRC32C/);
      await assertEveryOffsetReadable(log);
      await log.close();
    });
  });

  it('rebuilds missing and damaged index files of older segments; lookups stay correct', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 2000, indexIntervalBytes: 200 });
      let log = await PartitionLog.open(dir, config);
      await fill(log, 80);
      const end = log.logEndOffset;
      const bases = log.segmentBaseOffsets();
      assert.ok(bases.length >= 5);
      await log.close();
      const name = (base: number, suffix: string): string => join(dir, String(base).padStart(20, '0') + suffix);
      const originals = new Map<string, Buffer>();
      for (const b of bases.slice(0, 4)) {
        for (const s of ['.index', '.timeindex']) originals.set(name(b, s), await readFile(name(b, s)));
      }
      assert.ok(originals.get(name(bases[1]!, '.index'))!.length >= 16, 'test needs several index entries');
      await unlink(name(bases[0]!, '.index'));
      await unlink(name(bases[0]!, '.timeindex'));
      await writeFile(name(bases[1]!, '.index'), Buffer.from([1, 2, 3])); // not whole entries
      const pastEnd = Buffer.alloc(8);
      pastEnd.writeInt32BE(1, 0);
      pastEnd.writeInt32BE(1_000_000, 4); // points past the end of the segment
      await writeFile(name(bases[2]!, '.index'), pastEnd);
      const backwards = Buffer.alloc(24);
      backwards.writeInt32BE(0, 0);
      backwards.writeUInt32BE(2000, 4);
      backwards.writeInt32BE(0, 12);
      backwards.writeUInt32BE(1000, 16); // timestamps not increasing
      await writeFile(name(bases[3]!, '.timeindex'), backwards);

      log = await PartitionLog.open(dir, config);
      assert.equal(log.logEndOffset, end);
      assert.equal(log.recoveryNotes.filter((n) => n.includes('rebuilt index files')).length, 4);
      for (const [path, original] of originals) assert.ok((await readFile(path)).equals(original), `${path} rebuilt as written`);
      await assertEveryOffsetReadable(log);
      const hit = await log.offsetForTimestamp(1_700_000_000_000 + 33);
      assert.deepEqual(hit, { offset: 66, timestamp: 1_700_000_000_000 + 33 });
      await log.close();
    });
  });

  it('restores producer state from the scanned tail: the last five batches per producer', async () => {
    await withLogDir(async (dir) => {
      let log = await PartitionLog.open(dir, testConfig());
      for (let i = 0; i < 8; i++) await log.append(makeBatch({ records: 3, producerId: 7, producerEpoch: 1, baseSequence: i * 3 })).written;
      await log.append(makeBatch({ records: 2, producerId: 9, producerEpoch: 0, baseSequence: 0 })).written;
      await log.append(makeBatch({ records: 2 })).written;
      await log.close();
      log = await PartitionLog.open(dir, testConfig());
      assert.deepEqual(log.producers.check(7, 1, 21, 23), { kind: 'duplicate', baseOffset: 21 });
      assert.deepEqual(log.producers.check(7, 1, 9, 11), { kind: 'duplicate', baseOffset: 9 }, 'the fifth batch back');
      assert.equal(log.producers.check(7, 1, 6, 8).kind, 'error', 'the sixth batch back is forgotten');
      assert.deepEqual(log.producers.check(9, 0, 0, 1), { kind: 'duplicate', baseOffset: 24 });
      assert.deepEqual(
        log.producers.describe().map((d) => [d.producerId, d.producerEpoch, d.lastSequence, d.currentTxnStartOffset]),
        [[7, 1, 23, -1], [9, 0, 1, -1]],
      );
      await log.close();
    });
  });

  it('finishes deleting segments left below the stored log start offset', async () => {
    await withLogDir(async (dir) => {
      const config = testConfig({ segmentBytes: 500 });
      let log = await PartitionLog.open(dir, config);
      await fill(log, 20);
      const bases = log.segmentBaseOffsets();
      await log.close();
      // As if the checkpoint was written and the process died before unlinking.
      await writeFile(join(dir, 'log-start-offset.checkpoint'), `1\n${bases[2]! + 1}\n`);
      log = await PartitionLog.open(dir, config);
      assert.deepEqual(log.segmentBaseOffsets(), bases.slice(2));
      assert.equal(log.logStartOffset, bases[2]! + 1);
      assert.ok(!(await readdir(dir)).includes(String(bases[0]).padStart(20, '0') + '.log'));
      await log.close();
    });
  });
});
