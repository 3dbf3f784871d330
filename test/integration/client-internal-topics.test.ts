// ensureInternalTopics (src/client/internal-topics.ts) against a real broker: creates a
// compacted changelog and a repartition topic with their partition counts and configs; a second
// call and a race of three callers find them; an existing topic with another partition count is
// a RIV_ERR_CLIENT_TOPIC_MISMATCH error that names both counts.
// KAFKA_PEER_CMD runs the same tests against another broker (see test/helpers/broker-or-peer.ts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, ConfigResourceTypes } from '@platformatic/kafka';
import type { BrokerProcess } from '../helpers/broker.js';
import { startBrokerOrPeer } from '../helpers/broker-or-peer.js';
import { CHANGELOG_CONFIG, ensureInternalTopics } from '../../src/client/internal-topics.js';
import { ClientError, ClientErrorCode } from '../../src/client/errors.js';

let broker: BrokerProcess;
let admin: Admin;
before(async () => {
  broker = await startBrokerOrPeer();
  admin = new Admin({ clientId: 'client-internal-topics', bootstrapBrokers: [broker.bootstrap], retries: 5, retryDelay: 200 });
});
after(async () => {
  await admin.close().catch(() => undefined);
  await broker.stop();
  await broker.cleanup();
});

async function configOf(topic: string, name: string): Promise<string | null | undefined> {
  const d = await admin.describeConfigs({ includeSynonyms: false, resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }] });
  return d[0]!.configs.find((e) => e.name === name)?.value;
}

test('creates a compacted changelog and a repartition topic; again, they exist; three racing callers all succeed', async () => {
  const topics = [
    { name: 'app-counts-changelog', partitions: 3, config: { ...CHANGELOG_CONFIG } },
    { name: 'app-by-user-repartition', partitions: 5 },
  ];
  const first = await ensureInternalTopics(admin, topics);
  assert.deepEqual([...first], [['app-counts-changelog', 'created'], ['app-by-user-repartition', 'created']]);
  const meta = await admin.metadata({ topics: topics.map((t) => t.name), forceUpdate: true });
  assert.equal(meta.topics.get('app-counts-changelog')!.partitionsCount, 3);
  assert.equal(meta.topics.get('app-by-user-repartition')!.partitionsCount, 5);
  assert.equal(await configOf('app-counts-changelog', 'cleanup.policy'), 'compact');
  assert.equal(await configOf('app-by-user-repartition', 'cleanup.policy'), 'delete');
  const again = await ensureInternalTopics(admin, topics);
  assert.deepEqual([...again.values()], ['exists', 'exists']);

  const raced = [{ name: 'app-raced-changelog', partitions: 2, config: { ...CHANGELOG_CONFIG } }];
  // Three processes of one application, each with its own client.
  const admins = [0, 1, 2].map((i) => new Admin({ clientId: `racer-${i}`, bootstrapBrokers: [broker.bootstrap], retries: 5, retryDelay: 200 }));
  try {
    const outcomes = await Promise.all(admins.map((a) => ensureInternalTopics(a, raced)));
    assert.equal(outcomes.filter((o) => o.get('app-raced-changelog') === 'created').length, 1, `one caller created it: ${outcomes.map((o) => o.get('app-raced-changelog'))}`);
  } finally {
    await Promise.all(admins.map((a) => a.close().catch(() => undefined)));
  }
  assert.equal(await configOf('app-raced-changelog', 'cleanup.policy'), 'compact');
});

test('an existing topic with another partition count is a clear error', async () => {
  await admin.createTopics({ topics: ['app-wrong-changelog'], partitions: 2, replicas: 1 });
  await assert.rejects(ensureInternalTopics(admin, [{ name: 'app-wrong-changelog', partitions: 4, config: { ...CHANGELOG_CONFIG } }]), (e: unknown) => {
    assert.ok(e instanceof ClientError);
    assert.equal(e.code, ClientErrorCode.topicMismatch);
    assert.match(e.message, /"app-wrong-changelog" has 2 partitions, the pipeline needs 4/);
    return true;
  });
});
