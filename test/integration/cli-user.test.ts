// `rivulet user create|list|delete` against a broker whose listeners all need a SASL login:
// the first user (admin, a super user) is written offline with `rivulet storage add-scram`;
// admin creates bob over AlterUserScramCredentials; bob logs in with SCRAM (and PLAIN over
// SASL_SSL); a wrong password fails with a message that says what to check; ACLs granted to
// User:bob let him produce and their removal denies him again; deleting bob ends his logins.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, listenerPorts, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { makeTempDir } from '../helpers/temp.js';
import { runCli as rivulet } from '../helpers/cli.js';

let certs: TestCerts;
let broker: BrokerProcess;
let sslBs = '';
let plainBs = '';
let adminConfig = '';

before(async () => {
  certs = await makeTestCerts();
  const dataDir = await makeTempDir();
  const pw = join(certs.dir, 'admin.pass');
  writeFileSync(pw, 'admin-secret\n');
  const seed = await rivulet(['storage', 'add-scram', '-d', dataDir, '--password-file', pw, 'SCRAM-SHA-512=[name=admin]']);
  assert.equal(seed.code, 0, seed.stderr);
  broker = await startBroker({
    dataDir,
    args: [
      '--set', 'listeners=SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      '--set', 'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
      '--set', 'listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      '--set', `ssl.certificate.location=${certs.serverCertFile}`,
      '--set', `ssl.key.location=${certs.serverKeyFile}`,
      '--set', 'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      '--set', 'super.users=User:admin',
      '--set', 'connection.failed.authentication.delay.ms=5',
    ],
  });
  const ports = listenerPorts(broker);
  sslBs = `127.0.0.1:${ports.SASL_SSL}`;
  plainBs = `127.0.0.1:${ports.SASL_PLAINTEXT}`;
  // The administrator's connection as Kafka's tools take it.
  adminConfig = join(certs.dir, 'admin.properties');
  writeFileSync(adminConfig, [
    'security.protocol=SASL_SSL',
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${certs.caFile}`,
    'sasl.mechanism=SCRAM-SHA-512',
    'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";',
    '',
  ].join('\n'));
});

after(async () => {
  await broker?.cleanup();
  await certs?.cleanup();
});

const admin = (): string[] => ['-b', sslBs, '--command-config', adminConfig];
const asBob = (mechanism: string, password: string, bs = sslBs) => ({
  args: ['-b', bs, ...(bs === sslBs ? ['--tls-ca', certs.caFile] : []), '--sasl-mechanism', mechanism, '--sasl-username', 'bob'],
  env: { RIVULET_SASL_PASSWORD: password },
});

test('user create makes a SCRAM user who can log in; list shows users and mechanisms', { timeout: 60_000 }, async () => {
  const c = await rivulet(['user', 'create', 'bob', ...admin()], { env: { RIVULET_USER_PASSWORD: 'bob-secret' } });
  assert.equal(c.code, 0, `${c.stderr}\n${brokerTail(broker)}`);
  assert.equal(c.stdout, 'created user "bob" (SCRAM-SHA-512, 8192 iterations)\n');
  const pwFile = join(certs.dir, 'bob.pass');
  writeFileSync(pwFile, 'bob-secret-256\n');
  const c256 = await rivulet(['user', 'create', 'bob', '--mechanism', 'SCRAM-SHA-256', '--iterations', '4096', '--password-file', pwFile, ...admin()]);
  assert.equal(c256.code, 0, c256.stderr);

  const l = await rivulet(['user', 'list', ...admin()]);
  assert.equal(l.code, 0, l.stderr);
  assert.equal(l.stdout, 'admin\tSCRAM-SHA-512 (4096 iterations)\nbob\tSCRAM-SHA-256 (4096 iterations), SCRAM-SHA-512 (8192 iterations)\n');
  const json = await rivulet(['user', 'list', '--json', ...admin()]);
  const bob = (JSON.parse(json.stdout) as Array<{ user: string; credentials: Array<{ mechanism: string; iterations: number }> }>).find((u) => u.user === 'bob');
  assert.deepEqual(bob?.credentials, [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }, { mechanism: 'SCRAM-SHA-512', iterations: 8192 }]);

  for (const [mech, pw, bs] of [['SCRAM-SHA-512', 'bob-secret', sslBs], ['SCRAM-SHA-256', 'bob-secret-256', plainBs], ['PLAIN', 'bob-secret', sslBs]] as const) {
    const b = asBob(mech, pw, bs);
    const r = await rivulet(['topic', 'list', ...b.args], { env: b.env });
    assert.equal(r.code, 0, `${mech} on ${bs}: ${r.stderr}`);
  }
});

test('a user without ALTER on the cluster cannot create or list users', async () => {
  const b = asBob('SCRAM-SHA-512', 'bob-secret');
  const c = await rivulet(['user', 'create', 'carol', ...b.args], { env: { ...b.env, RIVULET_USER_PASSWORD: 'carol-secret' } });
  assert.equal(c.code, 1, c.stdout);
  assert.match(c.stderr, /not authorized \(CLUSTER_AUTHORIZATION_FAILED\)/);
  const l = await rivulet(['user', 'list', ...b.args], { env: b.env });
  assert.equal(l.code, 1, l.stdout);
  assert.match(l.stderr, /not authorized \(CLUSTER_AUTHORIZATION_FAILED\)/);
  const admin2 = await rivulet(['user', 'list', ...admin()]);
  assert.doesNotMatch(admin2.stdout, /carol/);
});

test('a wrong password fails with SASL_AUTHENTICATION_FAILED and what to check', async () => {
  const b = asBob('SCRAM-SHA-512', 'not-it');
  const r = await rivulet(['topic', 'list', ...b.args], { env: b.env });
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /^rivulet: SASL authentication failed \(SASL_AUTHENTICATION_FAILED\) \(connecting with SASL_SSL, SCRAM-SHA-512 as bob\).*Check --sasl-mechanism, --sasl-username and the password/);
});

test('acl add lets User:bob produce; acl remove denies him again', { timeout: 60_000 }, async () => {
  const b = asBob('SCRAM-SHA-512', 'bob-secret');
  const denied = await rivulet(['produce', 'bob-topic', ...b.args], { env: b.env, input: 'x\n' });
  assert.equal(denied.code, 1, denied.stdout);
  assert.match(denied.stderr, /not authorized \((TOPIC|CLUSTER)_AUTHORIZATION_FAILED\)/);

  const add = await rivulet(['acl', 'add', '--allow-principal', 'User:bob', '--producer', '--topic', 'bob-topic', ...admin()]);
  assert.equal(add.code, 0, add.stderr);
  const p = await rivulet(['produce', 'bob-topic', ...b.args], { env: b.env, input: 'one\ntwo\n' });
  assert.equal(p.code, 0, `${p.stderr}\n${brokerTail(broker)}`);
  const r = await rivulet(['consume', 'bob-topic', '--from-beginning', ...admin()]);
  assert.equal(r.stdout, 'one\ntwo\n', r.stderr);

  const rm = await rivulet(['acl', 'remove', '--allow-principal', 'User:bob', '--producer', '--topic', 'bob-topic', ...admin()]);
  assert.equal(rm.code, 0, rm.stderr);
  const again = await rivulet(['produce', 'bob-topic', ...b.args], { env: b.env, input: 'three\n' });
  assert.equal(again.code, 1, again.stdout);
  assert.match(again.stderr, /TOPIC_AUTHORIZATION_FAILED/);
});

test('user delete removes one mechanism or all; a deleted user cannot log in', { timeout: 60_000 }, async () => {
  const d256 = await rivulet(['user', 'delete', 'bob', '--mechanism', 'SCRAM-SHA-256', ...admin()]);
  assert.equal(d256.code, 0, d256.stderr);
  assert.equal(d256.stdout, 'deleted SCRAM-SHA-256 credential of user "bob"\n');
  const b256 = asBob('SCRAM-SHA-256', 'bob-secret-256', plainBs);
  const gone256 = await rivulet(['topic', 'list', ...b256.args], { env: b256.env });
  assert.equal(gone256.code, 1, gone256.stdout);
  assert.match(gone256.stderr, /SASL_AUTHENTICATION_FAILED/);

  const d = await rivulet(['user', 'delete', 'bob', ...admin()]);
  assert.equal(d.code, 0, d.stderr);
  const b = asBob('SCRAM-SHA-512', 'bob-secret');
  const gone = await rivulet(['topic', 'list', ...b.args], { env: b.env });
  assert.equal(gone.code, 1, gone.stdout);
  assert.match(gone.stderr, /SASL_AUTHENTICATION_FAILED/);

  const again = await rivulet(['user', 'delete', 'bob', ...admin()]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /user "bob" has no SCRAM credentials \(list users with: rivulet user list; add --if-exists to accept that\)/);
  const ok = await rivulet(['user', 'delete', 'bob', '--if-exists', ...admin()]);
  assert.equal(ok.code, 0, ok.stderr);
  const l = await rivulet(['user', 'list', ...admin()]);
  assert.equal(l.stdout, 'admin\tSCRAM-SHA-512 (4096 iterations)\n');
});

test('usage errors: no password source, a mechanism that is not SCRAM, iterations out of range', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['user', 'create', 'carol'], /no password for "carol": give --password-file FILE or set RIVULET_USER_PASSWORD/],
    [['user', 'create', 'carol', '--mechanism', 'PLAIN'], /--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not "PLAIN"/],
    [['user', 'create', 'carol', '--iterations', '100'], /--iterations must be from 4096 to 16384, not 100/],
    [['user', 'create', 'a b'], /invalid user name "a b"/],
  ];
  for (const [args, re] of cases) {
    const r = await rivulet([...args, ...admin()]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});
