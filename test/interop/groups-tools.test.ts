// Consumer groups seen through Apache Kafka's own tools, and static membership (issue 3
// acceptance):
//  - kafka-consumer-groups (org.apache.kafka.tools.consumer.group.ConsumerGroupCommand 4.4.0)
//    lists the group, describes it (members, assignment, CURRENT-OFFSET, LOG-END-OFFSET, LAG),
//    resets its offsets (dry run, to earliest, to an offset) while it is inactive, and deletes
//    it; a consumer then reads from the reset offsets;
//  - static membership (group.instance.id, Java consumer): a member that restarts within its
//    session timeout gets its partitions back without a rebalance: same generation id, the
//    other member sees nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GroupTools, Member, startGroupBroker, type GroupBroker } from '../helpers/group-harness.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { compileJavaMember, javaMember } from '../helpers/group-clients.js';
import { describeRun, javaClasspath, javaInstallHint, javaJarsPresent, requireTool, run, token, works } from './tools.js';

let broker: GroupBroker;
let tools: GroupTools;
let javaOk = false;
let classpath = '';
let compileError = '';

before(async () => {
  broker = await startGroupBroker();
  tools = new GroupTools(broker.bootstrap);
  await tools.connect();
  javaOk = (await works('javac', ['-version'])) && javaJarsPresent();
  if (javaOk) {
    const c = await compileJavaMember();
    classpath = c.classpath;
    compileError = c.ok ? '' : c.error;
  }
});

after(async () => {
  await tools?.close();
  await broker?.cleanup();
});

function present(t: import('node:test').TestContext): boolean {
  if (!requireTool(t, javaOk, 'a JDK 17+ (javac) and the Kafka Java jars in test/interop/java/lib', javaInstallHint)) return false;
  assert.equal(compileError, '', `javac GroupMember.java failed:\n${compileError}`);
  return true;
}

function groups(args: string[]) {
  return run('java', ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', javaClasspath(), 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
    '--bootstrap-server', broker.bootstrap, ...args], { timeoutMs: 90_000 });
}

/** Rows of a whitespace-aligned table whose header starts with GROUP, as maps column -> value. */
function table(text: string, firstColumn = 'GROUP'): Array<Map<string, string>> {
  const lines = text.split('\n');
  const rows: Array<Map<string, string>> = [];
  let header: string[] | undefined;
  for (const line of lines) {
    const cells = line.trim().split(/\s+/).filter(Boolean);
    if (cells[0] === firstColumn) {
      header = cells;
      continue;
    }
    if (!header || cells.length === 0) continue;
    if (line.startsWith('Consumer group') || line.startsWith('Error')) continue;
    // COORDINATOR (ID) is two cells in the --state table: "host:port  (id)".
    const hdr = header.flatMap((h) => (h === 'COORDINATOR' ? ['COORDINATOR', '(ID)'] : h === '(ID)' ? [] : [h]));
    rows.push(new Map(hdr.map((h, i) => [h, cells[i] ?? ''])));
  }
  // The tool prints partitions in no particular order.
  return rows.sort((a, b) => Number(a.get('PARTITION') ?? 0) - Number(b.get('PARTITION') ?? 0));
}

