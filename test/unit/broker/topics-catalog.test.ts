// A topic change becomes visible only once the catalogue holding it is saved: a client
// must never see (and produce to) a topic, partition or config that a crash would undo.
// A directory in the catalogue's place makes the save fail (its rename onto it does; the
// temporary file has a name of its own per write).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, readFile, rmdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { TopicRegistry } from '../../../src/broker/topics.js';
import { defaultBrokerConfig } from '../../../src/broker/config.js';
import { Logger } from '../../../src/broker/logger.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';
import { makeTempDir } from '../../helpers/temp.js';

async function registry(): Promise<{ topics: TopicRegistry; dir: string }> {
  const dir = await makeTempDir('rivulet-catalog-');
  const config = { ...defaultBrokerConfig(), dataDir: dir };
  const topics = new TopicRegistry(config, async (_d, cfg) => new MemoryLog(cfg), new Logger('error'));
  await topics.load({ topics: [], producerIdHigh: 0 });
  return { topics, dir };
}

/** Puts a directory where catalog.json is (the file kept aside), so saving it fails. */
async function block(dir: string): Promise<void> {
  await rename(join(dir, 'catalog.json'), join(dir, 'catalog.json.aside')).catch(() => undefined);
  await mkdir(join(dir, 'catalog.json'));
}

async function unblock(dir: string): Promise<void> {
  await rmdir(join(dir, 'catalog.json'));
  await rename(join(dir, 'catalog.json.aside'), join(dir, 'catalog.json')).catch(() => undefined);
}

async function savedTopics(dir: string): Promise<{ name: string; partitions: number; configs: Record<string, string> }[]> {
  return JSON.parse(await readFile(join(dir, 'catalog.json'), 'utf8')).topics;
}

test('a topic whose catalogue cannot be saved is never visible, and a later save does not list it', async () => {
  const { topics, dir } = await registry();
  try {
    await block(dir);
    await assert.rejects(topics.create('orders', 2, {}));
    assert.equal(topics.byName.has('orders'), false);
    assert.equal(topics.byId.size, 0);
    await unblock(dir);
    await topics.create('payments', 1, {});
    assert.deepEqual((await savedTopics(dir)).map((t) => t.name), ['payments']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('partitions and configs change in memory only after the catalogue holds them', async () => {
  const { topics, dir } = await registry();
  try {
    const t = await topics.create('orders', 1, {});
    await block(dir);
    await assert.rejects(topics.addPartitions(t, 3));
    await assert.rejects(topics.setOverrides(t, { 'retention.ms': '1000' }));
    assert.equal(t.partitions.length, 1);
    assert.deepEqual(t.overrides, {});
    await unblock(dir);
    await topics.addPartitions(t, 3);
    assert.equal(t.partitions.length, 3);
    assert.deepEqual(await savedTopics(dir), [{ name: 'orders', id: t.id, partitions: 3, configs: {} }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('topics created at the same time are all in the catalogue', async () => {
  const { topics, dir } = await registry();
  try {
    await Promise.all(['a', 'b', 'c', 'd'].map((n, i) => topics.create(n, i + 1, {})));
    const saved = await savedTopics(dir);
    assert.deepEqual(saved.map((t) => [t.name, t.partitions]).sort(), [['a', 1], ['b', 2], ['c', 3], ['d', 4]]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
