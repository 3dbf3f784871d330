// SASL with other clients, on a SASL_SSL listener with SCRAM-SHA-512 (the admin user made
// offline by `rivulet storage add-scram`): kcat (librdkafka), Python's confluent-kafka and the
// Apache Kafka Java client produce and consume, and are refused with wrong credentials (each
// client's error shows the broker's message); with connections.max.reauth.ms=2000 the Java
// client re-authenticates by itself over a run of several lifetimes and keeps working;
// Kafka's kafka-configs adds, describes and deletes SCRAM credentials, and the new user logs in.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, listenerPorts, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { makeTempDir } from '../helpers/temp.js';
import { runCli } from '../helpers/cli.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { debianPython, pythonDir, describeRun, javaClasspath, requireJava, requireTool, run, runJava, token, works } from './tools.js';

let certs: TestCerts;
let dataDir: string;
let broker: BrokerProcess;
let port = 0;
let adminConfig = '';

const BAD_CREDENTIALS = /Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/;

before(async () => {
  certs = await makeTestCerts();
  dataDir = await makeTempDir('rivulet-sasl-interop-');
  const r = await runCli(['storage', 'add-scram', '-d', dataDir, 'SCRAM-SHA-512=[name=admin,password=admin-secret]']);
  assert.equal(r.code, 0, r.stderr);
  broker = await startBroker({
    dataDir,
    args: [
      '--log-level', 'debug',
      '--set', 'listeners=SASL_SSL://127.0.0.1:0',
      '--set', 'sasl.enabled.mechanisms=SCRAM-SHA-512',
      '--set', `ssl.certificate.location=${certs.serverCertFile}`,
      '--set', `ssl.key.location=${certs.serverKeyFile}`,
      '--set', 'connections.max.reauth.ms=2000',
    ],
  });
  port = listenerPorts(broker).SASL_SSL!;
  adminConfig = join(dataDir, '..', `admin-${token()}.properties`);
  await writeFile(adminConfig, javaProps('admin', 'admin-secret').join('\n') + '\n');
});

after(async () => {
  await broker?.cleanup();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (adminConfig) await rm(adminConfig, { force: true });
  await certs?.cleanup();
});

function javaProps(user: string, password: string): string[] {
  return [
    'security.protocol=SASL_SSL',
    'sasl.mechanism=SCRAM-SHA-512',
    `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${certs.caFile}`,
  ];
}

const kcatHint = 'install it with `sudo apt-get install kcat` (Debian/Ubuntu)';

function kcatSasl(user: string, password: string): string[] {
  return ['-b', `127.0.0.1:${port}`, '-X', 'security.protocol=sasl_ssl', '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`, '-X', `ssl.ca.location=${certs.caFile}`];
}

test('kcat produces and consumes over SASL_SSL with SCRAM-SHA-512, and is refused with a wrong password', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await works('kcat', ['-V']), 'kcat', kcatHint)) return;
  const topic = `kcat-sasl-${token()}`;
  const lines = Array.from({ length: 50 }, (_, i) => `m${i}`);
  const p = await run('kcat', [...kcatSasl('admin', 'admin-secret'), '-P', '-t', topic, '-X', 'acks=all'], { input: lines.join('\n') + '\n', timeoutMs: 60_000 });
  assert.equal(p.code, 0, describeRun('kcat -P over SASL_SSL', p, broker));
  const c = await run('kcat', [...kcatSasl('admin', 'admin-secret'), '-C', '-t', topic, '-o', 'beginning', '-e', '-c', '50'], { timeoutMs: 60_000 });
  assert.equal(c.code, 0, describeRun('kcat -C over SASL_SSL', c, broker));
  assert.deepEqual(c.stdout.toString().trim().split('\n'), lines);
  const bad = await run('kcat', [...kcatSasl('admin', 'wrong'), '-L', '-m', '10'], { timeoutMs: 60_000 });
  const context = describeRun('kcat -L with a wrong password', bad, broker);
  assert.notEqual(bad.code, 0, context);
  assert.match(bad.stderr, /SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/, context);
});

