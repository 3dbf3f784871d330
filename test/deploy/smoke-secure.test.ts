// Runs the secured scenario (ci/secure-values.yaml: SASL_SSL, SCRAM users, ACLs) as a pod
// would: the init container's script writes the users from the "Secret" files, the broker
// container starts with the rendered command, args and env, then the ACL Job's script runs
// (twice: it must converge) with its own env; the application user then produces and
// consumes over SASL_SSL as the ACLs allow, and is denied elsewhere.
//
// Substitutions, and only these, because the processes run on this machine: the JWKS URL is a
// file of a key the test signs tokens with (the scenario names an https endpoint); the mount paths
// (/var/lib/rivulet, /etc/rivulet/tls, /etc/rivulet/users) become temporary directories
// holding a test CA's certificate and the users' passwords; /app becomes this checkout and
// `node` this node; the cluster DNS names (the pod's advertised name, the client Service)
// become localhost, which the test certificate names. Ports are chosen free at render time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { render, repoRoot, toolsOrSkip } from './lib.js';
import { makeTestCerts } from '../helpers/tls-certs.js';
import { claimsAt, jwksOf, makeSigningKey, signJwt } from '../helpers/jwt.js';
import { pathToFileURL } from 'node:url';
import { closedPort, runCli as rivulet } from '../helpers/cli.js';

interface Run {
  code: number | null;
  out: string;
}

function run(argv: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', (code) => resolve({ code, out }));
  });
}

