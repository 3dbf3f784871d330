// `rivulet group list|describe|delete|reset-offsets` as child processes against a real
// broker. The group state comes from a kafkajs consumer group run in this process: it
// consumes a 3-partition topic, commits offset 10 in every partition, then 5 more records
// arrive in partition 0 (consumed, not committed: lag 5). Steps that need a group API the
// broker does not advertise yet are skipped with the API's name.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { runCli as rivulet } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'orders';
const GROUP = 'g-orders';
const CLIENT_ID = 'cli-group-test';
const T_OLD = Date.now() - 60_000;
const T_NEW = Date.now();

let broker: BrokerProcess;
let bs: string;
let kafka: Kafka;
let consumer: Consumer | undefined;

before(async () => {
  broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
  bs = broker.bootstrap;
  kafka = new Kafka({ clientId: CLIENT_ID, brokers: [bs], logLevel: logLevel.NOTHING });
});

after(async () => {
  await consumer?.disconnect().catch(() => undefined);
  await broker?.cleanup();
});

interface Row {
  topic: string;
  partition: number;
  current: string;
  end: string;
  lag: string;
  consumerId: string;
  host: string;
  clientId: string;
}

/** The partition rows of `group describe` text output. */
function describeRows(stdout: string): Row[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(`${TOPIC} `))
    .map((l) => {
      const [topic, partition, current, end, lag, consumerId, host, clientId] = l.split(/\s+/);
      return { topic: topic!, partition: Number(partition), current: current!, end: end!, lag: lag!, consumerId: consumerId!, host: host!, clientId: clientId! };
    });
}

interface JsonDescribe {
  group: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: Array<{ memberId: string; clientId: string; host: string; subscription: string[] | null; assignment: Array<{ topic: string; partitions: number[] }> | null }>;
  partitions: Array<{ topic: string; partition: number; currentOffset: number | null; logEndOffset: number | null; lag: number | null; memberId: string | null; clientId: string | null }>;
}

