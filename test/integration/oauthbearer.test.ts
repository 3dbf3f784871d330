// SASL OAUTHBEARER end to end: a broker with a SASL_PLAINTEXT listener that enables
// OAUTHBEARER and reads its JWKS from a file; kafkajs and @platformatic/kafka log in with JWTs
// the test signs (node:crypto). A valid token produces and consumes; expired, wrong-issuer and
// wrong-audience tokens get SASL_AUTHENTICATION_FAILED with the reason and are counted in
// rivulet_authentication_failures_total; a short-lived token is replaced by re-authentication
// (KIP-368) on the live connection; a broker whose JWKS cannot be reached still starts and says
// why it refuses tokens.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { Producer, Consumer, Admin, stringSerializers, stringDeserializers, MessagesStreamModes } from '@platformatic/kafka';
import { startBroker, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor, sleep } from '../helpers/wait.js';
import { claimsAt, jwksOf, makeSigningKey, signJwt, type SigningKey } from '../helpers/jwt.js';

let dir = '';
let key: SigningKey;
let broker: BrokerProcess;

const ISSUER = 'https://idp.test';
const AUDIENCE = 'rivulet';

before(async () => {
  dir = await makeTempDir('rivulet-oauth-it-');
  key = makeSigningKey('it-key', 'ES256');
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, jwksOf(key));
  broker = await startBroker({
    args: [
      '--log-level', 'debug',
      '--set', 'listeners=SASL_PLAINTEXT://127.0.0.1:0',
      '--set', 'sasl.enabled.mechanisms=OAUTHBEARER',
      '--set', `sasl.oauthbearer.jwks.endpoint.url=${pathToFileURL(jwksFile).href}`,
      '--set', `sasl.oauthbearer.expected.issuer=${ISSUER}`,
      '--set', `sasl.oauthbearer.expected.audience=${AUDIENCE}`,
      '--set', 'connection.failed.authentication.delay.ms=0',
      '--set', 'group.initial.rebalance.delay.ms=0',
    ],
  });
});

