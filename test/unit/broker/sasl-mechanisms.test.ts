// The SASL mechanisms without a broker: a SCRAM exchange against an RFC 5802 client, unknown
// users indistinguishable from wrong passwords, PLAIN against a SCRAM credential, the
// credential store's round trip through its file, and `storage add-scram`'s argument parser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScramMechanism, newCredential, scramType, type ScramCredential } from '../../../src/broker/sasl/scram.js';
import { PlainMechanism } from '../../../src/broker/sasl/plain.js';
import { ScramCredentialStore, CREDENTIALS_FILE } from '../../../src/broker/sasl/credentials.js';
import { SaslFailure } from '../../../src/broker/sasl/mechanism.js';
import { parseScramSpec } from '../../../src/cli/storage-command.js';
import { withTempDir } from '../../helpers/temp.js';

const SHA512 = scramType('SCRAM-SHA-512')!;
const SHA256 = scramType('SCRAM-SHA-256')!;

function source(map: Record<string, Record<string, ScramCredential>>) {
  return { get: (u: string, m: string) => map[u]?.[m] };
}

/** Runs a client through the exchange; resolves with the last step or the SaslFailure. */
async function scram(mech: ScramMechanism, hash: 'sha256' | 'sha512', user: string, password: string): Promise<{ principal?: string; serverSignatureOk?: boolean } | SaslFailure> {
  const ex = mech.start();
  const first = `n=${user},r=clientnonce`;
  try {
    const s1 = (await ex.step(Buffer.from(`n,,${first}`))).response.toString();
    const f = Object.fromEntries(s1.split(',').map((kv) => [kv[0], kv.slice(2)])) as Record<string, string>;
    assert.ok(f.r!.startsWith('clientnonce') && f.r!.length > 'clientnonce'.length, 'the server nonce extends the client\'s');
    const size = hash === 'sha256' ? 32 : 64;
    const salted = pbkdf2Sync(password, Buffer.from(f.s!, 'base64'), Number(f.i), size, hash);
    const clientKey = createHmac(hash, salted).update('Client Key').digest();
    const stored = createHash(hash).update(clientKey).digest();
    const wo = `c=biws,r=${f.r}`;
    const auth = `${first},${s1},${wo}`;
    const sig = createHmac(hash, stored).update(auth).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
    const s2 = await ex.step(Buffer.from(`${wo},p=${proof.toString('base64')}`));
    const serverKey = createHmac(hash, salted).update('Server Key').digest();
    const expected = `v=${createHmac(hash, serverKey).update(auth).digest('base64')}`;
    return { principal: s2.principal, serverSignatureOk: s2.response.toString() === expected };
  } catch (e) {
    if (e instanceof SaslFailure) return e;
    throw e;
  }
}

test('SCRAM-SHA-512 and SCRAM-SHA-256: the right password logs in and the server proves it knows the key', async () => {
  const creds = { alice: { [SHA512.name]: await newCredential(SHA512, 'pw', 4096), [SHA256.name]: await newCredential(SHA256, 'pw', 8192) } };
  for (const [t, hash] of [[SHA512, 'sha512'], [SHA256, 'sha256']] as const) {
    const r = await scram(new ScramMechanism(t, source(creds)), hash, 'alice', 'pw');
    assert.deepEqual(r, { principal: 'User:alice', serverSignatureOk: true }, t.name);
  }
});

test('SCRAM: a wrong password and an unknown user fail at the same step with the same message, different reasons', async () => {
  const mech = new ScramMechanism(SHA512, source({ alice: { [SHA512.name]: await newCredential(SHA512, 'pw', 4096) } }));
  const wrong = await scram(mech, 'sha512', 'alice', 'nope');
  const unknown = await scram(mech, 'sha512', 'nobody', 'pw');
  assert.ok(wrong instanceof SaslFailure && unknown instanceof SaslFailure);
  assert.equal(wrong.message, unknown.message);
  assert.equal(wrong.reason, 'bad_credentials');
  assert.equal(unknown.reason, 'unknown_user');
});

