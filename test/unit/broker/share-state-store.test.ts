// The share-group state store: the newest state of each partition replays after reopen,
// partition and group deletions stick, and compaction (started on its own as the log grows)
// keeps every live state while dropping the log before its snapshot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { ShareStateStore, partitionKey } from '../../../src/broker/groups/share-state-store.js';
import { withTempDir } from '../../helpers/temp.js';

const logConfig = { segmentBytes: 16 * 1024, segmentMs: 7 * 86400000, retentionMs: -1, retentionBytes: -1, indexIntervalBytes: 1024, tailCacheBytes: 4096 };

const state = (start: number) => ({ startOffset: start, ranges: [[start, start + 4, 0, 1], [start + 5, start + 5, 2, 1]] as [number, number, number, number][] });

test('the newest state of each partition replays; deleted partitions and groups stay deleted', () =>
  withTempDir(async (dir) => {
    const store = new ShareStateStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 1 << 30, fsync: true });
    await store.load();
    await store.save('g', 'T1', 0, state(0));
    await store.save('g', 'T1', 0, state(10));
    await store.save('g', 'T1', 1, state(3));
    await store.save('g', 'T2', 0, state(7));
    await store.deletePartition('g', 'T2', 0);
    await store.save('gone', 'T1', 0, state(1));
    await store.deleteGroup('gone');
    await store.close();
    const again = new ShareStateStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 1 << 30, fsync: true });
    await again.load();
    assert.deepEqual([...again.states.keys()], ['g']);
    assert.deepEqual(Object.fromEntries(again.states.get('g')!), { [partitionKey('T1', 0)]: state(10), [partitionKey('T1', 1)]: state(3) });
    await again.close();
  }, 'rivulet-share-state-'));

test('compaction keeps every live state and drops the log before its snapshot', () =>
  withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, logConfig);
    const store = new ShareStateStore(log, { compactAfterBytes: 8 * 1024, fsync: false });
    await store.load();
    for (let i = 0; i < 2000; i++) await store.save(`g${i % 3}`, 'T', i % 4, state(i));
    await store.deletePartition('g0', 'T', 0);
    await store.close(); // waits for a compaction under way
    assert.ok(log.logStartOffset > 1000, `the log start moved to ${log.logStartOffset}`);
    const again = new ShareStateStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 8 * 1024, fsync: false });
    await again.load();
    for (let g = 0; g < 3; g++) {
      for (let p = 0; p < 4; p++) {
        let last = -1;
        for (let i = 0; i < 2000; i++) if (i % 3 === g && i % 4 === p) last = i;
        const got = again.states.get(`g${g}`)?.get(partitionKey('T', p));
        if (g === 0 && p === 0) assert.equal(got, undefined, 'deleted after the last compaction');
        else assert.deepEqual(got, state(last), `g${g} T-${p}`);
      }
    }
    await again.close();
  }, 'rivulet-share-state-'));