test('kafka-consumer-groups: --list, --describe (offsets, members, state), --reset-offsets, --delete', { timeout: 300_000 }, async (t) => {
  if (!present(t)) return;
  const id = token();
  const topic = `cg-tool-${id}`;
  const group = `g-tool-${id}`;
  await tools.createTopic(topic, 3);
  await tools.produce(topic, id, 0, 30, (i) => i % 3); // 10 records per partition
  const ctx = (m?: Member) => `${m ? m.describe() + '\n' : ''}--- broker log (tail) ---\n${broker.tail()}`;

  // An active member that consumed and committed everything.
  let member = new Member(javaMember(classpath, 'tool-a', broker.bootstrap, topic, group));
  try {
    await waitFor('the member to consume 30 records', () => member.records.length >= 30, 60_000, () => ctx(member));
    await waitFor('committed offsets 10/10/10', async () => {
      const c = await tools.committed(group, topic);
      return [0, 1, 2].every((p) => c.get(p) === 10);
    }, 30_000, () => ctx(member));
    const memberId = member.gens().at(-1)!.member;

    await t.test('--list shows the group', async () => {
      const r = await groups(['--list']);
      assert.equal(r.code, 0, describeRun('kafka-consumer-groups --list', r));
      const names = r.stdout.toString().split('\n').map((l) => l.trim());
      assert.ok(names.includes(group), `"${group}" not in --list output:\n${r.stdout}\n${ctx(member)}`);
    });

    await t.test('--describe: one row per partition, offsets 10/10, lag 0, owned by the member', async () => {
      const r = await groups(['--describe', '--group', group]);
      assert.equal(r.code, 0, describeRun('kafka-consumer-groups --describe', r));
      const out = r.stdout.toString();
      const rows = table(out).filter((x) => x.get('TOPIC') === topic);
      assert.deepEqual(rows.map((x) => x.get('PARTITION')), ['0', '1', '2'], out);
      for (const x of rows) {
        assert.equal(x.get('GROUP'), group, out);
        assert.equal(x.get('CURRENT-OFFSET'), '10', out);
        assert.equal(x.get('LOG-END-OFFSET'), '10', out);
        assert.equal(x.get('LAG'), '0', out);
        assert.equal(x.get('CONSUMER-ID'), memberId, out);
        assert.match(x.get('HOST') ?? '', /127\.0\.0\.1/, out);
        assert.equal(x.get('CLIENT-ID'), 'java-tool-a', out);
      }
    });

    await t.test('--describe --members --verbose: the member, its client id, 3 partitions and its assignment', async () => {
      const r = await groups(['--describe', '--group', group, '--members', '--verbose']);
      assert.equal(r.code, 0, describeRun('kafka-consumer-groups --describe --members --verbose', r));
      const out = r.stdout.toString();
      const rows = table(out);
      assert.equal(rows.length, 1, out);
      assert.equal(rows[0]!.get('CONSUMER-ID'), memberId, out);
      assert.equal(rows[0]!.get('CLIENT-ID'), 'java-tool-a', out);
      assert.equal(rows[0]!.get('#PARTITIONS'), '3', out);
      assert.equal(rows[0]!.get('CURRENT-ASSIGNMENT'), `${topic}:0,1,2`, out);
    });

    await t.test('--describe --state: Stable, 1 member, assignor range, coordinator broker', async () => {
      const r = await groups(['--describe', '--group', group, '--state']);
      assert.equal(r.code, 0, describeRun('kafka-consumer-groups --describe --state', r));
      const out = r.stdout.toString();
      const rows = table(out);
      assert.equal(rows.length, 1, out);
      assert.equal(rows[0]!.get('STATE'), 'Stable', out);
      assert.equal(rows[0]!.get('#MEMBERS'), '1', out);
      assert.equal(rows[0]!.get('ASSIGNMENT-STRATEGY'), 'range', out);
      assert.equal(rows[0]!.get('COORDINATOR'), broker.bootstrap, out);
    });

    await t.test('--reset-offsets on an active group is refused', async () => {
      const r = await groups(['--reset-offsets', '--to-earliest', '--execute', '--topic', topic, '--group', group]);
      const text = r.stdout.toString() + r.stderr;
      assert.match(text, /Assignments can only be reset if the group '.*' is inactive, but the current state is Stable/, describeRun('reset on an active group', r));
      const c = await tools.committed(group, topic);
      assert.deepEqual([0, 1, 2].map((p) => c.get(p)), [10, 10, 10], 'offsets unchanged');
    });
  } finally {
    await member.stop();
  }
  assert.ok(member.events.some((e) => e.ev === 'closed'), `the member closed cleanly\n${ctx(member)}`);

  // Inactive group, 5 more records per partition.
  await tools.produce(topic, id, 30, 45, (i) => i % 3);

  await t.test('--describe of the inactive group: lag 5 per partition, no active members', async () => {
    const r = await groups(['--describe', '--group', group]);
    assert.equal(r.code, 0, describeRun('kafka-consumer-groups --describe (inactive)', r));
    const out = r.stdout.toString() + r.stderr;
    assert.match(out, new RegExp(`Consumer group '${group}' has no active members\\.`), out);
    const rows = table(r.stdout.toString()).filter((x) => x.get('TOPIC') === topic);
    assert.deepEqual(rows.map((x) => [x.get('PARTITION'), x.get('CURRENT-OFFSET'), x.get('LOG-END-OFFSET'), x.get('LAG'), x.get('CONSUMER-ID')]),
      [['0', '10', '15', '5', '-'], ['1', '10', '15', '5', '-'], ['2', '10', '15', '5', '-']], out);
  });

  await t.test('--describe --state of the inactive group: Empty', async () => {
    const r = await groups(['--describe', '--group', group, '--state']);
    assert.equal(r.code, 0, describeRun('kafka-consumer-groups --describe --state (inactive)', r));
    const rows = table(r.stdout.toString());
    assert.equal(rows[0]?.get('STATE'), 'Empty', r.stdout.toString());
    assert.equal(rows[0]?.get('#MEMBERS'), '0', r.stdout.toString());
  });

  await t.test('--reset-offsets --to-earliest --dry-run shows 0 and changes nothing', async () => {
    const r = await groups(['--reset-offsets', '--to-earliest', '--dry-run', '--topic', topic, '--group', group]);
    assert.equal(r.code, 0, describeRun('reset --dry-run', r));
    const rows = table(r.stdout.toString());
    assert.deepEqual(rows.map((x) => [x.get('PARTITION'), x.get('NEW-OFFSET')]), [['0', '0'], ['1', '0'], ['2', '0']], r.stdout.toString());
    const c = await tools.committed(group, topic);
    assert.deepEqual([0, 1, 2].map((p) => c.get(p)), [10, 10, 10], 'a dry run commits nothing');
  });

  await t.test('--reset-offsets --to-earliest --execute, then --to-offset 12 for partition 1', async () => {
    const r = await groups(['--reset-offsets', '--to-earliest', '--execute', '--topic', topic, '--group', group]);
    assert.equal(r.code, 0, describeRun('reset --to-earliest --execute', r));
    assert.deepEqual(table(r.stdout.toString()).map((x) => [x.get('PARTITION'), x.get('NEW-OFFSET')]), [['0', '0'], ['1', '0'], ['2', '0']], r.stdout.toString());
    let c = await tools.committed(group, topic);
    assert.deepEqual([0, 1, 2].map((p) => c.get(p)), [0, 0, 0], `committed after the reset\n${ctx()}`);

    const r2 = await groups(['--reset-offsets', '--to-offset', '12', '--execute', '--topic', `${topic}:1`, '--group', group]);
    assert.equal(r2.code, 0, describeRun('reset --to-offset 12 --execute', r2));
    c = await tools.committed(group, topic);
    assert.deepEqual([0, 1, 2].map((p) => c.get(p)), [0, 12, 0], `committed after the reset of partition 1\n${ctx()}`);

    const d = await groups(['--describe', '--group', group]);
    assert.equal(d.code, 0, describeRun('describe after reset', d));
    const rows = table(d.stdout.toString()).filter((x) => x.get('TOPIC') === topic);
    assert.deepEqual(rows.map((x) => [x.get('PARTITION'), x.get('CURRENT-OFFSET'), x.get('LAG')]), [['0', '0', '15'], ['1', '12', '3'], ['2', '0', '15']], d.stdout.toString());
  });

  await t.test('a consumer of the group reads from the reset offsets', async () => {
    const m = new Member(javaMember(classpath, 'tool-b', broker.bootstrap, topic, group));
    try {
      await waitFor('33 records', () => m.records.length >= 33, 60_000, () => ctx(m));
      await sleep(1000);
      const got = m.records.map((r) => `${r.p}@${r.o}`).sort();
      const want = [
        ...Array.from({ length: 15 }, (_, o) => `0@${o}`),
        ...[12, 13, 14].map((o) => `1@${o}`),
        ...Array.from({ length: 15 }, (_, o) => `2@${o}`),
      ].sort();
      assert.deepEqual(got, want, ctx(m));
    } finally {
      await m.stop();
    }
  });

  await t.test('--delete removes the inactive group', async () => {
    const r = await groups(['--delete', '--group', group]);
    assert.equal(r.code, 0, describeRun('kafka-consumer-groups --delete', r));
    assert.match(r.stdout.toString(), new RegExp(`Deletion of requested consumer groups \\('${group}'\\) was successful\\.`), r.stdout.toString());
    const l = await groups(['--list']);
    assert.ok(!l.stdout.toString().split('\n').map((x) => x.trim()).includes(group), `"${group}" still listed after --delete:\n${l.stdout}`);
    const c = await tools.committed(group, topic);
    assert.deepEqual([0, 1, 2].map((p) => c.get(p)), [-1, -1, -1], 'no committed offsets after --delete');
  });
});

