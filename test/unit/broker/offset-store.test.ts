// The committed-offset store: replay after reopen, compaction that drops the log before a
// snapshot without losing a live offset, and expiry of empty groups' offsets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionLog } from '../../../src/storage/partition-log.js';
import { OffsetStore } from '../../../src/broker/groups/offset-store.js';
import { GroupCoordinator } from '../../../src/broker/groups/coordinator.js';
import { Logger } from '../../../src/broker/logger.js';
import { withTempDir } from '../../helpers/temp.js';
import { FaultyOps, errno } from '../storage/helpers.js';

const logConfig = { segmentBytes: 16 * 1024, segmentMs: 7 * 86400000, retentionMs: -1, retentionBytes: -1, indexIntervalBytes: 1024, tailCacheBytes: 4096 };

const at = (offset: number, ts = 1000) => ({ offset, leaderEpoch: -1, metadata: null, commitTimestamp: ts });

test('commits, deletions and group deletions replay after reopen', () =>
  withTempDir(async (dir) => {
    const store = new OffsetStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 1 << 30, fsync: true });
    await store.load();
    await store.commit('a', [{ topic: 't', partition: 0, offset: at(5) }, { topic: 't', partition: 1, offset: at(6) }]);
    await store.commit('a', [{ topic: 't', partition: 0, offset: at(7) }]);
    await store.commit('b', [{ topic: 'u', partition: 3, offset: at(9) }]);
    await store.deleteOffsets('a', [{ topic: 't', partition: 1 }]);
    await store.commit('c', [{ topic: 'u', partition: 0, offset: at(1) }]);
    await store.deleteGroup('c');
    await store.close();
    const again = new OffsetStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 1 << 30, fsync: true });
    await again.load();
    assert.equal(again.get('a', 't', 0)?.offset, 7);
    assert.equal(again.get('a', 't', 1), undefined);
    assert.equal(again.get('b', 'u', 3)?.offset, 9);
    assert.equal(again.hasGroup('c'), false);
    assert.deepEqual(again.groupIds().sort(), ['a', 'b']);
    await again.close();
  }, 'rivulet-offsets-'));

test('compaction keeps every live offset and drops the log before its snapshot', () =>
  withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, logConfig);
    const store = new OffsetStore(log, { compactAfterBytes: 8 * 1024, fsync: false });
    await store.load();
    for (let i = 0; i < 2000; i++) {
      await store.commit(`g${i % 7}`, [{ topic: 't', partition: i % 5, offset: at(i) }]);
    }
    await store.compact();
    assert.ok(log.logStartOffset > 1000, `the log start moved to ${log.logStartOffset}`);
    await store.close();
    const again = new OffsetStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 8 * 1024, fsync: false });
    await again.load();
    for (let g = 0; g < 7; g++) {
      for (let p = 0; p < 5; p++) {
        let last = -1;
        for (let i = 0; i < 2000; i++) if (i % 7 === g && i % 5 === p) last = i;
        assert.equal(again.get(`g${g}`, 't', p)?.offset, last, `g${g} t-${p}`);
      }
    }
    await again.close();
  }, 'rivulet-offsets-'));

test('offsets of a group empty for longer than the retention expire; others stay', () =>
  withTempDir(async (dir) => {
    let now = 1_000_000;
    const store = new OffsetStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 1 << 30, fsync: false });
    await store.load();
    const coordinator = new GroupCoordinator(
      { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1, maxSessionTimeoutMs: 60000, maxSize: 0, offsetsRetentionMs: 60_000 },
      store,
      new Logger('error'),
      () => now,
    );
    await store.commit('old', [{ topic: 't', partition: 0, offset: at(1, now) }]);
    now += 50_000;
    await store.commit('recent', [{ topic: 't', partition: 0, offset: at(2, now) }]);
    now += 20_000;
    await coordinator.expireOffsets();
    assert.equal(store.hasGroup('old'), false, 'committed 70 s ago with a 60 s retention');
    assert.equal(store.get('recent', 't', 0)?.offset, 2);
    coordinator.close();
    await store.close();
  }, 'rivulet-offsets-'));

