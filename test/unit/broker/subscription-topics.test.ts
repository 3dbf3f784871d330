// The group coordinator reads its members' subscribed topics (for OffsetDelete's
// GROUP_SUBSCRIBED_TO_TOPIC) with the generated ConsumerProtocolSubscription reader,
// tolerantly: what real clients send must give their topics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSubscriptionTopics } from '../../../src/broker/groups/coordinator.js';
import { encodeConsumerProtocolSubscription } from '../../../src/protocol/generated/consumer-protocol.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { decodeRequestFrame, goldenFrame, goldenIndex } from '../protocol/helpers.js';

test('the topics of every golden JoinGroup subscription, kafkajs (v0) and @platformatic/kafka (v1 without owned partitions)', () => {
  const joins = goldenIndex().filter((e) => e.apiKey === ApiKey.JoinGroup);
  assert.deepEqual(joins.map((e) => e.client).sort(), ['kafkajs', 'platformatic']);
  for (const e of joins) {
    for (const p of decodeRequestFrame(goldenFrame(e)).body.protocols) {
      assert.deepEqual(decodeSubscriptionTopics(p.metadata), [`golden-${e.client}`], e.file);
    }
  }
});

test('every subscription version gives its topics; empty or garbled metadata gives none', () => {
  const m = { topics: ['a', 'b'], userData: null, ownedPartitions: [{ topic: 'a', partitions: [1] }], generationId: 2, rackId: 'rack' };
  for (let v = 0; v <= 3; v++) assert.deepEqual(decodeSubscriptionTopics(encodeConsumerProtocolSubscription(m, v)), ['a', 'b'], `v${v}`);
  assert.deepEqual(decodeSubscriptionTopics(Buffer.alloc(0)), []);
  assert.deepEqual(decodeSubscriptionTopics(Buffer.from([0, 0, 0x7f, 0xff, 0xff, 0xff])), [], 'a topic count larger than the bytes');
});
