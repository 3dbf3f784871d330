// Client quotas through Apache Kafka's own tools and client: kafka-configs (ConfigCommand)
// alters and describes quotas of users, client ids, ips and their defaults, and they round-trip;
// the Java producer over its producer_byte_rate reports produce-throttle-time-avg > 0 in its
// own metrics, and its rate stays near the quota.

import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { createTopicsBody } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { describeRun, javaClasspath, lastJson, requireJava, run, runJava, type RunResult } from './tools.js';

let broker: BrokerProcess | undefined;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker?.cleanup();
});

function configs(args: string[]): Promise<RunResult> {
  return run('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', javaClasspath(), 'org.apache.kafka.tools.ConfigCommand', '--bootstrap-server', broker!.bootstrap, ...args], { timeoutMs: 120_000 });
}

async function ok(args: string[]): Promise<string> {
  const r = await configs(args);
  assert.equal(r.code, 0, describeRun(`kafka-configs ${args.join(' ')}`, r, broker));
  return r.stdout.toString();
}

test('kafka-configs --alter and --describe round-trip quotas of clients, users, user+client and the defaults', { timeout: 300_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  await ok(['--alter', '--add-config', 'producer_byte_rate=1024,consumer_byte_rate=2048', '--entity-type', 'clients', '--entity-name', 'c1']);
  await ok(['--alter', '--add-config', 'request_percentage=50', '--entity-type', 'users', '--entity-name', 'alice']);
  await ok(['--alter', '--add-config', 'producer_byte_rate=4096', '--entity-type', 'users', '--entity-name', 'alice', '--entity-type', 'clients', '--entity-name', 'c1']);
  await ok(['--alter', '--add-config', 'consumer_byte_rate=8192', '--entity-type', 'clients', '--entity-default']);
  await ok(['--alter', '--add-config', 'producer_byte_rate=16384', '--entity-type', 'users', '--entity-default']);

  const c1 = await ok(['--describe', '--entity-type', 'clients', '--entity-name', 'c1']);
  assert.match(c1, /Quota configs for client-id 'c1' are /, c1);
  assert.match(c1, /producer_byte_rate=1024(\.0)?/, c1);
  assert.match(c1, /consumer_byte_rate=2048(\.0)?/, c1);
  // For a named user the tool also lists SCRAM credentials (DescribeUserScramCredentials).
  const alice = await ok(['--describe', '--entity-type', 'users', '--entity-name', 'alice']);
  assert.match(alice, /Quota configs for user-principal 'alice' are request_percentage=50(\.0)?/, alice);
  const both = await ok(['--describe', '--entity-type', 'users', '--entity-name', 'alice', '--entity-type', 'clients', '--entity-name', 'c1']);
  assert.match(both, /user-principal 'alice', client-id 'c1' are producer_byte_rate=4096(\.0)?/, both);
  const defaultClient = await ok(['--describe', '--entity-type', 'clients', '--entity-default']);
  assert.match(defaultClient, /the default client-id are consumer_byte_rate=8192(\.0)?/, defaultClient);
  const defaultUser = await ok(['--describe', '--entity-type', 'users', '--entity-default']);
  assert.match(defaultUser, /the default user-principal are producer_byte_rate=16384(\.0)?/, defaultUser);
  // Every named client-id entity (the tool asks for match type SPECIFIED, which leaves out the default, as in Kafka).
  const clients = await ok(['--describe', '--entity-type', 'clients']);
  assert.match(clients, /client-id 'c1'/, clients);
  assert.doesNotMatch(clients, /default client-id/, clients);

  // ip entities take connection_creation_rate only.
  await ok(['--alter', '--add-config', 'connection_creation_rate=5', '--entity-type', 'ips', '--entity-name', '127.0.0.2']);
  await ok(['--alter', '--add-config', 'connection_creation_rate=50', '--entity-type', 'ips', '--entity-default']);
  const ip = await ok(['--describe', '--entity-type', 'ips', '--entity-name', '127.0.0.2']);
  assert.match(ip, /Quota configs for ip '127.0.0.2' are connection_creation_rate=5(\.0)?/, ip);
  const defaultIp = await ok(['--describe', '--entity-type', 'ips', '--entity-default']);
  assert.match(defaultIp, /the default ip are connection_creation_rate=50(\.0)?/, defaultIp);

  // --delete-config removes one key; the other stays.
  await ok(['--alter', '--delete-config', 'consumer_byte_rate', '--entity-type', 'clients', '--entity-name', 'c1']);
  const after = await ok(['--describe', '--entity-type', 'clients', '--entity-name', 'c1']);
  assert.match(after, /producer_byte_rate=1024/, after);
  assert.doesNotMatch(after, /consumer_byte_rate/, after);

  // A key that does not apply is refused with the broker's message.
  const bad = await configs(['--alter', '--add-config', 'producer_byte_rate=-5', '--entity-type', 'clients', '--entity-name', 'c2']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout.toString() + bad.stderr, /producer_byte_rate must be greater than 0/);
});

test('the Java producer over its producer_byte_rate reports produce-throttle-time-avg > 0 and is held near the quota', { timeout: 300_000 }, async (t: TestContext) => {
  if (!(await requireJava(t))) return;
  // A broker of its own: the quotas of the test above (a default user's producer_byte_rate) would apply first.
  const own = await startBroker();
  t.after(() => own.cleanup());
  const wire = await WireClient.connect(own.port);
  try {
    const res = await wire.request(ApiKey.CreateTopics, 7, createTopicsBody('quota-java'));
    assert.equal(res.topics[0].errorCode, 0);
    const set = await wire.request(ApiKey.AlterClientQuotas, 1, { validateOnly: false, entries: [{ entity: [{ entityType: 'client-id', entityName: 'java-slow' }], ops: [{ key: 'producer_byte_rate', value: 128 * 1024, remove: false }] }] });
    assert.equal(set.entries[0].errorCode, 0);
  } finally {
    wire.close();
  }
  const r = await runJava('QuotaProducer.java', [own.bootstrap, 'quota-java', 'java-slow', '25'], { timeoutMs: 200_000 });
  assert.equal(r.code, 0, describeRun('QuotaProducer', r, own));
  const out = lastJson<{ sent: number; seconds: number; throttleAvg: number; throttleMax: number; failed: number; firstError: string }>(r.stdout, describeRun('QuotaProducer', r, own));
  assert.equal(out.failed, 0, `records failed: ${out.firstError}`);
  const rate = out.sent / out.seconds;
  console.log(`# Java producer: ${Math.round(rate)} B/s against a quota of ${128 * 1024} B/s, produce-throttle-time-avg ${out.throttleAvg} ms, max ${out.throttleMax} ms`);
  assert.ok(out.throttleAvg > 0, `produce-throttle-time-avg is ${out.throttleAvg}`);
  assert.ok(out.throttleMax > 0, `produce-throttle-time-max is ${out.throttleMax}`);
  // 25 s including the 10 s burst Kafka allows: about (25 + 10) / 25 of the quota; the bound leaves room for a loaded machine.
  assert.ok(rate < 128 * 1024 * 2, `the Java producer is held near its quota: ${Math.round(rate)} B/s`);
});
