// TLS with other clients: kcat (librdkafka), the Apache Kafka Java client and Python's
// confluent-kafka produce and consume over an SSL listener, then over mutual TLS
// (ssl.client.auth=required) with a client certificate; the broker logs the certificate's subject as the principal. Certificates are made
// with openssl at test time (test/helpers/tls-certs.ts); the Java client reads them as PEM.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startBroker, listenerPorts, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { debianPython, pythonDir, describeRun, requireJava, requireTool, run, runJava, token, works } from './tools.js';

let certs: TestCerts;
let broker: BrokerProcess;
let mtls: BrokerProcess;
let sslPort = 0;
let mtlsPort = 0;

before(async () => {
  certs = await makeTestCerts();
  const base = ['--log-level', 'debug', '--set', `ssl.certificate.location=${certs.serverCertFile}`, '--set', `ssl.key.location=${certs.serverKeyFile}`];
  broker = await startBroker({ args: [...base, '--set', 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0'] });
  sslPort = listenerPorts(broker).SSL!;
  mtls = await startBroker({ args: [...base, '--set', 'listeners=SSL://127.0.0.1:0', '--set', `ssl.truststore.location=${certs.caFile}`, '--set', 'ssl.client.auth=required'] });
  mtlsPort = listenerPorts(mtls).SSL!;
});

after(async () => {
  await broker?.cleanup();
  await mtls?.cleanup();
  await certs?.cleanup();
});

const kcatHint = 'install it with `sudo apt-get install kcat` (Debian/Ubuntu)';

async function kcatRoundTrip(b: BrokerProcess, port: number, security: string[]): Promise<void> {
  const topic = `kcat-tls-${token()}`;
  const lines = Array.from({ length: 100 }, (_, i) => `m${i}`);
  const bootstrap = ['-b', `127.0.0.1:${port}`, '-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.caFile}`, ...security];
  const p = await run('kcat', [...bootstrap, '-P', '-t', topic, '-X', 'acks=all'], { input: lines.join('\n') + '\n', timeoutMs: 60_000 });
  assert.equal(p.code, 0, describeRun('kcat -P over SSL', p, b));
  const c = await run('kcat', [...bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-c', '100'], { timeoutMs: 60_000 });
  const context = describeRun('kcat -C over SSL', c, b);
  assert.equal(c.code, 0, context);
  assert.deepEqual(c.stdout.toString().trim().split('\n'), lines, context);
}

test('kcat produces and consumes over SSL', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await works('kcat', ['-V']), 'kcat', kcatHint)) return;
  await kcatRoundTrip(broker, sslPort, []);
});

test('kcat produces and consumes over mutual TLS; its certificate subject is the principal', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await works('kcat', ['-V']), 'kcat', kcatHint)) return;
  const from = mtls.output().length;
  await kcatRoundTrip(mtls, mtlsPort, ['-X', `ssl.certificate.location=${certs.clientCertFile}`, '-X', `ssl.key.location=${certs.clientKeyFile}`]);
  assert.ok(mtls.output().slice(from).includes(`principal=User:${certs.clientDn}`), mtls.output());
});

test('kcat without a client certificate is refused by ssl.client.auth=required', { timeout: 60_000 }, async (t) => {
  if (!requireTool(t, await works('kcat', ['-V']), 'kcat', kcatHint)) return;
  const r = await run('kcat', ['-b', `127.0.0.1:${mtlsPort}`, '-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.caFile}`, '-L', '-m', '5'], { timeoutMs: 30_000 });
  assert.notEqual(r.code, 0, describeRun('kcat -L without a certificate', r, mtls));
});

test('the Java client produces and consumes over SSL with a PEM truststore', { timeout: 180_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const r = await runJava('TlsRoundTrip.java', [`127.0.0.1:${sslPort}`, `java-tls-${token()}`, '20', 'security.protocol=SSL', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`], { timeoutMs: 150_000 });
  const context = describeRun('java TlsRoundTrip.java SSL', r, broker);
  assert.equal(r.code, 0, context);
  assert.match(r.stdout.toString(), /^OK 20$/m, context);
});

test('the Java client produces and consumes over mutual TLS with a PEM keystore; its subject is the principal', { timeout: 180_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const from = mtls.output().length;
  const r = await runJava('TlsRoundTrip.java', [
    `127.0.0.1:${mtlsPort}`, `java-mtls-${token()}`, '20',
    'security.protocol=SSL', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`,
    'ssl.keystore.type=PEM', `ssl.keystore.location=${certs.clientKeystoreFile}`,
  ], { timeoutMs: 150_000 });
  const context = describeRun('java TlsRoundTrip.java mTLS', r, mtls);
  assert.equal(r.code, 0, context);
  assert.match(r.stdout.toString(), /^OK 20$/m, context);
  assert.ok(mtls.output().slice(from).includes(`principal=User:${certs.clientDn}`), context);
});


async function pythonPresent(): Promise<boolean> {
  return works(debianPython(), ['-c', 'import confluent_kafka']);
}

test('python confluent-kafka produces and consumes over SSL and over mutual TLS', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await pythonPresent(), 'python3-confluent-kafka', 'install it with `sudo apt-get install python3-confluent-kafka`')) return;
  const ssl = ['security.protocol=SSL', `ssl.ca.location=${certs.caFile}`];
  const r1 = await run(debianPython(), [join(pythonDir, 'tls_roundtrip.py'), `127.0.0.1:${sslPort}`, `py-tls-${token()}`, ...ssl], { timeoutMs: 90_000 });
  assert.match(r1.stdout.toString(), /^OK 10$/m, describeRun('python over SSL', r1, broker));
  const from = mtls.output().length;
  const r2 = await run(debianPython(), [join(pythonDir, 'tls_roundtrip.py'), `127.0.0.1:${mtlsPort}`, `py-mtls-${token()}`, ...ssl, `ssl.certificate.location=${certs.clientCertFile}`, `ssl.key.location=${certs.clientKeyFile}`], { timeoutMs: 90_000 });
  const context = describeRun('python over mTLS', r2, mtls);
  assert.match(r2.stdout.toString(), /^OK 10$/m, context);
  assert.ok(mtls.output().slice(from).includes(`principal=User:${certs.clientDn}`), context);
});
