// Listeners and TLS: a broker with a PLAINTEXT and an SSL listener at once, each advertising
// itself; kafkajs and @platformatic/kafka produce and consume over SSL; mutual TLS makes the
// client certificate's subject the principal and refuses certificates of another CA; a stalled
// handshake and a plaintext client on the SSL port are closed and counted; rotated certificate
// files are picked up by new connections while the broker runs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Producer, Consumer, stringSerializers, stringDeserializers, MessagesStreamModes } from '@platformatic/kafka';
import { startBroker, brokerTail, listenerPorts, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { scrapeMetrics, scrapeUntil } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';

let certs: TestCerts;
/** PLAINTEXT and SSL listeners, no client certificates, a short handshake timeout. */
let broker: BrokerProcess;
/** SSL only, ssl.client.auth=required. */
let mtls: BrokerProcess;
let plainPort = 0;
let sslPort = 0;
let mtlsPort = 0;

function sslArgs(extra: string[]): string[] {
  return [
    '--log-level', 'debug',
    '--set', `ssl.certificate.location=${certs.serverCertFile}`,
    '--set', `ssl.key.location=${certs.serverKeyFile}`,
    '--set', 'group.initial.rebalance.delay.ms=0',
    ...extra,
  ];
}

before(async () => {
  certs = await makeTestCerts();
  broker = await startBroker({ args: sslArgs(['--set', 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0', '--set', 'ssl.handshake.timeout.ms=500']) });
  ({ PLAINTEXT: plainPort, SSL: sslPort } = listenerPorts(broker) as { PLAINTEXT: number; SSL: number });
  mtls = await startBroker({
    args: sslArgs(['--set', 'listeners=SSL://127.0.0.1:0', '--set', `ssl.truststore.location=${certs.caFile}`, '--set', 'ssl.client.auth=required']),
  });
  mtlsPort = listenerPorts(mtls).SSL!;
});

after(async () => {
  await broker?.cleanup();
  await mtls?.cleanup();
  await certs?.cleanup();
});

const ca = (): string => readFileSync(certs.caFile, 'utf8');

function kafkajs(port: number, ssl: object | false): Kafka {
  return new Kafka({ clientId: 'tls-test', brokers: [`127.0.0.1:${port}`], ssl: ssl as never, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
}

test('each listener advertises itself in Metadata: the PLAINTEXT port to plaintext clients, the SSL port to TLS clients', async () => {
  assert.notEqual(plainPort, sslPort);
  for (const [port, ssl] of [[plainPort, false], [sslPort, { ca: [ca()] }]] as const) {
    const admin = kafkajs(port, ssl).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(cluster.brokers.map((b) => b.port), [port], `Metadata through port ${port}: ${brokerTail(broker)}`);
    } finally {
      await admin.disconnect();
    }
  }
});

test('kafkajs produces and consumes over SSL', { timeout: 60_000 }, async () => {
  const kafka = kafkajs(sslPort, { ca: [ca()] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'tls-kafkajs', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'tls-kafkajs-group' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'tls-kafkajs', fromBeginning: true });
  const got: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
  try {
    await waitFor('10 messages over SSL', () => got.length >= 10, 30_000);
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `v${i}`));
});

test('@platformatic/kafka produces and consumes over SSL', { timeout: 60_000 }, async () => {
  const base = { bootstrapBrokers: [`127.0.0.1:${sslPort}`], tls: { ca: ca() }, clientId: 'tls-platformatic' };
  const producer = new Producer({ ...base, serializers: stringSerializers, autocreateTopics: true });
  await producer.send({ messages: Array.from({ length: 10 }, (_, i) => ({ topic: 'tls-platformatic', key: `k${i}`, value: `p${i}` })) });
  await producer.close();
  const consumer = new Consumer({ ...base, groupId: 'tls-platformatic-group', deserializers: stringDeserializers, maxWaitTime: 200 });
  const stream = await consumer.consume({ topics: ['tls-platformatic'], mode: MessagesStreamModes.EARLIEST });
  const got: string[] = [];
  stream.on('data', (m: { value: string }) => got.push(m.value));
  try {
    await waitFor('10 messages over SSL', () => got.length >= 10, 30_000);
  } finally {
    await stream.close().catch(() => undefined);
    await consumer.close().catch(() => undefined);
  }
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `p${i}`));
});

/** Opens a TLS connection; resolves with the server's certificate, or rejects with why it failed. */
function handshake(port: number, opts: ConnectionOptions): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: undefined, ...opts });
    s.once('secureConnect', () => {
      const cert = s.getPeerX509Certificate()!;
      // TLS 1.3: a refused client certificate is reported after the client's handshake ends; a
      // Kafka request (ApiVersions v0) shows whether the broker took the connection.
      s.write(Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0, 0]));
      s.once('data', () => {
        s.destroy();
        resolve(cert);
      });
    });
    s.once('error', (e) => {
      s.destroy();
      reject(e);
    });
    s.once('close', () => reject(new Error('closed by the broker')));
  });
}

test('mTLS: the client certificate\'s subject DN is the session principal', { timeout: 60_000 }, async () => {
  const kafka = kafkajs(mtlsPort, { ca: [ca()], cert: readFileSync(certs.clientCertFile, 'utf8'), key: readFileSync(certs.clientKeyFile, 'utf8') });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'tls-mtls', messages: [{ value: 'x' }] });
  await producer.disconnect();
  const expected = `principal=User:${certs.clientDn}`;
  await waitFor('the principal in the log', () => mtls.output().includes(expected), 10_000, () => brokerTail(mtls));
  assert.doesNotMatch(mtls.output(), /TLS connection .*principal=User:ANONYMOUS/, 'no authenticated TLS connection is anonymous');
});

