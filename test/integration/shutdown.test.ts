// Graceful shutdown: on SIGTERM a parked fetch is answered at once, the process exits 0,
// and everything acknowledged is there after a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { readPartition } from '../helpers/read-all.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { sleep } from '../helpers/wait.js';
import { createTopicsBody, fetchBody, produceBody } from '../helpers/requests.js';
import { makeTempDir } from '../helpers/temp.js';
import { ErrorCode } from '../../src/protocol/errors.js';

test('SIGTERM answers parked requests, exits 0 and keeps the data', async () => {
  const broker = await startBroker({ args: ['--fsync', 'never'] });
  const c = await WireClient.connect(broker.port);
  const values = Array.from({ length: 50 }, (_, i) => `v${i}`);
  const res = await c.request(ApiKey.Produce, 9, produceBody('s', buildBatch(values.map((v) => ({ key: null, value: Buffer.from(v) }))), { acks: 1 }));
  assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
  const parked = c.request(ApiKey.Fetch, 12, fetchBody('s', { offset: 50, maxWaitMs: 60_000 }));
  await sleep(100);
  const exit = broker.stop();
  const answer = await parked;
  assert.equal(answer.responses[0].partitions[0].errorCode, 0);
  assert.equal(answer.responses[0].partitions[0].highWatermark, 50);
  assert.equal(await exit, 0);
  assert.match(broker.output(), /broker stopped/);
  c.close();
  const again = await startBroker({ dataDir: broker.dataDir });
  try {
    assert.deepEqual((await readPartition(again.port, 's', 0)).map((r) => r.value!.toString()), values);
  } finally {
    await again.stop();
    await rm(broker.dataDir, { recursive: true, force: true });
  }
});

/** Partition directories of `topic` in a data directory. */
async function partitionDirs(dataDir: string, topic: string): Promise<string[]> {
  return (await readdir(dataDir)).filter((n) => n.startsWith(`${topic}-`) && !n.endsWith('-delete')).map((n) => join(dataDir, n));
}

/** Index files of zero bytes: what an interrupted index write leaves behind. */
async function emptyIndexFiles(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    for (const n of await readdir(d)) {
      if ((n.endsWith('.index') || n.endsWith('.timeindex')) && (await stat(join(d, n))).size === 0) out.push(join(d, n));
    }
  }
  return out;
}

test('case 5: SIGTERM with many partitions holding data stays within the open-file limit, exits 0, and the next start needs no repair', async () => {
  const partitions = 120;
  // Enough for the broker to run with every partition's segment open, not for opening them all twice at once.
  const broker = await startBroker({ maxOpenFiles: 200 });
  try {
    const c = await WireClient.connect(broker.port);
    try {
      const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('many', partitions));
      assert.equal(created.topics[0].errorCode, 0);
      const data = Array.from({ length: partitions }, (_, i): [number, Buffer] => [i, buildBatch([{ key: null, value: Buffer.from(`p${i}`) }])]);
      // acks=1: written, not yet fsynced, so closing has every partition to fsync.
      const res = await c.request(ApiKey.Produce, 9, produceBody('many', data, { acks: 1 }));
      for (const p of res.responses[0].partitionResponses) assert.equal(p.errorCode, 0, `partition ${p.index}`);
    } finally {
      c.close();
    }
    assert.equal(await broker.stop(), 0, broker.output());
  } finally {
    await broker.kill();
  }
  const dirs = await partitionDirs(broker.dataDir, 'many');
  assert.equal(dirs.length, partitions);
  for (const d of dirs) assert.ok((await readdir(d)).includes('.clean-shutdown'), `${d} was closed cleanly`);
  assert.deepEqual(await emptyIndexFiles(dirs), []);
  const again = await startBroker({ dataDir: broker.dataDir, maxOpenFiles: 200 });
  try {
    for (const i of [0, 59, 119]) assert.deepEqual((await readPartition(again.port, 'many', i)).map((r) => r.value!.toString()), [`p${i}`]);
    assert.doesNotMatch(again.output(), /log recovery/);
  } finally {
    await again.stop();
    await rm(broker.dataDir, { recursive: true, force: true });
  }
});

test("case 5: SIGTERM after a partition's directory vanished exits 0 and the other partitions keep their data", async () => {
  const broker = await startBroker();
  try {
    const c = await WireClient.connect(broker.port);
    try {
      for (const topic of ['gone', 'kept']) {
        const res = await c.request(ApiKey.Produce, 9, produceBody(topic, buildBatch([{ key: null, value: Buffer.from(topic) }]), { acks: 1 }));
        assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
      }
    } finally {
      c.close();
    }
    await rm(join(broker.dataDir, 'gone-0'), { recursive: true, force: true });
    assert.equal(await broker.stop(), 0, broker.output());
    assert.doesNotMatch(broker.output(), /Unhandled|uncaught/i);
  } finally {
    await broker.kill();
  }
  const again = await startBroker({ dataDir: broker.dataDir });
  try {
    assert.deepEqual((await readPartition(again.port, 'kept', 0)).map((r) => r.value!.toString()), ['kept']);
  } finally {
    await again.stop();
    await rm(broker.dataDir, { recursive: true, force: true });
  }
});

test('case 5: SIGTERM on a full disk exits 0, leaves no zero-byte index, and the next start reads every acknowledged record', async (t) => {
  const mnt = await makeTempDir('rivulet-fullstop-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    await rm(mnt, { recursive: true, force: true });
    if (process.env.CI === 'true') assert.fail(`cannot mount a tmpfs for the full-disk test: ${why}`);
    t.skip(`needs a tmpfs mount (root): ${why}`);
    return;
  }
  const dataDir = join(mnt, 'data');
  try {
    await mkdir(dataDir);
    const broker = await startBroker({ dataDir, args: ['--set', 'log.index.interval.bytes=128'] });
    t.after(() => broker.kill());
    const c = await WireClient.connect(broker.port);
    const acked: string[] = [];
    try {
      let full = false;
      for (let i = 0; i < 2000 && !full; i++) {
        const value = `${i}:`.padEnd(16 * 1024, 'x');
        const res = await c.request(ApiKey.Produce, 9, produceBody('full', buildBatch([{ key: null, value: Buffer.from(value) }])));
        const pr = res.responses[0].partitionResponses[0];
        if (pr.errorCode === ErrorCode.NONE) acked.push(value);
        else full = pr.errorCode === ErrorCode.KAFKA_STORAGE_ERROR;
      }
      assert.ok(full, 'the disk filled up');
    } finally {
      c.close();
    }
    // A failed write gives back the space of its partial bytes; take the rest, so closing meets a full disk.
    const filler = join(mnt, 'filler');
    const fd = openSync(filler, 'w');
    try {
      for (;;) writeSync(fd, Buffer.alloc(4096, 1));
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      closeSync(fd);
    }
    assert.equal(await broker.stop(), 0, broker.output());
    assert.doesNotMatch(broker.output(), /Unhandled|uncaught/i);
    assert.deepEqual(await emptyIndexFiles(await partitionDirs(dataDir, 'full')), []);
    // Room for the next start's own files (its data directory probe).
    await rm(filler);
    const again = await startBroker({ dataDir });
    t.after(() => again.kill());
    try {
      assert.deepEqual((await readPartition(again.port, 'full', 0)).map((r) => r.value!.toString()), acked);
      assert.doesNotMatch(again.output(), /log recovery/);
    } finally {
      await again.stop();
    }
  } finally {
    try {
      execFileSync('umount', [mnt]);
    } catch {
      // already gone
    }
    await rm(mnt, { recursive: true, force: true });
  }
});