test('smoke: the secured scenario runs as rendered: users from files, SASL_SSL, ACLs applied by the Job', { timeout: 180_000 }, async (t) => {
  if (!toolsOrSkip(t)) return;
  const [kafkaPort, localPort, httpPort] = [await closedPort(), await closedPort(), await closedPort()];
  const certs = await makeTestCerts();
  const root = certs.dir;
  // The identity provider's keys as a file (the scenario names an https JWKS; tests stay on this machine).
  const idpKey = makeSigningKey('idp-1');
  writeFileSync(join(root, 'jwks.json'), jwksOf(idpKey));
  const docs = render('secure-values.yaml', { set: [`listeners.kafka.port=${kafkaPort}`, `listeners.extra[0].port=${localPort}`, `listeners.http.port=${httpPort}`, `auth.oauthbearer.jwksEndpointUrl=${pathToFileURL(join(root, 'jwks.json')).href}`] });
  const sts = docs.find((d) => d.object.kind === 'StatefulSet')!.object;
  const pod = sts.spec.template.spec;
  const job = docs.find((d) => d.object.kind === 'Job')!.object.spec.template.spec.containers[0];

  const paths: Record<string, string> = {
    '/var/lib/rivulet': join(root, 'data'),
    '/etc/rivulet/tls': join(root, 'secret-tls'),
    '/etc/rivulet/users': join(root, 'secret-users'),
    '/app/': `${repoRoot}/`,
  };
  for (const d of [paths['/var/lib/rivulet']!, paths['/etc/rivulet/tls']!, paths['/etc/rivulet/users']!]) mkdirSync(d, { recursive: true });
  // The Secrets as the kubelet would project them: a kubernetes.io/tls Secret with ca.crt, and the users' passwords.
  copyFileSync(certs.serverCertFile, join(paths['/etc/rivulet/tls']!, 'tls.crt'));
  copyFileSync(certs.serverKeyFile, join(paths['/etc/rivulet/tls']!, 'tls.key'));
  copyFileSync(certs.caFile, join(paths['/etc/rivulet/tls']!, 'ca.crt'));
  writeFileSync(join(paths['/etc/rivulet/users']!, 'admin'), 'admin-secret\n');
  writeFileSync(join(paths['/etc/rivulet/users']!, 'orders-app'), 'orders-secret\n');

  const podName = `${sts.metadata.name}-0`;
  const fixed: Record<string, string> = { POD_NAME: podName, POD_NAMESPACE: sts.metadata.namespace, HOST_IP: '127.0.0.1' };
  const clusterNames = [/\$\(POD_NAME\)\.[a-z0-9-]+\.\$\(POD_NAMESPACE\)\.svc\.cluster\.local/g, /[a-z0-9-]+\.streaming\.svc\.cluster\.local/g];
  const local = (s: string): string => {
    let out = s;
    for (const re of clusterNames) out = out.replace(re, 'localhost');
    for (const [from, to] of Object.entries(paths)) out = out.split(from).join(to);
    return out.replace(/\$\((\w+)\)/g, (all, n: string) => fixed[n] ?? all);
  };
  const baseEnv = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  const containerEnv = (c: any): Record<string, string> => {
    const env: Record<string, string> = { ...baseEnv };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = local(String(e.value));
      else if (e.valueFrom?.fieldRef) env[e.name] = { 'metadata.name': podName, 'metadata.namespace': fixed.POD_NAMESPACE!, 'status.hostIP': '127.0.0.1' }[e.valueFrom.fieldRef.fieldPath as string]!;
    }
    return env;
  };
  const argvOf = (c: any): string[] => [...c.command, ...(c.args ?? [])].map((a: string) => local(String(a))).map((a, i) => (i === 0 && a === 'node' ? process.execPath : a));

  // 1. The init container: users from the mounted password files.
  const init = pod.initContainers.find((c: any) => c.name === 'scram-users');
  const i = await run(argvOf(init), containerEnv(init));
  assert.equal(i.code, 0, `init container:\n${i.out}`);
  assert.match(i.out, /SCRAM-SHA-512 credential of admin stored/);
  assert.doesNotMatch(i.out, /admin-secret|orders-secret/);

  // 2. The broker container.
  const c = pod.containers[0];
  const child = spawn(argvOf(c)[0]!, argvOf(c).slice(1), { cwd: repoRoot, env: containerEnv(c), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  try {
    const deadline = Date.now() + 30_000;
    let status = 0;
    while (Date.now() < deadline && child.exitCode === null) {
      status = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.status, () => 0);
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, `the broker did not become ready:\n${out}`);
    assert.match(out, new RegExp(`listeners=SASL_SSL://0\\.0\\.0\\.0:${kafkaPort},LOCAL://127\\.0\\.0\\.1:${localPort}`));

    // 3. The ACL Job, twice: adding existing ACLs changes nothing.
    for (const round of [1, 2]) {
      const j = await run(argvOf(job), containerEnv(job));
      assert.equal(j.code, 0, `ACL Job run ${round}:\n${j.out}\nbroker:\n${out.slice(-3000)}`);
      assert.match(j.out, /added: Allow User:orders-app Write on Topic orders/);
    }

    // 4. The application user, as the ACLs allow (and no further).
    const app = ['-b', `localhost:${kafkaPort}`, '--tls-ca', certs.caFile, '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'orders-app', '--sasl-password-file', join(paths['/etc/rivulet/users']!, 'orders-app')];
    const p = await rivulet(['produce', 'orders', ...app], { input: 'a\nb\n' });
    assert.equal(p.code, 0, `${p.stderr}\n${out.slice(-2000)}`);
    const r = await rivulet(['consume', 'orders', '--from-beginning', ...app]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'a\nb\n');
    // The consumer group the ACLs name (Read on group orders-app) can be joined.
    const g = await rivulet(['consume', 'orders', '--from-beginning', '--group', 'orders-app', ...app]);
    assert.equal(g.code, 0, g.stderr);
    const other = await rivulet(['consume', 'orders', '--from-beginning', '--group', 'not-granted', ...app]);
    assert.equal(other.code, 1, other.stdout);
    assert.match(other.stderr, /GROUP_AUTHORIZATION_FAILED/);
    const denied = await rivulet(['produce', 'payments', ...app], { input: 'x\n' });
    assert.equal(denied.code, 1, denied.stdout);
    assert.match(denied.stderr, /AUTHORIZATION_FAILED/);
    const plain = await rivulet(['topic', 'list', '-b', `localhost:${kafkaPort}`, '--tls-ca', certs.caFile, '--sasl-mechanism', 'PLAIN', '--sasl-username', 'orders-app'], { env: { RIVULET_SASL_PASSWORD: 'wrong' } });
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /SASL authentication failed \(SASL_AUTHENTICATION_FAILED\)/);

    // OAUTHBEARER with a token of the provider the values name (issuer, audience), principal User:orders-app.
    const tokenFile = join(root, 'token');
    writeFileSync(tokenFile, signJwt(idpKey, claimsAt(Date.now(), { iss: 'https://idp.example.com/', aud: 'rivulet', sub: 'orders-app' })));
    const o = await rivulet(['consume', 'orders', '--from-beginning', '-b', `localhost:${kafkaPort}`, '--tls-ca', certs.caFile, '--sasl-mechanism', 'OAUTHBEARER', '--sasl-token-file', tokenFile]);
    assert.equal(o.code, 0, `${o.stderr}\n${out.slice(-2000)}`);
    assert.equal(o.stdout, 'a\nb\n');

    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(root, { recursive: true, force: true });
  }
});
