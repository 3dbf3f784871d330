// src/client/security.ts: Java properties files as Kafka's tools read them, JAAS entries,
// PEM written on one line, and how flags, the environment and a properties file resolve into
// one connection security (with errors that say what to use instead).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { ClientError, ClientErrorCode, explainError } from '../../../src/client/errors.js';
import { parseJaasConfig, parseProperties, pemBlocks, resolveSecurity, securityClientOptions, describeSecurity } from '../../../src/client/security.js';

let dir: string;
let keyPem: string;
// Not a real certificate: resolution only checks that PEM blocks are there (Node parses them when connecting).
const CERT = '-----BEGIN CERTIFICATE-----\nTUlJQmZha2VjZXJ0aWZpY2F0ZWJ5dGVz\n-----END CERTIFICATE-----\n';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rivulet-sec-'));
  keyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(join(dir, 'ca.pem'), CERT);
  writeFileSync(join(dir, 'client.pem'), CERT);
  writeFileSync(join(dir, 'client.key'), keyPem);
  writeFileSync(join(dir, 'keystore.pem'), keyPem + CERT);
  writeFileSync(join(dir, 'password'), 's3cret\n');
  writeFileSync(join(dir, 'empty'), '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

const invalid = (re: RegExp) => (e: unknown) => e instanceof ClientError && e.code === ClientErrorCode.invalidArgument && re.test(e.message);

test('properties: separators, comments, continuations and escapes as java.util.Properties reads them', () => {
  const p = parseProperties([
    '# comment',
    '! also a comment',
    'a=1',
    'b : 2',
    'c 3',
    '  d=with spaces  ',
    'e=one \\',
    '    two',
    'f=tab\\there\\u0041',
    'g\\=key=v',
    'h=',
    'a=last wins',
  ].join('\n'));
  assert.deepEqual(Object.fromEntries(p), { a: 'last wins', b: '2', c: '3', d: 'with spaces  ', e: 'one two', f: 'tab\thereA', 'g=key': 'v', h: '' });
});

test('JAAS entries: ScramLoginModule and PlainLoginModule options, quoted or bare; junk is refused', () => {
  const j = parseJaasConfig('org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="p;a\\"ss w";');
  assert.equal(j.loginModule, 'org.apache.kafka.common.security.scram.ScramLoginModule');
  assert.deepEqual(Object.fromEntries(j.options), { username: 'alice', password: 'p;a"ss w' });
  assert.deepEqual(Object.fromEntries(parseJaasConfig('org.apache.kafka.common.security.plain.PlainLoginModule required username=bob password=pw;').options), { username: 'bob', password: 'pw' });
  assert.throws(() => parseJaasConfig('username="alice"'), invalid(/not a JAAS entry/));
  assert.throws(() => parseJaasConfig('x.ScramLoginModule required username="alice" garbage'), invalid(/cannot read the options/));
});

test('PEM written on one line (Kafka inline PEM) is re-wrapped into PEM Node reads', () => {
  const oneLine = keyPem.trim().split('\n').join(' ');
  const [b] = pemBlocks(oneLine);
  assert.equal(b!.label, 'PRIVATE KEY');
  assert.equal(b!.pem, keyPem);
});

test('a properties file resolves to TLS and SASL options; flags win over it', () => {
  const f = file('client.properties', [
    'security.protocol=SASL_SSL',
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${join(dir, 'ca.pem')}`,
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${join(dir, 'keystore.pem')}`,
    'ssl.key.password=kp',
    'ssl.endpoint.identification.algorithm=',
    'sasl.mechanism=SCRAM-SHA-512',
    'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\',
    '  username="alice" password="from-file";',
    'bootstrap.servers=ignored:9092',
  ].join('\n'));
  const s = resolveSecurity({ commandConfig: f });
  assert.equal(s.protocol, 'SASL_SSL');
  assert.equal(s.tls?.ca, CERT);
  assert.equal(s.tls?.cert, CERT);
  assert.equal(s.tls?.key, keyPem);
  assert.equal(s.tls?.passphrase, 'kp');
  assert.equal(s.tls?.checkHostname, false);
  assert.deepEqual(s.sasl, { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'from-file' });
  assert.equal(describeSecurity(s), 'SASL_SSL, SCRAM-SHA-512 as alice');
  const o = securityClientOptions(s);
  assert.equal(o.tls?.ca, CERT);
  assert.equal(typeof o.tls?.checkServerIdentity, 'function');
  assert.equal(o.sasl?.password, 'from-file');

  const flags = resolveSecurity({ commandConfig: f, saslMechanism: 'scram-sha-256', saslUsername: 'bob', saslPasswordFile: join(dir, 'password') });
  assert.deepEqual(flags.sasl, { mechanism: 'SCRAM-SHA-256', username: 'bob', password: 's3cret' });
  // The environment's password wins over the file's; a password file wins over both.
  assert.equal(resolveSecurity({ commandConfig: f, saslPassword: 'env' }).sasl?.password, 'env');
  assert.equal(resolveSecurity({ commandConfig: f, saslPassword: 'env', saslPasswordFile: join(dir, 'password') }).sasl?.password, 's3cret');
});

test('the protocol follows from the options when not given; PLAINTEXT adds nothing to the client options', () => {
  assert.equal(resolveSecurity({}).protocol, 'PLAINTEXT');
  assert.deepEqual(securityClientOptions(resolveSecurity({})), {});
  assert.equal(resolveSecurity({ tlsCa: join(dir, 'ca.pem') }).protocol, 'SSL');
  assert.equal(resolveSecurity({ saslMechanism: 'PLAIN', saslUsername: 'a', saslPassword: 'p' }).protocol, 'SASL_PLAINTEXT');
  assert.equal(resolveSecurity({ tlsCa: join(dir, 'ca.pem'), saslMechanism: 'PLAIN', saslUsername: 'a', saslPassword: 'p' }).protocol, 'SASL_SSL');
  assert.deepEqual(resolveSecurity({ securityProtocol: 'ssl' }).tls, { ca: undefined, cert: undefined, key: undefined, passphrase: undefined, serverName: undefined, checkHostname: true });
  const tok = resolveSecurity({ securityProtocol: 'SASL_SSL', saslMechanism: 'OAUTHBEARER', saslTokenFile: join(dir, 'password') });
  assert.equal(tok.sasl?.token?.(), 's3cret');
});

test('unsupported stores and mechanisms, and incomplete options, are refused with what to do instead', () => {
  assert.throws(() => resolveSecurity({ commandConfig: file('jks.properties', 'ssl.truststore.type=JKS\n') }), invalid(/only PEM truststores are supported.*keytool/));
  assert.throws(() => resolveSecurity({ commandConfig: file('p12.properties', 'ssl.keystore.type=PKCS12\n') }), invalid(/only PEM keystores.*openssl pkcs12/));
  assert.throws(() => resolveSecurity({ commandConfig: file('krb.properties', 'security.protocol=SASL_SSL\nsasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;\n') }), invalid(/Kerberos.*use SCRAM-SHA-512 or PLAIN over SASL_SSL/));
  assert.throws(() => resolveSecurity({ securityProtocol: 'SASL_SSL', saslMechanism: 'GSSAPI' }), invalid(/GSSAPI \(Kerberos\) is not supported/));
  assert.throws(() => resolveSecurity({ commandConfig: file('oidc.properties', 'sasl.oauthbearer.token.endpoint.url=https://idp/token\n') }), invalid(/--sasl-token-file/));
  assert.throws(() => resolveSecurity({ securityProtocol: 'TLS' }), invalid(/must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, not "TLS"/));
  assert.throws(() => resolveSecurity({ securityProtocol: 'SASL_SSL' }), invalid(/SASL_SSL needs a SASL mechanism/));
  assert.throws(() => resolveSecurity({ saslMechanism: 'PLAIN' }), invalid(/PLAIN needs a username/));
  assert.throws(() => resolveSecurity({ saslMechanism: 'OAUTHBEARER' }), invalid(/OAUTHBEARER needs a token/));
  assert.throws(() => resolveSecurity({ tlsKey: join(dir, 'client.key') }), invalid(/needs its key: give both/));
  assert.throws(() => resolveSecurity({ securityProtocol: 'SSL', saslUsername: 'a' }), invalid(/SASL options were given but security\.protocol is SSL: use SASL_SSL/));
  assert.throws(() => resolveSecurity({ tlsCa: join(dir, 'client.key') }), invalid(/holds no PEM certificate/));
  assert.throws(() => resolveSecurity({ saslMechanism: 'PLAIN', saslUsername: 'a', saslPasswordFile: join(dir, 'empty') }), invalid(/is empty/));
});

test('a password is never echoed, never sent as another user, and a lone token is not ignored', () => {
  // An unreadable JAAS option names the option, not what follows its "=".
  assert.throws(() => parseJaasConfig('x.ScramLoginModule required username="alice" password="hunter2-secret;'), (e: unknown) => invalid(/cannot read the options .*from option "password" on/)(e) && !(e as Error).message.includes('hunter2'));
  const f = file('alice.properties', 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=x.PlainLoginModule required username="alice" password="alice-pw";\n');
  assert.throws(() => resolveSecurity({ commandConfig: f, saslUsername: 'bob' }), invalid(/names "bob", but the password in .* is "alice"'s/));
  assert.deepEqual(resolveSecurity({ commandConfig: f, saslUsername: 'alice' }).sasl, { mechanism: 'PLAIN', username: 'alice', password: 'alice-pw' });
  assert.throws(() => resolveSecurity({ saslTokenFile: join(dir, 'password') }), invalid(/needs a SASL mechanism/));
});

test('explanations of SASL and authorization failures inside library errors (causes and nested errors)', () => {
  const saslFailed = Object.assign(new Error('Connection to 127.0.0.1:9 failed.'), {
    code: 'PLT_KFK_NETWORK',
    cause: Object.assign(new Error('SASL authentication failed.'), {
      code: 'PLT_KFK_AUTHENTICATION',
      cause: Object.assign(new Error('Received response with error while executing API'), { errors: [Object.assign(new Error('SASL Authentication failed.'), { apiId: 'SASL_AUTHENTICATION_FAILED', serverErrorMessage: 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512' })] }),
    }),
  });
  const m = explainError(Object.assign(new Error('Cannot connect to any broker.'), { errors: [saslFailed] }), '127.0.0.1:9', { security: 'SASL_SSL, SCRAM-SHA-512 as alice', sasl: 'Check the password.' });
  assert.equal(m, 'SASL authentication failed (SASL_AUTHENTICATION_FAILED) (connecting with SASL_SSL, SCRAM-SHA-512 as alice): Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512. Check the username, the password and the mechanism: the user needs credentials for that mechanism on the cluster. Check the password.');
  const denied = Object.assign(new Error('x'), { errors: [Object.assign(new Error('Topic authorization failed.'), { apiId: 'TOPIC_AUTHORIZATION_FAILED' })] });
  assert.match(explainError(denied, 'b:1', { authorization: 'Ask for rivulet acl add.' }), /^not authorized \(TOPIC_AUTHORIZATION_FAILED\): the principal has no ACL allowing this on the topic\. Ask for rivulet acl add\.$/);
});
