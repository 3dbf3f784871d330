// The client commands with OAUTHBEARER: a JWT from --sasl-token-file (read at each connection)
// or RIVULET_SASL_TOKEN, against a broker that checks tokens with a JWKS file; an expired token
// fails with the broker's reason and what to check.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startBroker, listenerPorts, type BrokerProcess } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { claimsAt, jwksOf, makeSigningKey, signJwt } from '../helpers/jwt.js';
import { runCli as rivulet } from '../helpers/cli.js';

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'rivulet';
const key = makeSigningKey('k1');
let broker: BrokerProcess;
let dir = '';
let bs = '';

before(async () => {
  dir = await makeTempDir('rivulet-oauth-cli-');
  const jwksFile = join(dir, 'jwks.json');
  await writeFile(jwksFile, jwksOf(key));
  broker = await startBroker({
    args: [
      '--set', 'listeners=SASL_PLAINTEXT://127.0.0.1:0',
      '--set', 'sasl.enabled.mechanisms=OAUTHBEARER',
      '--set', `sasl.oauthbearer.jwks.endpoint.url=${pathToFileURL(jwksFile).href}`,
      '--set', `sasl.oauthbearer.expected.issuer=${ISSUER}`,
      '--set', `sasl.oauthbearer.expected.audience=${AUDIENCE}`,
      '--set', 'connection.failed.authentication.delay.ms=0',
    ],
  });
  bs = `127.0.0.1:${listenerPorts(broker).SASL_PLAINTEXT}`;
});

after(async () => {
  await broker?.cleanup();
});

const token = (lifetimeS = 3600, nowMs = Date.now()): string => signJwt(key, claimsAt(nowMs, { iss: ISSUER, aud: AUDIENCE, sub: 'svc-orders' }, lifetimeS));

test('a token from --sasl-token-file produces and consumes; RIVULET_SASL_TOKEN works as well', { timeout: 60_000 }, async () => {
  const file = join(dir, 'token');
  await writeFile(file, `${token()}\n`);
  const auth = ['-b', bs, '--sasl-mechanism', 'OAUTHBEARER', '--sasl-token-file', file];
  const p = await rivulet(['produce', 'oauth-cli', ...auth], { input: 'one\ntwo\n' });
  assert.equal(p.code, 0, p.stderr);
  const r = await rivulet(['consume', 'oauth-cli', '--from-beginning', ...auth]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'one\ntwo\n');

  const env = await rivulet(['topic', 'list', '-b', bs, '--security-protocol', 'SASL_PLAINTEXT', '--sasl-mechanism', 'OAUTHBEARER'], { env: { RIVULET_SASL_TOKEN: token() } });
  assert.equal(env.code, 0, env.stderr);
  assert.ok(env.stdout.split('\n').includes('oauth-cli'), env.stdout);
});

test('an expired token fails with SASL_AUTHENTICATION_FAILED and the broker\'s reason; no token is a usage error', async () => {
  const file = join(dir, 'expired');
  await writeFile(file, token(60, Date.now() - 3_600_000));
  const r = await rivulet(['topic', 'list', '-b', bs, '--sasl-mechanism', 'OAUTHBEARER', '--sasl-token-file', file]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /^rivulet: SASL authentication failed \(SASL_AUTHENTICATION_FAILED\) \(connecting with SASL_PLAINTEXT, OAUTHBEARER\): .*expired/i);

  const none = await rivulet(['topic', 'list', '-b', bs, '--sasl-mechanism', 'OAUTHBEARER']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /OAUTHBEARER needs a token: give --sasl-token-file FILE \(or set RIVULET_SASL_TOKEN\)/);
});
