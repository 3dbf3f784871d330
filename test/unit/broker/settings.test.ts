// Broker settings: flags beat environment beats file beats defaults; bad values and
// unknown names are refused with a message naming the setting and where it came from.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadBrokerConfig, envName, ConfigError } from '../../../src/broker/settings.js';
import { withTempDir } from '../../helpers/temp.js';

test('defaults hold when nothing is given', () => {
  const c = loadBrokerConfig({ flags: {}, env: {} });
  assert.equal(c.port, 9092);
  assert.equal(c.httpPort, 9644);
  assert.equal(c.dataDir, './data');
  assert.equal(c.fsync, 'acks-all');
  assert.equal(c.autoCreateTopics, true);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.httpHost, '127.0.0.1', 'the HTTP side binds where the listener does');
});

test('flags > environment > file > defaults', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'server.properties');
    await writeFile(file, '# comment\nport=9100\nnum.partitions = 3\nlog.dirs=/from/file\nlog.retention.ms=1000\nfsync: never\n');
    const fileOnly = loadBrokerConfig({ flags: {}, env: {}, configFile: file });
    assert.equal(fileOnly.port, 9100);
    assert.equal(fileOnly.numPartitions, 3);
    assert.equal(fileOnly.dataDir, '/from/file');
    assert.equal(fileOnly.fsync, 'never');
    assert.equal(fileOnly.topicDefaults['log.retention.ms'], '1000');
    const withEnv = loadBrokerConfig({ flags: {}, env: { RIVULET_PORT: '9200', RIVULET_LOG_RETENTION_MS: '2000' }, configFile: file });
    assert.equal(withEnv.port, 9200);
    assert.equal(withEnv.topicDefaults['log.retention.ms'], '2000');
    assert.equal(withEnv.numPartitions, 3, 'the file still applies where the environment is silent');
    const withFlags = loadBrokerConfig({ flags: { port: '9300', 'data.dir': '/from/flag' }, env: { RIVULET_PORT: '9200' }, configFile: file });
    assert.equal(withFlags.port, 9300);
    assert.equal(withFlags.dataDir, '/from/flag');
  }, 'rivulet-cfg-');
});

test('bad values and unknown names say which setting and where it came from', () => {
  assert.throws(() => loadBrokerConfig({ flags: { port: 'ninety' }, env: {} }), (e: Error) => e instanceof ConfigError && /port .*flag.*integer/.test(e.message));
  assert.throws(() => loadBrokerConfig({ flags: {}, env: { RIVULET_FSYNC: 'sometimes' } }), /fsync .*environment variable RIVULET_FSYNC.*acks-all, always, never/);
  assert.throws(() => loadBrokerConfig({ flags: { 'no.such.thing': '1' }, env: {} }), /Unknown setting "no.such.thing"/);
  assert.throws(() => loadBrokerConfig({ flags: {}, env: {}, configFile: '/nonexistent/rivulet.properties' }), /cannot be read/);
});

test('environment names follow the setting names', () => {
  assert.equal(envName('data.dir'), 'RIVULET_DATA_DIR');
  assert.equal(envName('log.retention.ms'), 'RIVULET_LOG_RETENTION_MS');
  assert.equal(envName('auto.create.topics.enable'), 'RIVULET_AUTO_CREATE_TOPICS_ENABLE');
});
