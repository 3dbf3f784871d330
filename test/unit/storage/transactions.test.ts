// Transaction and producer state on disk: the aborted-transaction index written when a segment
// is sealed and rebuilt when lost, producer snapshots at each roll restored after a crash (and
// the rebuild from the oldest segment without one), and both going away with their segment.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { buildControlBatch } from '../../../src/protocol/control-batch.js';
import { makeBatch } from '../../helpers/batches.js';
import { testConfig, withLogDir } from './helpers.js';

const T0 = 1_700_000_000_000;
const config = testConfig({ segmentBytes: 400 });

const fileName = (base: number, suffix: string): string => String(base).padStart(20, '0') + suffix;
const txnBatch = (pid: number, seq: number): Buffer => makeBatch({ records: 2, payload: 40, producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true, maxTimestamp: T0 + seq });
const marker = (pid: number, commit: boolean): Buffer => buildControlBatch({ producerId: pid, producerEpoch: 0, commit, coordinatorEpoch: 0, timestamp: T0 });
const plain = (): Buffer => makeBatch({ records: 2, payload: 40 });

/** Appends `batches` one append each, waiting for each write. */
async function appendAll(log: PartitionLog, batches: Buffer[]): Promise<void> {
  for (const b of batches) await log.append(b).written;
  await log.flush();
}

/** Three producers' transactions interleaved over many segments; producer 3's spans most of them before it aborts. */
function interleaved(): Buffer[] {
  const out: Buffer[] = [txnBatch(3, 0)];
  const seq = [0, 0, 0, 2];
  for (let r = 0; r < 8; r++) {
    out.push(txnBatch(1, seq[1]!), txnBatch(2, seq[2]!));
    seq[1]! += 2;
    seq[2]! += 2;
    out.push(marker(1, r % 2 === 1));
    if (r % 2 === 1) out.push(marker(2, r % 4 !== 1));
    out.push(plain());
    if (r === 6) out.push(marker(3, false));
  }
  return out;
}

/** What read_committed and the admin APIs see. */
function answers(log: PartitionLog): unknown {
  const hw = log.highWatermark;
  return {
    hw,
    lso: log.lastStableOffset,
    all: log.abortedTransactions(0, hw),
    middle: log.abortedTransactions(Math.floor(hw / 3), Math.floor((2 * hw) / 3)),
    tail: log.abortedTransactions(hw - 10, hw),
    open: log.producers.openTransactions(),
    producers: log.producers.describe().sort((a, b) => a.producerId - b.producerId),
  };
}