test('python confluent-kafka produces and consumes over SASL_SSL with SCRAM-SHA-512, and is refused with a wrong password', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await works(debianPython(), ['-c', 'import confluent_kafka']), 'python3-confluent-kafka', 'install it with `sudo apt-get install python3-confluent-kafka`')) return;
  const conf = (password: string) => ['security.protocol=SASL_SSL', 'sasl.mechanisms=SCRAM-SHA-512', 'sasl.username=admin', `sasl.password=${password}`, `ssl.ca.location=${certs.caFile}`];
  const ok = await run(debianPython(), [join(pythonDir, 'tls_roundtrip.py'), `127.0.0.1:${port}`, `py-sasl-${token()}`, ...conf('admin-secret')], { timeoutMs: 90_000 });
  assert.match(ok.stdout.toString(), /^OK 10$/m, describeRun('python over SASL_SSL', ok, broker));
  const bad = await run(debianPython(), [join(pythonDir, 'sasl_refused.py'), `127.0.0.1:${port}`, ...conf('wrong')], { timeoutMs: 90_000 });
  const context = describeRun('python with a wrong password', bad, broker);
  assert.equal(bad.code, 0, context);
  assert.match(bad.stdout.toString(), /^ERROR _AUTHENTICATION .*Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/m, context);
});

test('the Java client: SASL_SSL SCRAM-SHA-512 round trip, SaslAuthenticationException for a wrong password', { timeout: 240_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const r = await runJava('TlsRoundTrip.java', [`127.0.0.1:${port}`, `java-sasl-${token()}`, '20', ...javaProps('admin', 'admin-secret')], { timeoutMs: 150_000 });
  const context = describeRun('java TlsRoundTrip.java SASL_SSL', r, broker);
  assert.equal(r.code, 0, context);
  assert.match(r.stdout.toString(), /^OK 20$/m, context);
  const bad = await runJava('SaslClient.java', [`127.0.0.1:${port}`, 'refused', ...javaProps('admin', 'wrong')], { timeoutMs: 90_000 });
  const badContext = describeRun('java SaslClient.java refused', bad, broker);
  assert.equal(bad.code, 0, badContext);
  assert.match(bad.stdout.toString(), /^REFUSED org\.apache\.kafka\.common\.errors\.SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/m, badContext);
});

test('the Java client re-authenticates by itself (connections.max.reauth.ms=2000) over a run of several lifetimes and keeps producing and consuming', { timeout: 240_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const series = 'rivulet_sasl_authentications_total{listener="SASL_SSL",mechanism="SCRAM-SHA-512",result="reauthentication"}';
  const expired = 'rivulet_authentication_failures_total{listener="SASL_SSL",mechanism="SCRAM-SHA-512",reason="session_expired"}';
  const before = await scrapeMetrics(broker.httpPort);
  const r = await runJava('SaslClient.java', [`127.0.0.1:${port}`, 'run', '8', `java-reauth-${token()}`, ...javaProps('admin', 'admin-secret')], { timeoutMs: 180_000 });
  const context = describeRun('java SaslClient.java run', r, broker);
  assert.equal(r.code, 0, context);
  const m = /^OK (\d+) (\d+)$/m.exec(r.stdout.toString());
  assert.ok(m && Number(m[1]) > 10 && m[1] === m[2], context);
  const after = await scrapeMetrics(broker.httpPort);
  // Producer and consumer connections, each re-authenticating every ~2 s over 8 s.
  assert.ok((after.get(series) ?? 0) - (before.get(series) ?? 0) >= 4, `re-authentications counted: ${after.get(series)}\n${context}`);
  assert.equal(after.get(expired) ?? 0, before.get(expired) ?? 0, 'no session of the client expired');
});

