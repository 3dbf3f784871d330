// SASL OAUTHBEARER: client messages fed to the mechanism's exchange, with JWTs signed at test
// time (node:crypto) and a JWKS served from a file or a local HTTP server. Every refusal must be
// a SaslFailure with the right reason; nothing else may be thrown.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { OAuthBearerMechanism, OAuthBearerValidator, parseClientInitialResponse, MAX_MESSAGE_BYTES } from '../../../../src/broker/sasl/oauthbearer.js';
import { defaultOAuthBearerConfig, type OAuthBearerConfig } from '../../../../src/broker/sasl/oauthbearer-config.js';
import { SaslFailure, type SaslFailureReason, type SaslStep } from '../../../../src/broker/sasl/mechanism.js';
import { Logger } from '../../../../src/broker/logger.js';
import { SaslMechanisms } from '../../../../src/broker/sasl/mechanisms.js';
import { ConfigError, loadBrokerConfig } from '../../../../src/broker/settings.js';
import { defaultBrokerConfig } from '../../../../src/broker/config.js';
import { makeTempDir } from '../../../helpers/temp.js';
import { waitFor } from '../../../helpers/wait.js';
import { claimsAt, clientMessage, hmacJwt, jwksOf, makeSigningKey, signJwt, unsignedJwt, type SigningKey } from '../../../helpers/jwt.js';

const NOW = 1_900_000_000_000; // fixed "now" for the validator: claims are set around it
const logger = new Logger('error');
let dir = '';
let jwksFile = '';
let rsa: SigningKey;
let ec: SigningKey;
let validators: OAuthBearerValidator[] = [];

before(async () => {
  dir = await makeTempDir('rivulet-oauth-');
  jwksFile = join(dir, 'jwks.json');
  rsa = makeSigningKey('rsa-1', 'RS256');
  ec = makeSigningKey('ec-1', 'ES256');
  await writeFile(jwksFile, jwksOf(rsa, ec));
});

after(async () => {
  for (const v of validators) v.stop();
  await rm(dir, { recursive: true, force: true });
});

function config(over: Partial<OAuthBearerConfig> = {}): OAuthBearerConfig {
  return { ...defaultOAuthBearerConfig(), jwksEndpointUrl: pathToFileURL(jwksFile).href, expectedIssuer: 'https://idp.test', expectedAudience: ['rivulet'], ...over };
}

async function mechanism(over: Partial<OAuthBearerConfig> = {}, now = () => NOW): Promise<OAuthBearerMechanism> {
  const v = new OAuthBearerValidator(config(over), logger, { now });
  validators.push(v);
  await v.start();
  return new OAuthBearerMechanism(v);
}

async function step(m: OAuthBearerMechanism, message: Buffer): Promise<SaslStep> {
  return m.start().step(message);
}

/** Asserts the step fails with a SaslFailure of `reason` whose message matches `pattern`. */
async function refused(m: OAuthBearerMechanism, message: Buffer, reason: SaslFailureReason, pattern: RegExp): Promise<void> {
  let thrown: unknown;
  try {
    const r = await step(m, message);
    assert.fail(`expected a refusal (${reason}), got principal ${r.principal}`);
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof SaslFailure, `expected a SaslFailure, got ${String(thrown)}`);
  assert.equal(thrown.reason, reason, thrown.message);
  assert.match(thrown.message, pattern);
}

test('a valid RS256 token makes the principal User:<sub>, with the token\'s remaining lifetime', async () => {
  const m = await mechanism();
  const r = await step(m, clientMessage(signJwt(rsa, claimsAt(NOW, {}, 600))));
  assert.equal(r.principal, 'User:alice');
  assert.equal(r.lifetimeMs, 600_000, 'until exp, as Kafka answers');
  assert.equal(r.response.length, 0);
});