after(async () => {
  await broker?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const token = (over: Record<string, unknown> = {}, lifetimeS = 3600): string => signJwt(key, claimsAt(Date.now(), { iss: ISSUER, aud: AUDIENCE, ...over }, lifetimeS));
const expired = (): string => token({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 });

function kafkajs(value: string, clientId = 'oauth-kafkajs'): Kafka {
  return new Kafka({
    clientId,
    brokers: [broker.bootstrap],
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value }) },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

/** Every message, code and apiId along an error's causes and aggregated errors. */
function errorChain(e: unknown, depth = 0): string {
  if (e === null || typeof e !== 'object' || depth > 8) return '';
  const o = e as { message?: string; code?: string; apiId?: string; serverErrorMessage?: string; cause?: unknown; errors?: unknown[] };
  let out = `${o.message ?? ''} [${o.code ?? ''} ${o.apiId ?? ''}] ${o.serverErrorMessage ?? ''}\n`;
  for (const x of o.errors ?? []) out += errorChain(x, depth + 1);
  out += errorChain(o.cause, depth + 1);
  return out;
}

const series = (name: string, labels: Record<string, string>): string => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
const failures = async (reason: string): Promise<number> =>
  (await scrapeMetrics(broker.httpPort)).get(series('rivulet_authentication_failures_total', { listener: 'SASL_PLAINTEXT', mechanism: 'OAUTHBEARER', reason })) ?? 0;
const authentications = async (result: string): Promise<number> =>
  (await scrapeMetrics(broker.httpPort)).get(series('rivulet_sasl_authentications_total', { listener: 'SASL_PLAINTEXT', mechanism: 'OAUTHBEARER', result })) ?? 0;

test('kafkajs with a valid token produces and consumes as User:<sub>', { timeout: 60_000 }, async () => {
  const before = await authentications('success');
  const kafka = kafkajs(token({ sub: 'kafkajs-user' }));
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'oauth-kafkajs', acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'oauth-kafkajs-group' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'oauth-kafkajs', fromBeginning: true });
  const got: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
  try {
    await waitFor('5 messages through an OAUTHBEARER login', () => got.length >= 5, 30_000, () => brokerTail(broker));
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
  assert.ok((await authentications('success')) > before, 'OAUTHBEARER logins are counted as successes');
  assert.match(broker.output(), /SASL authenticated .*mechanism=OAUTHBEARER principal=User:kafkajs-user/);
});

test('kafkajs: expired, wrong-issuer and wrong-audience tokens are refused with the reason, and counted', { timeout: 60_000 }, async () => {
  const cases: [string, string, RegExp][] = [
    [expired(), 'expired_token', /expired at .* s ago/],
    [token({ iss: 'https://evil.test' }), 'wrong_issuer', /issued by "https:\/\/evil\.test" \(iss\); this broker accepts tokens of "https:\/\/idp\.test"/],
    [token({ aud: 'billing' }), 'wrong_audience', /audience "billing" \(aud\); this broker accepts the audience "rivulet"/],
  ];
  for (const [value, reason, message] of cases) {
    const before = await failures(reason);
    const producer = kafkajs(value).producer();
    await assert.rejects(producer.connect(), (e: Error) => {
      assert.equal(e.name, 'KafkaJSSASLAuthenticationError', `${reason}: ${e.name}: ${e.message}`);
      assert.match(e.message, message, reason);
      return true;
    });
    await producer.disconnect().catch(() => undefined);
    await waitFor(`the ${reason} failure counted`, async () => (await failures(reason)) === before + 1, 10_000);
  }
});

test('@platformatic/kafka with a valid token produces and consumes; a bad one fails with SASL_AUTHENTICATION_FAILED', { timeout: 60_000 }, async () => {
  const base = { bootstrapBrokers: [broker.bootstrap], clientId: 'oauth-platformatic' };
  const producer = new Producer({ ...base, sasl: { mechanism: 'OAUTHBEARER', token: token({ sub: 'platformatic-user' }) }, serializers: stringSerializers, autocreateTopics: true });
  await producer.send({ messages: Array.from({ length: 5 }, (_, i) => ({ topic: 'oauth-platformatic', value: `p${i}` })) });
  await producer.close();
  const consumer = new Consumer({ ...base, sasl: { mechanism: 'OAUTHBEARER', token: token({ sub: 'platformatic-user' }) }, groupId: 'oauth-platformatic-group', deserializers: stringDeserializers, maxWaitTime: 200 });
  const stream = await consumer.consume({ topics: ['oauth-platformatic'], mode: MessagesStreamModes.EARLIEST });
  const got: string[] = [];
  stream.on('data', (m: { value: string }) => got.push(m.value));
  try {
    await waitFor('5 messages through @platformatic/kafka', () => got.length >= 5, 30_000, () => brokerTail(broker));
  } finally {
    await stream.close().catch(() => undefined);
    await consumer.close().catch(() => undefined);
  }
  assert.deepEqual(got, ['p0', 'p1', 'p2', 'p3', 'p4']);

  const before = await failures('wrong_audience');
  const admin = new Admin({ ...base, sasl: { mechanism: 'OAUTHBEARER', token: token({ aud: ['web', 'billing'] }) }, retries: 0 });
  try {
    await assert.rejects(admin.listTopics(), (e: Error) => {
      // The library wraps it: "Cannot connect to any broker" holding a network error caused by
      // AuthenticationError ('SASL authentication failed.') caused by the protocol error.
      const chain = errorChain(e);
      assert.match(chain, /SASL authentication failed/, chain);
      assert.match(chain, /SASL_AUTHENTICATION_FAILED/, chain);
      assert.match(chain, /audience \["web","billing"\]/, chain);
      return true;
    });
  } finally {
    await admin.close().catch(() => undefined);
  }
  await waitFor('the wrong_audience failure counted', async () => (await failures('wrong_audience')) === before + 1, 10_000);
});

test('@platformatic/kafka re-authenticates on the live connection when its short-lived token nears expiry (KIP-368)', { timeout: 60_000 }, async () => {
  const reauthBefore = await authentications('reauthentication');
  let handedOut = 0;
  // The first token lives 4 s; each later one an hour. The client re-authenticates at 80% of
  // the session lifetime the broker answers (the token's remaining lifetime).
  const provider = (): string => (handedOut++ === 0 ? token({ sub: 'short-lived' }, 4) : token({ sub: 'short-lived' }));
  const producer = new Producer({ bootstrapBrokers: [broker.bootstrap], clientId: 'oauth-reauth', sasl: { mechanism: 'OAUTHBEARER', token: provider }, serializers: stringSerializers, autocreateTopics: true, retries: 0 });
  try {
    let sent = 0;
    // Keep producing past the first token's expiry: a connection not re-authenticated by then
    // would be closed by the broker at its next request.
    const end = Date.now() + 6000;
    while (Date.now() < end) {
      await producer.send({ messages: [{ topic: 'oauth-reauth', value: `r${sent}` }] });
      sent++;
      await sleep(200);
    }
    assert.ok(sent > 10, `records sent: ${sent}`);
  } finally {
    await producer.close().catch(() => undefined);
  }
  assert.ok(handedOut >= 2, `the provider was asked for a fresh token (asked ${handedOut} times)`);
  assert.ok((await authentications('reauthentication')) > reauthBefore, `a re-authentication was counted\n${brokerTail(broker)}`);
  assert.doesNotMatch(broker.output(), /SASL re-authentication failed/);
  assert.match(broker.output(), /SASL re-authenticated .*mechanism=OAUTHBEARER principal=User:short-lived/);
});

test('kafkajs re-authenticates with a fresh token from its provider once its session nears the token\'s expiry', { timeout: 60_000 }, async () => {
  let handedOut = 0;
  const kafka = new Kafka({
    clientId: 'oauth-kafkajs-expiry',
    brokers: [broker.bootstrap],
    // The first token lives 3 s, later ones an hour. kafkajs re-authenticates before a request
    // when its session ends within reauthenticationThreshold (10 s by default).
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: handedOut++ === 0 ? token({ sub: 'kafkajs-expiry' }, 3) : token({ sub: 'kafkajs-expiry' }) }) },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const reauthBefore = await authentications('reauthentication');
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic: 'oauth-kafkajs-expiry', acks: -1, messages: [{ value: 'before' }] });
    await sleep(4000);
    await producer.send({ topic: 'oauth-kafkajs-expiry', acks: -1, messages: [{ value: 'after' }] });
  } finally {
    await producer.disconnect();
  }
  assert.ok(handedOut >= 2, `kafkajs asked its provider for a fresh token (${handedOut} asks)`);
  assert.ok((await authentications('reauthentication')) > reauthBefore, `a re-authentication was counted\n${brokerTail(broker)}`);
  assert.match(broker.output(), /SASL re-authenticated .*mechanism=OAUTHBEARER principal=User:kafkajs-expiry/);
});