test('static membership: a member restarted within its session timeout gets its partitions back without a rebalance', { timeout: 240_000 }, async (t) => {
  if (!present(t)) return;
  const id = token();
  const topic = `static-${id}`;
  const group = `g-static-${id}`;
  await tools.createTopic(topic, 4);
  const props = (inst: string) => ({ 'group.instance.id': inst, 'session.timeout.ms': '30000', 'heartbeat.interval.ms': '1000' });
  const spawnA = () => new Member(javaMember(classpath, 'static-a', broker.bootstrap, topic, group, props(`inst-a-${id}`)));
  const b = new Member(javaMember(classpath, 'static-b', broker.bootstrap, topic, group, props(`inst-b-${id}`)));
  let a = spawnA();
  let a2: Member | undefined;
  const ctx = () => `${a.describe()}\n${a2?.describe() ?? ''}\n${b.describe()}\n--- broker log (tail) ---\n${broker.tail()}`;
  try {
    await waitFor('2 static members with 2 partitions each', async () => {
      if (a.assignment?.length !== 2 || b.assignment?.length !== 2) return false;
      if ([...a.assignment, ...b.assignment].sort().join() !== '0,1,2,3') return false;
      const g = await tools.describeGroup(group).catch(() => undefined);
      return g?.state === 'Stable' && g.members.length === 2;
    }, 60_000, ctx);
    await sleep(1500);
    const gen = a.gens().at(-1)!.gen;
    assert.equal(b.gens().at(-1)!.gen, gen, `both members in one generation\n${ctx()}`);
    const aParts = [...a.assignment!];
    const bEvents = b.events.length;
    await tools.produce(topic, id, 0, 400, (i) => i % 4);
    await waitFor('400 records', () => a.records.length + b.records.length >= 400, 60_000, ctx);

    await waitFor('committed offsets 100 on every partition', async () => {
      const c = await tools.committed(group, topic);
      return [0, 1, 2, 3].every((p) => c.get(p) === 100);
    }, 30_000, ctx);

    // Restart A (SIGKILL: no LeaveGroup) with the same group.instance.id.
    const oldMember = a.gens().at(-1)!.member;
    await a.kill();
    a2 = spawnA();
    const a2m = a2;
    await waitFor('the restarted member to get its assignment', () => a2m.assignment !== null, 60_000, ctx);
    assert.deepEqual(a2.assignment, aParts, `the restarted static member got its partitions back\n${ctx()}`);
    assert.equal(a2.gens().at(-1)!.gen, gen, `generation unchanged after the restart of a static member (no rebalance)\n${ctx()}`);
    assert.notEqual(a2.gens().at(-1)!.member, oldMember, 'the restarted member has a new member id');

    // It resumes from the committed offsets and the group keeps working.
    await tools.produce(topic, id, 400, 800, (i) => i % 4);
    await waitFor('records 400..799', () => a2m.records.length + b.records.filter((r) => Number(r.v.split('|')[1]) >= 400).length >= 400, 60_000, ctx);
    await sleep(1000);
    for (const r of a2.records) assert.ok(Number(r.v.split('|')[1]) >= 400, `the restarted member re-read ${JSON.stringify(r)}, committed before the restart\n${ctx()}`);

    // The other member saw no rebalance at all.
    const newEvents = b.events.slice(bEvents).filter((e) => e.ev !== 'other');
    assert.deepEqual(newEvents, [], `the other static member saw a rebalance\n${ctx()}`);
    assert.equal(b.gens().at(-1)!.gen, gen, ctx());
    const g = await tools.describeGroup(group);
    assert.equal(g?.state, 'Stable', ctx());
    assert.equal(g?.members.length, 2, ctx());
    assert.ok(g?.members.some((m) => m.memberId === a2m.gens().at(-1)!.member), `DescribeGroups lists the new member id\n${JSON.stringify(g)}`);
    assert.ok(!g?.members.some((m) => m.memberId === oldMember), `DescribeGroups no longer lists the old member id\n${JSON.stringify(g)}`);
  } finally {
    await Promise.all([a.kill(), a2?.stop(), b.stop()]);
  }
});
