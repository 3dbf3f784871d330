// The chart's TLS, SASL and ACL values: every scenario keeps the security policies of
// security-policy.ts; the secured scenarios render what they promise (listeners, a
// cert-manager Certificate, the users' init container, the ACL Job); and each policy, the
// chart's own checks and the values schema turn red on a bad input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render, scenarios, toolsOrSkip, type Doc } from './lib.js';
import { brokerListeners, brokerSettings, checkSecurity } from './security-policy.js';

const sts = (docs: Doc[]): any => docs.find((d) => d.object.kind === 'StatefulSet')!.object;
const podOf = (docs: Doc[]): any => sts(docs).spec.template.spec;
const broker = (docs: Doc[]): any => podOf(docs).containers[0];
const kind = (docs: Doc[], k: string): any[] => docs.filter((d) => d.object.kind === k).map((d) => d.object);

function reports(violations: string[], pattern: RegExp): void {
  assert.ok(violations.some((v) => pattern.test(v)), `expected a violation matching ${pattern}, got:\n${violations.join('\n') || '(none)'}`);
}

function refuses(set: string[], pattern: RegExp, scenario = 'default'): void {
  assert.throws(() => render(scenario, { set }), (e: Error) => pattern.test(e.message), `helm template --set ${set.join(',')} should fail with ${pattern}`);
}

test('every scenario keeps the security policies', (t) => {
  if (!toolsOrSkip(t)) return;
  for (const s of scenarios()) assert.deepEqual(checkSecurity(render(s)), [], `scenario ${s}`);
});