test('a broker whose JWKS cannot be reached starts, logs why, and refuses tokens saying the JWKS could not be loaded', { timeout: 60_000 }, async () => {
  const b = await startBroker({
    args: [
      '--set', 'listeners=SASL_PLAINTEXT://127.0.0.1:0',
      '--set', 'sasl.enabled.mechanisms=OAUTHBEARER',
      // Nothing listens on port 1 of 127.0.0.1.
      '--set', 'sasl.oauthbearer.jwks.endpoint.url=http://127.0.0.1:1/jwks.json',
      '--set', 'connection.failed.authentication.delay.ms=0',
    ],
  });
  try {
    await waitFor('the JWKS failure logged', () => /OAUTHBEARER: cannot load the JWKS; every OAUTHBEARER token is refused until it loads.*url=http:\/\/127\.0\.0\.1:1\/jwks\.json/.test(b.output()), 15_000, () => brokerTail(b));
    const kafka = new Kafka({ clientId: 'oauth-nojwks', brokers: [b.bootstrap], sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token() }) }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    await assert.rejects(producer.connect(), /could not load the JWKS .*sasl\.oauthbearer\.jwks\.endpoint\.url/);
    await producer.disconnect().catch(() => undefined);
  } finally {
    await b.cleanup();
  }
});
