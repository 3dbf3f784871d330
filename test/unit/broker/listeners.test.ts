// Listener settings (listeners, advertised.listeners, listener.security.protocol.map), the
// PEM-only keystore names, and ssl.principal.mapping.rules with the cases of Kafka's own
// SslPrincipalMapperTest.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBrokerConfig, ConfigError } from '../../../src/broker/settings.js';
import { resolveListeners, principalMapper, saslMechanismsOf, clientAuthOf } from '../../../src/broker/listeners.js';

const load = (flags: Record<string, string>) => loadBrokerConfig({ flags, env: {} });
const ssl = { 'ssl.certificate.location': 'server.pem', 'ssl.key.location': 'server.key' };

test('without listeners, host and port describe the one PLAINTEXT listener, advertised as before', () => {
  assert.deepEqual(resolveListeners(load({})), [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092, advertisedHost: '127.0.0.1', advertisedPort: 0 }]);
  const c = load({ host: '0.0.0.0', port: '9100', 'advertised.host': 'broker-0', 'advertised.port': '19100' });
  assert.deepEqual(resolveListeners(c), [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '0.0.0.0', port: 9100, advertisedHost: 'broker-0', advertisedPort: 19100 }]);
});

test('listeners, advertised.listeners and the protocol map give each listener its protocol and advertised address', () => {
  const c = load({
    ...ssl,
    listeners: 'PLAINTEXT://127.0.0.1:9092, SSL://0.0.0.0:9093,internal://[::1]:9094',
    'advertised.listeners': 'SSL://broker-0.example:443',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,INTERNAL:SSL',
  });
  assert.deepEqual(resolveListeners(c), [
    { name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092, advertisedHost: '127.0.0.1', advertisedPort: 0 },
    { name: 'SSL', protocol: 'SSL', host: '0.0.0.0', port: 9093, advertisedHost: 'broker-0.example', advertisedPort: 443 },
    { name: 'INTERNAL', protocol: 'SSL', host: '::1', port: 9094, advertisedHost: '::1', advertisedPort: 0 },
  ]);
});

test('SASL listeners: SASL_PLAINTEXT and SASL_SSL start, with sasl.enabled.mechanisms or a per-listener override', () => {
  const c = load({
    ...ssl,
    listeners: 'SASL_PLAINTEXT://127.0.0.1:9094,SASL_SSL://127.0.0.1:9095',
    'sasl.enabled.mechanisms': 'scram-sha-512, PLAIN',
    'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-256',
  });
  assert.deepEqual(resolveListeners(c).map((l) => [l.name, l.protocol]), [['SASL_PLAINTEXT', 'SASL_PLAINTEXT'], ['SASL_SSL', 'SASL_SSL']]);
  assert.deepEqual(saslMechanismsOf(c, 'SASL_PLAINTEXT'), ['SCRAM-SHA-512', 'PLAIN']);
  assert.deepEqual(saslMechanismsOf(c, 'SASL_SSL'), ['SCRAM-SHA-256']);
  assert.deepEqual(saslMechanismsOf(load({}), 'X'), ['SCRAM-SHA-256', 'SCRAM-SHA-512'], 'the default');
});

test('ssl.client.auth applies to SSL listeners; SASL_SSL ones ask for certificates only when named (KIP-684)', () => {
  const listeners = 'SSL://127.0.0.1:9093,SASL_SSL://127.0.0.1:9095,INTERNAL://127.0.0.1:9096';
  const map = 'SSL:SSL,SASL_SSL:SASL_SSL,INTERNAL:SASL_SSL';
  const auth = (flags: Record<string, string>) => {
    const c = load({ ...ssl, 'ssl.truststore.location': 'ca.pem', listeners, 'listener.security.protocol.map': map, ...flags });
    return resolveListeners(c).map((l) => `${l.name}=${clientAuthOf(c, l)}`).join(' ');
  };
  assert.equal(auth({ 'ssl.client.auth': 'required' }), 'SSL=required SASL_SSL=none INTERNAL=none');
  assert.equal(auth({ 'ssl.client.auth': 'required', 'listener.name.internal.ssl.client.auth': 'requested', 'listener.name.ssl.ssl.client.auth': 'none' }), 'SSL=none SASL_SSL=none INTERNAL=requested');
  assert.throws(() => load({ 'listener.name.internal.ssl.client.auth': 'maybe' }), /listener\.name\.internal\.ssl\.client\.auth .*must be none, requested or required/);
});

