// Client quotas without a broker: the rate and throttle arithmetic (Kafka's Rate over sampled
// windows, QuotaUtils.throttleTime), the order in which entities' quotas apply to a user and
// client id (Kafka's DefaultQuotaCallback), and the checks of entities and values
// (ClientQuotaControlManager).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { SampledRate, throttleTimeMs } from '../../../src/broker/quota-rate.js';
import { ClientQuotas, ConnectionRate, QuotaType, entityProblem, valueProblem, userOf, type QuotaEntity } from '../../../src/broker/quotas.js';
import { parseIpOverrides } from '../../../src/broker/config.js';
import { loadBrokerConfig } from '../../../src/broker/settings.js';
import { makeTempDir } from '../../helpers/temp.js';

test('a first burst is taken over samples - 1 whole windows, not the time it took', () => {
  const r = new SampledRate(11, 1000);
  r.record(10_000, 0);
  // 10 windows of 1 s: 10000 bytes read as 1000/s, however fast they came.
  assert.equal(r.spanMs(0), 10_000);
  assert.equal(r.rate(0), 1000);
  r.record(10_000, 500);
  assert.equal(r.spanMs(500), 10_500);
  assert.equal(Math.round(r.rate(500)), Math.round(20_000 / 10.5));
});

test('the span grows with the windows kept, and values older than samples * window are forgotten', () => {
  const r = new SampledRate(3, 1000);
  r.record(300, 0);
  r.record(300, 1000); // second window
  r.record(300, 2000); // third window
  // Oldest window started at 0: 2000 ms elapsed, 2 whole windows (= samples - 1).
  assert.equal(r.spanMs(2000), 2000);
  assert.equal(r.rate(2000), 900 / 2);
  r.record(300, 3000); // reuses the first window: the value at 0 is gone
  assert.equal(r.spanMs(3000), 2000);
  assert.equal(r.rate(3000), 900 / 2);
  // Long idle: every window is obsolete; the rate is 0.
  assert.equal(r.rate(60_000), 0);
});

test('unrecord takes a value back from the current window', () => {
  const r = new SampledRate(11, 1000);
  r.record(5000, 0);
  r.unrecord(5000, 0);
  assert.equal(r.rate(0), 0);
});

test('throttle time is (rate - quota) / quota * span, rounded, capped, 0 within the quota', () => {
  assert.equal(throttleTimeMs(1500, 1000, 10_000, 1e9), 5000);
  assert.equal(throttleTimeMs(1000, 1000, 10_000, 1e9), 0);
  assert.equal(throttleTimeMs(999, 1000, 10_000, 1e9), 0);
  assert.equal(throttleTimeMs(1000.1, 1000, 10_000, 1e9), 1);
  assert.equal(throttleTimeMs(100_000, 1000, 10_000, 11_000), 11_000);
});