test('secure scenario: SASL_SSL listener, loopback PLAINTEXT for tools, cert-manager Certificate, users and ACLs', (t) => {
  if (!toolsOrSkip(t)) return;
  const docs = render('secure-values.yaml');
  const settings = brokerSettings(broker(docs).args);
  assert.deepEqual(brokerListeners(settings), [
    { name: 'SASL_SSL', protocol: 'SASL_SSL', host: '0.0.0.0', port: 9093 },
    { name: 'LOCAL', protocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092 },
  ]);
  assert.equal(settings.get('sasl.enabled.mechanisms'), 'SCRAM-SHA-512,PLAIN,OAUTHBEARER');
  assert.equal(settings.get('sasl.oauthbearer.jwks.endpoint.url'), 'https://idp.example.com/.well-known/jwks.json');
  assert.equal(settings.get('sasl.oauthbearer.expected.audience'), 'rivulet');
  assert.equal(settings.get('authorizer.class.name'), 'org.apache.kafka.metadata.authorizer.StandardAuthorizer');
  assert.equal(settings.get('super.users'), 'User:admin');
  assert.deepEqual(broker(docs).ports.map((p: any) => p.containerPort), [9093, 9644], 'the loopback listener has no container port');
  const adv = broker(docs).env.find((e: any) => e.name === 'RIVULET_ADVERTISED_LISTENERS').value;
  assert.equal(adv, 'SASL_SSL://$(POD_NAME).rv-rivulet-headless.$(POD_NAMESPACE).svc.cluster.local:9093,LOCAL://127.0.0.1:9092');

  const [cert] = kind(docs, 'Certificate');
  assert.ok(cert, 'a cert-manager Certificate is rendered');
  assert.deepEqual(cert.spec.issuerRef, { name: 'internal-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
  assert.equal(cert.spec.secretName, 'rv-rivulet-tls');
  assert.ok(cert.spec.dnsNames.includes('kafka.example.com'));
  const tlsVol = podOf(docs).volumes.find((v: any) => v.name === 'tls');
  assert.equal(tlsVol.secret.secretName, 'rv-rivulet-tls');

  const init = podOf(docs).initContainers.find((c: any) => c.name === 'scram-users');
  const script: string = init.command.join('\n');
  assert.match(script, /storage add-scram -d \/var\/lib\/rivulet --password-file '\/etc\/rivulet\/users\/admin' 'SCRAM-SHA-512=\[name=admin,iterations=8192\]'/);
  assert.match(script, /--password-file '\/etc\/rivulet\/users\/orders-app' 'SCRAM-SHA-512=\[name=orders-app,iterations=8192\]'/);
  const users = podOf(docs).volumes.find((v: any) => v.name === 'scram-users');
  assert.deepEqual(users.secret.items.map((i: any) => i.key), ['admin', 'orders-app']);
  assert.ok(!broker(docs).volumeMounts.some((m: any) => m.name === 'scram-users'), 'the broker itself does not mount the passwords');

  const [job] = kind(docs, 'Job');
  assert.ok(job, 'the ACL Job is rendered');
  assert.equal(job.metadata.annotations['helm.sh/hook'], 'post-install,post-upgrade');
  const jobScript: string = job.spec.template.spec.containers[0].command.join('\n');
  assert.match(jobScript, /rivulet\.js 'acl' 'add' '--allow-principal' 'User:orders-app' '--producer' '--topic' 'orders' '--resource-pattern-type' 'literal' '--host' '\*'/);
  assert.match(jobScript, /'--allow-principal' 'User:analytics' '--operation' 'Read' '--operation' 'Describe' '--topic' 'metrics-' '--resource-pattern-type' 'prefixed'/);
  const env = Object.fromEntries(job.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
  assert.deepEqual(env, {
    RIVULET_BOOTSTRAP: 'rv-rivulet.streaming.svc.cluster.local:9093',
    RIVULET_SECURITY_PROTOCOL: 'SASL_SSL',
    RIVULET_SASL_MECHANISM: 'SCRAM-SHA-512',
    RIVULET_SASL_USERNAME: 'admin',
    RIVULET_SASL_PASSWORD_FILE: '/etc/rivulet/users/admin',
    RIVULET_TLS_CA: '/etc/rivulet/tls/ca.crt',
  });
});

test('TLS from an existing Secret with mutual TLS: SSL listeners, no Certificate, the extra listener on the Services', (t) => {
  if (!toolsOrSkip(t)) return;
  const docs = render('tls-existing-secret-values.yaml');
  const settings = brokerSettings(broker(docs).args);
  assert.deepEqual(brokerListeners(settings).map((l) => `${l.name}:${l.protocol}:${l.port}`), ['SSL:SSL:9093', 'REPLICATION_TOOLS:SSL:9094']);
  assert.equal(settings.get('ssl.client.auth'), 'required');
  assert.equal(settings.get('ssl.truststore.location'), '/etc/rivulet/tls/ca.crt');
  assert.equal(kind(docs, 'Certificate').length, 0);
  assert.equal(podOf(docs).volumes.find((v: any) => v.name === 'tls').secret.secretName, 'rivulet-tls');
  const svc = kind(docs, 'Service').find((s) => s.metadata.name === 'rv-rivulet');
  assert.deepEqual(svc.spec.ports.map((p: any) => `${p.name}:${p.port}->${p.targetPort}`), ['kafka:9093->kafka', 'http:9644->http', 'replication-too:9094->replication-too']);
});

test('security policies turn red', async (t) => {
  if (!toolsOrSkip(t)) return;

  await t.test('a PLAINTEXT listener on every address, with a container and Service port, while auth is on', () => {
    const docs = render('secure-values.yaml');
    const args: string[] = broker(docs).args;
    const i = args.findIndex((a) => a.startsWith('listeners='));
    args[i] = args[i]!.replace('LOCAL://127.0.0.1:9092', 'LOCAL://0.0.0.0:9092');
    broker(docs).ports.push({ name: 'local', containerPort: 9092, protocol: 'TCP' });
    kind(docs, 'Service')[0].spec.ports.push({ name: 'local', port: 9092, targetPort: 'local' });
    const v = checkSecurity(docs);
    reports(v, /listener LOCAL \(PLAINTEXT\) on 0\.0\.0\.0:9092 serves clients without authentication/);
    reports(v, /container port local \(9092\) exposes the PLAINTEXT listener LOCAL/);
    reports(v, /Service\/rv-rivulet.* port local leads to the PLAINTEXT listener LOCAL/);
  });

  await t.test('an SSL listener without required client certificates counts as unauthenticated', () => {
    const docs = render('secure-values.yaml');
    const args: string[] = broker(docs).args;
    const i = args.findIndex((a) => a.startsWith('listener.security.protocol.map='));
    args[i] = args[i]!.replace('SASL_SSL:SASL_SSL', 'SASL_SSL:SSL');
    reports(checkSecurity(docs), /listener SASL_SSL \(SSL\) on 0\.0\.0\.0:9093 serves clients without authentication/);
  });

  await t.test('passwords in arguments, in env from a Secret, in a literal env, in a ConfigMap; a rendered Secret', () => {
    const docs = render('secure-values.yaml');
    broker(docs).args.push('--set', 'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=x required username="a" password="b";');
    broker(docs).env.push({ name: 'ADMIN_PW', valueFrom: { secretKeyRef: { name: 'rivulet-users', key: 'admin' } } });
    kind(docs, 'Job')[0].spec.template.spec.containers[0].env.push({ name: 'RIVULET_SASL_PASSWORD', value: 'hunter2' });
    docs.push({ source: 'x', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'client' }, data: { 'client.properties': 'sasl.jaas.config=... password="hunter2";' } } });
    docs.push({ source: 'y', object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'users' }, stringData: { admin: 'hunter2' } } });
    const v = checkSecurity(docs);
    reports(v, /StatefulSet\/rv-rivulet container broker: a password or key in its command line/);
    reports(v, /container broker: env ADMIN_PW comes from Secret rivulet-users/);
    reports(v, /Job\/rv-rivulet-acls container acls: env RIVULET_SASL_PASSWORD holds a secret in the manifest/);
    reports(v, /ConfigMap\/client: key client\.properties carries a password/);
    reports(v, /Secret\/users is rendered by the chart/);
  });

  await t.test('TLS material or passwords mounted writable or world-readable; the certificate outside a Secret mount', () => {
    const docs = render('secure-values.yaml');
    broker(docs).volumeMounts.find((m: any) => m.name === 'tls').readOnly = false;
    podOf(docs).initContainers[0].volumeMounts.find((m: any) => m.name === 'scram-users').readOnly = undefined;
    podOf(docs).volumes.find((v: any) => v.name === 'scram-users').secret.defaultMode = 0o444;
    const v = checkSecurity(docs);
    reports(v, /container broker: Secret volume tls is mounted writable at \/etc\/rivulet\/tls/);
    reports(v, /container scram-users: Secret volume scram-users is mounted writable/);
    reports(v, /Secret volume scram-users is world-readable \(defaultMode 444\)/);
    reports(v, /ssl\.certificate\.location \(\/etc\/rivulet\/tls\/tls\.crt\) is not under a read-only Secret mount of the broker/);
  });

  await t.test('a Certificate whose Secret the broker does not mount, or that misses the pods\' names', () => {
    const docs = render('secure-values.yaml');
    const cert = kind(docs, 'Certificate')[0];
    cert.spec.secretName = 'elsewhere';
    cert.spec.dnsNames = cert.spec.dnsNames.filter((n: string) => !n.startsWith('*.'));
    const v = checkSecurity(docs);
    reports(v, /Certificate\/rv-rivulet writes Secret elsewhere, which the broker does not mount/);
    reports(v, /Certificate\/rv-rivulet does not name \*\.rv-rivulet-headless\.streaming\.svc\./);
  });

  await t.test('the chart refuses insecure or incomplete values with what to do', () => {
    refuses(['tls.enabled=true'], /tls\.enabled needs a certificate: set tls\.existingSecret/);
    refuses(['tls.enabled=true', 'tls.certManager.enabled=true'], /needs tls\.certManager\.issuerRef\.name/);
    refuses(['auth.enabled=true', 'auth.mechanisms={PLAIN}'], /PLAIN, which sends the password itself: enable tls/);
    refuses(['auth.enabled=true', 'auth.users[0].name=admin'], /auth\.users needs auth\.usersSecret/);
    refuses(['auth.oauthbearer.jwksEndpointUrl='], /auth\.mechanisms has OAUTHBEARER: set auth\.oauthbearer\.jwksEndpointUrl/, 'secure-values.yaml');
    refuses(['auth.mechanisms={OAUTHBEARER}'], /applied by a Job that logs in as auth\.adminUser with SCRAM or PLAIN/, 'secure-values.yaml');
    refuses(['auth.adminUser=bob'], /auth\.adminUser bob is not in auth\.users/, 'secure-values.yaml');
    refuses(['listeners.extra[0].host=0.0.0.0'], /listeners\.extra LOCAL is PLAINTEXT on 0\.0\.0\.0 while auth\.enabled/, 'secure-values.yaml');
    refuses(['listeners.extra[0].name=X', 'listeners.extra[0].port=9095', 'listeners.extra[0].protocol=SSL', 'listeners.extra[0].host=0.0.0.0'], /listeners\.extra X is SSL: it needs tls\.enabled/);
  });

  await t.test('the values schema rejects malformed security values', () => {
    refuses(['tls.clientAuth=maybe'], /tls\/clientAuth|clientAuth/);
    refuses(['auth.users[0].name=o\'brien'], /users\/0\/name|does not match pattern/, 'secure-values.yaml');
    refuses(['auth.acls[0].operations={Read}'], /acls\/0/, 'secure-values.yaml');
    refuses(['auth.mechanisms={GSSAPI}'], /mechanisms\/0/);
    refuses(['config.listeners=PLAINTEXT://0.0.0.0:9092'], /config/);
  });
});