describe('PartitionLog transactions on disk', () => {
  it('writes each sealed segment\'s .txnindex and rebuilds a deleted or garbled one with the same answers', async () => {
    await withLogDir(async (dir) => {
      let log = await PartitionLog.open(dir, config);
      await appendAll(log, interleaved());
      await appendAll(log, [txnBatch(1, 16)]); // left open
      const bases = log.segmentBaseOffsets();
      assert.ok(bases.length >= 6, `test needs several segments, got ${bases.length}`);
      const before = answers(log) as { all: unknown[]; lso: number };
      assert.equal(before.all.length, 7, 'four aborts of producer 1, two of producer 2, one of producer 3');
      assert.ok(before.lso < log.highWatermark);
      await log.close();

      const files = new Map<number, Buffer>();
      for (const b of bases.slice(0, -1)) files.set(b, await readFile(join(dir, fileName(b, '.txnindex'))));
      const withEntries = [...files].filter(([, buf]) => buf.length > 4).map(([b]) => b);
      assert.ok(withEntries.length >= 2, 'aborts land in several sealed segments');
      await unlink(join(dir, fileName(withEntries[0]!, '.txnindex')));
      const garbled = Buffer.from(files.get(withEntries[1]!)!);
      garbled[10] = garbled[10]! ^ 0xff;
      await writeFile(join(dir, fileName(withEntries[1]!, '.txnindex')), garbled);

      log = await PartitionLog.open(dir, config);
      assert.equal(log.recoveryNotes.filter((n) => n.includes('rebuilt its aborted-transaction index')).length, 2, log.recoveryNotes.join('; '));
      assert.deepEqual(answers(log), before);
      for (const [b, buf] of files) assert.ok((await readFile(join(dir, fileName(b, '.txnindex')))).equals(buf), `segment ${b}'s .txnindex rewritten as sealed`);
      await log.close();
      log = await PartitionLog.open(dir, config);
      assert.deepEqual(log.recoveryNotes, []);
      assert.deepEqual(answers(log), before);
      await log.close();
    });
  });

  it('restores producer state after a crash from the snapshot at the active segment, and rebuilds it from the oldest segment without one', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, config);
      // Producer 5 writes only in the first segment; producer 6's transaction opens there and stays open.
      await appendAll(log, [
        makeBatch({ records: 2, producerId: 5, producerEpoch: 3, baseSequence: 0, maxTimestamp: T0 }),
        txnBatch(6, 0),
        makeBatch({ records: 2, producerId: 5, producerEpoch: 3, baseSequence: 2, maxTimestamp: T0 + 1 }),
      ]);
      for (let i = 0; i < 12; i++) await appendAll(log, [plain()]);
      await appendAll(log, [makeBatch({ records: 1, producerId: 7, producerEpoch: 0, baseSequence: 0 })]);
      const bases = log.segmentBaseOffsets();
      assert.ok(bases.length >= 4 && bases[bases.length - 1]! > 8, 'producers 5 and 6 are far behind the active segment');
      const names = await readdir(dir);
      for (const b of bases.slice(1)) assert.ok(names.includes(fileName(b, '.snapshot')), `a snapshot for segment ${b}`);
      const expected = answers(log);
      assert.equal(log.lastStableOffset, 2, 'producer 6 holds it');

      // A crash: the log is opened again without closing the first.
      const check = async (reopened: PartitionLog): Promise<void> => {
        assert.deepEqual(answers(reopened), expected);
        assert.deepEqual(reopened.producers.check(5, 3, 2, 3), { kind: 'duplicate', baseOffset: 4 }, 'a retry of producer 5 is still recognised');
        assert.equal(reopened.producers.check(5, 3, 6, 6).kind, 'error', 'and its sequence still checked');
        assert.deepEqual(reopened.producers.check(7, 0, 0, 0), { kind: 'duplicate', baseOffset: reopened.logEndOffset - 1 });
        assert.equal(reopened.lastStableOffset, 2);
      };
      const crashed = await PartitionLog.open(dir, config);
      assert.deepEqual(crashed.recoveryNotes, []);
      await check(crashed);

      const active = bases[bases.length - 1]!;
      await unlink(join(dir, fileName(active, '.snapshot')));
      const withoutSnapshot = await PartitionLog.open(dir, config);
      assert.ok(withoutSnapshot.recoveryNotes.some((n) => n.includes('no usable producer snapshot')), withoutSnapshot.recoveryNotes.join('; '));
      await check(withoutSnapshot);

      await writeFile(join(dir, fileName(active, '.snapshot')), Buffer.from('garbage, not a snapshot'));
      const garbled = await PartitionLog.open(dir, config);
      assert.ok(garbled.recoveryNotes.some((n) => n.includes('no usable producer snapshot')));
      await check(garbled);
      await garbled.close();
    });
  });

  it('removes a segment\'s snapshot and .txnindex with the segment', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, config);
      await appendAll(log, interleaved());
      const bases = log.segmentBaseOffsets();
      await log.deleteRecordsBefore(bases[3]!);
      const names = await readdir(dir);
      for (const b of bases.slice(0, 3)) assert.deepEqual(names.filter((n) => n.startsWith(fileName(b, ''))), [], `nothing of segment ${b} is left`);
      assert.ok(names.includes(fileName(bases[3]!, '.snapshot')) && names.includes(fileName(bases[3]!, '.txnindex')));
      log.setConfig({ ...config, retentionBytes: 0 });
      await log.enforceRetention(Date.now());
      const left = await readdir(dir);
      const active = log.segmentBaseOffsets();
      assert.equal(active.length, 1);
      for (const n of left) assert.ok(!/^\d{20}\./.test(n) || n.startsWith(fileName(active[0]!, '')), `${n} belongs to the remaining segment`);
      await log.close();
      // Left by a crash between a segment's files being unlinked: removed at the next open.
      await writeFile(join(dir, fileName(bases[0]!, '.snapshot')), Buffer.alloc(10));
      await writeFile(join(dir, fileName(bases[0]!, '.txnindex')), Buffer.alloc(4));
      const reopened = await PartitionLog.open(dir, config);
      assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith(fileName(bases[0]!, ''))), []);
      await reopened.close();
    });
  });
});
