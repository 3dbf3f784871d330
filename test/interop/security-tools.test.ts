// Apache Kafka's own admin tools against a secured broker: kafka-topics (TopicCommand),
// kafka-acls (AclCommand) and kafka-configs (ConfigCommand) from the kafka-tools jar, each with
// --command-config, over a SASL_SSL listener (SCRAM-SHA-512) and an SSL listener with
// ssl.client.auth=required (mutual TLS, principal User:<DN>), ACLs on (StandardAuthorizer),
// super.users = the SCRAM user admin and the certificate DN CN=admin. On each listener, for
// each tool: the admin succeeds (the topic exists, the ACL is listed, the config is set); a
// principal without ACLs is refused with the authorization error the tool prints and nothing
// changes; once the admin grants the operation's ACL, the same command succeeds. SASL_SSL
// also: a wrong password is refused with the SASL authentication error, and a client that
// does not log in (security.protocol=SSL against the SASL_SSL port) fails and exits non-zero
// within its timeout, having changed nothing. mTLS also: a certificate of another CA is refused
// (the tool exits non-zero within its timeout, nothing changed). A SASL_SSL client
// without a certificate logs in: ssl.client.auth applies to SSL listeners only (KIP-684). A todo
// test records where the broker differs from Kafka: a refused client certificate reaches the
// Java client as a timeout rather than an SslAuthenticationException. The tools
// run one after another in one JVM (java/ToolShell.java calls each tool's main and catches its
// exit code), which saves a JVM start per command.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, listenerPorts, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts, type ClientCert } from '../helpers/tls-certs.js';
import { makeTempDir } from '../helpers/temp.js';
import { runCli } from '../helpers/cli.js';
import { compileJava, javaJarsPresent, LineProcess, works } from './tools.js';

let certs: TestCerts;
let dataDir = '';
let broker: BrokerProcess;
let shell: LineProcess | undefined;
let shellClasspath = '';
let skipReason = '';
const ports: Record<'SASL_SSL' | 'SSL', number> = { SASL_SSL: 0, SSL: 0 };
const cert: Record<'admin' | 'bob' | 'saslClient', ClientCert> = {} as never;
let otherKeystore = '';

// Low client timeouts, so a refused tool gives up in seconds rather than minutes.
const TIMEOUTS = ['default.api.timeout.ms=6000', 'request.timeout.ms=3000', 'socket.connection.setup.timeout.ms=3000', 'socket.connection.setup.timeout.max.ms=3000', 'retry.backoff.ms=200'];

