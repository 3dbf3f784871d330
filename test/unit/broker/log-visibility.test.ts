// The broker picks when records become visible from its fsync policy: under acks-all (the
// default) and always only once fsynced, under never once written; for topic partitions
// (also after a topic config change) and for the internal logs (committed offsets, ...).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Broker } from '../../../src/broker/broker.js';
import { FsyncPolicy, defaultBrokerConfig } from '../../../src/broker/config.js';
import { Logger } from '../../../src/broker/logger.js';
import { openLog } from '../../../src/cli/storage.js';
import type { LogConfig } from '../../../src/storage/log.js';
import { makeTempDir } from '../../helpers/temp.js';

for (const [fsync, expected] of [[FsyncPolicy.acksAll, 'durable'], [FsyncPolicy.always, 'durable'], [FsyncPolicy.never, 'written']] as const) {
  test(`fsync=${fsync}: logs are opened with visibleWhen '${expected}'`, async () => {
    const dataDir = await makeTempDir('rivulet-visibility-');
    const opened: Array<[string, LogConfig]> = [];
    const config = { ...defaultBrokerConfig(), host: '127.0.0.1', port: 0, httpPort: 0, logLevel: 'error' as const, dataDir, fsync };
    const broker = new Broker(config, {
      logger: new Logger('error'),
      openLog: (dir, cfg) => {
        opened.push([dir, cfg]);
        return openLog(dir, cfg);
      },
    });
    try {
      await broker.start();
      const topic = await broker.topics.create('visible', 2, {});
      await broker.topics.setOverrides(topic, { 'retention.ms': '1000' });
      assert.ok(opened.length >= 3, `the internal logs and two partitions: ${opened.map(([dir]) => dir).join(', ')}`);
      for (const [dir, cfg] of opened) assert.equal(cfg.visibleWhen, expected, dir);
      for (const p of topic.partitions) assert.equal(p.log.config.visibleWhen, expected, 'kept through a config change');
    } finally {
      await broker.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}
