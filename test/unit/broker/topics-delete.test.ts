// Hardening case 1 in the topic registry: what a delete leaves behind can never be opened by
// a later topic of the same name, and a delete is never undone by a change racing it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TopicRegistry } from '../../../src/broker/topics.js';
import { defaultBrokerConfig } from '../../../src/broker/config.js';
import { Logger } from '../../../src/broker/logger.js';
import { MemoryLog } from '../../../src/storage/memory-log.js';
import { makeTempDir } from '../../helpers/temp.js';

test('case 1: start-up moves aside and removes partition directories the catalogue does not list, before any topic opens', async () => {
  const dir = await makeTempDir('rivulet-sweep-');
  try {
    // A crash in the middle of deleting "gone" (and of growing "kept" to 3 partitions) left these.
    for (const d of ['kept-0', 'kept-1', 'kept-2', 'gone-0', 'gone-1', 'gone-0.abc-delete', '__consumer_offsets-0', 'notes']) {
      await mkdir(join(dir, d));
      await writeFile(join(dir, d, '00000000000000000000.log'), 'old records');
    }
    const seenAtOpen: string[][] = [];
    const config = { ...defaultBrokerConfig(), dataDir: dir };
    const topics = new TopicRegistry(
      config,
      async (d, cfg) => {
        seenAtOpen.push((await readdir(dir)).sort());
        await mkdir(d, { recursive: true });
        return new MemoryLog(cfg);
      },
      new Logger('error'),
    );
    await topics.load({ topics: [{ name: 'kept', id: 'kept-id', partitions: 2, configs: {} }], producerIdHigh: 0 });
    const expected = ['__consumer_offsets-0', 'kept-0', 'kept-1', 'notes'];
    assert.deepEqual(seenAtOpen[0], expected, 'nothing unlisted is left in place when the first topic opens');
    assert.deepEqual((await readdir(dir)).sort(), expected);
    assert.equal(await readFile(join(dir, 'kept-1', '00000000000000000000.log'), 'utf8'), 'old records', 'listed partitions are untouched');
    // A later topic of the deleted name starts from an empty directory.
    await topics.create('gone', 2, {});
    assert.deepEqual(await readdir(join(dir, 'gone-0')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('case 1: partitions added while the topic is deleted do not put it back in the catalogue', async () => {
  const dir = await makeTempDir('rivulet-delete-');
  try {
    const config = { ...defaultBrokerConfig(), dataDir: dir };
    const topics = new TopicRegistry(config, async (_d, cfg) => new MemoryLog(cfg), new Logger('error'));
    await topics.load({ topics: [], producerIdHigh: 0 });
    const t = await topics.create('orders', 1, {});
    const added = topics.addPartitions(t, 3);
    const deleted = topics.delete(t);
    const addResult = await added.then(() => 'added', (e: Error) => e);
    await deleted;
    assert.equal(topics.byName.has('orders'), false);
    const saved = JSON.parse(await readFile(join(dir, 'catalog.json'), 'utf8')).topics;
    assert.deepEqual(saved, [], 'the catalogue does not list the deleted topic');
    assert.match(String(addResult), /was deleted/, 'the CreatePartitions that lost the race fails');
    // The name is free again, for a new topic with a new id.
    const again = await topics.create('orders', 1, {});
    assert.notEqual(again.id, t.id);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