test('every accepted algorithm verifies: RS256/384/512, PS256, ES256, ES384, EdDSA', async () => {
  const keys = [makeSigningKey('k-rs384', 'RS384'), makeSigningKey('k-rs512', 'RS512'), makeSigningKey('k-ps256', 'PS256'), makeSigningKey('k-es384', 'ES384'), makeSigningKey('k-eddsa', 'EdDSA')];
  const file = join(dir, 'algs.json');
  await writeFile(file, jwksOf(rsa, ec, ...keys));
  const m = await mechanism({ jwksEndpointUrl: pathToFileURL(file).href });
  for (const k of [rsa, ec, ...keys]) {
    const r = await step(m, clientMessage(signJwt(k, claimsAt(NOW, { sub: `user-${k.alg}` }))));
    assert.equal(r.principal, `User:user-${k.alg}`, k.alg);
  }
});

test('an expired token is refused as expired_token; one within the clock skew is accepted', async () => {
  const m = await mechanism({ clockSkewSeconds: 30 });
  const s = NOW / 1000;
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { iat: s - 3600, exp: s - 31 }))), 'expired_token', /expired at .* 31 s ago .*clock\.skew\.seconds is 30/);
  const r = await step(m, clientMessage(signJwt(rsa, claimsAt(NOW, { iat: s - 3600, exp: s - 29 }))));
  assert.equal(r.principal, 'User:alice');
  assert.equal(r.lifetimeMs, 1000, 'valid until exp plus the skew, not 1 ms');
});

test('a token not yet valid (nbf) or issued in the future (iat) is refused; exp and iat are required', async () => {
  const m = await mechanism();
  const s = NOW / 1000;
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { nbf: s + 120 }))), 'invalid_token', /not valid before .*nbf/);
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { iat: s + 120 }))), 'invalid_token', /issued in the future/);
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { exp: undefined }))), 'invalid_token', /no exp claim/);
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { iat: undefined }))), 'invalid_token', /no iat claim/);
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { exp: 'tomorrow' }))), 'invalid_token', /claim exp is "tomorrow"/);
  // nbf in the past is fine
  assert.equal((await step(m, clientMessage(signJwt(rsa, claimsAt(NOW, { nbf: s - 10 }))))).principal, 'User:alice');
});

test('a token of another issuer is refused as wrong_issuer, naming both', async () => {
  const m = await mechanism();
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { iss: 'https://evil.test' }))), 'wrong_issuer', /issued by "https:\/\/evil\.test".*"https:\/\/idp\.test" \(sasl\.oauthbearer\.expected\.issuer\)/);
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { iss: undefined }))), 'wrong_issuer', /has no iss claim/);
  // No expected issuer: any issuer passes.
  const any = await mechanism({ expectedIssuer: '' });
  assert.equal((await step(any, clientMessage(signJwt(rsa, claimsAt(NOW, { iss: 'https://other.test' }))))).principal, 'User:alice');
});

test('the audience must hold one expected value; aud may be a string or a list', async () => {
  const m = await mechanism({ expectedAudience: ['rivulet', 'kafka'] });
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { aud: 'billing' }))), 'wrong_audience', /audience "billing".*"rivulet" or "kafka"/);
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { aud: ['billing', 'web'] }))), 'wrong_audience', /sasl\.oauthbearer\.expected\.audience/);
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { aud: undefined }))), 'wrong_audience', /no aud claim/);
  assert.equal((await step(m, clientMessage(signJwt(rsa, claimsAt(NOW, { aud: 'kafka' }))))).principal, 'User:alice');
  assert.equal((await step(m, clientMessage(signJwt(rsa, claimsAt(NOW, { aud: ['web', 'rivulet'] }))))).principal, 'User:alice');
});

