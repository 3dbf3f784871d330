// The reviewer's SASL findings, each pinned: PBKDF2 for PLAIN bounded across connections
// (busy past the queue; successful checks remembered), unknown SCRAM users answered in the
// shape of the stored credentials, PLAIN's unknown-user cost that of a real user, a user named
// __proto__ kept across a restart, one writer per data directory (add-scram refuses beside a
// running broker; temporary files never shared), and add-scram's parser never echoing a
// password and refusing ambiguous input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScramMechanism, newCredential, pbkdf2Gate, scramType, type ScramCredential } from '../../../../src/broker/sasl/scram.js';
import { PlainMechanism } from '../../../../src/broker/sasl/plain.js';
import { ScramCredentialStore } from '../../../../src/broker/sasl/credentials.js';
import { SaslFailure } from '../../../../src/broker/sasl/mechanism.js';
import { atomicWrite, lockDataDir, LOCK_FILE } from '../../../../src/broker/meta-store.js';
import { parseScramSpec } from '../../../../src/cli/storage-command.js';
import { Broker } from '../../../../src/broker/broker.js';
import { defaultBrokerConfig, type BrokerConfig } from '../../../../src/broker/config.js';
import { Logger } from '../../../../src/broker/logger.js';
import { PartitionLog } from '../../../../src/storage/partition-log.js';
import { ApiKey } from '../../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../../src/protocol/errors.js';
import { withTempDir, makeTempDir } from '../../../helpers/temp.js';
import { WireClient } from '../../../helpers/wire-client.js';
import { runCli } from '../../../helpers/cli.js';
import { saltedPassword } from '../../../helpers/sasl-wire.js';

const SHA512 = scramType('SCRAM-SHA-512')!;

function source(map: Record<string, Record<string, ScramCredential>>, shape?: ScramCredentialStore['shape']) {
  return { get: (u: string, m: string) => map[u]?.[m], shape };
}

async function plainLogin(plain: PlainMechanism, user: string, password: string): Promise<string> {
  try {
    return (await plain.start().step(Buffer.from(`\0${user}\0${password}`))).principal!;
  } catch (e) {
    if (e instanceof SaslFailure) return e.reason;
    throw e;
  }
}

/** A salt as Kafka's AdminClient makes it: BigInteger(130 bits) in base 36, as bytes. */
function kafkaSalt(): Buffer {
  let n = 0n;
  for (const b of randomBytes(17)) n = (n << 8n) | BigInt(b);
  return Buffer.from((n & ((1n << 130n) - 1n) | (1n << 129n)).toString(36).padStart(26, '0'), 'latin1');
}

test('PLAIN: PBKDF2 is bounded across all exchanges; past the queue a login fails at once as busy; a verified password skips PBKDF2', async () => {
  const creds = { alice: { [SHA512.name]: await newCredential(SHA512, 'pw', 16384) } };
  const plain = new PlainMechanism(source(creds));
  const saved = [pbkdf2Gate.limit, pbkdf2Gate.queue];
  try {
    pbkdf2Gate.limit = 2;
    pbkdf2Gate.queue = 1;
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => plainLogin(plain, i === 0 ? 'alice' : `nobody${i}`, i === 0 ? 'pw' : 'x')));
    assert.equal(results[0], 'User:alice', 'the first login got a slot');
    assert.deepEqual(results.filter((r) => r === 'busy').length, 3, `2 run, 1 waits, 3 refused: ${results.join(',')}`);
    assert.deepEqual(results.filter((r) => r === 'unknown_user').length, 2);
    // No slot at all: a password checked before still logs in; anything else is busy.
    pbkdf2Gate.limit = 0;
    pbkdf2Gate.queue = 0;
    assert.equal(await plainLogin(plain, 'alice', 'pw'), 'User:alice', 'a verified password is remembered');
    assert.equal(await plainLogin(plain, 'alice', 'wrong'), 'busy', 'a failed check is not remembered');
    await assert.rejects(Promise.resolve().then(() => plain.start().step(Buffer.from('\0alice\0wrong'))), (e: SaslFailure) => /busy/.test(e.message) && e.reason === 'busy');
  } finally {
    [pbkdf2Gate.limit, pbkdf2Gate.queue] = saved as [number, number];
  }
});

