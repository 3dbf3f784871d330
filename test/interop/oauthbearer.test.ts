// SASL OAUTHBEARER with the Apache Kafka Java client (kafka-clients 4.4, java/OAuthClient.java):
// sasl.mechanism=OAUTHBEARER with a login callback handler of ours that hands the client JWTs
// this test signs (node:crypto) and writes to files. Over SASL_SSL with the JWKS in a file, the
// valid token produces and consumes, and expired, wrong-issuer and wrong-audience tokens are
// refused with a SaslAuthenticationException that says why; over SASL_PLAINTEXT with the JWKS
// served over http:// by a small server here, the valid token works too; and a token that
// expires within seconds is replaced on the live connections by re-authentication (KIP-368).
// librdkafka (python confluent-kafka with an oauth_cb) logs in with a valid token and is told
// why an expired one is refused.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { startBroker, listenerPorts, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { makeTempDir } from '../helpers/temp.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { claimsAt, jwksOf, makeSigningKey, signJwt, type SigningKey } from '../helpers/jwt.js';
import { debianPython, describeRun, lastJson, pythonDir, requireJava, requireTool, run, runJava, token as runToken, works } from './tools.js';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'rivulet';

let dir = '';
let certs: TestCerts;
let key: SigningKey;
let jwksServer: Server;
/** SASL_SSL, JWKS from a file. */
let sslBroker: BrokerProcess;
let sslPort = 0;
/** SASL_PLAINTEXT, JWKS over http:// from jwksServer. */
let httpBroker: BrokerProcess;
let jwksRequests = 0;

function oauthArgs(jwksUrl: string): string[] {
  return [
    '--log-level', 'debug',
    '--set', 'sasl.enabled.mechanisms=OAUTHBEARER',
    '--set', `sasl.oauthbearer.jwks.endpoint.url=${jwksUrl}`,
    '--set', `sasl.oauthbearer.expected.issuer=${ISSUER}`,
    '--set', `sasl.oauthbearer.expected.audience=${AUDIENCE}`,
    '--set', 'connection.failed.authentication.delay.ms=0',
  ];
}