test('listener mistakes are refused at start with what to do', () => {
  const refuses = (flags: Record<string, string>, message: RegExp) => assert.throws(() => load(flags), (e: Error) => e instanceof ConfigError && message.test(e.message), JSON.stringify(flags));
  refuses({ listeners: 'SASL_SSL://127.0.0.1:9094' }, /listener SASL_SSL is SASL_SSL: set ssl\.certificate\.location and ssl\.key\.location/);
  refuses({ listeners: 'SASL_PLAINTEXT://127.0.0.1:9094', 'sasl.enabled.mechanisms': 'GSSAPI' }, /sasl\.enabled\.mechanisms.*unknown SASL mechanism GSSAPI; known: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/);
  refuses({ listeners: 'SASL_PLAINTEXT://127.0.0.1:9094', 'sasl.enabled.mechanisms': ' ' }, /listener SASL_PLAINTEXT is SASL_PLAINTEXT but enables no SASL mechanism/);
  refuses({ listeners: 'SSL://127.0.0.1:9093' }, /listener SSL is SSL: set ssl\.certificate\.location and ssl\.key\.location/);
  refuses({ listeners: 'EXTERNAL://127.0.0.1:9093' }, /listener EXTERNAL has no security protocol: add EXTERNAL:PLAINTEXT, EXTERNAL:SSL, EXTERNAL:SASL_PLAINTEXT or EXTERNAL:SASL_SSL to listener\.security\.protocol\.map/);
  refuses({ listeners: '127.0.0.1:9092' }, /is not NAME:\/\/host:port/);
  refuses({ listeners: 'PLAINTEXT://a:1,PLAINTEXT://b:2' }, /appears twice/);
  refuses({ listeners: 'PLAINTEXT://a:1', 'advertised.listeners': 'SSL://b:2' }, /advertised\.listeners names SSL, which is not in listeners/);
  refuses({ 'ssl.keystore.type': 'JKS' }, /ssl\.keystore\.type .* must be PEM, not "JKS"/);
  refuses({ 'ssl.truststore.type': 'PKCS12' }, /must be PEM/);
  refuses({ 'ssl.client.auth': 'maybe' }, /none, requested or required/);
  refuses({ 'ssl.enabled.protocols': 'TLSv1.1' }, /TLSv1\.2 and\/or TLSv1\.3/);
  refuses({ 'ssl.principal.mapping.rules': 'default' }, /is not DEFAULT or RULE/);
});

test('a Kafka-style PEM keystore (ssl.keystore.type=PEM, ssl.keystore.location) stands for the certificate and key files', () => {
  const c = load({ 'ssl.keystore.type': 'PEM', 'ssl.keystore.location': 'keystore.pem', listeners: 'SSL://127.0.0.1:0' });
  assert.equal(c.sslCertificateLocation, 'keystore.pem');
  assert.equal(c.sslKeyLocation, 'keystore.pem');
  assert.equal(resolveListeners(c)[0]!.protocol, 'SSL');
});

test('ssl.principal.mapping.rules: DEFAULT keeps the DN', () => {
  assert.equal(principalMapper('DEFAULT')('CN=alice,OU=eng,O=acme'), 'CN=alice,OU=eng,O=acme');
});

test('ssl.principal.mapping.rules: the cases of Kafka\'s SslPrincipalMapperTest', () => {
  const map = principalMapper(
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L, RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U, RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, DEFAULT',
  );
  assert.equal(map('CN=Duke,OU=ServiceUsers,O=Org,C=US'), 'duke');
  assert.equal(map('CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US'), 'duke@sme');
  assert.equal(map('cn=duke,ou=sme,dc=mycp,dc=com'), 'DUKE@SME');
  assert.equal(map('cN=duke,OU=JavaSoft,O=Sun Microsystems'), 'DUKE');
  assert.equal(map('OU=JavaSoft,O=Sun Microsystems,C=US'), 'OU=JavaSoft,O=Sun Microsystems,C=US');
  // No DEFAULT at the end: a DN no rule matches has no principal (the connection is refused).
  assert.equal(principalMapper('RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/')('CN=x,OU=Other'), null);
  // An escaped slash in the replacement.
  assert.equal(principalMapper('RULE:^CN=([^,]*),OU=([^,]*)$/$2\\/$1/')('CN=bob,OU=ops'), 'ops/bob');
});

test('ssl.principal.mapping.rules: Kafka\'s invalid rules are refused', () => {
  for (const rules of ['default', 'DEFAUL', 'DEFAULT/L', 'DEFAULT/U', 'RULE:CN=(.*?),OU=ServiceUsers.*/$1', 'rule:^CN=(.*?),OU=ServiceUsers.*$/$1/', 'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U', 'RULE:^CN=(.*?),OU=ServiceUsers.*$/L', 'RULE:^CN=(.*?),OU=ServiceUsers.*$/U', 'RULE:^CN=(.*?),OU=ServiceUsers.*$/LU']) {
    assert.throws(() => principalMapper(rules), ConfigError, rules);
  }
});
