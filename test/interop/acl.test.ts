// ACLs with Apache Kafka's own tool and other clients, principals from mutual TLS: kafka-acls
// (org.apache.kafka.tools.AclCommand from the kafka-tools jar, as User:CN=admin, a super user)
// adds, lists and removes ACLs (--allow-principal, --deny-principal, --topic, --group, --cluster,
// --transactional-id, --resource-pattern-type prefixed); the Java client is allowed and denied
// (TopicAuthorizationException, GroupAuthorizationException, DENY winning over ALLOW); kcat and
// python confluent-kafka, without ACLs, report the broker's refusals.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, listenerPorts, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts, type ClientCert } from '../helpers/tls-certs.js';
import { debianPython, describeRun, javaClasspath, pythonDir, requireJava, requireTool, run, runJava, works } from './tools.js';

let certs: TestCerts;
let broker: BrokerProcess;
let bootstrap = '';
let adminConfig = '';
const who: Record<'admin' | 'alice' | 'bob' | 'carol', ClientCert> = {} as never;

before(async () => {
  certs = await makeTestCerts();
  for (const name of ['admin', 'alice', 'bob', 'carol'] as const) who[name] = await certs.makeClient(name);
  broker = await startBroker({
    args: [
      '--set', 'listeners=SSL://127.0.0.1:0',
      '--set', `ssl.certificate.location=${certs.serverCertFile}`,
      '--set', `ssl.key.location=${certs.serverKeyFile}`,
      '--set', `ssl.truststore.location=${certs.caFile}`,
      '--set', 'ssl.client.auth=required',
      '--set', 'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      '--set', 'super.users=User:CN=admin',
      '--set', 'group.initial.rebalance.delay.ms=0',
    ],
  });
  bootstrap = `127.0.0.1:${listenerPorts(broker).SSL!}`;
  adminConfig = join(certs.dir, 'admin-client.properties');
  await writeFile(adminConfig, javaSsl('admin').join('\n') + '\n');
});

after(async () => {
  await broker?.cleanup();
  await certs?.cleanup();
});