before(async () => {
  dir = await makeTempDir('rivulet-oauth-interop-');
  certs = await makeTestCerts();
  key = makeSigningKey('interop-key', 'RS256');
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, jwksOf(key));
  jwksServer = createServer((req, res) => {
    jwksRequests++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(jwksOf(key));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksPort = (jwksServer.address() as AddressInfo).port;
  sslBroker = await startBroker({
    args: [
      ...oauthArgs(pathToFileURL(jwksFile).href),
      '--set', 'listeners=SASL_SSL://127.0.0.1:0',
      '--set', `ssl.certificate.location=${certs.serverCertFile}`,
      '--set', `ssl.key.location=${certs.serverKeyFile}`,
    ],
  });
  sslPort = listenerPorts(sslBroker).SASL_SSL!;
  httpBroker = await startBroker({ args: [...oauthArgs(`http://127.0.0.1:${jwksPort}/jwks.json`), '--set', 'listeners=SASL_PLAINTEXT://127.0.0.1:0'] });
});

after(async () => {
  await sslBroker?.cleanup();
  await httpBroker?.cleanup();
  await certs?.cleanup();
  await new Promise<void>((r) => (jwksServer ? jwksServer.close(() => r()) : r()));
  await rm(dir, { recursive: true, force: true });
});

let files = 0;
/** Writes a token signed now (standard claims, overridden by `over`) to a file; returns its path. */
async function tokenFile(over: Record<string, unknown> = {}, lifetimeS = 3600): Promise<string> {
  const path = join(dir, `token-${files++}.jwt`);
  await writeFile(path, signJwt(key, claimsAt(Date.now(), { iss: ISSUER, aud: AUDIENCE, ...over }, lifetimeS)));
  return path;
}

const sslSettings = (): string[] => ['security.protocol=SASL_SSL', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`];

test('the Java client with a valid token produces and consumes over SASL_SSL (JWKS from a file)', { timeout: 180_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const r = await runJava('OAuthClient.java', ['roundtrip', `127.0.0.1:${sslPort}`, `java-oauth-${runToken()}`, '20', await tokenFile({ sub: 'java-user' }), ...sslSettings()], { timeoutMs: 150_000 });
  const context = describeRun('java OAuthClient roundtrip over SASL_SSL', r, sslBroker);
  assert.equal(r.code, 0, context);
  assert.match(r.stdout.toString(), /^OK 20$/m, context);
  assert.match(sslBroker.output(), /SASL authenticated .*listener=SASL_SSL mechanism=OAUTHBEARER principal=User:java-user/, context);
});

test('the Java client is refused with a SaslAuthenticationException naming the problem: expired, wrong issuer, wrong audience', { timeout: 240_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['expired_token', { iat: now - 7200, exp: now - 3600 }, /OAUTHBEARER token expired at .*\(exp\), \d+ s ago .*the client must fetch a fresh token/],
    ['wrong_issuer', { iss: 'https://evil.test' }, /OAUTHBEARER token is issued by "https:\/\/evil\.test" \(iss\); this broker accepts tokens of "https:\/\/idp\.test" \(sasl\.oauthbearer\.expected\.issuer\)/],
    ['wrong_audience', { aud: 'billing' }, /OAUTHBEARER token is for audience "billing" \(aud\); this broker accepts the audience "rivulet" \(sasl\.oauthbearer\.expected\.audience\)/],
  ];
  for (const [reason, over, message] of cases) {
    const r = await runJava('OAuthClient.java', ['refused', `127.0.0.1:${sslPort}`, await tokenFile(over), ...sslSettings()], { timeoutMs: 90_000 });
    const context = describeRun(`java OAuthClient refused (${reason})`, r, sslBroker);
    assert.equal(r.code, 0, context);
    const line = r.stdout.toString().split('\n').find((l) => l.startsWith('REFUSED')) ?? '';
    assert.match(line, /^REFUSED org\.apache\.kafka\.common\.errors\.SaslAuthenticationException: /, context);
    assert.match(line, message, context);
  }
  const scrape = await scrapeMetrics(sslBroker.httpPort);
  for (const [reason] of cases) {
    assert.ok((scrape.get(`rivulet_authentication_failures_total{listener="SASL_SSL",mechanism="OAUTHBEARER",reason="${reason}"}`) ?? 0) >= 1, `${reason} counted\n${scrape.text}`);
  }
});

test('the Java client with a valid token produces and consumes over SASL_PLAINTEXT with the JWKS served over http://', { timeout: 180_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const r = await runJava('OAuthClient.java', ['roundtrip', httpBroker.bootstrap, `java-oauth-http-${runToken()}`, '10', await tokenFile({ sub: 'http-user' })], { timeoutMs: 150_000 });
  const context = describeRun('java OAuthClient roundtrip, JWKS over http', r, httpBroker);
  assert.equal(r.code, 0, context);
  assert.match(r.stdout.toString(), /^OK 10$/m, context);
  assert.ok(jwksRequests >= 1, 'the broker read the JWKS from the http server');
  assert.match(httpBroker.output(), /OAUTHBEARER: JWKS loaded url=http:\/\/127\.0\.0\.1:\d+\/jwks\.json keys=1 kids=interop-key/, context);
});

test('the Java client re-authenticates with a fresh token before its short-lived one expires (KIP-368) and keeps producing', { timeout: 180_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  // The first token lives 10 s, the next ones an hour. The client's login refreshes the token
  // half-way through its life (sasl.login.refresh.* in OAuthClient.java) and re-authenticates its
  // connections before the session lifetime the broker answered (the first token's) runs out.
  const short = await tokenFile({ sub: 'reauth-user' }, 10);
  const fresh = await tokenFile({ sub: 'reauth-user' });
  const before = (await scrapeMetrics(sslBroker.httpPort)).get('rivulet_sasl_authentications_total{listener="SASL_SSL",mechanism="OAUTHBEARER",result="reauthentication"}') ?? 0;
  const r = await runJava('OAuthClient.java', ['reauth', `127.0.0.1:${sslPort}`, `java-oauth-reauth-${runToken()}`, '16', `${short},${fresh}`, ...sslSettings()], { timeoutMs: 150_000 });
  const context = describeRun('java OAuthClient reauth', r, sslBroker);
  assert.equal(r.code, 0, context);
  const s = lastJson<{ sent: number; reauthentications: number; failedReauthentications: number; tokensHandedOut: number; error: string }>(r.stdout, context);
  assert.equal(s.error, '', context);
  assert.ok(s.sent >= 30, `records sent through the whole run: ${s.sent}\n${context}`);
  assert.ok(s.tokensHandedOut >= 2, `the login handed out a fresh token: ${JSON.stringify(s)}`);
  assert.ok(s.reauthentications >= 1, `the client re-authenticated: ${JSON.stringify(s)}\n${context}`);
  assert.equal(s.failedReauthentications, 0, context);
  const after = (await scrapeMetrics(sslBroker.httpPort)).get('rivulet_sasl_authentications_total{listener="SASL_SSL",mechanism="OAUTHBEARER",result="reauthentication"}') ?? 0;
  assert.ok(after > before, `the broker counted the re-authentication\n${context}`);
});

test('python confluent-kafka (librdkafka) with oauth_cb: a valid token produces and consumes, an expired one is refused naming the problem', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await works(debianPython(), ['-c', 'import confluent_kafka']), 'python3-confluent-kafka', 'install it with `sudo apt-get install python3-confluent-kafka`')) return;
  const ssl = ['security.protocol=SASL_SSL', `ssl.ca.location=${certs.caFile}`];
  const script = join(pythonDir, 'oauth_confluent.py');
  const ok = await run(debianPython(), [script, 'roundtrip', `127.0.0.1:${sslPort}`, `py-oauth-${runToken()}`, await tokenFile({ sub: 'python-user' }), ...ssl], { timeoutMs: 90_000 });
  const context = describeRun('python oauth_confluent.py roundtrip', ok, sslBroker);
  assert.match(ok.stdout.toString(), /^OK 10$/m, context);
  assert.match(sslBroker.output(), /SASL authenticated .*mechanism=OAUTHBEARER principal=User:python-user/, context);
  const now = Math.floor(Date.now() / 1000);
  const bad = await run(debianPython(), [script, 'refused', `127.0.0.1:${sslPort}`, `py-oauth-${runToken()}`, await tokenFile({ iat: now - 7200, exp: now - 3600 }), ...ssl], { timeoutMs: 90_000 });
  const badContext = describeRun('python oauth_confluent.py refused', bad, sslBroker);
  assert.equal(bad.code, 0, badContext);
  assert.match(bad.stdout.toString(), /^REFUSED .*OAUTHBEARER token expired at .*\(exp\)/m, badContext);
});