test('SCRAM: an unknown user gets a stable salt of the stored salts\' form and length, and their usual iterations', async () => {
  await withTempDir(async (dir) => {
    const store = new ScramCredentialStore(dir);
    await store.load();
    const changes = [];
    for (const [i, u] of ['a', 'b', 'c'].entries()) {
      const salt = kafkaSalt();
      const iterations = i === 2 ? 4096 : 8192;
      const salted = saltedPassword('SCRAM-SHA-512', 'pw', salt, iterations);
      const { credentialFromSalted } = await import('../../../../src/broker/sasl/scram.js');
      changes.push({ user: u, mechanism: SHA512.name, credential: credentialFromSalted(SHA512, salt, iterations, salted) });
    }
    await store.alter(changes);
    const mech = new ScramMechanism(SHA512, store);
    const first = async (user: string) => {
      const s = (await mech.start().step(Buffer.from(`n,,n=${user},r=abc`))).response.toString();
      return Object.fromEntries(s.split(',').map((kv) => [kv[0], kv.slice(2)])) as Record<string, string>;
    };
    const real = await first('a');
    const fake = await first('mallory');
    assert.equal(fake.i, '8192', 'the iteration count most stored credentials have');
    const fakeSalt = Buffer.from(fake.s!, 'base64');
    const realSalt = Buffer.from(real.s!, 'base64');
    assert.match(fakeSalt.toString('latin1'), /^[0-9a-z]+$/, 'base-36 characters like Kafka\'s salts');
    assert.equal(fakeSalt.length, realSalt.length);
    assert.equal((await first('mallory')).s, fake.s, 'the same salt on every try');
    assert.notEqual((await first('eve')).s, fake.s, 'another name, another salt');
  });
});

// Cost is shown by what is checked, not by timing it: an unknown user's password goes through
// PBKDF2 with a fake credential shaped like the stored ones (their iterations), so it costs what
// a known user's check costs.
test('PLAIN: an unknown user is checked against a fake credential with the stored iterations, not a fixed 4096', async () => {
  const creds = { a: { [SHA512.name]: await newCredential(SHA512, 'pw', 16384) }, b: { [SHA512.name]: await newCredential(SHA512, 'pw', 16384) } };
  const { commonShape, fakeCredential } = await import('../../../../src/broker/sasl/scram.js');
  const asked: string[] = [];
  const shape = (m: string) => {
    asked.push(m);
    return commonShape(Object.values(creds).map((u) => u[m]!).filter((c) => c !== undefined));
  };
  const plain = new PlainMechanism(source(creds, shape));
  assert.equal(await plainLogin(plain, 'nobody', 'wrong'), 'unknown_user');
  assert.ok(asked.includes(SHA512.name), `the fake is shaped like the stored SCRAM-SHA-512 credentials (asked: ${asked.join(', ')})`);
  // The credential the exchange checks an unknown user's password against (a private method, read here on purpose).
  const exchange = plain.start() as unknown as { fake(user: string): ScramCredential };
  assert.equal(exchange.fake('nobody').iterations, 16384);
  assert.deepEqual(exchange.fake('nobody').salt, fakeCredential(SHA512, 'nobody', shape(SHA512.name)).salt);
  assert.equal(await plainLogin(plain, 'a', 'wrong'), 'bad_credentials');
});

test('a user named __proto__ made by AlterUserScramCredentials is kept across a restart', async () => {
  const dataDir = await makeTempDir('rivulet-proto-user-');
  const config: BrokerConfig = { ...defaultBrokerConfig(), host: '127.0.0.1', port: 0, httpPort: 0, logLevel: 'error', dataDir };
  const salt = randomBytes(24);
  const b1 = new Broker(config, { openLog: (dir, cfg) => PartitionLog.open(dir, cfg), logger: new Logger('error') });
  await b1.start();
  try {
    const c = await WireClient.connect(b1.port);
    try {
      const r = await c.request(ApiKey.AlterUserScramCredentials, 0, { deletions: [], upsertions: [{ name: '__proto__', mechanism: 2, iterations: 4096, salt, saltedPassword: saltedPassword('SCRAM-SHA-512', 'pw', salt, 4096) }, { name: 'constructor', mechanism: 1, iterations: 4096, salt, saltedPassword: saltedPassword('SCRAM-SHA-256', 'pw', salt, 4096) }] });
      assert.deepEqual(r.results.map((x: { user: string; errorCode: number }) => [x.user, x.errorCode]), [['__proto__', 0], ['constructor', 0]]);
    } finally {
      c.close();
    }
  } finally {
    await b1.stop();
  }
  const b2 = new Broker(config, { openLog: (dir, cfg) => PartitionLog.open(dir, cfg), logger: new Logger('error') });
  await b2.start();
  try {
    const c = await WireClient.connect(b2.port);
    try {
      const d = await c.request(ApiKey.DescribeUserScramCredentials, 0, { users: null });
      assert.deepEqual(d.results.map((x: { user: string }) => x.user).sort(), ['__proto__', 'constructor']);
      const one = await c.request(ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: '__proto__' }] });
      assert.deepEqual(one.results[0].credentialInfos, [{ mechanism: 2, iterations: 4096 }]);
    } finally {
      c.close();
    }
  } finally {
    await b2.stop();
  }
});