/** The Java client's settings for a principal's certificate (PEM truststore and keystore). */
function javaSsl(name: keyof typeof who): string[] {
  return ['security.protocol=SSL', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`, 'ssl.keystore.type=PEM', `ssl.keystore.location=${who[name].keystoreFile}`];
}

/** librdkafka's settings (kcat -X, confluent-kafka) for a principal's certificate. */
function rdkafkaSsl(name: keyof typeof who): string[] {
  return ['security.protocol=ssl', `ssl.ca.location=${certs.caFile}`, `ssl.certificate.location=${who[name].certFile}`, `ssl.key.location=${who[name].keyFile}`];
}

async function acls(args: string[]): Promise<string> {
  const r = await run('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', javaClasspath(), 'org.apache.kafka.tools.AclCommand', '--bootstrap-server', bootstrap, '--command-config', adminConfig, ...args], { timeoutMs: 120_000 });
  const context = describeRun(`kafka-acls ${args.join(' ')}`, r, broker);
  assert.equal(r.code, 0, context);
  return r.stdout.toString();
}

async function java(name: keyof typeof who, mode: 'produce' | 'consume', topic: string, group: string): Promise<string> {
  const r = await runJava('AclClient.java', [mode, bootstrap, topic, group, ...javaSsl(name)], { timeoutMs: 120_000 });
  const out = r.stdout.toString();
  assert.match(out, /^(OK|ERROR|NONE)/m, describeRun(`java AclClient ${mode} as ${name}`, r, broker));
  return out.trim().split('\n').pop()!;
}

test('kafka-acls adds, lists and removes ACLs; the Java client is allowed, denied, and DENY wins', { timeout: 600_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const createdTopic = await acls(['--add', '--allow-principal', 'User:CN=admin', '--operation', 'All', '--topic', 'acl-orders']);
  assert.match(createdTopic, /acl-orders/);
  await acls(['--add', '--allow-principal', 'User:CN=alice', '--operation', 'Write', '--operation', 'Read', '--operation', 'Create', '--topic', 'acl-orders']);
  await acls(['--add', '--allow-principal', 'User:CN=alice', '--operation', 'Read', '--group', 'acl-app']);
  await acls(['--add', '--allow-principal', 'User:CN=alice', '--operation', 'Write', '--operation', 'Describe', '--transactional-id', 'acl-tx-', '--resource-pattern-type', 'prefixed']);
  await acls(['--add', '--allow-principal', 'User:CN=alice', '--operation', 'IdempotentWrite', '--cluster']);

  const topicList = await acls(['--list', '--topic', 'acl-orders']);
  for (const op of ['WRITE', 'READ', 'CREATE']) assert.match(topicList, new RegExp(`principal=User:CN=alice, host=\\*, operation=${op}, permissionType=ALLOW`), topicList);
  const all = await acls(['--list']);
  assert.match(all, /resourceType=TRANSACTIONAL_ID, name=acl-tx-, patternType=PREFIXED/, all);
  assert.match(all, /resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL[\s\S]*operation=IDEMPOTENT_WRITE/, all);
  assert.match(all, /resourceType=GROUP, name=acl-app, patternType=LITERAL/, all);
  const byPrincipal = await acls(['--list', '--principal', 'User:CN=alice']);
  assert.doesNotMatch(byPrincipal, /User:CN=admin/, 'a principal filter lists that principal only');

  assert.equal(await java('alice', 'produce', 'acl-orders', 'acl-app'), 'OK 1');
  assert.match(await java('alice', 'consume', 'acl-orders', 'acl-app'), /^OK \d+$/);

  assert.match(await java('bob', 'produce', 'acl-orders', 'acl-app'), /^ERROR TopicAuthorizationException/);
  await acls(['--add', '--allow-principal', 'User:CN=bob', '--operation', 'Read', '--topic', 'acl-orders']);
  assert.match(await java('bob', 'consume', 'acl-orders', 'acl-app'), /^ERROR GroupAuthorizationException/);

  await acls(['--add', '--deny-principal', 'User:CN=alice', '--operation', 'Write', '--topic', 'acl-orders']);
  assert.match(await acls(['--list', '--topic', 'acl-orders']), /principal=User:CN=alice, host=\*, operation=WRITE, permissionType=DENY/);
  assert.match(await java('alice', 'produce', 'acl-orders', 'acl-app'), /^ERROR TopicAuthorizationException/, 'DENY wins over ALLOW');
  await acls(['--remove', '--force', '--deny-principal', 'User:CN=alice', '--operation', 'Write', '--topic', 'acl-orders']);
  assert.doesNotMatch(await acls(['--list', '--topic', 'acl-orders']), /permissionType=DENY/);
  assert.equal(await java('alice', 'produce', 'acl-orders', 'acl-app'), 'OK 1', 'allowed again once the DENY is removed');

  await acls(['--remove', '--force', '--allow-principal', 'User:CN=alice', '--operation', 'Write', '--operation', 'Describe', '--transactional-id', 'acl-tx-', '--resource-pattern-type', 'prefixed']);
  assert.doesNotMatch(await acls(['--list']), /name=acl-tx-/, 'the prefixed ACLs are gone');
});

test('kcat without ACLs: Topic authorization failed, and its metadata lists no topic', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await works('kcat', ['-V']), 'kcat', 'install it with `sudo apt-get install kcat`')) return;
  const x = rdkafkaSsl('carol').flatMap((kv) => ['-X', kv]);
  const p = await run('kcat', ['-b', bootstrap, ...x, '-P', '-t', 'acl-orders', '-X', 'message.timeout.ms=10000'], { input: 'refused\n', timeoutMs: 60_000 });
  const context = describeRun('kcat -P as carol', p, broker);
  assert.match(p.stderr, /Topic authorization failed|TOPIC_AUTHORIZATION_FAILED/i, context);
  const l = await run('kcat', ['-b', bootstrap, ...x, '-L', '-m', '10'], { timeoutMs: 60_000 });
  assert.equal(l.code, 0, describeRun('kcat -L as carol', l, broker));
  assert.match(l.stdout.toString(), /0 topics:/, describeRun('kcat -L as carol', l, broker));
});

test('python confluent-kafka without ACLs: TOPIC_AUTHORIZATION_FAILED on produce, an authorization error on consume', { timeout: 120_000 }, async (t) => {
  if (!requireTool(t, await works(debianPython(), ['-c', 'import confluent_kafka']), 'python3-confluent-kafka', 'install it with `sudo apt-get install python3-confluent-kafka`')) return;
  const r = await run(debianPython(), [join(pythonDir, 'acl_denied.py'), bootstrap, 'acl-orders', 'acl-python', ...rdkafkaSsl('carol')], { timeoutMs: 90_000 });
  const out = r.stdout.toString();
  const context = describeRun('python acl_denied.py as carol', r, broker);
  assert.equal(r.code, 0, context);
  assert.match(out, /^PRODUCE TOPIC_AUTHORIZATION_FAILED .*authorization failed/im, context);
  assert.match(out, /^CONSUME (GROUP|TOPIC)_AUTHORIZATION_FAILED .*authorization failed/im, context);
});
