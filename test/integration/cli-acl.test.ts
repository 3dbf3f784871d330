// `rivulet acl add|list|remove` against a broker with ACLs on: the administrator connects on a
// PLAINTEXT listener as User:ANONYMOUS (a super user here), the client "alice" on an SSL
// listener with her certificate (principal User:<subject DN>). Granting lets her produce and
// consume; removing takes it back, with a message that says what is missing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, listenerPorts, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { runCli as rivulet } from '../helpers/cli.js';

let certs: TestCerts;
let broker: BrokerProcess;
let admin: string[] = [];
let alice: string[] = [];
let alicePrincipal = '';

before(async () => {
  certs = await makeTestCerts();
  broker = await startBroker({
    args: [
      '--set', 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
      '--set', `ssl.certificate.location=${certs.serverCertFile}`,
      '--set', `ssl.key.location=${certs.serverKeyFile}`,
      '--set', `ssl.truststore.location=${certs.caFile}`,
      '--set', 'ssl.client.auth=required',
      '--set', 'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      '--set', 'super.users=User:ANONYMOUS',
      '--set', 'group.initial.rebalance.delay.ms=0',
    ],
  });
  const ports = listenerPorts(broker);
  admin = ['-b', `127.0.0.1:${ports.PLAINTEXT}`];
  alice = ['-b', `127.0.0.1:${ports.SSL}`, '--tls-ca', certs.caFile, '--tls-cert', certs.clientCertFile, '--tls-key', certs.clientKeyFile];
  alicePrincipal = `User:${certs.clientDn}`;
  const c = await rivulet(['topic', 'create', 'orders', ...admin]);
  assert.equal(c.code, 0, c.stderr);
});

after(async () => {
  await broker?.cleanup();
  await certs?.cleanup();
});

test('without an ACL alice is denied, with a message naming the missing authorization', async () => {
  const p = await rivulet(['produce', 'orders', ...alice], { input: 'nope\n' });
  assert.equal(p.code, 1, `${p.stdout}\n${brokerTail(broker)}`);
  assert.match(p.stderr, /not authorized \(TOPIC_AUTHORIZATION_FAILED\) \(connecting with SSL\).*rivulet acl add/);
});

test('acl add --producer lets alice produce; list shows the ACLs as a table; adding again changes nothing', async () => {
  const add = await rivulet(['acl', 'add', '--allow-principal', alicePrincipal, '--producer', '--topic', 'orders', ...admin]);
  assert.equal(add.code, 0, add.stderr);
  assert.equal(add.stdout.split('\n').filter((l) => l.startsWith('added: Allow')).length, 3, add.stdout);
  const again = await rivulet(['acl', 'add', '--allow-principal', alicePrincipal, '--producer', '--topic', 'orders', ...admin]);
  assert.equal(again.code, 0, again.stderr);

  const list = await rivulet(['acl', 'list', '--topic', 'orders', ...admin]);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.match(lines[0]!, /^RESOURCE TYPE\s+NAME\s+PATTERN\s+PRINCIPAL\s+HOST\s+OPERATION\s+PERMISSION$/);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s{2,}/)), [
    ['Topic', 'orders', 'Literal', alicePrincipal, '*', 'Create', 'Allow'],
    ['Topic', 'orders', 'Literal', alicePrincipal, '*', 'Describe', 'Allow'],
    ['Topic', 'orders', 'Literal', alicePrincipal, '*', 'Write', 'Allow'],
  ]);

  const p = await rivulet(['produce', 'orders', ...alice], { input: 'one\ntwo\n' });
  assert.equal(p.code, 0, `${p.stderr}\n${brokerTail(broker)}`);
});

test('acl add with --operation (repeatable) and a prefixed pattern lets alice read; --json lists the bindings', async () => {
  const denied = await rivulet(['consume', 'orders', '--from-beginning', ...alice]);
  assert.equal(denied.code, 1, denied.stdout);
  const add = await rivulet(['acl', 'add', '--allow-principal', alicePrincipal, '--operation', 'Read', '--operation', 'describe', '--topic', 'ord', '--resource-pattern-type', 'prefixed', ...admin]);
  assert.equal(add.code, 0, add.stderr);
  const r = await rivulet(['consume', 'orders', '--from-beginning', ...alice]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'one\ntwo\n');

  const json = await rivulet(['acl', 'list', '--principal', alicePrincipal, '--json', ...admin]);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<Record<string, string>>;
  assert.ok(rows.some((x) => x.name === 'ord' && x.patternType === 'Prefixed' && x.operation === 'Read' && x.permission === 'Allow'), json.stdout);
});

test('acl remove takes the producer ACLs away: alice is denied again', async () => {
  const rm = await rivulet(['acl', 'remove', '--allow-principal', alicePrincipal, '--operation', 'Write', '--topic', 'orders', ...admin]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.match(rm.stdout, /^removed: Allow User:CN=alice,OU=eng,O=acme Write on Topic orders \(Literal\) from \*$/m);
  const p = await rivulet(['produce', 'orders', ...alice], { input: 'three\n' });
  assert.equal(p.code, 1, p.stdout);
  assert.match(p.stderr, /TOPIC_AUTHORIZATION_FAILED/);

  const none = await rivulet(['acl', 'remove', '--allow-principal', alicePrincipal, '--operation', 'Write', '--topic', 'orders', ...admin]);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stderr, /no ACLs matched; nothing removed/);
});

test('a principal without ALTER on the cluster cannot add ACLs', async () => {
  const r = await rivulet(['acl', 'add', '--allow-principal', alicePrincipal, '--operation', 'All', '--topic', '*', ...alice]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /not authorized \(CLUSTER_AUTHORIZATION_FAILED\)/);
});

test('usage errors: no principal, no resource, unknown operation, --consumer without --group', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['acl', 'add', '--operation', 'Read', '--topic', 't'], /--allow-principal User:NAME or --deny-principal/],
    [['acl', 'add', '--allow-principal', 'User:a', '--operation', 'Read'], /name a resource: --topic, --group, --transactional-id or --cluster/],
    [['acl', 'add', '--allow-principal', 'User:a', '--operation', 'Fly', '--topic', 't'], /unknown operation "Fly": use one of All, Read, Write/],
    [['acl', 'add', '--allow-principal', 'User:a', '--consumer', '--topic', 't'], /--consumer needs --group/],
    [['acl', 'add', '--allow-principal', 'alice', '--operation', 'Read', '--topic', 't'], /principal "alice" must be type:name, e\.g\. User:alice/],
    [['acl', 'remove'], /name what to remove/],
  ];
  for (const [args, re] of cases) {
    const r = await rivulet([...args, ...admin]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});
