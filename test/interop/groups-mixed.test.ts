// A mixed consumer group (issue 3 acceptance): members from two libraries, librdkafka
// (python3-confluent-kafka) and the Java consumer, both with the "range" assignor. The group
// balances across libraries, consumes every record once, and rebalances when the Java member
// is SIGKILLed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killOneScenario, groupBrokerForSuite } from '../helpers/group-harness.js';
import { compileJavaMember, confluentMember, javaMember } from '../helpers/group-clients.js';
import { debianPython, javaInstallHint, javaJarsPresent, requireTool, token, works } from './tools.js';

const suite = groupBrokerForSuite();

test('mixed group: confluent-kafka + Java + confluent-kafka (range), 2 partitions each, exactly once, SIGKILL the Java member', { timeout: 240_000 }, async (t) => {
  const { broker, tools } = suite;
  const python = debianPython();
  if (!requireTool(t, await works(python, ['-c', 'import confluent_kafka']), `the Python module confluent_kafka (for ${python})`, 'install it with `sudo apt-get install python3-confluent-kafka`')) return;
  if (!requireTool(t, await works('javac', ['-version']), 'javac (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')) return;
  if (!requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint)) return;
  const java = await compileJavaMember();
  assert.ok(java.ok, `javac GroupMember.java failed:\n${java.error}`);
  const id = token();
  const topic = `grp-mixed-${id}`;
  const group = `g-mixed-${id}`;
  const r = await killOneScenario({
    tools, topic, group,
    steadyCount: 6_000, aroundKillCount: 1_200, afterTakeoverCount: 1_200, timeoutMs: 60_000,
    victim: 1,
    member: (i) => i === 1
      ? javaMember(java.classpath, 'java', broker.bootstrap, topic, group, { 'partition.assignment.strategy': 'org.apache.kafka.clients.consumer.RangeAssignor' })
      : confluentMember(`confluent-${i}`, broker.bootstrap, topic, group, { 'partition.assignment.strategy': 'range' }),
    brokerTail: () => broker.tail(),
    log: (s) => t.diagnostic(s),
  });
  assert.ok(r.members[1]!.records.length > 0, 'the Java member consumed records');
});