before(async () => {
  if (!(await works('java', ['-version']))) { skipReason = 'java (JDK 17+)'; return; }
  if (!javaJarsPresent()) { skipReason = 'the Kafka Java jars in test/interop/java/lib'; return; }
  const compiled = await compileJava('ToolShell.java', 'tool-shell');
  assert.ok(compiled.ok, compiled.error);
  shellClasspath = compiled.classpath;
  certs = await makeTestCerts();
  cert.admin = await certs.makeClient('admin');
  cert.bob = await certs.makeClient('bob');
  // The SASL clients present a certificate too, CN=sasl-client (a principal with no ACL and not a
  // super user), to show the SASL login names the principal; ssl.client.auth=required does not
  // apply to the SASL_SSL listener (KIP-684), which the last test shows with no certificate.
  cert.saslClient = await certs.makeClient('sasl-client');
  otherKeystore = join(certs.dir, 'other-client-keystore.pem');
  await writeFile(otherKeystore, (await readFile(certs.otherClientKeyFile, 'utf8')) + (await readFile(certs.otherClientCertFile, 'utf8')));
  dataDir = await makeTempDir('rivulet-sectools-');
  const r = await runCli(['storage', 'add-scram', '-d', dataDir, 'SCRAM-SHA-512=[name=admin,password=admin-secret]', 'SCRAM-SHA-512=[name=alice,password=alice-secret]']);
  assert.equal(r.code, 0, r.stderr);
  broker = await startBroker({
    dataDir,
    args: [
      '--set', 'listeners=SASL_SSL://127.0.0.1:0,SSL://127.0.0.1:0',
      '--set', 'sasl.enabled.mechanisms=SCRAM-SHA-512',
      '--set', `ssl.certificate.location=${certs.serverCertFile}`,
      '--set', `ssl.key.location=${certs.serverKeyFile}`,
      '--set', `ssl.truststore.location=${certs.caFile}`,
      '--set', 'ssl.client.auth=required',
      '--set', 'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      '--set', 'super.users=User:admin;User:CN=admin',
    ],
  });
  const p = listenerPorts(broker);
  ports.SASL_SSL = p.SASL_SSL!;
  ports.SSL = p.SSL!;
  shell = new LineProcess('java', ['-Xmx384m', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=error', '-cp', shellClasspath, 'ToolShell'], { stdin: 'pipe' });
});

after(async () => {
  if (shell) {
    shell.endInput();
    const exited = await Promise.race([shell.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
    if (!exited) await shell.kill();
  }
  await broker?.cleanup();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await certs?.cleanup();
});

interface ToolResult { code: number; out: string; ms: number; what: string }

let configs = 0;
/** Writes a --command-config file of these client properties (plus the low timeouts). */
async function clientConfig(props: string[]): Promise<string> {
  const file = join(certs.dir, `client-${++configs}.properties`);
  await writeFile(file, [...props, ...TIMEOUTS].join('\n') + '\n');
  return file;
}

const truststore = () => ['ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`];
const keystore = (file: string) => ['ssl.keystore.type=PEM', `ssl.keystore.location=${file}`];
const scram = (user: string, password: string) => [
  'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512',
  `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`,
  ...truststore(), ...keystore(cert.saslClient.keystoreFile),
];
const mtls = (c: ClientCert) => ['security.protocol=SSL', ...truststore(), ...keystore(c.keystoreFile)];

const TOOL = { topics: 'TopicCommand', acls: 'AclCommand', configs: 'ConfigCommand' } as const;

/** Runs kafka-<tool> in the ToolShell JVM against a listener with a --command-config file. */
async function tool(name: keyof typeof TOOL, listener: keyof typeof ports, config: string, args: string[]): Promise<ToolResult> {
  const s = shell!;
  const what = `kafka-${name} (${listener}) ${args.join(' ')}`;
  const start = Date.now();
  const line = await new Promise<string>((resolve, reject) => {
    const seen = s.lines.length;
    const timer = setTimeout(() => reject(new Error(`${what}: no result after 60 s\n${s.tail()}`)), 60_000);
    const check = (): void => {
      const l = s.lines.slice(seen).find((x) => x.startsWith('RESULT '));
      if (l) { clearTimeout(timer); resolve(l); }
    };
    s.onLine(check);
    s.child.stdin!.write([TOOL[name], '--bootstrap-server', `127.0.0.1:${ports[listener]}`, '--command-config', config, ...args].join('\t') + '\n');
  });
  const [, code, out, err] = line.split(' ');
  const text = Buffer.from(out ?? '', 'base64').toString() + Buffer.from(err ?? '', 'base64').toString();
  return { code: Number(code), out: text, ms: Date.now() - start, what };
}

function show(r: ToolResult): string {
  return `${r.what}: exit ${r.code} after ${r.ms} ms\n--- tool output ---\n${r.out.slice(-4000)}\n--- broker log (tail) ---\n${brokerTail(broker)}`;
}

async function ok(name: keyof typeof TOOL, listener: keyof typeof ports, config: string, args: string[]): Promise<string> {
  const r = await tool(name, listener, config, args);
  assert.equal(r.code, 0, show(r));
  return r.out;
}

async function refused(name: keyof typeof TOOL, listener: keyof typeof ports, config: string, args: string[], expect: RegExp): Promise<ToolResult> {
  const r = await tool(name, listener, config, args);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.out, expect, show(r));
  return r;
}

const cases = [
  { listener: 'SASL_SSL' as const, admin: () => scram('admin', 'admin-secret'), user: () => scram('alice', 'alice-secret'), principal: 'User:alice' },
  { listener: 'SSL' as const, admin: () => mtls(cert.admin), user: () => mtls(cert.bob), principal: 'User:CN=bob' },
];

for (const c of cases) {
  const L = c.listener;
  const prefix = `sec-${L.toLowerCase().replace('_', '')}-`;
  const topic = `${prefix}admin`;
  const userTopic = `${prefix}user`;
  let admin = '';
  let user = '';
  const dave = `User:dave-${L.toLowerCase()}`;

  test(`${L}: kafka-topics --create/--list/--describe: admin succeeds; ${c.principal} is refused without ACLs, changes nothing, and succeeds once granted`, { timeout: 180_000 }, async (t) => {
    if (skipReason) return t.skip(`needs ${skipReason}`);
    admin = await clientConfig(c.admin());
    user = await clientConfig(c.user());
    assert.match(await ok('topics', L, admin, ['--create', '--topic', topic, '--partitions', '2', '--replication-factor', '1']), new RegExp(`Created topic ${topic}\\.`));
    assert.match(await ok('topics', L, admin, ['--list']), new RegExp(`^${topic}$`, 'm'));
    assert.match(await ok('topics', L, admin, ['--describe', '--topic', topic]), new RegExp(`Topic: ${topic}\\s.*PartitionCount: 2`));

    await refused('topics', L, user, ['--create', '--topic', userTopic, '--partitions', '1', '--replication-factor', '1'], /TopicAuthorizationException|Authorization failed/);
    assert.doesNotMatch(await ok('topics', L, admin, ['--list']), new RegExp(`^${userTopic}$`, 'm'), 'the refused create made no topic');
    // Without Describe, a topic is left out of the listing (as in Kafka), and so cannot be described.
    assert.doesNotMatch(await ok('topics', L, user, ['--list']), new RegExp(`^${topic}$`, 'm'));
    await refused('topics', L, user, ['--describe', '--topic', topic], new RegExp(`Topic '${topic}' does not exist`));

    await ok('acls', L, admin, ['--add', '--allow-principal', c.principal, '--operation', 'Create', '--operation', 'Describe', '--topic', prefix, '--resource-pattern-type', 'prefixed']);
    // kafka-topics --describe also describes the topic's configs (DescribeConfigs).
    await ok('acls', L, admin, ['--add', '--allow-principal', c.principal, '--operation', 'DescribeConfigs', '--topic', topic, '--topic', userTopic]);
    assert.match(await ok('topics', L, user, ['--create', '--topic', userTopic, '--partitions', '1', '--replication-factor', '1']), new RegExp(`Created topic ${userTopic}\\.`));
    const listed = await ok('topics', L, user, ['--list']);
    assert.match(listed, new RegExp(`^${topic}$`, 'm'));
    assert.match(listed, new RegExp(`^${userTopic}$`, 'm'));
    assert.match(await ok('topics', L, user, ['--describe', '--topic', topic]), new RegExp(`Topic: ${topic}\\s.*PartitionCount: 2`));
  });

  test(`${L}: kafka-acls --add/--list: admin succeeds; ${c.principal} is refused (ClusterAuthorizationException) and changes nothing until granted Alter and Describe on the cluster`, { timeout: 180_000 }, async (t) => {
    if (skipReason) return t.skip(`needs ${skipReason}`);
    await ok('acls', L, admin, ['--add', '--allow-principal', 'User:carol', '--operation', 'Read', '--topic', topic]);
    assert.match(await ok('acls', L, admin, ['--list', '--topic', topic]), /principal=User:carol, host=\*, operation=READ, permissionType=ALLOW/);

    await refused('acls', L, user, ['--add', '--allow-principal', dave, '--operation', 'Read', '--topic', topic], /ClusterAuthorizationException/);
    assert.doesNotMatch(await ok('acls', L, admin, ['--list']), new RegExp(`principal=${dave},`), 'the refused --add added nothing');
    await refused('acls', L, user, ['--list'], /ClusterAuthorizationException/);

    await ok('acls', L, admin, ['--add', '--allow-principal', c.principal, '--operation', 'Alter', '--operation', 'Describe', '--cluster']);
    await ok('acls', L, user, ['--add', '--allow-principal', dave, '--operation', 'Read', '--topic', topic]);
    const listed = await ok('acls', L, user, ['--list', '--topic', topic]);
    assert.match(listed, new RegExp(`principal=${dave}, host=\\*, operation=READ, permissionType=ALLOW`), listed);
    assert.match(listed, /principal=User:carol, host=\*, operation=READ, permissionType=ALLOW/, listed);
  });

  test(`${L}: kafka-configs --alter/--describe on a topic: admin succeeds; ${c.principal} is refused and changes nothing until granted DescribeConfigs and AlterConfigs`, { timeout: 180_000 }, async (t) => {
    if (skipReason) return t.skip(`needs ${skipReason}`);
    // A topic of the prefix (so the principal may see it) whose configs it may not read or change.
    const cfgTopic = `${prefix}cfg`;
    await ok('topics', L, admin, ['--create', '--topic', cfgTopic, '--partitions', '1', '--replication-factor', '1']);
    const entity = ['--entity-type', 'topics', '--entity-name', cfgTopic];
    assert.match(await ok('configs', L, admin, ['--alter', ...entity, '--add-config', 'retention.ms=3600000']), new RegExp(`Completed updating config for topic ${cfgTopic}`));
    assert.match(await ok('configs', L, admin, ['--describe', ...entity]), /retention\.ms=3600000/);

    await refused('configs', L, user, ['--describe', ...entity], /TopicAuthorizationException|Authorization failed/);
    await refused('configs', L, user, ['--alter', ...entity, '--add-config', 'retention.ms=7200000'], /TopicAuthorizationException|Authorization failed/);
    assert.match(await ok('configs', L, admin, ['--describe', ...entity]), /retention\.ms=3600000/, 'the refused --alter changed nothing');

    await ok('acls', L, admin, ['--add', '--allow-principal', c.principal, '--operation', 'DescribeConfigs', '--operation', 'AlterConfigs', '--topic', cfgTopic]);
    assert.match(await ok('configs', L, user, ['--alter', ...entity, '--add-config', 'retention.ms=7200000']), new RegExp(`Completed updating config for topic ${cfgTopic}`));
    assert.match(await ok('configs', L, user, ['--describe', ...entity]), /retention\.ms=7200000/);
    assert.match(await ok('configs', L, admin, ['--describe', ...entity]), /retention\.ms=7200000/);
  });
}

const BAD_PASSWORD = /SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/;

test('SASL_SSL: each tool with a wrong password is refused with the SASL authentication error and changes nothing', { timeout: 180_000 }, async (t) => {
  if (skipReason) return t.skip(`needs ${skipReason}`);
  const wrong = await clientConfig(scram('admin', 'wrong-secret'));
  const admin = await clientConfig(scram('admin', 'admin-secret'));
  for (const [name, args] of [
    ['topics', ['--create', '--topic', 'sec-badpw', '--partitions', '1', '--replication-factor', '1']],
    ['acls', ['--add', '--allow-principal', 'User:badpw', '--operation', 'Read', '--topic', 'sec-badpw']],
    ['configs', ['--alter', '--entity-type', 'topics', '--entity-name', 'sec-saslssl-admin', '--add-config', 'retention.ms=1000']],
  ] as const) {
    const r = await refused(name, 'SASL_SSL', wrong, [...args], BAD_PASSWORD);
    assert.ok(r.ms < 30_000, show(r));
  }
  assert.doesNotMatch(await ok('topics', 'SASL_SSL', admin, ['--list']), /sec-badpw/);
  assert.doesNotMatch(await ok('acls', 'SASL_SSL', admin, ['--list']), /User:badpw/);
  assert.doesNotMatch(await ok('configs', 'SASL_SSL', admin, ['--describe', '--entity-type', 'topics', '--entity-name', 'sec-saslssl-admin']), /retention\.ms=1000\b/);
});

test('SASL_SSL: each tool without a SASL login (security.protocol=SSL against the SASL_SSL port) fails within its timeout and changes nothing', { timeout: 180_000 }, async (t) => {
  if (skipReason) return t.skip(`needs ${skipReason}`);
  const noLogin = await clientConfig(mtls(cert.admin));
  const admin = await clientConfig(scram('admin', 'admin-secret'));
  for (const [name, args] of [
    ['topics', ['--create', '--topic', 'sec-nologin', '--partitions', '1', '--replication-factor', '1']],
    ['acls', ['--add', '--allow-principal', 'User:nologin', '--operation', 'Read', '--topic', 'sec-nologin']],
    // (--describe: ConfigCommand's --alter waits 30 s on its own whatever the client's timeouts)
    ['configs', ['--describe', '--entity-type', 'topics', '--entity-name', 'sec-saslssl-admin']],
  ] as const) {
    // The broker closes such a connection (as Kafka does), so the client retries until its
    // timeout: the tool's error is the Admin client's TimeoutException.
    const r = await refused(name, 'SASL_SSL', noLogin, [...args], /TimeoutException: Timed out waiting for a node assignment/);
    assert.ok(r.ms < 30_000, show(r));
  }
  assert.match(broker.output(), /closing connection: not authenticated .*listener=SASL_SSL reason="API key \d+ before authentication on SASL listener SASL_SSL/);
  assert.doesNotMatch(await ok('topics', 'SASL_SSL', admin, ['--list']), /sec-nologin/);
  assert.doesNotMatch(await ok('acls', 'SASL_SSL', admin, ['--list']), /User:nologin/);
});

const otherCa: ToolResult[] = [];

test('mTLS: each tool with a client certificate of another CA is refused, exits non-zero within its timeout and changes nothing', { timeout: 180_000 }, async (t) => {
  if (skipReason) return t.skip(`needs ${skipReason}`);
  const other = await clientConfig(['security.protocol=SSL', ...truststore(), ...keystore(otherKeystore)]);
  const from = broker.output().length;
  for (const [name, args] of [
    ['topics', ['--create', '--topic', 'sec-otherca', '--partitions', '1', '--replication-factor', '1']],
    ['acls', ['--add', '--allow-principal', 'User:otherca', '--operation', 'Read', '--topic', 'sec-otherca']],
    ['configs', ['--describe', '--entity-type', 'topics', '--entity-name', 'sec-ssl-admin']],
  ] as const) {
    // Java offers no certificate the broker's CA list accepts, so it sends none.
    const r = await refused(name, 'SSL', other, [...args], /SslAuthenticationException|TimeoutException: Timed out waiting for a node assignment/);
    assert.ok(r.ms < 30_000, show(r));
    otherCa.push(r);
  }
  assert.match(broker.output().slice(from), /closing connection: TLS handshake failed .*listener=SSL reason="the client sent no certificate; ssl.client.auth=required"/);
  const admin = await clientConfig(mtls(cert.admin));
  assert.doesNotMatch(await ok('topics', 'SSL', admin, ['--list']), /sec-otherca/);
  assert.doesNotMatch(await ok('acls', 'SSL', admin, ['--list']), /User:otherca/);
});

test('mTLS: the tools refused for their certificate report an SSL handshake failure (SslAuthenticationException), as against Kafka', { todo: 'Rivulet completes the TLS 1.3 handshake and then closes the connection without a TLS alert, so the Java client only sees disconnections and times out' }, () => {
  assert.equal(otherCa.length, 3);
  for (const r of otherCa) assert.match(r.out, /SslAuthenticationException: SSL handshake failed/, show(r));
});

test('SASL_SSL without a client certificate: an unprefixed ssl.client.auth does not apply to SASL_SSL listeners (KIP-684)', { timeout: 60_000 }, async (t) => {
  if (skipReason) return t.skip(`needs ${skipReason}`);
  const noCert = await clientConfig(scram('admin', 'admin-secret').filter((p) => !p.startsWith('ssl.keystore.')));
  await ok('topics', 'SASL_SSL', noCert, ['--list']);
});