test('PLAIN checks the password against the SCRAM-SHA-512 (else SCRAM-SHA-256) credential', async () => {
  const creds = { a: { [SHA512.name]: await newCredential(SHA512, 'pa', 4096) }, b: { [SHA256.name]: await newCredential(SHA256, 'pb', 4096) } };
  const plain = new PlainMechanism(source(creds));
  const login = async (msg: string) => Promise.resolve(plain.start().step(Buffer.from(msg))).then((s) => s.principal, (e: SaslFailure) => e.reason);
  assert.equal(await login('\0a\0pa'), 'User:a');
  assert.equal(await login('a\0a\0pa'), 'User:a', 'an authzid equal to the user');
  assert.equal(await login('\0b\0pb'), 'User:b');
  assert.equal(await login('\0a\0pb'), 'bad_credentials');
  assert.equal(await login('\0c\0pa'), 'unknown_user');
  assert.equal(await login('b\0a\0pa'), 'bad_credentials', 'acting as another user');
  assert.equal(await login('a pa'), 'malformed');
});

test('the credential store writes its file and reads it back; a damaged file stops the start with RIV_ERR_CREDENTIALS', async () => {
  await withTempDir(async (dir) => {
    const s = new ScramCredentialStore(dir);
    await s.load();
    const c = await newCredential(SHA512, 'pw', 4096);
    await s.alter([{ user: 'alice', mechanism: SHA512.name, credential: c }, { user: 'bob', mechanism: SHA256.name, credential: await newCredential(SHA256, 'x', 4096) }]);
    await s.alter([{ user: 'bob', mechanism: SHA256.name, credential: null }]);
    const again = new ScramCredentialStore(dir);
    await again.load();
    assert.deepEqual(again.get('alice', SHA512.name), c);
    assert.deepEqual(again.userNames(), ['alice'], 'a user whose last credential was deleted is gone');
    await writeFile(join(dir, CREDENTIALS_FILE), '{"users": ');
    await assert.rejects(new ScramCredentialStore(dir).load(), (e: Error & { code?: string }) => e.code === 'RIV_ERR_CREDENTIALS' && /cannot be read/.test(e.message));
  });
});

test('storage add-scram parses Kafka\'s MECHANISM=[name=...,password=...,iterations=...]', () => {
  assert.deepEqual(parseScramSpec('SCRAM-SHA-512=[name=admin,password=a,b=c]'), { mechanism: 'SCRAM-SHA-512', name: 'admin', password: 'a,b=c', iterations: 4096 });
  assert.deepEqual(parseScramSpec('SCRAM-SHA-256=[iterations=8192,name=x]'), { mechanism: 'SCRAM-SHA-256', name: 'x', password: undefined, iterations: 8192 });
  assert.throws(() => parseScramSpec('PLAIN=[name=a,password=hunter2]'), (e: Error) => /SCRAM-SHA-256 or SCRAM-SHA-512/.test(e.message) && !e.message.includes('hunter2'));
  assert.throws(() => parseScramSpec('SCRAM-SHA-512=[name=a,iterations=100]'), /4096 to 16384/);
  assert.throws(() => parseScramSpec('SCRAM-SHA-512=[password=x]'), /names no user/);
});

test('any bytes in a SCRAM or PLAIN exchange end in a step or a SaslFailure, never another error', async () => {
  const fc = await import('fast-check');
  const creds = source({ alice: { [SHA512.name]: await newCredential(SHA512, 'pw', 4096) } });
  const mechs = [new ScramMechanism(SHA512, creds), new PlainMechanism(creds)];
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.string({ maxLength: 200 }).map((s) => Buffer.from(`n,,n=alice,r=${s}`)),
    fc.string({ maxLength: 200 }).map((s) => Buffer.from(`c=biws,r=${s},p=${Buffer.from(s).toString('base64')}`)),
  );
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 1 }), fc.array(message, { minLength: 1, maxLength: 3 }), async (which, msgs) => {
      const ex = mechs[which]!.start();
      for (const m of msgs) {
        try {
          await ex.step(m);
        } catch (e) {
          assert.ok(e instanceof SaslFailure, `${(e as Error).stack}`);
          return;
        }
      }
    }),
    { numRuns: 300 },
  );
});
