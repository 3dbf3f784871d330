// Share groups (KIP-932) with franz-go's share consumer (v1.22.3) beside the Java client's
// KafkaShareConsumer: two franz-go members and one Java member share one partition's records,
// each record processed exactly once.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker } from '../helpers/broker.js';
import { GroupTools } from '../helpers/group-harness.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { compileJava, requireJava, requireTool, token, works } from './tools.js';
import { buildGoShareMember, goShareMember, javaShareMember, joinedCount, type ShareMember } from './share-members.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

test('two franz-go share consumers and a KafkaShareConsumer share one partition: every record processed exactly once', { timeout: 300_000 }, async (t) => {
  if (!requireTool(t, await works('go', ['version']), 'go (1.26+)', 'install it from https://go.dev/doc/install')) return;
  if (!(await requireJava(t))) return;
  const out = await makeTempDir('rivulet-go-share-');
  cleanups.push(() => rm(out, { recursive: true, force: true }));
  const go = await buildGoShareMember(out);
  if (!requireTool(t, go.ok, `franz-go v1.22.3 in the Go module cache (go build: ${go.error.trim().split('\n').pop()})`, 'run `go mod download` in test/interop/go/share-member')) return;
  const java = await compileJava('ShareMember.java', 'share-member');
  assert.ok(java.ok, `javac ShareMember.java failed:\n${java.error}`);
  const broker = await startBroker({ args: ['--set', 'share.auto.offset.reset=earliest'] });
  cleanups.push(() => broker.cleanup());
  const tools = new GroupTools(broker.bootstrap);
  cleanups.push(() => tools.close());
  await tools.connect();

  const id = token();
  const topic = `share-go-${id}`;
  const group = `sg-go-${id}`;
  await tools.createTopic(topic, 1);
  const members: ShareMember[] = [
    goShareMember(go.binary, 'go-0', broker.bootstrap, topic, group),
    goShareMember(go.binary, 'go-1', broker.bootstrap, topic, group),
    javaShareMember(java.classpath, 'java', broker.bootstrap, topic, group, 'accept'),
  ];
  cleanups.push(async () => void (await Promise.all(members.map((m) => m.proc.kill()))));
  const describe = () => `${members.map((m) => m.describe()).join('\n')}\n--- broker ---\n${broker.output().split('\n').slice(-20).join('\n')}`;
  await waitFor('all three members to join the share group', () => joinedCount(broker, group) >= 3, 60_000, describe);

  const total = 2000;
  for (let i = 0; i < total; i += 20) await tools.produce(topic, id, i, i + 20, () => 0);
  const seen = () => new Set(members.flatMap((m) => m.records().map((r) => r.v))).size;
  await waitFor(`all ${total} records to be processed`, () => seen() >= total, 90_000, describe);
  await Promise.all(members.map((m) => m.close()));

  const deliveries = new Map<string, number>();
  for (const m of members) {
    assert.deepEqual(m.errors(), [], describe());
    for (const r of m.records()) {
      deliveries.set(r.v, (deliveries.get(r.v) ?? 0) + 1);
      assert.equal(r.d, 1, `record ${r.v} (offset ${r.o}) was a redelivery (delivery count ${r.d}) to ${m.name}\n${describe()}`);
    }
  }
  for (let i = 0; i < total; i++) assert.equal(deliveries.get(`${id}|${i}`), 1, `record ${i} processed ${deliveries.get(`${id}|${i}`) ?? 0} times\n${describe()}`);
  t.diagnostic(`records per member: ${members.map((m) => `${m.name} ${m.records().length}`).join(', ')}`);
  assert.ok(members.filter((m) => m.records().length > 0).length >= 2, `the work was shared\n${describe()}`);
});