test('the subject and scope claims are read under their configured names', async () => {
  const m = await mechanism({ subClaimName: 'client_id', scopeClaimName: 'scp' });
  const r = await step(m, clientMessage(signJwt(rsa, claimsAt(NOW, { client_id: 'svc-orders', scp: ['read', 'write'] }))));
  assert.equal(r.principal, 'User:svc-orders');
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { client_id: undefined }))), 'invalid_token', /claim "client_id" \(sasl\.oauthbearer\.sub\.claim\.name\) is missing/);
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { client_id: '  ' }))), 'invalid_token', /not a non-empty string/);
  await refused(m, clientMessage(signJwt(rsa, claimsAt(NOW, { client_id: 'x', scp: 42 }))), 'invalid_token', /claim "scp" \(sasl\.oauthbearer\.scope\.claim\.name\)/);
});

test('an unknown kid, a bad signature, alg none and HMAC tokens are refused as invalid_token', async () => {
  const m = await mechanism();
  const stranger = makeSigningKey('stranger', 'RS256');
  await refused(m, clientMessage(signJwt(stranger, claimsAt(NOW))), 'invalid_token', /key id "stranger", which the JWKS .* does not hold/);
  // Signed by another key under a kid the JWKS has.
  await refused(m, clientMessage(signJwt({ ...stranger, kid: 'rsa-1' }, claimsAt(NOW))), 'invalid_token', /signature does not verify/);
  // A valid token whose payload was swapped for another subject.
  const [h, , sig] = signJwt(rsa, claimsAt(NOW)).split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify(claimsAt(NOW, { sub: 'admin' }))).toString('base64url')}.${sig}`;
  await refused(m, clientMessage(forged), 'invalid_token', /signature does not verify/);
  await refused(m, clientMessage(unsignedJwt(claimsAt(NOW), 'rsa-1')), 'invalid_token', /unsigned \(alg none\)/);
  // Key confusion: an HMAC token keyed with the RSA public key's bytes.
  const pem = Buffer.from(JSON.stringify(rsa.jwk));
  await refused(m, clientMessage(hmacJwt(pem, claimsAt(NOW), 'rsa-1')), 'invalid_token', /HS256 \(a shared secret\)/);
  // An EC token claiming the RSA key's kid.
  await refused(m, clientMessage(signJwt({ ...ec, kid: 'rsa-1' }, claimsAt(NOW))), 'invalid_token', /no key of the JWKS fits kid "rsa-1" and alg ES256/);
  await refused(m, clientMessage('abc.def'), 'invalid_token', /not a signed JWT/);
  await refused(m, clientMessage('a.b.c'), 'invalid_token', /header cannot be read/);
});

test('a key added to the JWKS after start is found by a reload when a token names its kid (key rotation)', async () => {
  const file = join(dir, 'rotating.json');
  await writeFile(file, jwksOf(rsa));
  const m = await mechanism({ jwksEndpointUrl: pathToFileURL(file).href });
  const next = makeSigningKey('rsa-2', 'RS256');
  await writeFile(file, jwksOf(rsa, next));
  const r = await step(m, clientMessage(signJwt(next, claimsAt(NOW, { sub: 'rotated' }))));
  assert.equal(r.principal, 'User:rotated');
  // The old key still works.
  assert.equal((await step(m, clientMessage(signJwt(rsa, claimsAt(NOW))))).principal, 'User:alice');
});

test('malformed messages are refused as malformed, never with another error', async () => {
  const m = await mechanism();
  const token = signJwt(rsa, claimsAt(NOW));
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('garbage'), /does not have the form/],
    [Buffer.alloc(0), /does not have the form/],
    [Buffer.from('n,,\x01\x01'), /no auth=Bearer/],
    [Buffer.from(`n,,\x01auth=Bearer ${token}\x01`), /does not have the form/],
    [Buffer.from(`y,,\x01auth=Bearer ${token}\x01\x01`), /does not have the form/],
    [Buffer.from(`n,,\x01auth=Basic ${token}\x01\x01`), /scheme is "Basic"/],
    [Buffer.from(`n,,\x01auth=Bearer\x01\x01`), /not "Bearer <token>"/],
    [Buffer.from(`n,,\x01auth=Bearer ${token}\x01auth=Bearer ${token}\x01\x01`), /names "auth" twice/],
    [Buffer.from(`n,,\x01auth=Bearer ${token}\x01bad key=1\x01\x01`), /does not have the form/],
    [Buffer.from('\x01'), /lone \\x01/],
    [Buffer.concat([Buffer.from('n,,\x01auth=Bearer '), Buffer.from('é'), Buffer.from('\x01\x01')]), /not ASCII/],
    [Buffer.concat([Buffer.from('n,,\x01auth=Bearer '), Buffer.alloc(MAX_MESSAGE_BYTES, 'a'), Buffer.from('\x01\x01')]), /at most 65536 bytes/],
  ];
  for (const [msg, pattern] of cases) await refused(m, msg, 'malformed', pattern);
  // A second message on a finished exchange.
  const ex = m.start();
  await ex.step(clientMessage(token));
  await assert.rejects(Promise.resolve().then(() => ex.step(clientMessage(token))), (e: unknown) => e instanceof SaslFailure && e.reason === 'malformed');
});

test('extensions are accepted; an authorization id must equal the subject', async () => {
  const m = await mechanism();
  const token = signJwt(rsa, claimsAt(NOW));
  assert.equal((await step(m, clientMessage(token, { extensions: { traceId: 'abc 123', logicalCluster: 'lkc-1' } }))).principal, 'User:alice');
  assert.equal((await step(m, clientMessage(token, { authzid: 'alice' }))).principal, 'User:alice');
  await refused(m, clientMessage(token, { authzid: 'bob' }), 'other', /authorization id "bob" differs from the token's subject "alice"/);
});

test('random bytes and mutated messages only ever fail with a SaslFailure', async () => {
  const m = await mechanism();
  const good = clientMessage(signJwt(rsa, claimsAt(NOW))).toString('latin1');
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)), fc.tuple(fc.nat(good.length), fc.nat(good.length), fc.string({ maxLength: 8 })).map(([i, j, s]) => Buffer.from(good.slice(0, Math.min(i, j)) + s + good.slice(Math.max(i, j)), 'latin1'))), async (msg) => {
      try {
        await step(m, msg);
      } catch (e) {
        assert.ok(e instanceof SaslFailure, `not a SaslFailure: ${String(e)}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('an unreachable JWKS: the validator starts, refuses tokens saying the JWKS could not be loaded, and accepts them once it loads', async () => {
  const file = join(dir, 'late.json');
  const m = await mechanism({ jwksEndpointUrl: pathToFileURL(file).href, jwksEndpointRetryBackoffMs: 20, jwksEndpointRetryBackoffMaxMs: 50 });
  const msg = clientMessage(signJwt(rsa, claimsAt(NOW)));
  await refused(m, msg, 'other', /could not load the JWKS .*sasl\.oauthbearer\.jwks\.endpoint\.url/);
  await writeFile(file, jwksOf(rsa));
  await waitFor('the token accepted once the JWKS file exists', async () => {
    try {
      return (await step(m, msg)).principal === 'User:alice';
    } catch {
      return false;
    }
  }, 10_000);
});

