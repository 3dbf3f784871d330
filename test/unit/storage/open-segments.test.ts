import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OpenSegments, PartitionLog } from '../../../src/storage/partition-log.js';
import { Segment } from '../../../src/storage/segment.js';
import type { LogFile } from '../../../src/storage/file-ops.js';
import { batchRanges, makeBatch } from '../../helpers/batches.js';
import { testConfig, withLogDir } from './helpers.js';

function fakeFile(closed: string[], name: string): LogFile {
  const no = (): never => assert.fail('not used');
  return { writev: no, read: no, sync: no, truncate: no, size: no, close: async () => void closed.push(name) };
}

describe('case 9: a bounded set of open sealed-segment files', () => {
  it('closes the least recently used idle file, never one a read is using', () => {
    const closed: string[] = [];
    const set = new OpenSegments(1);
    const a = new Segment('/x', 0);
    const b = new Segment('/x', 10);
    a.file = fakeFile(closed, 'a');
    b.file = fakeFile(closed, 'b');
    a.readers = 1;
    b.readers = 1;
    set.use(a);
    set.use(b);
    assert.equal(set.size, 2, 'over the limit while both are being read');
    assert.notEqual(a.file, null);
    a.readers = 0;
    set.trim();
    assert.equal(a.file, null, 'the idle, least recently used file is closed');
    assert.notEqual(b.file, null);
    assert.equal(set.size, 1);
  });

  it('a log with many small segments keeps at most the limit open and reads every batch back', async () => {
    await withLogDir(async (dir) => {
      const set = new OpenSegments(4);
      const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 14, tailCacheBytes: 0 }), { openSegments: set });
      for (let i = 0; i < 40; i++) await log.append(makeBatch({ fill: i })).written;
      assert.equal(log.segmentCount, 40);
      assert.ok(set.size <= 4, `${set.size} sealed segments open after writing`);
      for (let round = 0; round < 2; round++) {
        for (let o = 0; o < 40; o++) {
          assert.deepEqual(batchRanges(await log.read(o, 1 << 20)), [[o, o + 1]]);
          assert.ok(set.size <= 4, `${set.size} sealed segments open while reading`);
        }
      }
      await log.close();
      assert.equal(set.size, 0, 'closing the log forgets its files');
    });
  });
});
