// A log reports each append's time from append() to written to its write listeners (the
// broker's rivulet_log_write_duration_seconds): one report per append, also when appends
// share one writev, and none for a write that failed.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { makeBatch } from '../../helpers/batches.js';
import { FaultyOps, errno, testConfig, withLogDir } from './helpers.js';

describe('write listeners', () => {
  it('get one report per append, whether appends share a write or not', async () => {
    await withLogDir(async (dir) => {
      const log = await PartitionLog.open(dir, testConfig());
      const seen: number[] = [];
      log.writeListeners.add((s) => seen.push(s));
      // Three appends in one turn share one writev; a fourth goes alone.
      await Promise.all([0, 1, 2].map((i) => log.append(makeBatch({ records: 2, fill: i })).written));
      assert.equal(seen.length, 3, 'one report per append of the shared write');
      await log.append(makeBatch({ records: 1 })).written;
      assert.equal(seen.length, 4);
      for (const s of seen) assert.ok(Number.isFinite(s) && s >= 0, `a duration in seconds (${s})`);
      log.writeListeners.clear();
      await log.append(makeBatch({ records: 1 })).written;
      assert.equal(seen.length, 4, 'no listener, no report');
      await log.close();
    });
  });

  it('report nothing for a failed write', async () => {
    await withLogDir(async (dir) => {
      const ops = new FaultyOps();
      const log = await PartitionLog.open(dir, testConfig(), { fileOps: ops });
      const seen: number[] = [];
      log.writeListeners.add((s) => seen.push(s));
      await log.append(makeBatch({ records: 1 })).written;
      assert.equal(seen.length, 1);
      ops.failWrites.push(errno('ENOSPC'));
      await assert.rejects(log.append(makeBatch({ records: 1 })).written);
      assert.equal(seen.length, 1, 'the failed append is not reported as written');
      await log.close().catch(() => undefined);
    });
  });
});
