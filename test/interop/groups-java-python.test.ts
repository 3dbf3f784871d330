// Consumer groups with the Apache Kafka Java consumer (KafkaConsumer 4.4.0, classic protocol)
// and kafka-python (issue 3 acceptance): three member processes on a 6-partition topic get 2
// partitions each, records are consumed exactly once in steady state, one member is
// SIGKILLed and the other two take over its partitions; every record is consumed, duplicates
// only at offsets the killed member had not committed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killOneScenario, groupBrokerForSuite, KILL_ONE_SIZES } from '../helpers/group-harness.js';
import { compileJavaMember, javaMember, kafkaPythonMember } from '../helpers/group-clients.js';
import { debianPython, javaInstallHint, javaJarsPresent, requireTool, token, works } from './tools.js';

const suite = groupBrokerForSuite();

test('Java KafkaConsumer: 3 members, 2 partitions each, exactly once, SIGKILL one, the others take over', { timeout: 240_000 }, async (t) => {
  const { broker, tools } = suite;
  if (!requireTool(t, await works('javac', ['-version']), 'javac (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')) return;
  if (!requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint)) return;
  const java = await compileJavaMember();
  assert.ok(java.ok, `javac GroupMember.java failed:\n${java.error}`);
  const id = token();
  const topic = `grp-java-${id}`;
  const group = `g-java-${id}`;
  const r = await killOneScenario({
    tools, topic, group, ...KILL_ONE_SIZES,
    member: (i) => javaMember(java.classpath, `java-${i}`, broker.bootstrap, topic, group),
    brokerTail: () => broker.tail(),
    log: (s) => t.diagnostic(s),
  });
  // Generations: every member of one rebalance saw the same generation id, and the takeover
  // happened in a later generation.
  const [a, b, victim] = r.members;
  const stableGen = victim!.gens().at(-1)!.gen;
  for (const s of [a!, b!]) {
    assert.ok(s.gens().some((g) => g.gen === stableGen), `${s.name} was in generation ${stableGen} with the victim\n${s.describe()}`);
    assert.ok(s.gens().at(-1)!.gen > stableGen, `${s.name} moved to a later generation after the takeover\n${s.describe()}`);
  }
  assert.equal(a!.gens().at(-1)!.gen, b!.gens().at(-1)!.gen, `the survivors share the final generation\n${a!.describe()}\n${b!.describe()}`);
});

test('kafka-python: 3 members, 2 partitions each, exactly once, SIGKILL one, the others take over', { timeout: 240_000 }, async (t) => {
  const { broker, tools } = suite;
  const python = debianPython();
  if (!requireTool(t, await works(python, ['-c', 'import kafka']), `the Python module kafka (for ${python})`, 'install it with `sudo apt-get install python3-kafka`')) return;
  const id = token();
  const topic = `grp-kpy-${id}`;
  const group = `g-kpy-${id}`;
  await killOneScenario({
    tools, topic, group, ...KILL_ONE_SIZES,
    member: (i) => kafkaPythonMember(`kafka-python-${i}`, broker.bootstrap, topic, group),
    brokerTail: () => broker.tail(),
    log: (s) => t.diagnostic(s),
  });
});
