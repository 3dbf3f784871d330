// Case 3 of the hardening issue: a segment's indexes hold offsets relative to its base as
// int32, as Kafka's do. Batches whose offsets span more than that (forged deltas before the
// produce path checked them, or compacted batches) once made relative offsets wrap, and reads
// from past the wrap came back with the wrong batches. Appends now roll a new segment before
// an offset that would not fit.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { batchRanges, makeBatch, sealBatch } from '../../helpers/batches.js';
import { testConfig, withLogDir } from './helpers.js';

const LAST_OFFSET_DELTA = 23;
const INT32_MAX = 2 ** 31 - 1;

/** A batch covering `span` offsets (its lastOffsetDelta is span - 1), as storage may hold after compaction. */
function spanning(span: number, fill: number): Buffer {
  const b = makeBatch({ records: 1, payload: 300, fill });
  b.writeInt32BE(span - 1, LAST_OFFSET_DELTA);
  return sealBatch(b);
}

/** Reads at every batch's first and last offset; each read must start with the batch holding it. */
async function assertEveryBatchReadable(log: PartitionLog, expected: Array<[number, number]>): Promise<void> {
  for (const [base, end] of expected) {
    for (const at of [base, end - 1]) {
      const got = batchRanges(await log.read(at, 1));
      assert.deepEqual(got[0], [base, end], `read at ${at}`);
    }
  }
  // And all of it, in order, from the start.
  const all: Array<[number, number]> = [];
  let next = 0;
  while (next < log.highWatermark) {
    const r = batchRanges(await log.read(next, 1 << 20));
    all.push(...r);
    next = r[r.length - 1]![1];
  }
  assert.deepEqual(all, expected);
}

describe('relative offsets', () => {
  it('case 3: appends crossing 2^31 and 2^32 offsets past a segment base roll a segment and read back every batch in order', async () => {
    await withLogDir(async (dir) => {
      // An index entry per batch, no tail cache: every read goes through the indexes.
      const cfg = testConfig({ indexIntervalBytes: 1, tailCacheBytes: 0 });
      const log = await PartitionLog.open(dir, cfg);
      const spans = [1, 1, 2 ** 30, 2 ** 30, 1, 1, 2 ** 31, 1, 1, INT32_MAX, 1, 1];
      const expected: Array<[number, number]> = [];
      let next = 0;
      for (let i = 0; i < spans.length; i++) {
        const r = log.append(spanning(spans[i]!, i));
        assert.equal(r.baseOffset, next);
        await r.written;
        expected.push([next, next + spans[i]!]);
        next += spans[i]!;
      }
      assert.ok(next > 2 ** 32, 'the log crossed 2^32 offsets');
      await assertEveryBatchReadable(log, expected);
      const bases = log.segmentBaseOffsets();
      assert.ok(bases.length > 1, `the log rolled (segments at ${bases.join(', ')})`);
      for (let s = 0; s < bases.length; s++) {
        const segEnd = s + 1 < bases.length ? bases[s + 1]! : next;
        assert.ok(segEnd - 1 - bases[s]! <= INT32_MAX, `segment at ${bases[s]} holds offsets to ${segEnd - 1}, past int32 from its base`);
      }
      await log.close();
      // Reopened from the files and their indexes.
      const again = await PartitionLog.open(dir, cfg);
      await assertEveryBatchReadable(again, expected);
      await again.close();
    });
  });
});