test('kafka-configs adds, describes and deletes SCRAM credentials over SASL_SSL; the new user then logs in', { timeout: 300_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const tool = (args: string[]) => run('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', javaClasspath(), 'org.apache.kafka.tools.ConfigCommand', '--bootstrap-server', `127.0.0.1:${port}`, '--command-config', adminConfig, ...args], { timeoutMs: 120_000 });
  const add = await tool(['--alter', '--add-config', 'SCRAM-SHA-512=[iterations=8192,password=alice-secret]', '--entity-type', 'users', '--entity-name', 'alice']);
  assert.equal(add.code, 0, describeRun('kafka-configs --alter --add-config', add, broker));
  assert.match(add.stdout.toString(), /Completed updating config for user alice/);
  // The Admin API (DescribeUserScramCredentials) always; kafka-configs --describe also asks
  // DescribeClientQuotas (user quotas), which the broker serves once client quotas exist.
  const scram = await runJava('SaslClient.java', [`127.0.0.1:${port}`, 'scram', ...javaProps('admin', 'admin-secret')], { timeoutMs: 90_000 });
  const scramContext = describeRun('Admin.describeUserScramCredentials', scram, broker);
  assert.equal(scram.code, 0, scramContext);
  assert.match(scram.stdout.toString(), /^USER alice SCRAM-SHA-512 8192$/m, scramContext);
  assert.match(scram.stdout.toString(), /^USER admin SCRAM-SHA-512 4096$/m, scramContext);
  const versions = await run('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', javaClasspath(), 'org.apache.kafka.tools.BrokerApiVersionsCommand', '--bootstrap-server', `127.0.0.1:${port}`, '--command-config', adminConfig], { timeoutMs: 120_000 });
  if (/DescribeClientQuotas\(48\): \d/.test(versions.stdout.toString())) {
    const desc = await tool(['--describe', '--entity-type', 'users']);
    const descContext = describeRun('kafka-configs --describe --entity-type users', desc, broker);
    assert.equal(desc.code, 0, descContext);
    assert.match(desc.stdout.toString(), /SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-512=iterations=8192/, descContext);
    assert.match(desc.stdout.toString(), /SCRAM credential configs for user-principal 'admin' are SCRAM-SHA-512=iterations=4096/, descContext);
  } else {
    assert.match(versions.stdout.toString(), /DescribeUserScramCredentials\(50\): 0 (to 0 )?\[usable: 0\]/, describeRun('kafka-broker-api-versions', versions, broker));
    t.diagnostic('kafka-configs --describe --entity-type users needs DescribeClientQuotas (48), which this broker does not serve yet; described through the Admin API instead');
  }
  const login = await runJava('SaslClient.java', [`127.0.0.1:${port}`, 'run', '1', `java-alice-${token()}`, ...javaProps('alice', 'alice-secret')], { timeoutMs: 120_000 });
  assert.equal(login.code, 0, describeRun('alice logs in with the Java client', login, broker));
  const del = await tool(['--alter', '--delete-config', 'SCRAM-SHA-512', '--entity-type', 'users', '--entity-name', 'alice']);
  assert.equal(del.code, 0, describeRun('kafka-configs --delete-config', del, broker));
  const gone = await runJava('SaslClient.java', [`127.0.0.1:${port}`, 'scram', ...javaProps('admin', 'admin-secret')], { timeoutMs: 90_000 });
  assert.doesNotMatch(gone.stdout.toString(), /^USER alice /m, describeRun('describe after delete', gone, broker));
  assert.match(gone.stdout.toString(), /^USER admin /m);
  const refused = await runJava('SaslClient.java', [`127.0.0.1:${port}`, 'refused', ...javaProps('alice', 'alice-secret')], { timeoutMs: 90_000 });
  assert.match(refused.stdout.toString(), /^REFUSED org\.apache\.kafka\.common\.errors\.SaslAuthenticationException/m, describeRun('alice refused after delete', refused, broker));
  assert.ok(BAD_CREDENTIALS.test(refused.stdout.toString()));
});