test('a client over its byte rate is throttled for the time that brings the rate back to the quota', async () => {
  const dir = await makeTempDir();
  try {
    const q = new ClientQuotas(dir, { quotaWindowNum: 11, quotaWindowSizeSeconds: 1 });
    await q.alter([{ entity: new Map([['client-id', 'c1']]), set: { producer_byte_rate: 1000 }, remove: [] }]);
    // 10000 bytes at t=0 is exactly the quota over the 10 s span; 5000 more take it to 1500/s.
    assert.equal(q.record(QuotaType.PRODUCE, 'User:ANONYMOUS', 'c1', 10_000, 0), 0);
    assert.equal(q.record(QuotaType.PRODUCE, 'User:ANONYMOUS', 'c1', 5000, 0), 5000);
    // Changing the quota keeps the rate measured so far (15000 over 10 s: 1500/s, still over 1200).
    await q.alter([{ entity: new Map([['client-id', 'c1']]), set: { producer_byte_rate: 1200 }, remove: [] }]);
    assert.equal(q.record(QuotaType.PRODUCE, 'User:ANONYMOUS', 'c1', 1, 0), 2501);
    // Another client id has no quota.
    assert.equal(q.record(QuotaType.PRODUCE, 'User:ANONYMOUS', 'c2', 1e9, 0), 0);
    // The fetch cap is the quota over samples - 1 windows.
    assert.equal(q.fetchCap('User:ANONYMOUS', 'c1', 0), Number.MAX_SAFE_INTEGER, 'no consumer_byte_rate: no cap');
    await q.alter([{ entity: new Map([['client-id', 'c1']]), set: { consumer_byte_rate: 2000 }, remove: [] }]);
    assert.equal(q.fetchCap('User:ANONYMOUS', 'c1', 0), 20_000);
    // Removing the quota lifts it.
    await q.alter([{ entity: new Map([['client-id', 'c1']]), set: {}, remove: ['producer_byte_rate', 'consumer_byte_rate'] }]);
    assert.equal(q.active, false);
    assert.equal(q.record(QuotaType.PRODUCE, 'User:ANONYMOUS', 'c1', 1e9, 0), 0);
    // Stored: a new instance on the same directory loads what is left (nothing).
    const again = new ClientQuotas(dir, { quotaWindowNum: 11, quotaWindowSizeSeconds: 1 });
    await again.load();
    assert.deepEqual([...again.list()], []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('quotas apply in Kafka\'s order: user+client-id, user+default client, user, default user+client-id, default user+default client, default user, client-id, default client-id', async () => {
  const dir = await makeTempDir();
  try {
    const q = new ClientQuotas(dir, { quotaWindowNum: 11, quotaWindowSizeSeconds: 1 });
    const levels: Array<[QuotaEntity, number]> = [
      [new Map([['user', 'alice'], ['client-id', 'app']]), 1],
      [new Map([['user', 'alice'], ['client-id', null]]), 2],
      [new Map([['user', 'alice']]), 3],
      [new Map([['user', null], ['client-id', 'app']]), 4],
      [new Map([['user', null], ['client-id', null]]), 5],
      [new Map([['user', null]]), 6],
      [new Map([['client-id', 'app']]), 7],
      [new Map([['client-id', null]]), 8],
    ];
    await q.alter(levels.map(([entity, v]) => ({ entity, set: { producer_byte_rate: v }, remove: [] })));
    // Remove the most specific level one at a time: the next one in Kafka's order applies.
    for (let i = 0; i < levels.length; i++) {
      const r = q.resolve(QuotaType.PRODUCE, 'alice', 'app');
      assert.equal(r?.limit, levels[i]![1], `with levels ${i + 1}.. set, alice/app gets level ${i + 1}`);
      await q.alter([{ entity: levels[i]![0], set: {}, remove: ['producer_byte_rate'] }]);
    }
    assert.equal(q.resolve(QuotaType.PRODUCE, 'alice', 'app'), null);
    // Scope: a named client id shares one rate among users; a default client id gives each client id its own.
    await q.alter([{ entity: new Map([['client-id', 'app']]), set: { producer_byte_rate: 10 }, remove: [] }, { entity: new Map([['client-id', null]]), set: { producer_byte_rate: 20 }, remove: [] }]);
    assert.equal(q.resolve(QuotaType.PRODUCE, 'alice', 'app')!.scope, q.resolve(QuotaType.PRODUCE, 'bob', 'app')!.scope);
    assert.notEqual(q.resolve(QuotaType.PRODUCE, 'alice', 'x')!.scope, q.resolve(QuotaType.PRODUCE, 'alice', 'y')!.scope);
    assert.equal(q.resolve(QuotaType.PRODUCE, 'alice', 'x')!.limit, 20);
    // Each quota type resolves on its own key.
    assert.equal(q.resolve(QuotaType.FETCH, 'alice', 'app'), null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the user entity is the principal\'s name', () => {
  assert.equal(userOf('User:alice'), 'alice');
  assert.equal(userOf('User:CN=alice,OU=eng'), 'CN=alice,OU=eng');
  assert.equal(userOf('User:ANONYMOUS'), 'ANONYMOUS');
});

test('entities and values are checked as Kafka checks them', () => {
  assert.equal(entityProblem([{ entityType: 'user', entityName: 'a' }, { entityType: 'client-id', entityName: null }]), null);
  assert.match(entityProblem([])!.message, /empty client quota entity/);
  assert.match(entityProblem([{ entityType: 'user', entityName: 'a' }, { entityType: 'user', entityName: 'b' }])!.message, /duplicate entity entry user/);
  assert.equal(entityProblem([{ entityType: 'group', entityName: 'a' }])!.code, 'UNSUPPORTED_VERSION');
  assert.match(entityProblem([{ entityType: 'ip', entityName: '10.0.0.1' }, { entityType: 'user', entityName: 'a' }])!.message, /IP entity should not be combined/);
  assert.match(entityProblem([{ entityType: 'ip', entityName: 'not-an-address' }])!.message, /Unknown host/);
  assert.match(entityProblem([{ entityType: 'user', entityName: '' }])!.message, /Empty user not supported/);
  assert.equal(valueProblem(false, 'producer_byte_rate', 1024), null);
  assert.equal(valueProblem(false, 'request_percentage', 12.5), null);
  assert.match(valueProblem(false, 'producer_byte_rate', -1)!, /must be greater than 0/);
  assert.match(valueProblem(false, 'producer_byte_rate', 10.5)!, /must be an integer/);
  assert.match(valueProblem(false, 'connection_creation_rate', 5)!, /Invalid configuration key connection_creation_rate/);
  assert.match(valueProblem(true, 'producer_byte_rate', 5)!, /Invalid configuration key producer_byte_rate; an ip entity takes connection_creation_rate/);
  assert.equal(valueProblem(true, 'connection_creation_rate', 5), null);
  assert.match(valueProblem(true, 'connection_creation_rate', 3e9)!, /too large for an INT/);
});

test('connections from an address beyond its connection_creation_rate are refused, held for their throttle time, and not counted', async () => {
  const dir = await makeTempDir();
  try {
    const q = new ClientQuotas(dir, { quotaWindowNum: 11, quotaWindowSizeSeconds: 1 });
    await q.alter([{ entity: new Map([['ip', '127.0.0.2']]), set: { connection_creation_rate: 1 }, remove: [] }, { entity: new Map([['ip', null]]), set: { connection_creation_rate: 100 }, remove: [] }]);
    // 1 a second over 10 windows: 10 at once, the 11th refused.
    let admitted = 0;
    const holds: number[] = [];
    for (let i = 0; i < 20; i++) {
      const hold = q.admitConnection('127.0.0.2', 0);
      if (hold === 0) admitted++;
      else holds.push(hold);
    }
    assert.equal(admitted, 10);
    // A refused connection is held for the time that brings the rate back: 11 over 10 s against 1/s.
    assert.deepEqual(new Set(holds), new Set([1000]));
    // The default ip entity covers other addresses.
    assert.equal(q.ipLimit('127.0.0.3'), 100);
    assert.equal(q.admitConnection('127.0.0.3', 0), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('max.connections.per.ip.overrides parses address:count pairs and refuses host names and bad counts with a clear message', () => {
  const ok = parseIpOverrides('127.0.0.1:50, 10.0.0.7:5,[::1]:3,::2:4');
  assert.ok(ok instanceof Map);
  assert.deepEqual([...ok], [['127.0.0.1', 50], ['10.0.0.7', 5], ['::1', 3], ['::2', 4]]);
  assert.deepEqual([...(parseIpOverrides('') as Map<string, number>)], []);
  assert.match(parseIpOverrides('localhost:5') as string, /"localhost" is not an IP address/);
  assert.match(parseIpOverrides('127.0.0.1') as string, /is not address:count/);
  assert.match(parseIpOverrides('127.0.0.1:-1') as string, /is not address:count/);
  const c = loadBrokerConfig({ flags: { 'max.connections.per.ip.overrides': '127.0.0.2:7', 'max.connection.creation.rate': '30', 'quota.window.num': '5', 'quota.window.size.seconds': '2' }, env: {} });
  assert.deepEqual([c.maxConnectionsPerIpOverrides, c.maxConnectionCreationRate, c.quotaWindowNum, c.quotaWindowSizeSeconds], ['127.0.0.2:7', 30, 5, 2]);
  assert.throws(() => loadBrokerConfig({ flags: { 'max.connections.per.ip.overrides': 'db.internal:7' }, env: {} }), /max.connections.per.ip.overrides .*not an IP address/);
  assert.throws(() => loadBrokerConfig({ flags: { 'quota.window.num': '1' }, env: {} }), /quota.window.num .*from 2/);
});

test('the broker-wide connection creation rate admits a first burst of samples - 1 windows, then refuses', () => {
  const r = new ConnectionRate({ quotaWindowNum: 11, quotaWindowSizeSeconds: 1 });
  let admitted = 0;
  for (let i = 0; i < 50; i++) if (r.admit(3, 0)) admitted++;
  assert.equal(admitted, 30);
  // Later, with nothing recorded meanwhile, connections are admitted again.
  assert.ok(r.admit(3, 20_000));
});

test('rates are capped: under a default client-id quota, client ids past the cap share one overflow rate instead of a rate each', async () => {
  const dir = await makeTempDir('rivulet-quotas-cap-');
  try {
    const q = new ClientQuotas(dir, { quotaWindowNum: 11, quotaWindowSizeSeconds: 1 });
    await q.load();
    q.maxSensors = 100;
    await q.alter([
      { entity: new Map([['client-id', null]]), set: { producer_byte_rate: 1000 }, remove: [] },
      { entity: new Map([['ip', null]]), set: { connection_creation_rate: 1000 }, remove: [] },
    ]);
    const now = 1_000_000;
    for (let i = 0; i < 5000; i++) {
      q.record(QuotaType.PRODUCE, 'User:ANONYMOUS', `client-${i}`, 10, now);
      q.admitConnection(`10.0.${i >> 8}.${i & 255}`, now);
    }
    assert.ok(q.sensorCount() <= 2 * 101, `rates kept: ${q.sensorCount()}`);
    // The overflow rate is shared, so the flood is throttled together: a new client id past the cap is over at once.
    assert.ok(q.record(QuotaType.PRODUCE, 'User:ANONYMOUS', 'client-new', 10, now) > 0, 'clients past the cap share one rate');
    assert.equal(q.record(QuotaType.PRODUCE, 'User:ANONYMOUS', 'client-1', 10, now), 0, 'a client with its own rate keeps it');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('controller_mutation_rate is enforced: partitions created or deleted count; over it, CreateTopics v6+, CreatePartitions v3+ and DeleteTopics v5+ are refused with THROTTLING_QUOTA_EXCEEDED, older versions only throttled', async () => {
  const { Broker } = await import('../../../src/broker/broker.js');
  const { defaultBrokerConfig } = await import('../../../src/broker/config.js');
  const { Logger } = await import('../../../src/broker/logger.js');
  const { PartitionLog } = await import('../../../src/storage/partition-log.js');
  const { WireClient } = await import('../../helpers/wire-client.js');
  const { createTopicsBody } = await import('../../helpers/requests.js');
  const { ApiKey } = await import('../../../src/protocol/generated/apis.js');
  const { ErrorCode } = await import('../../../src/protocol/errors.js');
  const dataDir = await makeTempDir('rivulet-mutation-quota-');
  const b = new Broker({ ...defaultBrokerConfig(), host: '127.0.0.1', port: 0, httpPort: 0, logLevel: 'error', dataDir }, { openLog: (d, cfg) => PartitionLog.open(d, cfg), logger: new Logger('error') });
  await b.start();
  const c = await WireClient.connect(b.port);
  // A throttled connection is not read for the throttle time (KIP-219): each later request goes on a connection of its own.
  const once = async (key: number, version: number, body: object) => {
    const x = await WireClient.connect(b.port);
    try {
      return await x.request(key, version, body);
    } finally {
      x.close();
    }
  };
  try {
    const set = await c.request(ApiKey.AlterClientQuotas, 1, { validateOnly: false, entries: [{ entity: [{ entityType: 'client-id', entityName: null }], ops: [{ key: 'controller_mutation_rate', value: 1, remove: false }] }] });
    assert.equal(set.entries[0].errorCode, 0);
    // 50 partitions at 1 per second: the change that takes the rate over is let through, and throttled.
    const first = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('m1', 50));
    assert.equal(first.topics[0].errorCode, ErrorCode.NONE);
    assert.ok(first.throttleTimeMs > 0, `throttled: ${first.throttleTimeMs}`);
    const refused = await once(ApiKey.CreateTopics, 7, createTopicsBody('m2', 1));
    assert.equal(refused.topics[0].errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
    assert.ok(refused.throttleTimeMs > 0);
    const parts = await once(ApiKey.CreatePartitions, 3, { topics: [{ name: 'm1', count: 60, assignments: null }], timeoutMs: 5000, validateOnly: false });
    assert.equal(parts.results[0].errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
    const del = await once(ApiKey.DeleteTopics, 5, { topicNames: ['m1'], timeoutMs: 5000 });
    assert.equal(del.responses[0].errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
    assert.ok(b.topics.byName.has('m1'), 'nothing deleted');
    // CreateTopics v5 does not know the error: permissive, the topic is created and the answer throttled.
    const old = await once(ApiKey.CreateTopics, 5, createTopicsBody('m3', 1));
    assert.equal(old.topics[0].errorCode, ErrorCode.NONE);
    assert.ok(old.throttleTimeMs > 0);
  } finally {
    c.close();
    await b.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