test('mTLS: a client certificate of another CA, and no certificate, are refused and counted; the broker serves others', { timeout: 60_000 }, async () => {
  const other = { ca: ca(), cert: readFileSync(certs.otherClientCertFile), key: readFileSync(certs.otherClientKeyFile) };
  await assert.rejects(handshake(mtlsPort, other), 'a certificate of another CA is refused');
  await assert.rejects(handshake(mtlsPort, { ca: ca() }), 'no certificate is refused');
  await scrapeUntil(mtls.httpPort, (m) => (m.get('rivulet_tls_handshake_failures_total{listener="SSL",reason="bad_certificate"}') ?? 0) >= 2, 'two bad_certificate failures');
  assert.match(mtls.output(), /TLS handshake failed.*client certificate/);
  const good = await handshake(mtlsPort, { ca: ca(), cert: readFileSync(certs.clientCertFile), key: readFileSync(certs.clientKeyFile) });
  assert.ok(good.subject.includes('CN=127.0.0.1'));
});

test('a handshake that stalls is closed after ssl.handshake.timeout.ms and counted', { timeout: 60_000 }, async () => {
  const before = (await scrapeMetrics(broker.httpPort)).get('rivulet_tls_handshake_failures_total{listener="SSL",reason="timeout"}') ?? 0;
  const s = netConnect({ host: '127.0.0.1', port: sslPort });
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.once('close', () => resolve()));
  await scrapeUntil(broker.httpPort, (m) => (m.get('rivulet_tls_handshake_failures_total{listener="SSL",reason="timeout"}') ?? 0) === before + 1, 'one more timeout');
});

test('a plaintext Kafka client on the SSL port is closed with a log line saying so; the listener keeps serving', { timeout: 60_000 }, async () => {
  const s = netConnect({ host: '127.0.0.1', port: sslPort });
  s.on('error', () => undefined);
  s.write(Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0, 0]));
  await new Promise<void>((resolve) => s.once('close', () => resolve()));
  await scrapeUntil(broker.httpPort, (m) => (m.get('rivulet_tls_handshake_failures_total{listener="SSL",reason="not_tls"}') ?? 0) >= 1, 'a not_tls failure');
  await waitFor('the log line', () => /did not start a TLS handshake.*security\.protocol=SSL/.test(broker.output()), 10_000, () => brokerTail(broker));
  await handshake(sslPort, { ca: ca() });
});

test('rotated certificate files are used by new connections while the broker runs', { timeout: 60_000 }, async () => {
  const first = await handshake(sslPort, { ca: ca() });
  assert.match(first.subject, /CN=127\.0\.0\.1/);
  const pem = await certs.rotateServer('rotated.rivulet.test');
  const rotated = new X509Certificate(pem);
  assert.notEqual(rotated.serialNumber, first.serialNumber);
  await waitFor('a new connection to see the rotated certificate', async () => (await handshake(sslPort, { ca: ca() })).serialNumber === rotated.serialNumber, 20_000, () => brokerTail(broker));
  assert.match((await handshake(sslPort, { ca: ca() })).subject, /CN=rotated\.rivulet\.test/);
  assert.match(broker.output(), /TLS certificates reloaded/);
  // Clients still work over the new certificate (same CA).
  const admin = kafkajs(sslPort, { ca: [ca()] }).admin();
  await admin.connect();
  await admin.listTopics();
  await admin.disconnect();
});

test('ssl.principal.mapping.rules maps the client certificate\'s subject to the principal name', { timeout: 60_000 }, async () => {
  const b = await startBroker({
    args: sslArgs(['--set', 'listeners=SSL://127.0.0.1:0', '--set', `ssl.truststore.location=${certs.caFile}`, '--set', 'ssl.client.auth=required', '--set', 'ssl.principal.mapping.rules=RULE:^CN=([^,]*),OU=([^,]*),.*$/$1@$2/U,DEFAULT']),
  });
  try {
    await handshake(listenerPorts(b).SSL!, { ca: ca(), cert: readFileSync(certs.clientCertFile), key: readFileSync(certs.clientKeyFile) });
    await waitFor('the mapped principal in the log', () => b.output().includes('principal=User:ALICE@ENG'), 10_000, () => brokerTail(b));
  } finally {
    await b.cleanup();
  }
});

test('ssl.client.auth=requested: no certificate acts as User:ANONYMOUS, a certificate of another CA is refused', { timeout: 60_000 }, async () => {
  const b = await startBroker({ args: sslArgs(['--set', 'listeners=SSL://127.0.0.1:0', '--set', `ssl.truststore.location=${certs.caFile}`, '--set', 'ssl.client.auth=requested']) });
  try {
    const port = listenerPorts(b).SSL!;
    await handshake(port, { ca: ca() });
    await waitFor('an anonymous TLS connection in the log', () => /TLS connection .*principal=User:ANONYMOUS/.test(b.output()), 10_000, () => brokerTail(b));
    await assert.rejects(handshake(port, { ca: ca(), cert: readFileSync(certs.otherClientCertFile), key: readFileSync(certs.otherClientKeyFile) }), 'a certificate of another CA is refused');
    await scrapeUntil(b.httpPort, (m) => (m.get('rivulet_tls_handshake_failures_total{listener="SSL",reason="bad_certificate"}') ?? 0) === 1, 'one bad_certificate failure');
    await handshake(port, { ca: ca(), cert: readFileSync(certs.clientCertFile), key: readFileSync(certs.clientKeyFile) });
    await waitFor('the principal in the log', () => b.output().includes(`principal=User:${certs.clientDn}`), 10_000, () => brokerTail(b));
  } finally {
    await b.cleanup();
  }
});
