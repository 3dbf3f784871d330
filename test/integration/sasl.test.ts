// SASL: users created offline with `rivulet storage add-scram` (password on the command line,
// from a file, from a variable) log in with kafkajs and @platformatic/kafka over SCRAM-SHA-512,
// SCRAM-SHA-256 and PLAIN on SASL_PLAINTEXT and SASL_SSL listeners, then produce and consume.
// Wrong passwords, unknown users and clients without SASL are refused, counted and logged while
// the broker serves others; garbage in the exchange gets an error and a close, never a crash;
// 10,000 failed logins in parallel with a working client are all counted. AlterUserScramCredentials
// and DescribeUserScramCredentials follow Kafka's validation, and an answered change survives
// SIGKILL. KIP-368: the session lifetime is answered, re-authentication on one connection works
// (the principal may not change), an expired session is closed, and @platformatic/kafka
// re-authenticates by itself while producing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { Producer, Consumer, stringSerializers, stringDeserializers, MessagesStreamModes } from '@platformatic/kafka';
import { startBroker, brokerTail, listenerPorts, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { scrapeMetrics, scrapeUntil } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';
import { makeTempDir } from '../helpers/temp.js';
import { runCli } from '../helpers/cli.js';
import { WireClient } from '../helpers/wire-client.js';
import { plainLogin, saltedPassword, scramHash, scramLogin, type ScramName } from '../helpers/sasl-wire.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

let certs: TestCerts;
let dataDir: string;
let broker: BrokerProcess;
let saslPort = 0;
let sslPort = 0;
let plainPort = 0;

const MECHS = 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512';

function args(extra: string[] = []): string[] {
  return [
    '--set', 'listeners=SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0',
    '--set', `sasl.enabled.mechanisms=${MECHS}`,
    '--set', `ssl.certificate.location=${certs.serverCertFile}`,
    '--set', `ssl.key.location=${certs.serverKeyFile}`,
    '--set', 'group.initial.rebalance.delay.ms=0',
    '--set', 'connection.failed.authentication.delay.ms=5',
    ...extra,
  ];
}

async function start(): Promise<void> {
  broker = await startBroker({ dataDir, args: args() });
  ({ SASL_PLAINTEXT: saslPort, SASL_SSL: sslPort, PLAINTEXT: plainPort } = listenerPorts(broker) as Record<string, number>);
}

before(async () => {
  certs = await makeTestCerts();
  dataDir = await makeTempDir('rivulet-sasl-');
  const a = await runCli(['storage', 'add-scram', '-d', dataDir, 'SCRAM-SHA-512=[name=alice,password=alice-secret]', 'SCRAM-SHA-256=[name=alice,password=alice-secret,iterations=8192]']);
  assert.equal(a.code, 0, a.stderr);
  const pwFile = join(dataDir, '..', `bob-password-${randomBytes(4).toString('hex')}`);
  await writeFile(pwFile, 'bob, the secret\n');
  const b = await runCli(['storage', 'add-scram', '-d', dataDir, '--password-file', pwFile, 'SCRAM-SHA-256=[name=bob]']);
  await rm(pwFile);
  assert.equal(b.code, 0, b.stderr);
  const c = await runCli(['storage', 'add-scram', '-d', dataDir, '--password-env', 'CAROL_PW', 'SCRAM-SHA-512=[name=carol]'], { env: { CAROL_PW: 'carol-secret' } });
  assert.equal(c.code, 0, c.stderr);
  assert.doesNotMatch(readFileSync(join(dataDir, 'scram-credentials.json'), 'utf8'), /alice-secret|bob, the secret|carol-secret/, 'no password is stored');
  await start();
});

after(async () => {
  await broker?.cleanup();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await certs?.cleanup();
});

const ca = (): string => readFileSync(certs.caFile, 'utf8');

function kafkajs(port: number, tls: boolean, sasl: SASLOptions | undefined): Kafka {
  return new Kafka({ clientId: 'sasl-test', brokers: [`127.0.0.1:${port}`], ssl: tls ? { ca: [ca()] } : false, sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 5000 });
}

async function kafkajsRoundTrip(kafka: Kafka, topic: string, n: number): Promise<string[]> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ value: `${topic}-${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}-group` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
  try {
    await waitFor(`${n} messages of ${topic}`, () => got.length >= n, 30_000);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

const users: Record<string, [string, string]> = { 'scram-sha-512': ['alice', 'alice-secret'], 'scram-sha-256': ['bob', 'bob, the secret'], plain: ['carol', 'carol-secret'] };

test('kafkajs produces and consumes with SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN over SASL_PLAINTEXT and SASL_SSL (users made by storage add-scram)', { timeout: 180_000 }, async () => {
  for (const [tls, port] of [[false, saslPort], [true, sslPort]] as const) {
    for (const mechanism of ['scram-sha-512', 'scram-sha-256', 'plain'] as const) {
      const [username, password] = users[mechanism]!;
      const topic = `kjs-${mechanism}-${tls ? 'ssl' : 'plain'}`;
      const got = await kafkajsRoundTrip(kafkajs(port, tls, { mechanism, username, password } as SASLOptions), topic, 5);
      assert.deepEqual(got, Array.from({ length: 5 }, (_, i) => `${topic}-${i}`), `${mechanism} over ${tls ? 'SASL_SSL' : 'SASL_PLAINTEXT'}`);
    }
  }
  const m = await scrapeMetrics(broker.httpPort);
  for (const [listener, mech] of [['SASL_PLAINTEXT', 'SCRAM-SHA-512'], ['SASL_SSL', 'SCRAM-SHA-256'], ['SASL_SSL', 'PLAIN']]) {
    assert.ok((m.get(`rivulet_sasl_authentications_total{listener="${listener}",mechanism="${mech}",result="success"}`) ?? 0) > 0, `${mech} logins on ${listener} counted`);
  }
});

test('@platformatic/kafka produces and consumes with SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN over SASL_SSL and SASL_PLAINTEXT', { timeout: 180_000 }, async () => {
  for (const [tls, port] of [[true, sslPort], [false, saslPort]] as const) {
    for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] as const) {
      const [username, password] = users[mechanism.toLowerCase()]!;
      const topic = `pf-${mechanism}-${tls ? 'ssl' : 'plain'}`;
      const base = { bootstrapBrokers: [`127.0.0.1:${port}`], clientId: 'sasl-platformatic', sasl: { mechanism, username, password }, ...(tls ? { tls: { ca: ca() } } : {}) };
      const producer = new Producer({ ...base, serializers: stringSerializers, autocreateTopics: true });
      await producer.send({ messages: Array.from({ length: 5 }, (_, i) => ({ topic, value: `${topic}-${i}` })) });
      await producer.close();
      const consumer = new Consumer({ ...base, groupId: `${topic}-group`, deserializers: stringDeserializers, maxWaitTime: 200 });
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
      const got: string[] = [];
      stream.on('data', (msg: { value: string }) => got.push(msg.value));
      try {
        await waitFor(`5 messages of ${topic}`, () => got.length >= 5, 30_000);
      } finally {
        await stream.close().catch(() => undefined);
        await consumer.close().catch(() => undefined);
      }
      assert.deepEqual(got, Array.from({ length: 5 }, (_, i) => `${topic}-${i}`), topic);
    }
  }
});