test('offsets of a consumer-protocol group with members never expire', () =>
  withTempDir(async (dir) => {
    let now = 1_000_000;
    const store = new OffsetStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 1 << 30, fsync: false });
    await store.load();
    const coordinator = new GroupCoordinator(
      { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1, maxSessionTimeoutMs: 60000, maxSize: 0, offsetsRetentionMs: 60_000 },
      store,
      new Logger('error'),
      () => now,
    );
    coordinator.hasMembersElsewhere = (id) => id === 'live';
    await store.commit('live', [{ topic: 't', partition: 0, offset: at(1, now) }]);
    await store.commit('gone', [{ topic: 't', partition: 0, offset: at(1, now) }]);
    now += 120_000;
    await coordinator.expireOffsets();
    assert.equal(store.get('live', 't', 0)?.offset, 1, 'its members are alive in the consumer-group coordinator');
    assert.equal(store.hasGroup('gone'), false);
    coordinator.close();
    await store.close();
  }, 'rivulet-offsets-'));

test('case 4: a commit the disk refused is never visible, before or after a restart', () =>
  withTempDir(async (dir) => {
    const ops = new FaultyOps();
    const store = new OffsetStore(await PartitionLog.open(dir, logConfig, { fileOps: ops }), { compactAfterBytes: 1 << 30, fsync: true });
    await store.load();
    await store.commit('g', [{ topic: 't', partition: 0, offset: at(5) }]);
    ops.failWrites.push(errno('ENOSPC'));
    const refused = store.commit('g', [{ topic: 't', partition: 0, offset: at(9) }]);
    assert.equal(store.get('g', 't', 0)?.offset, 5, 'not visible while it is being written');
    await assert.rejects(refused, /ENOSPC/);
    assert.equal(store.get('g', 't', 0)?.offset, 5, 'OffsetFetch still answers the stored offset');
    await store.commit('g', [{ topic: 't', partition: 1, offset: at(3) }]);
    await store.close();
    const again = new OffsetStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 1 << 30, fsync: true });
    await again.load();
    assert.equal(again.get('g', 't', 0)?.offset, 5, 'the same offset after a restart');
    assert.equal(again.get('g', 't', 1)?.offset, 3);
    await again.close();
  }, 'rivulet-offsets-'));

test('case 4: compaction while commits are in flight keeps the newest offset of every partition', () =>
  withTempDir(async (dir) => {
    const ops = new FaultyOps();
    ops.syncDelayTurns = 3;
    const log = await PartitionLog.open(dir, logConfig, { fileOps: ops });
    const store = new OffsetStore(log, { compactAfterBytes: 2 * 1024, fsync: true });
    await store.load();
    const commits: Promise<void>[] = [];
    for (let i = 0; i < 600; i++) {
      commits.push(store.commit(`g${i % 3}`, [{ topic: 't', partition: i % 4, offset: at(i) }]));
      if (i % 50 === 49) commits.push(store.compact());
    }
    await Promise.all(commits);
    assert.ok(log.logStartOffset > 0, 'compaction dropped the log before a snapshot');
    await store.close();
    const again = new OffsetStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 1 << 30, fsync: true });
    await again.load();
    for (let g = 0; g < 3; g++) {
      for (let p = 0; p < 4; p++) {
        let last = -1;
        for (let i = 0; i < 600; i++) if (i % 3 === g && i % 4 === p) last = i;
        assert.equal(again.get(`g${g}`, 't', p)?.offset, last, `g${g} t-${p}`);
      }
    }
    await again.close();
  }, 'rivulet-offsets-'));

test('classic group metadata survives compaction and reopen; removing it (or deleting the group) forgets it', () =>
  withTempDir(async (dir) => {
    const log = await PartitionLog.open(dir, logConfig);
    const store = new OffsetStore(log, { compactAfterBytes: 1 << 30, fsync: false });
    await store.load();
    const member = { memberId: 'm-1', groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', sessionTimeoutMs: 2000, rebalanceTimeoutMs: 5000, protocols: [['range', 'AAE=']] as [string, string][], assignment: 'AAI=' };
    const meta = (id: string, generation: number) => ({ id, generation, protocolType: 'consumer', protocolName: 'range', leader: 'm-1', members: [member] });
    await store.storeClassicGroup('kept', meta('kept', 3));
    await store.storeClassicGroup('kept', meta('kept', 4));
    await store.storeClassicGroup('removed', meta('removed', 1));
    await store.storeClassicGroup('removed', null);
    await store.commit('deleted', [{ topic: 't', partition: 0, offset: at(1) }]);
    await store.storeClassicGroup('deleted', meta('deleted', 2));
    await store.deleteGroup('deleted');
    await store.compact();
    await store.close();
    const again = new OffsetStore(await PartitionLog.open(dir, logConfig), { compactAfterBytes: 1 << 30, fsync: false });
    await again.load();
    assert.deepEqual(again.classicGroups(), [meta('kept', 4)]);
    await again.close();
  }, 'rivulet-offsets-'));
