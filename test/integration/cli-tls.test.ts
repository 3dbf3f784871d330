// The client commands over TLS: `rivulet topic`, `produce` and `consume` against a broker's
// SSL listener with --tls-ca, RIVULET_* variables or a Kafka client properties file
// (--command-config); mutual TLS with --tls-cert/--tls-key or a PEM keystore; and the
// messages people get when the CA, the host name, the port or the client certificate is wrong.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startBroker, listenerPorts, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/tls-certs.js';
import { runCli as rivulet } from '../helpers/cli.js';

const exec = promisify(execFile);
let certs: TestCerts;
/** PLAINTEXT and SSL listeners, no client certificates. */
let broker: BrokerProcess;
/** SSL only, ssl.client.auth=required. */
let mtls: BrokerProcess;
let plain = '';
let ssl = '';
let mtlsBs = '';

function sslArgs(extra: string[]): string[] {
  return ['--set', `ssl.certificate.location=${certs.serverCertFile}`, '--set', `ssl.key.location=${certs.serverKeyFile}`, ...extra];
}

before(async () => {
  certs = await makeTestCerts();
  broker = await startBroker({ args: sslArgs(['--set', 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0']) });
  const ports = listenerPorts(broker);
  plain = `127.0.0.1:${ports.PLAINTEXT}`;
  ssl = `127.0.0.1:${ports.SSL}`;
  mtls = await startBroker({ args: sslArgs(['--set', 'listeners=SSL://127.0.0.1:0', '--set', `ssl.truststore.location=${certs.caFile}`, '--set', 'ssl.client.auth=required']) });
  mtlsBs = `127.0.0.1:${listenerPorts(mtls).SSL}`;
});

after(async () => {
  await broker?.cleanup();
  await mtls?.cleanup();
  await certs?.cleanup();
});

function props(name: string, lines: string[]): string {
  const file = join(certs.dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

test('topic create and list, produce and consume over SSL with --tls-ca', { timeout: 60_000 }, async () => {
  const tls = ['-b', ssl, '--tls-ca', certs.caFile];
  const c = await rivulet(['topic', 'create', 'tls-cli', '--partitions', '2', ...tls]);
  assert.equal(c.code, 0, c.stderr);
  const l = await rivulet(['topic', 'list', ...tls]);
  assert.equal(l.code, 0, l.stderr);
  assert.ok(l.stdout.split('\n').includes('tls-cli'), l.stdout);

  const p = await rivulet(['produce', 'tls-cli', '--key-separator', ':', ...tls], { input: 'k1:one\nk2:two\nk3:three\n' });
  assert.equal(p.code, 0, p.stderr);
  const r = await rivulet(['consume', 'tls-cli', '--from-beginning', '--format', 'kv', ...tls]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['k1:one', 'k2:two', 'k3:three'].map((s) => s.replace(':', '\t')).sort(), r.stdout);
});

test('the same through RIVULET_* variables, and through a client properties file (--command-config)', { timeout: 60_000 }, async () => {
  const env = await rivulet(['topic', 'list'], { env: { RIVULET_BOOTSTRAP: ssl, RIVULET_SECURITY_PROTOCOL: 'SSL', RIVULET_TLS_CA: certs.caFile } });
  assert.equal(env.code, 0, env.stderr);
  assert.ok(env.stdout.split('\n').includes('tls-cli'), env.stdout);

  const file = props('ssl.properties', ['# as Kafka tools take it', 'security.protocol=SSL', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`]);
  const p = await rivulet(['produce', 'tls-props', '-b', ssl, '--command-config', file], { input: 'a\nb\n' });
  assert.equal(p.code, 0, p.stderr);
  const r = await rivulet(['consume', 'tls-props', '--from-beginning', '-b', ssl, '--command-config', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'a\nb\n');

  // Inline PEM, written on one line with a continuation as Kafka's docs show it.
  const pem = readFileSync(certs.caFile, 'utf8').trim().split('\n');
  const inline = props('inline.properties', ['security.protocol=SSL', `ssl.truststore.certificates=${pem[0]} \\`, `  ${pem.slice(1, -1).join('')} \\`, `  ${pem.at(-1)}`]);
  const i = await rivulet(['topic', 'list', '-b', ssl, '--command-config', inline]);
  assert.equal(i.code, 0, i.stderr);
  assert.ok(i.stdout.split('\n').includes('tls-props'), i.stdout);
});

test('a flag wins over the properties file', async () => {
  // The file names an unrelated CA; --tls-ca names the right one.
  const file = props('wrong-ca.properties', ['security.protocol=SSL', `ssl.truststore.location=${certs.otherCaFile}`]);
  const bad = await rivulet(['topic', 'list', '-b', ssl, '--command-config', file]);
  assert.equal(bad.code, 1, bad.stdout);
  const good = await rivulet(['topic', 'list', '-b', ssl, '--command-config', file, '--tls-ca', certs.caFile]);
  assert.equal(good.code, 0, good.stderr);
});

test('an untrusted broker certificate, a wrong host name, a plaintext port: messages say what to check', async () => {
  const noCa = await rivulet(['topic', 'list', '-b', ssl, '--security-protocol', 'SSL']);
  assert.equal(noCa.code, 1);
  assert.match(noCa.stderr, /^rivulet: TLS: the broker's certificate at 127\.0\.0\.1:\d+ was not accepted \(connecting with SSL\): .*--tls-ca/);

  const wrongName = await rivulet(['topic', 'list', '-b', ssl, '--tls-ca', certs.caFile, '--tls-server-name', 'kafka.example.com']);
  assert.equal(wrongName.code, 1);
  assert.match(wrongName.stderr, /^rivulet: TLS: the broker's certificate does not name the host connected to .*kafka\.example\.com/);
  const skip = await rivulet(['topic', 'list', '-b', ssl, '--tls-ca', certs.caFile, '--tls-server-name', 'kafka.example.com', '--tls-skip-hostname-check']);
  assert.equal(skip.code, 0, skip.stderr);
  // A name the certificate lists (DNS:localhost) is accepted while connecting to 127.0.0.1.
  const named = await rivulet(['topic', 'list', '-b', ssl, '--tls-ca', certs.caFile, '--tls-server-name', 'localhost']);
  assert.equal(named.code, 0, named.stderr);

  const tlsToPlain = await rivulet(['topic', 'list', '-b', plain, '--tls-ca', certs.caFile]);
  assert.equal(tlsToPlain.code, 1);
  assert.match(tlsToPlain.stderr, /^rivulet: TLS handshake refused by 127\.0\.0\.1:\d+ .*not a TLS listener/);

  const plainToTls = await rivulet(['topic', 'list', '-b', ssl]);
  assert.equal(plainToTls.code, 1);
  assert.match(plainToTls.stderr, /closed the connection before answering \(connecting with PLAINTEXT\)\. If that port is an SSL or SASL_SSL listener, connect with TLS/);
});

test('mutual TLS: a client certificate from flags or a PEM keystore is accepted; a missing or foreign one is explained', { timeout: 60_000 }, async () => {
  const flags = await rivulet(['produce', 'mtls-cli', '-b', mtlsBs, '--tls-ca', certs.caFile, '--tls-cert', certs.clientCertFile, '--tls-key', certs.clientKeyFile], { input: 'x\n' });
  assert.equal(flags.code, 0, `${flags.stderr}\n${brokerTail(mtls)}`);

  const keystore = props('mtls.properties', ['security.protocol=SSL', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`, 'ssl.keystore.type=PEM', `ssl.keystore.location=${certs.clientKeystoreFile}`]);
  const ks = await rivulet(['topic', 'list', '-b', mtlsBs, '--command-config', keystore]);
  assert.equal(ks.code, 0, ks.stderr);
  assert.ok(ks.stdout.split('\n').includes('mtls-cli'), ks.stdout);

  const inline = props('mtls-inline.properties', [
    'security.protocol=SSL',
    `ssl.truststore.location=${certs.caFile}`,
    `ssl.keystore.certificate.chain=${readFileSync(certs.clientCertFile, 'utf8').replace(/\n/g, '\\n')}`,
    `ssl.keystore.key=${readFileSync(certs.clientKeyFile, 'utf8').replace(/\n/g, '\\n')}`,
  ]);
  const il = await rivulet(['consume', 'mtls-cli', '--from-beginning', '-b', mtlsBs, '--command-config', inline]);
  assert.equal(il.code, 0, il.stderr);
  assert.equal(il.stdout, 'x\n');

  // An encrypted private key, its password as ssl.key.password.
  await exec('openssl', ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', certs.clientKeyFile, '-out', join(certs.dir, 'client-enc.key'), '-passout', 'pass:key-pass']);
  assert.match(readFileSync(join(certs.dir, 'client-enc.key'), 'utf8'), /ENCRYPTED PRIVATE KEY/);
  const enc = props('mtls-enc.properties', ['security.protocol=SSL', `ssl.truststore.location=${certs.caFile}`, `ssl.keystore.certificate.chain=${readFileSync(certs.clientCertFile, 'utf8').replace(/\n/g, '\\n')}`, `ssl.keystore.key=${readFileSync(join(certs.dir, 'client-enc.key'), 'utf8').replace(/\n/g, '\\n')}`, 'ssl.key.password=key-pass']);
  const e = await rivulet(['topic', 'list', '-b', mtlsBs, '--command-config', enc]);
  assert.equal(e.code, 0, e.stderr);
  const wrongPass = props('mtls-enc-wrong.properties', [...readFileSync(enc, 'utf8').trim().split('\n').slice(0, -1), 'ssl.key.password=nope']);
  const w = await rivulet(['topic', 'list', '-b', mtlsBs, '--command-config', wrongPass]);
  assert.equal(w.code, 1, w.stdout);
  assert.match(w.stderr, /^rivulet: TLS: the client's private key could not be decrypted with the password given: check the key password/);
  const noPass = props('mtls-enc-none.properties', readFileSync(enc, 'utf8').trim().split('\n').slice(0, -1));
  const n = await rivulet(['topic', 'list', '-b', mtlsBs, '--command-config', noPass]);
  assert.equal(n.code, 2, n.stdout);
  assert.match(n.stderr, /the client's private key is encrypted: give its password as ssl\.key\.password in --command-config or RIVULET_TLS_KEY_PASSWORD/);
  const viaEnv = await rivulet(['topic', 'list', '-b', mtlsBs, '--command-config', noPass], { env: { RIVULET_TLS_KEY_PASSWORD: 'key-pass' } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);

  const none = await rivulet(['topic', 'list', '-b', mtlsBs, '--tls-ca', certs.caFile]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /requires a client certificate.*give a client certificate and its key/);

  const foreign = await rivulet(['topic', 'list', '-b', mtlsBs, '--tls-ca', certs.caFile, '--tls-cert', certs.otherClientCertFile, '--tls-key', certs.otherClientKeyFile]);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /did not accept the client certificate/);
});

test('unsupported settings and incomplete options are usage errors that say what to use instead', async () => {
  const jks = props('jks.properties', ['security.protocol=SSL', 'ssl.truststore.type=JKS', 'ssl.truststore.location=/nonexistent/truststore.jks']);
  const r1 = await rivulet(['topic', 'list', '-b', ssl, '--command-config', jks]);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /ssl\.truststore\.type in .* is JKS: only PEM truststores are supported.*keytool -exportcert -rfc/);

  const krb = props('krb.properties', ['security.protocol=SASL_SSL', 'sasl.mechanism=GSSAPI']);
  const r2 = await rivulet(['topic', 'list', '-b', ssl, '--command-config', krb]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /GSSAPI \(Kerberos\) is not supported by this client: use SCRAM-SHA-512 or PLAIN over SASL_SSL/);

  const certOnly = await rivulet(['topic', 'list', '-b', ssl, '--tls-cert', certs.clientCertFile]);
  assert.equal(certOnly.code, 2);
  assert.match(certOnly.stderr, /give both --tls-cert and --tls-key/);

  const noPassword = await rivulet(['topic', 'list', '-b', ssl, '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'alice']);
  assert.equal(noPassword.code, 2);
  assert.match(noPassword.stderr, /SCRAM-SHA-512 needs the password of "alice": give --sasl-password-file FILE \(or set RIVULET_SASL_PASSWORD\)/);

  const mismatch = await rivulet(['topic', 'list', '-b', ssl, '--security-protocol', 'PLAINTEXT', '--tls-ca', certs.caFile]);
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.stderr, /TLS options were given but --security-protocol is PLAINTEXT/);

  const missing = await rivulet(['topic', 'list', '-b', ssl, '--tls-ca', join(certs.dir, 'nope.pem')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read --tls-ca ".*nope\.pem": no such file/);
});

test('every client command takes the security options (--help)', async () => {
  for (const cmd of [['topic', 'list'], ['topic', 'create'], ['produce'], ['consume'], ['group', 'list'], ['txn', 'list'], ['bench', 'produce']]) {
    const h = await rivulet([...cmd, '--help']);
    assert.equal(h.code, 0, h.stderr);
    for (const flag of ['--security-protocol', '--tls-ca', '--tls-cert', '--tls-key', '--sasl-mechanism', '--sasl-username', '--sasl-password-file', '--command-config']) {
      assert.ok(h.stdout.includes(flag), `${cmd.join(' ')} --help lacks ${flag}`);
    }
  }
});