test('data directory lock: another live process\'s lock refuses, a dead one\'s is taken over; add-scram refuses beside a running broker', async () => {
  await withTempDir(async (dir) => {
    // The test runner's parent is alive and is not us: a lock it held refuses.
    await writeFile(join(dir, LOCK_FILE), `${process.ppid}\n`);
    await assert.rejects(lockDataDir(dir), (e: Error & { code?: string }) => e.code === 'RIV_ERR_DATA_DIR_LOCKED' && e.message.includes(String(process.ppid)));
    await writeFile(join(dir, LOCK_FILE), '999999999\n');
    const release0 = await lockDataDir(dir);
    await release0();
    if (process.platform === 'linux') {
      // A live pid that is another process than the one that took the lock (a container's pid 1 after a crash): stale.
      await writeFile(join(dir, LOCK_FILE), `${process.ppid}\nnot-this-boot:1\n`);
      await lockDataDir(dir).then((r) => r());
    }
    const release = await lockDataDir(dir);
    assert.equal((await readFile(join(dir, LOCK_FILE), 'utf8')).split('\n')[0], String(process.pid));
    // We hold it now: the CLI (another process) must refuse and point at rivulet user create.
    const r = await runCli(['storage', 'add-scram', '-d', dir, 'SCRAM-SHA-512=[name=admin,password=s3cret]']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /rivulet user create/);
    assert.match(r.stderr, /RIV_ERR_DATA_DIR_LOCKED|in use by another process/);
    assert.ok(!(await readdir(dir)).includes('scram-credentials.json'), 'nothing written');
    await release();
    assert.ok(!(await readdir(dir)).includes(LOCK_FILE), 'released');
    const ok = await runCli(['storage', 'add-scram', '-d', dir, 'SCRAM-SHA-512=[name=admin,password=s3cret]']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(!(await readdir(dir)).includes(LOCK_FILE), 'add-scram releases its lock');
  });
});

test('a broker holds its data directory: a second broker on it refuses to start', async () => {
  const dataDir = await makeTempDir('rivulet-lock-');
  await writeFile(join(dataDir, LOCK_FILE), `${process.ppid}\n`);
  const config: BrokerConfig = { ...defaultBrokerConfig(), host: '127.0.0.1', port: 0, httpPort: 0, logLevel: 'error', dataDir };
  const b = new Broker(config, { openLog: (dir, cfg) => PartitionLog.open(dir, cfg), logger: new Logger('error') });
  await assert.rejects(b.start(), (e: Error & { code?: string }) => e.code === 'RIV_ERR_DATA_DIR_LOCKED');
  await b.stop().catch(() => undefined);
});

test('atomicWrite: concurrent writers of one file never share a temporary file', async () => {
  await withTempDir(async (dir) => {
    const values = Array.from({ length: 20 }, (_, i) => `v${i}`.repeat(5000));
    await Promise.all(values.map((v) => atomicWrite(dir, 'x.json', v)));
    assert.ok(values.includes(await readFile(join(dir, 'x.json'), 'utf8')), 'the file is one whole write');
    assert.deepEqual((await readdir(dir)).sort(), ['x.json'], 'no temporary file left');
  });
});

test('add-scram\'s parser: a mistyped key never echoes its value; a key given twice (a password holding ",name=") is refused', () => {
  assert.throws(() => parseScramSpec('SCRAM-SHA-512=[pasword=hunter2secret,name=a]'), (e: Error) => /unknown key "pasword"/.test(e.message) && !/hunter|secret/.test(e.message));
  assert.throws(() => parseScramSpec('SCRAM-SHA-512=[hunter2secret,name=a]'), (e: Error) => !/hunter|secret/.test(e.message));
  assert.throws(() => parseScramSpec('SCRAM-SHA-512=[name=admin,password=ab,name=cd]'), (e: Error) => /name= appears twice/.test(e.message) && /--password-file/.test(e.message) && !e.message.includes('ab,'));
  assert.deepEqual(parseScramSpec('SCRAM-SHA-512=[name=admin,password=a,b=c]').password, 'a,b=c');
});

test('SaslHandshake: an unsupported mechanism on a SASL listener closes the connection after the answer; on a listener without SASL the client\'s string is not kept', async () => {
  const { saslHandshake } = await import('../../../../src/broker/handlers/17-sasl-handshake.js');
  const { Session } = await import('../../../../src/broker/session.js');
  const plain = new PlainMechanism(source({}));
  const ctx = (session: InstanceType<typeof Session>) =>
    ({ session, version: 1, saslMechanisms: { of: () => new Map([['PLAIN', plain]]) }, metrics: { authenticationFailed: () => undefined }, throttledLog: { warn: () => undefined } }) as unknown as Parameters<typeof saslHandshake.handle>[0];
  const s = new Session('SASL_PLAINTEXT', '127.0.0.1', 1, 'SASL_PLAINTEXT');
  const r = await saslHandshake.handle(ctx(s), { mechanism: 'GSSAPI' } as never);
  assert.equal((r as { errorCode: number }).errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
  assert.deepEqual((r as { mechanisms: string[] }).mechanisms, ['PLAIN']);
  assert.equal(s.closeAfterResponses, true, 'closed after the response, as Kafka does');
  const p = new Session('PLAINTEXT', '127.0.0.1', 2, 'PLAINTEXT');
  for (let i = 0; i < 2; i++) await saslHandshake.handle(ctx(p), { mechanism: 'X'.repeat(100_000) } as never);
  assert.equal(p.saslMechanism, null, 'the client\'s mechanism string is not stored');
  assert.equal(p.saslRefused, true);
});

test('JWKS: a redirect is not followed', async () => {
  const { fetchJwks } = await import('../../../../src/broker/sasl/jwks.js');
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/jwks' });
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"keys":[]}');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    assert.deepEqual(await fetchJwks(`${base}/jwks`), { keys: [] });
    await assert.rejects(fetchJwks(`${base}/moved`), (e: Error) => /redirects are not followed/.test(e.message));
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('JWKS: made-up kids cannot starve a real rotated kid of its reload; a kid found missing reloads no more for a while', async () => {
  const { JwksSource, KID_RELOAD_INTERVAL_MS, MISSING_KID_COOLDOWN_MS } = await import('../../../../src/broker/sasl/jwks.js');
  await withTempDir(async (dir) => {
    const file = join(dir, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [{ kid: 'k1', kty: 'oct', k: 'AA' }] }));
    let now = 0;
    let loads = 0;
    const src = new JwksSource({ url: new URL(`file://${file}`).href, refreshMs: 3_600_000, retryBackoffMs: 100, retryBackoffMaxMs: 1000 }, new Logger('error'), () => void loads++, () => now);
    await src.start();
    try {
      assert.equal(loads, 1);
      now = 100;
      await src.reloadForUnknownKid('made-up-1');
      assert.equal(loads, 2, 'an unknown kid reloads');
      // The provider rotates; a real token with the new kid arrives soon after the attacker's reload.
      await writeFile(file, JSON.stringify({ keys: [{ kid: 'k1', kty: 'oct', k: 'AA' }, { kid: 'k2', kty: 'oct', k: 'AQ' }] }));
      now = 100 + KID_RELOAD_INTERVAL_MS + 1;
      await src.reloadForUnknownKid('k2');
      assert.equal(loads, 3, 'the real kid gets its reload within the interval, not after the attacker\'s 10 s window');
      assert.ok(src.snapshot!.kids.has('k2'));
      now += KID_RELOAD_INTERVAL_MS + 1;
      await src.reloadForUnknownKid('made-up-1');
      assert.equal(loads, 3, 'a kid found missing triggers no reload within the cooldown');
      now = 100 + MISSING_KID_COOLDOWN_MS + 1;
      await src.reloadForUnknownKid('made-up-1');
      assert.equal(loads, 4, 'after the cooldown it may reload again');
    } finally {
      src.stop();
    }
  });
});