test('the JWKS is read over http:// and a non-JWKS answer is a failed load', async () => {
  let body = jwksOf(ec);
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === '/jwks' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/jwks' ? body : '{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const m = await mechanism({ jwksEndpointUrl: `http://127.0.0.1:${port}/jwks` });
    assert.equal((await step(m, clientMessage(signJwt(ec, claimsAt(NOW, { sub: 'bob' }))))).principal, 'User:bob');
    body = '{"not":"a jwks"}';
    const bad = await mechanism({ jwksEndpointUrl: `http://127.0.0.1:${port}/jwks` });
    await refused(bad, clientMessage(signJwt(ec, claimsAt(NOW))), 'other', /could not load the JWKS/);
    const missing = await mechanism({ jwksEndpointUrl: `http://127.0.0.1:${port}/nothing` });
    await refused(missing, clientMessage(signJwt(ec, claimsAt(NOW))), 'other', /could not load the JWKS/);
  } finally {
    for (const v of validators) v.stop();
    validators = [];
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('parseClientInitialResponse reads the authzid (=2C, =3D decoded) and the extensions', () => {
  const r = parseClientInitialResponse(Buffer.from('n,a=us=2Cer=3D1=3D2C,\x01auth=bearer a.b.c\x01ext=v w\x01\x01'));
  // Decoded in one pass: =3D2C is '=' then '2C', never ','.
  assert.equal(r.authzid, 'us,er=1=2C');
  assert.equal(r.token, 'a.b.c');
  assert.deepEqual([...r.extensions], [['ext', 'v w']]);
});

test('settings: enabling OAUTHBEARER without a JWKS URL fails at start; the URL must be https, http or file', () => {
  const c = defaultBrokerConfig();
  assert.throws(
    () => new SaslMechanisms({ config: c, credentials: {} as never }, [{ name: 'SASL_PLAINTEXT', mechanisms: ['OAUTHBEARER'] }]),
    (e: unknown) => e instanceof ConfigError && /OAUTHBEARER is enabled but sasl\.oauthbearer\.jwks\.endpoint\.url is not set/.test(e.message),
  );
  assert.throws(() => loadBrokerConfig({ flags: { 'sasl.oauthbearer.jwks.endpoint.url': 'ftp://idp/jwks' }, env: {} }), /must be an https:\/\/, http:\/\/ or file:\/\/ URL/);
  const loaded = loadBrokerConfig({
    flags: { 'sasl.oauthbearer.jwks.endpoint.url': 'https://idp.test/jwks', 'sasl.oauthbearer.expected.audience': 'a, b', 'sasl.oauthbearer.clock.skew.seconds': '5', 'sasl.enabled.mechanisms': 'OAUTHBEARER' },
    env: {},
  });
  assert.deepEqual(loaded.oauthbearer.expectedAudience, ['a', 'b']);
  assert.equal(loaded.oauthbearer.clockSkewSeconds, 5);
  assert.deepEqual(loaded.saslEnabledMechanisms, ['OAUTHBEARER']);
});

test('the JWKS is reloaded every sasl.oauthbearer.jwks.endpoint.refresh.ms: a replaced key under the same kid takes over', async () => {
  const file = join(dir, 'scheduled.json');
  const old = makeSigningKey('same-kid', 'RS256');
  const replacement = makeSigningKey('same-kid', 'RS256');
  await writeFile(file, jwksOf(old));
  const m = await mechanism({ jwksEndpointUrl: pathToFileURL(file).href, jwksEndpointRefreshMs: 100 });
  assert.equal((await step(m, clientMessage(signJwt(old, claimsAt(NOW))))).principal, 'User:alice');
  // The kid is known, so no early reload: only the schedule can bring the new key in.
  await writeFile(file, jwksOf(replacement));
  await waitFor('the replacement key loaded by the scheduled refresh', async () => {
    try {
      return (await step(m, clientMessage(signJwt(replacement, claimsAt(NOW, { sub: 'new' }))))).principal === 'User:new';
    } catch {
      return false;
    }
  }, 10_000);
  await refused(m, clientMessage(signJwt(old, claimsAt(NOW))), 'invalid_token', /signature does not verify/);
});

test('tokens naming unknown kids reload the JWKS at most once per cooldown, however many arrive', async () => {
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(jwksOf(rsa));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const m = await mechanism({ jwksEndpointUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks` });
    assert.equal(requests, 1, 'the first load');
    const stranger = makeSigningKey('x', 'RS256');
    for (let i = 0; i < 20; i++) {
      await refused(m, clientMessage(signJwt({ ...stranger, kid: `made-up-${i}` }, claimsAt(NOW))), 'invalid_token', /does not hold \(even after a reload\)/);
    }
    assert.equal(requests, 2, 'one reload for twenty unknown kids');
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
