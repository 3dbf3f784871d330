// The Apache Kafka Java client (kafka-clients 4.x): an idempotent producer (acks=all,
// enable.idempotence=true) and a consumer with assign() and seekToBeginning(), no group.
// RoundTrip.java runs as a single-file source program; see roundtrip.ts for the contract.

import { test, before, after } from 'node:test';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { checkRoundTrip, parseSummary } from './roundtrip.js';
import { describeRun, javaClasspath, javaDir, javaInstallHint, javaJarsPresent, requireTool, run, token, works } from './tools.js';

const partitions = 3;
const count = 10_000;

let broker: BrokerProcess | undefined;

before(async () => {
  broker = await startBroker({ args: ['--set', `num.partitions=${partitions}`] });
});

after(async () => {
  await broker?.cleanup();
});

for (const codec of ['none', 'lz4']) {
  test(`java kafka-clients: ${count} keyed records (idempotent, acks=all, compression ${codec}) round trip with assign()`, { timeout: 300_000 }, async (t) => {
    if (!requireTool(t, await works('java', ['-version']), 'java (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')) return;
    if (!requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint)) return;
    const topic = `java-${codec}-${token()}`;
    const tok = token();
    const r = await run('java', ['-cp', javaClasspath(), join(javaDir, 'RoundTrip.java'), broker!.bootstrap, topic, String(count), tok, codec], { timeoutMs: 240_000 });
    const context = describeRun('java RoundTrip.java', r, broker);
    const summary = parseSummary(r.stdout, context);
    checkRoundTrip(summary, tok, count, partitions, context);
    if (r.code !== 0) throw new Error(context);
  });
}