async function describeJson(group: string): Promise<JsonDescribe> {
  const r = await rivulet(['group', 'describe', group, '-b', bs, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as JsonDescribe;
}

const offsetsOf = (d: JsonDescribe): Array<[number, number | null, number | null, number | null]> =>
  d.partitions.filter((p) => p.topic === TOPIC).map((p) => [p.partition, p.currentOffset, p.logEndOffset, p.lag]);

test('usage errors exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['group', 'list', '--state', 'Sleepy'], /unknown group state "Sleepy"/],
    [['group', 'reset-offsets', 'g', '--topic', 't'], /give exactly one of --to-earliest/],
    [['group', 'reset-offsets', 'g', '--topic', 't', '--to-earliest', '--to-latest'], /give exactly one of .*several were given/],
    [['group', 'reset-offsets', 'g', '--to-earliest'], /give the topics to reset/],
    [['group', 'reset-offsets', 'g', '--topic', 't', '--to-earliest', '--dry-run', '--execute'], /--dry-run and --execute cannot be combined/],
    [['group', 'reset-offsets', 'g', '--topic', 't:x', '--to-earliest'], /partitions must be non-negative integers/],
    [['group', 'reset-offsets', 'g', '--topic', 't', '--to-timestamp', 'yesterday'], /--to-timestamp must be milliseconds since the epoch or an ISO date/],
    [['group', 'reset-offsets', 'g', '--topic', 't', '--to-offset', '-1'], /--to-offset must be from 0/],
    [['group', 'describe'], /missing required argument 'group'/],
    [['group', 'frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = await rivulet([...args, '-b', bs]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('no broker: exit 1 naming the address', async () => {
  const r = await rivulet(['group', 'list', '-b', '127.0.0.1:1']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot reach the Kafka cluster: nothing answered at 127\.0\.0\.1:1/);
});

test('list, describe, reset-offsets and delete a kafkajs consumer group', async (t) => {

  // 10 old records in each of 3 partitions.
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let p = 0; p < 3; p++) {
    await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: p, value: `p${p}-${i}`, timestamp: String(T_OLD) })) });
  }

  // A live group: consumes everything, commits offset 10 everywhere.
  consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 10000 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let seen = 0;
  await consumer.run({ autoCommit: false, eachMessage: async () => void seen++ });
  await waitFor('30 records consumed by the kafkajs group', () => seen >= 30, 20_000);
  await consumer.commitOffsets([0, 1, 2].map((partition) => ({ topic: TOPIC, partition, offset: '10' })));
  // 5 new records in partition 0: consumed but not committed.
  await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `new-${i}`, timestamp: String(T_NEW) })) });
  await producer.disconnect();
  await waitFor('5 more records consumed', () => seen >= 35, 20_000);

  await t.test('list while the group is active', async () => {
    const l = await rivulet(['group', 'list', '-b', bs]);
    assert.equal(l.code, 0, l.stderr);
    assert.ok(l.stdout.split('\n').includes(GROUP), l.stdout);

    const stable = await rivulet(['group', 'list', '-b', bs, '--state', 'stable,PreparingRebalance']);
    assert.equal(stable.code, 0, stable.stderr);
    assert.match(stable.stdout, /^GROUP\s+STATE$/m);
    assert.match(stable.stdout, new RegExp(`^${GROUP}\\s+Stable$`, 'm'));

    const empty = await rivulet(['group', 'list', '-b', bs, '--state', 'Empty']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.doesNotMatch(empty.stdout, new RegExp(GROUP));

    const json = await rivulet(['group', 'list', '-b', bs, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as Array<{ group: string }>).find((g) => g.group === GROUP), { group: GROUP, state: 'Stable', protocolType: 'consumer', groupType: 'classic' });
  });

  await t.test('describe while active: lag and owning member', async () => {
    const d = await rivulet(['group', 'describe', GROUP, '-b', bs, '--members']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, new RegExp(`^Group: ${GROUP}\\tState: Stable\\tProtocolType: consumer\\tProtocol: \\S+\\tMembers: 1\\t`, 'm'));
    const rows = describeRows(d.stdout);
    assert.deepEqual(rows.map((r) => [r.partition, r.current, r.end, r.lag, r.clientId]), [
      [0, '10', '15', '5', CLIENT_ID],
      [1, '10', '10', '0', CLIENT_ID],
      [2, '10', '10', '0', CLIENT_ID],
    ]);
    assert.ok(rows.every((r) => r.consumerId.startsWith(`${CLIENT_ID}-`)), d.stdout);
    assert.match(d.stdout, /^CONSUMER-ID\s+GROUP-INSTANCE-ID\s+HOST\s+CLIENT-ID\s+#PARTITIONS\s+ASSIGNMENT$/m);
    assert.match(d.stdout, new RegExp(`\\s${CLIENT_ID}\\s+3\\s+${TOPIC}\\(0,1,2\\)$`, 'm'));

    const j = await describeJson(GROUP);
    assert.equal(j.state, 'Stable');
    assert.equal(j.protocolType, 'consumer');
    assert.equal(j.members.length, 1);
    assert.deepEqual(j.members[0]!.assignment, [{ topic: TOPIC, partitions: [0, 1, 2] }]);
    assert.deepEqual(j.members[0]!.subscription, [TOPIC]);
    assert.deepEqual(offsetsOf(j), [[0, 10, 15, 5], [1, 10, 10, 0], [2, 10, 10, 0]]);
    assert.ok(j.partitions.every((p) => p.memberId === j.members[0]!.memberId));
  });

  await t.test('reset-offsets and delete refuse an active group', async () => {
    const r = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', TOPIC, '--to-earliest']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /can only be reset while the group is inactive \(state Empty or Dead\), but it is Stable/);
    const del = await rivulet(['group', 'delete', GROUP, '-b', bs]);
    assert.equal(del.code, 1, del.stderr);
    assert.match(del.stderr, /consumer group "g-orders" was not deleted: it is not empty \(NON_EMPTY_GROUP\)/);
  });

  await consumer.disconnect();
  consumer = undefined;

  await t.test('describe after the consumer left: Empty, lag kept, no owners', async () => {
    const d = await rivulet(['group', 'describe', GROUP, '-b', bs, '--members']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /\tState: Empty\t/);
    assert.match(d.stdout, /\tMembers: 0\t/);
    assert.match(d.stdout, /\(no active members\)/);
    assert.deepEqual(describeRows(d.stdout).map((r) => [r.partition, r.current, r.end, r.lag, r.consumerId, r.host, r.clientId]), [
      [0, '10', '15', '5', '-', '-', '-'],
      [1, '10', '10', '0', '-', '-', '-'],
      [2, '10', '10', '0', '-', '-', '-'],
    ]);
    const l = await rivulet(['group', 'list', '-b', bs, '--state', 'Empty']);
    assert.match(l.stdout, new RegExp(`^${GROUP}\\s+Empty$`, 'm'));
  });

  await t.test('reset-offsets: dry run by default, --execute applies', async () => {
    const dry = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', TOPIC, '--to-earliest']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+NEW-OFFSET$/m);
    for (const p of [0, 1, 2]) assert.match(dry.stdout, new RegExp(`^${GROUP}\\s+${TOPIC}\\s+${p}\\s+10\\s+0$`, 'm'));
    assert.match(dry.stderr, /dry run: nothing was changed/);
    const explicitDry = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', TOPIC, '--to-earliest', '--dry-run', '--json']);
    assert.equal(explicitDry.code, 0, explicitDry.stderr);
    assert.deepEqual(JSON.parse(explicitDry.stdout), [0, 1, 2].map((partition) => ({ topic: TOPIC, partition, currentOffset: 10, newOffset: 0 })));
    assert.deepEqual(offsetsOf(await describeJson(GROUP)), [[0, 10, 15, 5], [1, 10, 10, 0], [2, 10, 10, 0]], 'a dry run changes nothing');

    const toOffset = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', `${TOPIC}:0`, '--to-offset', '3', '--execute']);
    assert.equal(toOffset.code, 0, toOffset.stderr);
    assert.match(toOffset.stdout, new RegExp(`^${GROUP}\\s+${TOPIC}\\s+0\\s+10\\s+3$`, 'm'));
    assert.match(toOffset.stderr, /reset the offsets of 1 partition\(s\) of group "g-orders"/);
    assert.deepEqual(offsetsOf(await describeJson(GROUP)), [[0, 3, 15, 12], [1, 10, 10, 0], [2, 10, 10, 0]]);

    const shift = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', `${TOPIC}:1,2`, '--shift-by', '-4', '--execute', '--json']);
    assert.equal(shift.code, 0, shift.stderr);
    assert.deepEqual(JSON.parse(shift.stdout), [1, 2].map((partition) => ({ topic: TOPIC, partition, currentOffset: 10, newOffset: 6 })));
    assert.deepEqual(offsetsOf(await describeJson(GROUP)), [[0, 3, 15, 12], [1, 6, 10, 4], [2, 6, 10, 4]]);

    // Clamped to the log end, with a warning.
    const far = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', `${TOPIC}:2`, '--shift-by', '100', '--execute']);
    assert.equal(far.code, 0, far.stderr);
    assert.match(far.stderr, /orders-2: shifted offset 106 is after the log end offset 10; using 10/);

    // The first record at or after the time between the two batches is offset 10 in partition 0;
    // partitions 1 and 2 have none, so they go to their log end.
    const mid = new Date(Math.floor((T_OLD + T_NEW) / 2)).toISOString();
    const ts = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', TOPIC, '--to-timestamp', mid, '--execute']);
    assert.equal(ts.code, 0, ts.stderr);
    assert.deepEqual(offsetsOf(await describeJson(GROUP)), [[0, 10, 15, 5], [1, 10, 10, 0], [2, 10, 10, 0]]);
    const tsOld = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', `${TOPIC}:0`, '--to-timestamp', String(T_OLD - 1000), '--execute']);
    assert.equal(tsOld.code, 0, tsOld.stderr);
    assert.deepEqual(offsetsOf(await describeJson(GROUP))[0], [0, 0, 15, 15]);

    const latest = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--all-topics', '--to-latest', '--execute']);
    assert.equal(latest.code, 0, latest.stderr);
    assert.deepEqual(offsetsOf(await describeJson(GROUP)), [[0, 15, 15, 0], [1, 10, 10, 0], [2, 10, 10, 0]]);
  });

  await t.test('reset-offsets errors: unknown topic or partition, shift without a committed offset', async () => {
    const unknown = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', 'ghost', '--to-earliest']);
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(unknown.stderr, /topic "ghost" does not exist/);
    const badPartition = await rivulet(['group', 'reset-offsets', GROUP, '-b', bs, '--topic', `${TOPIC}:7`, '--to-earliest']);
    assert.equal(badPartition.code, 1, badPartition.stderr);
    assert.match(badPartition.stderr, /topic "orders" has 3 partition\(s\) \(0 to 2\); there is no partition 7/);
    const noOffset = await rivulet(['group', 'reset-offsets', 'g-fresh', '-b', bs, '--topic', TOPIC, '--shift-by', '1']);
    assert.equal(noOffset.code, 1, noOffset.stderr);
    assert.match(noOffset.stderr, /cannot shift the offset of orders-0: group "g-fresh" has no committed offset there/);
  });

  await t.test('reset-offsets --execute on a group that does not exist yet creates its offsets', async () => {
    const missingGroup = await rivulet(['group', 'describe', 'g-fresh', '-b', bs]);
    assert.equal(missingGroup.code, 1, missingGroup.stderr);
    assert.match(missingGroup.stderr, /consumer group "g-fresh" does not exist/);
    const r = await rivulet(['group', 'reset-offsets', 'g-fresh', '-b', bs, '--topic', TOPIC, '--to-earliest', '--execute']);
    assert.equal(r.code, 0, r.stderr);
    for (const p of [0, 1, 2]) assert.match(r.stdout, new RegExp(`^g-fresh\\s+${TOPIC}\\s+${p}\\s+-\\s+0$`, 'm'));
    const d = await describeJson('g-fresh');
    assert.equal(d.state, 'Empty');
    assert.deepEqual(offsetsOf(d), [[0, 0, 15, 15], [1, 0, 10, 10], [2, 0, 10, 10]]);
  });

  await t.test('delete: empty groups go, unknown groups are named, exit 1 if any failed', async () => {
    const r = await rivulet(['group', 'delete', GROUP, 'g-fresh', 'g-ghost', '-b', bs]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^deleted consumer group "g-orders"$/m);
    assert.match(r.stdout, /^deleted consumer group "g-fresh"$/m);
    assert.match(r.stderr, /consumer group "g-ghost" was not deleted: it does not exist \(GROUP_ID_NOT_FOUND\)/);
    const l = await rivulet(['group', 'list', '-b', bs]);
    assert.equal(l.code, 0, l.stderr);
    assert.doesNotMatch(l.stdout, /g-orders|g-fresh/);
    const d = await rivulet(['group', 'describe', GROUP, '-b', bs]);
    assert.equal(d.code, 1, d.stderr);
    assert.match(d.stderr, /consumer group "g-orders" does not exist/);
    const again = await rivulet(['group', 'delete', GROUP, '-b', bs]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /GROUP_ID_NOT_FOUND/);
  });
});