test('wrong password and unknown user are refused with SASL_AUTHENTICATION_FAILED and the same message, counted by reason', { timeout: 60_000 }, async () => {
  const before = await scrapeMetrics(broker.httpPort);
  const failures = (m: typeof before, reason: string) => m.get(`rivulet_authentication_failures_total{listener="SASL_SSL",mechanism="SCRAM-SHA-512",reason="${reason}"}`) ?? 0;
  const messages: string[] = [];
  for (const [username, password] of [['alice', 'wrong'], ['nobody', 'alice-secret']]) {
    const producer = kafkajs(sslPort, true, { mechanism: 'scram-sha-512', username, password }).producer();
    const e = await producer.connect().then(() => null, (err: Error) => err);
    await producer.disconnect().catch(() => undefined);
    assert.ok(e, `${username} is refused`);
    assert.equal(e.name, 'KafkaJSSASLAuthenticationError', e.message);
    assert.match(e.message, /Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512: check the client's username and password/);
    messages.push(e.message);
  }
  assert.equal(messages[0], messages[1], 'an unknown user and a wrong password look the same to the client');
  // @platformatic/kafka shows the broker's error too.
  const p = new Producer({ bootstrapBrokers: [`127.0.0.1:${saslPort}`], clientId: 'sasl-bad', sasl: { mechanism: 'PLAIN', username: 'carol', password: 'nope' }, serializers: stringSerializers, retries: 0 });
  const pe = await p.send({ messages: [{ topic: 'never', value: 'x' }] }).then(() => null, (err: Error) => err);
  await p.close().catch(() => undefined);
  assert.ok(pe, 'PLAIN with a wrong password is refused');
  // Its error wraps the broker's answer: AggregateError -> NetworkError -> AuthenticationError -> ResponseError{response}.
  const texts: string[] = [];
  const walk = (x: unknown, depth: number): void => {
    if (x === null || typeof x !== 'object' || depth > 8) return;
    const o = x as { message?: unknown; errorMessage?: unknown; code?: unknown; errors?: unknown[]; cause?: unknown; response?: unknown };
    for (const v of [o.message, o.errorMessage, o.code]) if (typeof v === 'string') texts.push(v);
    for (const e of o.errors ?? []) walk(e, depth + 1);
    walk(o.cause, depth + 1);
    walk(o.response, depth + 1);
  };
  walk(pe, 0);
  assert.ok(texts.includes('PLT_KFK_AUTHENTICATION'), texts.join(' | '));
  assert.ok(texts.some((t) => /invalid credentials with SASL mechanism PLAIN/.test(t)), texts.join(' | '));
  const after = await scrapeUntil(broker.httpPort, (m) => failures(m, 'unknown_user') > failures(before, 'unknown_user'), 'an unknown_user failure');
  assert.equal(failures(after, 'bad_credentials'), failures(before, 'bad_credentials') + 1);
  assert.equal(failures(after, 'unknown_user'), failures(before, 'unknown_user') + 1);
  assert.match(broker.output(), /SASL authentication failed .*listener=SASL_SSL mechanism=SCRAM-SHA-512 reason=bad_credentials/);
});

test('a client without SASL on a SASL listener is closed, counted and logged; the broker serves others', { timeout: 60_000 }, async () => {
  const before = (await scrapeMetrics(broker.httpPort)).get('rivulet_authentication_failures_total{listener="SASL_PLAINTEXT",mechanism="none",reason="unauthenticated"}') ?? 0;
  const admin = kafkajs(saslPort, false, undefined).admin();
  const e = await admin.connect().then(() => admin.listTopics()).then(() => null, (err: Error) => err);
  await admin.disconnect().catch(() => undefined);
  assert.ok(e, 'a client without SASL cannot list topics');
  // And a raw Metadata before any login: closed without an answer.
  const c = await WireClient.connect(saslPort);
  c.send(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  await c.waitClosed();
  assert.deepEqual(c.received, [], 'no answer before authentication');
  await scrapeUntil(broker.httpPort, (m) => (m.get('rivulet_authentication_failures_total{listener="SASL_PLAINTEXT",mechanism="none",reason="unauthenticated"}') ?? 0) >= before + 2, 'two unauthenticated closes');
  assert.match(broker.output(), /closing connection: not authenticated .*API key 3 before authentication on SASL listener SASL_PLAINTEXT/);
  const got = await kafkajsRoundTrip(kafkajs(saslPort, false, { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' }), 'after-unauthenticated', 3);
  assert.equal(got.length, 3);
});

test('garbage in the SASL exchange gets an error and a close, never a crash', { timeout: 60_000 }, async () => {
  const failed = async (what: string, send: (c: WireClient) => Promise<{ errorCode: number; errorMessage: string | null }>, code: number, message: RegExp) => {
    const c = await WireClient.connect(saslPort);
    try {
      const r = await send(c);
      assert.equal(r.errorCode, code, `${what}: ${JSON.stringify(r)}`);
      assert.match(r.errorMessage ?? '', message, what);
      await c.waitClosed();
    } finally {
      c.close();
    }
  };
  const auth = (c: WireClient, bytes: string | Buffer) => c.request(ApiKey.SaslAuthenticate, 1, { authBytes: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes) });
  const hs = (c: WireClient, m = 'SCRAM-SHA-512') => c.request(ApiKey.SaslHandshake, 1, { mechanism: m });
  await failed('a bad first message', async (c) => (await hs(c), auth(c, 'hello there')), ErrorCode.SASL_AUTHENTICATION_FAILED, /first SCRAM message is not/);
  await failed('channel binding asked', async (c) => (await hs(c), auth(c, 'p=tls-unique,,n=alice,r=abc')), ErrorCode.SASL_AUTHENTICATION_FAILED, /not n,\[a=authzid\]/);
  await failed('a delegation token asked', async (c) => (await hs(c), auth(c, 'n,,n=alice,r=abcdef,tokenauth=true')), ErrorCode.SASL_AUTHENTICATION_FAILED, /delegation tokens \(tokenauth\) are not supported/);
  await failed('another user\'s authzid', async (c) => (await hs(c), auth(c, 'n,a=bob,n=alice,r=abcdef')), ErrorCode.SASL_AUTHENTICATION_FAILED, /authorization id differs/);
  await failed('a nonce mismatch', async (c) => {
    await hs(c);
    const r1 = await auth(c, 'n,,n=alice,r=clientnonce');
    assert.equal(r1.errorCode, 0);
    return auth(c, `c=biws,r=someothernonce,p=${randomBytes(64).toString('base64')}`);
  }, ErrorCode.SASL_AUTHENTICATION_FAILED, /nonce of the final message is not the one the server sent/);
  await failed('a bad final message', async (c) => {
    await hs(c);
    await auth(c, 'n,,n=alice,r=clientnonce');
    return auth(c, 'c=biws,p=');
  }, ErrorCode.SASL_AUTHENTICATION_FAILED, /final SCRAM message is not/);
  await failed('a PLAIN message without NULs', async (c) => (await hs(c, 'PLAIN'), auth(c, 'alice alice-secret')), ErrorCode.SASL_AUTHENTICATION_FAILED, /not authzid NUL username NUL password/);
  await failed('SaslAuthenticate without SaslHandshake', (c) => auth(c, 'n,,n=alice,r=x'), ErrorCode.ILLEGAL_SASL_STATE, /without a SaslHandshake first/);
  await failed('SaslHandshake v0 (raw tokens)', async (c) => {
    const r = await c.request(ApiKey.SaslHandshake, 0, { mechanism: 'PLAIN' });
    return { errorCode: r.errorCode, errorMessage: r.mechanisms.join(',') };
  }, ErrorCode.ILLEGAL_SASL_STATE, /PLAIN,SCRAM-SHA-256,SCRAM-SHA-512/);
  // Two SaslAuthenticate at once: the second is refused with ILLEGAL_SASL_STATE (one step at a time), then the connection closes.
  await failed('a second SaslAuthenticate while one is in progress', async (c) => {
    await hs(c, 'PLAIN');
    const [, second] = await Promise.all([auth(c, '\0alice\0alice-secret'), auth(c, '\0alice\0alice-secret')]);
    return second;
  }, ErrorCode.ILLEGAL_SASL_STATE, /previous one is unanswered|after the exchange ended/);
  // A mechanism not enabled: UNSUPPORTED_SASL_MECHANISM with the list, then the connection is closed, as Kafka does.
  const u = await WireClient.connect(saslPort);
  const r = await u.request(ApiKey.SaslHandshake, 1, { mechanism: 'GSSAPI' });
  assert.equal(r.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
  assert.deepEqual(r.mechanisms, MECHS.split(','));
  await u.waitClosed();
  u.close();
  // A huge authBytes before login: over sasl.server.max.receive.size, closed before it is read.
  const h = await WireClient.connect(saslPort);
  await hs(h);
  h.send(ApiKey.SaslAuthenticate, 1, { authBytes: Buffer.alloc(600_000, 0x41) });
  await h.waitClosed();
  // A truncated frame: its size announced, a part sent, then the client goes away.
  const t = await WireClient.connect(saslPort);
  await hs(t);
  const frame = Buffer.alloc(24);
  frame.writeInt32BE(200, 0);
  t.writeRaw(frame);
  t.close();
  await waitFor('the closes logged', () => /sasl\.server\.max\.receive\.size/.test(broker.output()), 10_000, () => brokerTail(broker));
  assert.equal(broker.child.exitCode, null, 'the broker is still running');
  const c = await WireClient.connect(saslPort);
  assert.equal((await plainLogin(c, 'alice', 'alice-secret')).errorCode, 0, 'PLAIN still logs in afterwards');
  const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.ok(md.brokers.length === 1);
  c.close();
});

test('10,000 failed logins from parallel connections while a good client produces and consumes: the broker stays up and counts every one', { timeout: 600_000 }, async () => {
  const series = 'rivulet_authentication_failures_total{listener="SASL_PLAINTEXT",mechanism="SCRAM-SHA-256",reason="unknown_user"}';
  const before = (await scrapeMetrics(broker.httpPort)).get(series) ?? 0;
  const TOTAL = 10_000;
  const WORKERS = 12;
  let started = 0;
  let refused = 0;
  let stop = false;
  // The good client: produce in rounds and read everything back while the flood runs.
  const kafka = kafkajs(saslPort, false, { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' });
  const producer = kafka.producer();
  await producer.connect();
  const consumer = kafka.consumer({ groupId: 'flood-group' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'flood-good', fromBeginning: true });
  const got: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
  let sent = 0;
  const good = (async () => {
    while (!stop) {
      await producer.send({ topic: 'flood-good', acks: -1, messages: [{ value: `g${sent}` }] });
      sent++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const worker = async (): Promise<void> => {
    while (started < TOTAL) {
      started++;
      const c = await WireClient.connect(saslPort);
      try {
        const r = await scramLogin(c, 'SCRAM-SHA-256', `flood-${started % 50}`, 'x', { proof: 'random' });
        if (r.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED) refused++;
        await c.waitClosed(10_000);
      } finally {
        c.close();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: WORKERS }, worker));
  } finally {
    stop = true;
    await good;
  }
  assert.equal(refused, TOTAL, 'every login was answered SASL_AUTHENTICATION_FAILED');
  await waitFor('the good client\'s records', () => got.length >= sent, 30_000);
  await consumer.disconnect();
  await producer.disconnect();
  assert.ok(sent > 0, 'the good client produced during the flood');
  assert.deepEqual(got.slice(0, sent), Array.from({ length: sent }, (_, i) => `g${i}`));
  const after = await scrapeMetrics(broker.httpPort);
  assert.equal((after.get(series) ?? 0) - before, TOTAL, 'the failures metric counts every failed login');
  assert.equal(broker.child.exitCode, null);
  const lines = broker.output().split('\n').filter((l) => l.includes('reason=unknown_user')).length;
  assert.ok(lines < TOTAL / 10, `failed logins are logged throttled (${lines} lines)`);
});

async function alter(port: number, body: object): Promise<Array<{ user: string; errorCode: number; errorMessage: string | null }>> {
  const c = await WireClient.connect(port);
  try {
    return (await c.request(ApiKey.AlterUserScramCredentials, 0, body)).results;
  } finally {
    c.close();
  }
}

function upsert(name: string, m: ScramName, password: string, iterations = 4096) {
  const salt = randomBytes(24);
  return { name, mechanism: scramHash(m).type, iterations, salt, saltedPassword: saltedPassword(m, password, salt, iterations) };
}

test('AlterUserScramCredentials and DescribeUserScramCredentials: Kafka\'s validation and error codes', { timeout: 60_000 }, async () => {
  const byUser = (rs: Array<{ user: string; errorCode: number; errorMessage: string | null }>): Record<string, [number, string | null]> => Object.fromEntries(rs.map((r) => [r.user, [r.errorCode, r.errorMessage]]));
  const results = byUser(await alter(plainPort, {
    deletions: [{ name: 'ghost', mechanism: 2 }],
    upsertions: [
      upsert('dave', 'SCRAM-SHA-512', 'dave-secret', 8192),
      upsert('few', 'SCRAM-SHA-512', 'x', 1000),
      upsert('many', 'SCRAM-SHA-256', 'x', 20000),
      { ...upsert('mech', 'SCRAM-SHA-256', 'x'), mechanism: 7 },
      upsert('', 'SCRAM-SHA-256', 'x'),
      upsert('dup', 'SCRAM-SHA-256', 'x'),
      upsert('dup', 'SCRAM-SHA-512', 'x'),
    ],
  }));
  assert.deepEqual(results.dave, [ErrorCode.NONE, null]);
  assert.equal(results.ghost![0], ErrorCode.RESOURCE_NOT_FOUND);
  assert.match(results.ghost![1]!, /Attempt to delete a user credential that does not exist/);
  assert.equal(results.few![0], ErrorCode.UNACCEPTABLE_CREDENTIAL);
  assert.match(results.few![1]!, /Too few iterations/);
  assert.equal(results.many![0], ErrorCode.UNACCEPTABLE_CREDENTIAL);
  assert.match(results.many![1]!, /Too many iterations/);
  assert.equal(results.mech![0], ErrorCode.UNSUPPORTED_SASL_MECHANISM);
  assert.deepEqual(results[''], [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty']);
  assert.equal(results.dup![0], ErrorCode.DUPLICATE_RESOURCE);
  const c = await WireClient.connect(plainPort);
  try {
    const d = await c.request(ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: 'dave' }, { name: 'ghost' }, { name: 'alice' }, { name: 'alice' }] });
    const res = Object.fromEntries(d.results.map((r: { user: string }) => [r.user, r]));
    assert.deepEqual(res.dave.credentialInfos, [{ mechanism: 2, iterations: 8192 }]);
    assert.equal(res.ghost.errorCode, ErrorCode.RESOURCE_NOT_FOUND);
    assert.equal(res.alice.errorCode, ErrorCode.DUPLICATE_RESOURCE);
    const all = await c.request(ApiKey.DescribeUserScramCredentials, 0, { users: null });
    assert.deepEqual(all.results.map((r: { user: string }) => r.user).sort(), ['alice', 'bob', 'carol', 'dave']);
    assert.deepEqual(all.results.find((r: { user: string }) => r.user === 'alice').credentialInfos.sort((a: { mechanism: number }, b: { mechanism: number }) => a.mechanism - b.mechanism), [{ mechanism: 1, iterations: 8192 }, { mechanism: 2, iterations: 4096 }]);
  } finally {
    c.close();
  }
  const l = await WireClient.connect(saslPort);
  assert.equal((await scramLogin(l, 'SCRAM-SHA-512', 'dave', 'dave-secret')).errorCode, 0, 'the new user logs in');
  l.close();
  assert.deepEqual(byUser(await alter(plainPort, { deletions: [{ name: 'dave', mechanism: 2 }], upsertions: [] })).dave, [ErrorCode.NONE, null]);
  const g = await WireClient.connect(saslPort);
  assert.equal((await scramLogin(g, 'SCRAM-SHA-512', 'dave', 'dave-secret')).errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, 'a deleted user cannot log in');
  g.close();
});

test('a credential answered by AlterUserScramCredentials survives SIGKILL right after the answer, and a clean restart', { timeout: 120_000 }, async () => {
  const results = await alter(plainPort, { deletions: [], upsertions: [upsert('erin', 'SCRAM-SHA-256', 'erin-secret')] });
  assert.deepEqual(results.map((r) => [r.user, r.errorCode]), [['erin', 0]]);
  await broker.kill();
  await start();
  const c = await WireClient.connect(saslPort);
  assert.equal((await scramLogin(c, 'SCRAM-SHA-256', 'erin', 'erin-secret')).errorCode, 0, `erin logs in after SIGKILL:\n${brokerTail(broker)}`);
  c.close();
  assert.equal(await broker.stop(), 0);
  await start();
  const got = await kafkajsRoundTrip(kafkajs(saslPort, false, { mechanism: 'scram-sha-256', username: 'erin', password: 'erin-secret' }), 'after-restart', 2);
  assert.equal(got.length, 2);
});

test('KIP-368: the session lifetime is answered; re-authentication on the connection keeps the principal; an expired session is closed', { timeout: 120_000 }, async () => {
  const dir = await makeTempDir('rivulet-sasl-reauth-');
  try {
    assert.equal((await runCli(['storage', 'add-scram', '-d', dir, 'SCRAM-SHA-512=[name=alice,password=alice-secret]', 'SCRAM-SHA-512=[name=bob,password=bob-secret]'])).code, 0);
    const b2 = await startBroker({ dataDir: dir, args: ['--set', 'listeners=SASL_PLAINTEXT://127.0.0.1:0', '--set', `sasl.enabled.mechanisms=${MECHS}`, '--set', 'connections.max.reauth.ms=1500', '--set', 'connection.failed.authentication.delay.ms=0'] });
    const port = listenerPorts(b2).SASL_PLAINTEXT!;
    try {
      const c = await WireClient.connect(port);
      const r = await scramLogin(c, 'SCRAM-SHA-512', 'alice', 'alice-secret');
      assert.equal(r.errorCode, 0);
      assert.equal(r.sessionLifetimeMs, 1500, 'v1 answers connections.max.reauth.ms');
      const v0 = await WireClient.connect(port);
      assert.equal((await scramLogin(v0, 'SCRAM-SHA-512', 'alice', 'alice-secret', { version: 0 })).errorCode, 0, 'v0 logs in too');
      v0.close();
      // Re-authenticate (same user) with a Metadata in flight on the same connection.
      const md = c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      const again = await scramLogin(c, 'SCRAM-SHA-512', 'alice', 'alice-secret');
      assert.equal(again.errorCode, 0, JSON.stringify(again));
      assert.equal((await md).brokers.length, 1);
      await scrapeUntil(b2.httpPort, (m) => (m.get('rivulet_sasl_authentications_total{listener="SASL_PLAINTEXT",mechanism="SCRAM-SHA-512",result="reauthentication"}') ?? 0) === 1, 'one re-authentication');
      // Re-authenticating as another user is refused and closes the connection.
      const other = await scramLogin(c, 'SCRAM-SHA-512', 'bob', 'bob-secret');
      assert.equal(other.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert.match(other.errorMessage ?? '', /re-authentication as User:bob on a connection of User:alice/);
      await c.waitClosed();
      await scrapeUntil(b2.httpPort, (m) => (m.get('rivulet_authentication_failures_total{listener="SASL_PLAINTEXT",mechanism="SCRAM-SHA-512",reason="principal_changed"}') ?? 0) === 1, 'principal_changed');
      // A session left to expire: the next request that is not a re-authentication closes it.
      const e = await WireClient.connect(port);
      assert.equal((await scramLogin(e, 'SCRAM-SHA-512', 'bob', 'bob-secret')).errorCode, 0);
      await new Promise((res) => setTimeout(res, 1800));
      e.send(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      await e.waitClosed();
      await scrapeUntil(b2.httpPort, (m) => (m.get('rivulet_authentication_failures_total{listener="SASL_PLAINTEXT",mechanism="SCRAM-SHA-512",reason="session_expired"}') ?? 0) === 1, 'session_expired');
      // @platformatic/kafka re-authenticates by itself and keeps producing past several lifetimes.
      const producer = new Producer({ bootstrapBrokers: [`127.0.0.1:${port}`], clientId: 'reauth', sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' }, serializers: stringSerializers, autocreateTopics: true });
      try {
        for (let i = 0; i < 20; i++) {
          await producer.send({ messages: [{ topic: 'reauth', value: `r${i}` }] });
          await new Promise((res) => setTimeout(res, 250));
        }
      } finally {
        await producer.close();
      }
      const m = await scrapeMetrics(b2.httpPort);
      assert.ok((m.get('rivulet_sasl_authentications_total{listener="SASL_PLAINTEXT",mechanism="SCRAM-SHA-512",result="reauthentication"}') ?? 0) >= 3, `the client re-authenticated on its own: ${brokerTail(b2)}`);
      assert.equal(m.get('rivulet_authentication_failures_total{listener="SASL_PLAINTEXT",mechanism="SCRAM-SHA-512",reason="session_expired"}') ?? 0, 1, 'no connection of the client expired');
    } finally {
      await b2.cleanup();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
