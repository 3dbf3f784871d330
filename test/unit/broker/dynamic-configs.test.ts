// Dynamic broker configs and group configs: applied at once, and still in effect after a
// restart on the same data directory (they are stored before they are answered).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startInProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { makeTempDir } from '../../helpers/temp.js';
import { makeBatch } from '../../helpers/batches.js';
import { createTopicsBody, produceBody } from '../../helpers/requests.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';

const BROKER = 4;
const GROUP = 32;
const SET = 0;
const DELETE = 1;

const alter = (c: WireClient, resourceType: number, resourceName: string, configs: Array<[string, number, string | null]>) =>
  c.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType, resourceName, configs: configs.map(([name, configOperation, value]) => ({ name, configOperation, value })) }],
    validateOnly: false,
  }).then((r: any) => r.responses[0]);

/** Brokers and clients of the running test, stopped in its finally block even when an assertion fails. */
const open: Array<{ close?: () => void; stop?: () => Promise<void> }> = [];
async function start(dataDir: string) {
  const b = await startInProcessBroker({ dataDir });
  open.push(b);
  const c = await WireClient.connect(b.port);
  open.push(c);
  return { b, c };
}
async function closeAll() {
  for (const x of open.splice(0).reverse()) {
    x.close?.();
    await x.stop?.();
  }
}

const produce = (c: WireClient, topic: string, payload: number) =>
  c.request(ApiKey.Produce, 9, produceBody(topic, makeBatch({ payload }))).then((r: any) => r.responses[0].partitionResponses[0].errorCode);

const describe = (c: WireClient, resourceType: number, resourceName: string, keys: string[]) =>
  c.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType, resourceName, configurationKeys: keys }], includeSynonyms: true, includeDocumentation: false })
    .then((r: any) => new Map<string, any>(r.results[0].configs.map((e: any) => [e.name, e])));

test('a dynamic message.max.bytes applies to the next produce and survives a restart; deleting it restores the default', async () => {
  const dataDir = await makeTempDir('rivulet-dyn-');
  try {
    let { c } = await start(dataDir);
    assert.equal((await c.request(ApiKey.CreateTopics, 7, createTopicsBody('dyn'))).topics[0].errorCode, ErrorCode.NONE);
    assert.equal(await produce(c, 'dyn', 2000), ErrorCode.NONE);
    assert.equal((await alter(c, BROKER, '', [['message.max.bytes', SET, '1000']])).errorCode, ErrorCode.NONE);
    assert.equal(await produce(c, 'dyn', 2000), ErrorCode.MESSAGE_TOO_LARGE, 'the cluster default applies at once');
    // A value this broker cannot take is refused and changes nothing.
    const bad = await alter(c, BROKER, '0', [['message.max.bytes', SET, 'lots']]);
    assert.equal(bad.errorCode, ErrorCode.INVALID_CONFIG);
    const dynStatic = await alter(c, BROKER, '0', [['num.partitions', SET, '3']]);
    assert.equal(dynStatic.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(dynStatic.errorMessage, /num\.partitions cannot change at runtime on this broker/);
    await closeAll();

    ({ c } = await start(dataDir));
    assert.equal(await produce(c, 'dyn', 2000), ErrorCode.MESSAGE_TOO_LARGE, 'still in effect after a restart');
    const entry = (await describe(c, BROKER, '0', ['message.max.bytes'])).get('message.max.bytes');
    assert.deepEqual([entry.value, entry.configSource, entry.readOnly], ['1000', 3, false]);
    // The broker's own value wins over the cluster default.
    assert.equal((await alter(c, BROKER, '0', [['message.max.bytes', SET, '5000']])).errorCode, ErrorCode.NONE);
    assert.equal(await produce(c, 'dyn', 2000), ErrorCode.NONE);
    assert.equal((await alter(c, BROKER, '0', [['message.max.bytes', DELETE, null]])).errorCode, ErrorCode.NONE);
    assert.equal((await alter(c, BROKER, '', [['message.max.bytes', DELETE, null]])).errorCode, ErrorCode.NONE);
    const back = (await describe(c, 2, 'dyn', ['max.message.bytes'])).get('max.message.bytes');
    assert.deepEqual([back.value, back.configSource], ['1048588', 5]);
    await closeAll();
  } finally {
    await closeAll();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('group configs are stored, read by the coordinators\' accessor, and survive a restart', async () => {
  const dataDir = await makeTempDir('rivulet-grpcfg-');
  try {
    let { b, c } = await start(dataDir);
    assert.equal((await alter(c, GROUP, 'orders', [['consumer.session.timeout.ms', SET, '50000'], ['share.auto.offset.reset', SET, 'by_duration:PT1H']])).errorCode, ErrorCode.NONE);
    const outOfBounds = await alter(c, GROUP, 'orders', [['consumer.heartbeat.interval.ms', SET, '15000'], ['share.record.lock.duration.ms', SET, '999']]);
    assert.equal(outOfBounds.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(outOfBounds.errorMessage, /share\.record\.lock\.duration\.ms: must be an integer from 15000 to 3600000/);
    const unknown = await alter(c, GROUP, 'orders', [['session.timeout.ms', SET, '50000']]);
    assert.equal(unknown.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(unknown.errorMessage, /Unknown group config name: session\.timeout\.ms/);
    assert.equal(b.broker.groupConfigs.int('orders', 'consumer.session.timeout.ms'), 50000);
    assert.equal(b.broker.groupConfigs.int('orders', 'consumer.heartbeat.interval.ms'), 5000, 'the refused change changed nothing');
    assert.equal(b.broker.groupConfigs.int('other', 'consumer.session.timeout.ms'), 45000, 'a group without overrides gets the default');
    await closeAll();

    ({ b, c } = await start(dataDir));
    assert.equal(b.broker.groupConfigs.effective('orders')['share.auto.offset.reset'], 'by_duration:PT1H');
    const d = await describe(c, GROUP, 'orders', ['share.auto.offset.reset', 'share.record.lock.duration.ms']);
    assert.deepEqual([d.get('share.auto.offset.reset').value, d.get('share.auto.offset.reset').configSource], ['by_duration:PT1H', 8]);
    assert.deepEqual([d.get('share.record.lock.duration.ms').value, d.get('share.record.lock.duration.ms').configSource], ['30000', 5]);
    await closeAll();
  } finally {
    await closeAll();
    await rm(dataDir, { recursive: true, force: true });
  }
});
