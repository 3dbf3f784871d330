// A full disk fails the affected produce requests with KAFKA_STORAGE_ERROR and loses
// nothing already acknowledged; the broker keeps serving, and writes succeed again once
// space is freed. Needs a small tmpfs, so it runs where mount is allowed (root, as in CI).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { readPartition } from '../helpers/read-all.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { produceBody } from '../helpers/requests.js';

function tryMount(dir: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0] ?? 'mount failed';
  }
}

test('a full disk gets KAFKA_STORAGE_ERROR, keeps acknowledged data, and recovers when space returns', async (t) => {
  const mnt = await makeTempDir('rivulet-fulldisk-');
  const why = tryMount(mnt);
  if (why !== null) {
    if (process.env.CI === 'true') assert.fail(`cannot mount a tmpfs for the full-disk test: ${why}`);
    t.skip(`needs a tmpfs mount (root): ${why}`);
    await rm(mnt, { recursive: true, force: true });
    return;
  }
  const dataDir = join(mnt, 'data');
  await mkdir(dataDir);
  const broker = await startBroker({ dataDir, args: ['--set', 'log.segment.bytes=524288'] });
  const c = await WireClient.connect(broker.port);
  try {
    const produce = (topic: string, value: Buffer) =>
      c.request(ApiKey.Produce, 9, produceBody(topic, buildBatch([{ key: null, value }])));
    const acked: { offset: number; fill: number }[] = [];
    let storageError = false;
    for (let i = 0; i < 200 && !storageError; i++) {
      const res = await produce('fill', Buffer.alloc(64 * 1024, i & 0xff));
      const pr = res.responses[0].partitionResponses[0];
      if (pr.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) storageError = true;
      else {
        assert.equal(pr.errorCode, 0);
        acked.push({ offset: pr.baseOffset, fill: i & 0xff });
      }
    }
    assert.ok(storageError, 'the disk filled up and the broker said so');
    assert.ok(acked.length > 5, `${acked.length} batches were stored before the disk filled`);
    // Still serving: metadata, and every acknowledged record reads back intact.
    const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.ok(md.topics.some((x: { name: string }) => x.name === 'fill'));
    const records = await readPartition(broker.port, 'fill', 0);
    assert.equal(records.length, acked.length, 'nothing half-written is visible');
    for (const a of acked) assert.equal(records[a.offset]!.value![100], a.fill);
    // Free space by deleting records (whole old segments go), then writes succeed again.
    const del = await c.request(ApiKey.DeleteRecords, 2, { topics: [{ name: 'fill', partitions: [{ partitionIndex: 0, offset: -1 }] }], timeoutMs: 5000 });
    assert.equal(del.topics[0].partitions[0].errorCode, 0);
    let recovered = false;
    for (let i = 0; i < 20 && !recovered; i++) {
      const res = await produce('fill', Buffer.from('after'));
      recovered = res.responses[0].partitionResponses[0].errorCode === 0;
      if (!recovered) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(recovered, 'produce succeeds once space is free');
  } finally {
    c.close();
    await broker.stop();
    try {
      execFileSync('umount', [mnt]);
    } catch {
      // already gone
    }
    await rm(mnt, { recursive: true, force: true });
  }
});
