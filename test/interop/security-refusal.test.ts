// case 11: clients configured for a security protocol the broker does not serve yet (the one
// listener is PLAINTEXT) get a refusal they can show, instead of hanging or retrying silently.
// SASL: SaslHandshake answered UNSUPPORTED_SASL_MECHANISM with no enabled mechanism. TLS: the
// ClientHello answered with a TLS handshake_failure alert. Java (Refusal.java prints the
// exception the Admin client fails with) and kcat (librdkafka's error line).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { describeRun, javaClasspath, javaDir, javaInstallHint, javaJarsPresent, requireTool, run, works } from './tools.js';

let broker: BrokerProcess | undefined;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker?.cleanup();
});

const javaCases = [
  { protocol: 'SASL_PLAINTEXT', expect: /^REFUSED org\.apache\.kafka\.common\.errors\.UnsupportedSaslMechanismException: Client SASL mechanism 'PLAIN' not enabled in the server, enabled mechanisms are \[\]$/m },
  { protocol: 'SSL', expect: /^REFUSED org\.apache\.kafka\.common\.errors\.SslAuthenticationException: SSL handshake failed$/m },
];

for (const { protocol, expect } of javaCases) {
  test(`case 11: the Java client with security.protocol=${protocol} fails with an error naming the problem`, { timeout: 120_000 }, async (t) => {
    if (!requireTool(t, await works('java', ['-version']), 'java (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')) return;
    if (!requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint)) return;
    // Refusal.java gives its Admin call 30 s; a client that retried silently would print HUNG and exit 2.
    const r = await run('java', ['-cp', javaClasspath(), join(javaDir, 'Refusal.java'), broker!.bootstrap, protocol, '30000'], { timeoutMs: 100_000 });
    const context = describeRun(`java Refusal.java ${protocol}`, r, broker);
    assert.equal(r.code, 0, context);
    assert.match(r.stdout.toString(), expect, context);
  });
}

const kcatCases = [
  { args: ['-X', 'security.protocol=sasl_plaintext', '-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=u', '-X', 'sasl.password=p'], expect: /SASL PLAIN mechanism handshake failed: Broker: Unsupported SASL mechanism: broker's supported mechanisms:/ },
  { args: ['-X', 'security.protocol=ssl'], expect: /SSL handshake failed: .*handshake failure/ },
];

for (const { args, expect } of kcatCases) {
  test(`case 11: kcat with ${args[1]} reports why it cannot connect`, { timeout: 60_000 }, async (t) => {
    if (!requireTool(t, await works('kcat', ['-V']), 'kcat', 'install it with `sudo apt-get install kcat` (Debian/Ubuntu)')) return;
    const r = await run('kcat', ['-b', broker!.bootstrap, '-L', '-m', '5', ...args], { timeoutMs: 30_000 });
    const context = describeRun(`kcat -L ${args.join(' ')}`, r, broker);
    assert.equal(r.code, 1, context);
    assert.match(r.stderr, expect, context);
  });
}
