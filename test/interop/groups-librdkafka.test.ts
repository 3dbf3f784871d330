// Consumer groups with librdkafka (issue 3 acceptance): kcat's balanced consumer (-G) and
// python3-confluent-kafka with the cooperative-sticky assignor. Three member processes on a
// 6-partition topic get 2 partitions each, records are consumed exactly once in steady state,
// one member is SIGKILLed and the other two take over its partitions; every record is
// consumed, duplicates only at offsets the killed member had not committed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killOneScenario, groupBrokerForSuite, KILL_ONE_SIZES } from '../helpers/group-harness.js';
import { confluentMember, kcatMember } from '../helpers/group-clients.js';
import { debianPython, requireTool, token, works } from './tools.js';

const suite = groupBrokerForSuite();

test('kcat -G: 3 balanced consumers, 2 partitions each, exactly once, SIGKILL one, the others take over', { timeout: 240_000 }, async (t) => {
  const { broker, tools } = suite;
  if (!requireTool(t, await works('kcat', ['-V']), 'kcat', 'install it with `sudo apt-get install kcat`')) return;
  const id = token();
  const topic = `grp-kcat-${id}`;
  const group = `g-kcat-${id}`;
  await killOneScenario({
    tools, topic, group, ...KILL_ONE_SIZES,
    member: (i) => kcatMember(`kcat-${i}`, broker.bootstrap, topic, group),
    brokerTail: () => broker.tail(),
    log: (s) => t.diagnostic(s),
  });
});

test('confluent-kafka cooperative-sticky: 3 members, 2 partitions each, exactly once, SIGKILL one, the others take over incrementally', { timeout: 240_000 }, async (t) => {
  const { broker, tools } = suite;
  const python = debianPython();
  if (!requireTool(t, await works(python, ['-c', 'import confluent_kafka']), `the Python module confluent_kafka (for ${python})`, 'install it with `sudo apt-get install python3-confluent-kafka`')) return;
  const id = token();
  const topic = `grp-coop-${id}`;
  const group = `g-coop-${id}`;
  const eventsAtStable = new Map<string, number>();
  const r = await killOneScenario({
    tools, topic, group, ...KILL_ONE_SIZES,
    member: (i) => confluentMember(`confluent-${i}`, broker.bootstrap, topic, group, { 'partition.assignment.strategy': 'cooperative-sticky' }),
    brokerTail: () => broker.tail(),
    log: (s) => t.diagnostic(s),
    onStable: async (members) => {
      const g = await tools.describeGroup(group);
      assert.equal(g?.protocol, 'cooperative-sticky', `DescribeGroups: the group's protocol\n${JSON.stringify(g)}`);
      for (const m of members) eventsAtStable.set(m.name, m.events.length);
    },
  });
  const [a, b, victim] = r.members;
  // Cooperative and sticky: when the victim died, the survivors kept the partitions they had
  // and only added the victim's; nothing of theirs was revoked.
  const victimParts = victim!.assignments().at(-1)!;
  for (const s of [a!, b!]) {
    const final = s.assignmentBeforeStop!;
    assert.equal(final.filter((p) => !victimParts.includes(p)).length, 2,
      `survivor ${s.name} kept its own 2 partitions (sticky): final ${JSON.stringify(final)}, victim had ${JSON.stringify(victimParts)}\n${s.describe()}`);
    const revoked = s.events.slice(eventsAtStable.get(s.name), s.eventsBeforeStop).filter((e) => e.ev === 'revoked' || e.ev === 'lost');
    assert.deepEqual(revoked, [], `survivor ${s.name}: no partition revoked during the cooperative takeover\n${s.describe()}`);
  }
});
