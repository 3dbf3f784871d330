// The consumer protocol's data messages (ConsumerProtocolSubscription in JoinGroup's
// protocol metadata, ConsumerProtocolAssignment in SyncGroup's assignments): every version
// round-trips values generated from the vendored definitions, the tables are indexed by
// version number, and what kafkajs and @platformatic/kafka really sent decodes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader } from '../../../src/protocol/reader.js';
import { encode, type Writer } from '../../../src/protocol/writer.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import {
  consumerProtocolAssignmentReaders,
  consumerProtocolAssignmentWriters,
  consumerProtocolSubscriptionReaders,
  consumerProtocolSubscriptionWriters,
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
  readConsumerProtocolSubscription,
} from '../../../src/protocol/generated/consumer-protocol.js';
import { decodeRequestFrame, goldenFrame, goldenIndex, loadDataMessage, messageArbitrary, project, versionsOf } from './helpers.js';
import { assignedPartitions, subscribedTopics } from '../../../src/protocol/consumer-protocol.js';

type Read = (r: Reader) => any;
type Write = (w: Writer, m: any) => void;

const messages = [
  { name: 'ConsumerProtocolSubscription', readers: consumerProtocolSubscriptionReaders as readonly (Read | undefined)[], writers: consumerProtocolSubscriptionWriters as readonly (Write | undefined)[] },
  { name: 'ConsumerProtocolAssignment', readers: consumerProtocolAssignmentReaders as readonly (Read | undefined)[], writers: consumerProtocolAssignmentWriters as readonly (Write | undefined)[] },
];

for (const { name, readers, writers } of messages) {
  const spec = loadDataMessage(name);
  const versions = versionsOf(spec);

  test(`${name}: one table entry per version number, as the definition's versions`, () => {
    assert.equal(readers.length, versions.at(-1)! + 1);
    assert.equal(writers.length, versions.at(-1)! + 1);
    for (let v = 0; v < readers.length; v++) {
      const defined = versions.includes(v);
      assert.equal(typeof readers[v], defined ? 'function' : 'undefined', `reader v${v}`);
      assert.equal(typeof writers[v], defined ? 'function' : 'undefined', `writer v${v}`);
    }
  });

  test(`${name}: every version round-trips`, async (t) => {
    for (const v of versions) {
      await t.test(`v${v}`, () => {
        fc.assert(
          fc.property(messageArbitrary(spec, v), (m) => {
            const bytes = Buffer.concat(encode(writers[v]!, m));
            const r = new Reader(bytes);
            const decoded = readers[v]!(r);
            assert.equal(r.bad, false, r.reason);
            assert.equal(r.remaining, 0);
            assert.deepStrictEqual(project(decoded, m), m);
            assert.deepEqual(Buffer.concat(encode(writers[v]!, decoded)), bytes);
          }),
          { numRuns: 40, seed: name.length * 100 + v },
        );
      });
    }
  });
}

test('a whole subscription carries its version first; encode and decode agree at every version', () => {
  const m = { topics: ['a', 'b'], userData: Buffer.from([1, 2]), ownedPartitions: [{ topic: 'a', partitions: [0, 2] }], generationId: 7, rackId: 'r1' };
  for (let v = 0; v <= 3; v++) {
    const bytes = encodeConsumerProtocolSubscription(m, v);
    assert.equal(bytes.readInt16BE(0), v);
    const back = decodeConsumerProtocolSubscription(bytes)!;
    assert.deepEqual(back.topics, ['a', 'b']);
    assert.deepEqual(back.ownedPartitions, v >= 1 ? m.ownedPartitions : []);
    assert.equal(back.generationId, v >= 2 ? 7 : -1);
    assert.equal(back.rackId, v >= 3 ? 'r1' : null);
  }
  assert.equal(encodeConsumerProtocolSubscription(m).readInt16BE(0), 3, 'the newest version unless told');
  assert.throws(() => encodeConsumerProtocolSubscription(m, 4), RangeError);
});

test('a newer subscription version is read as the newest known, its extra fields ignored; malformed ones decode to null', () => {
  const v3 = encodeConsumerProtocolSubscription({ topics: ['t'], userData: null, ownedPartitions: [], generationId: 3, rackId: null }, 3);
  const v9 = Buffer.concat([Buffer.from([0, 9]), v3.subarray(2), Buffer.from('a field from the future')]);
  assert.deepEqual(decodeConsumerProtocolSubscription(v9), decodeConsumerProtocolSubscription(v3));
  const negative = Buffer.from(v3);
  negative.writeInt16BE(-1, 0);
  assert.equal(decodeConsumerProtocolSubscription(negative), null);
  assert.equal(decodeConsumerProtocolSubscription(v3.subarray(0, v3.length - 1)), null);
  assert.equal(decodeConsumerProtocolSubscription(Buffer.alloc(0)), null);
  // The reader stays usable for callers that want what was read before the message ran short.
  const r = new Reader(v3.subarray(0, 2 + 4 + 2 + 1));
  assert.deepEqual(readConsumerProtocolSubscription(r).topics, ['t']);
  assert.equal(r.bad, true);
});

test('a whole assignment round-trips at every version', () => {
  const m = { assignedPartitions: [{ topic: 'orders', partitions: [0, 1] }, { topic: 'audit', partitions: [3] }], userData: null };
  for (let v = 0; v <= 3; v++) {
    const bytes = encodeConsumerProtocolAssignment(m, v);
    assert.equal(bytes.readInt16BE(0), v);
    assert.deepEqual(decodeConsumerProtocolAssignment(bytes), m);
  }
  assert.equal(decodeConsumerProtocolAssignment(Buffer.from([0, 0, 0, 0, 0, 1])), null, 'one topic announced, none there');
});

// What real clients sent (test/fixtures/protocol): kafkajs and @platformatic/kafka.
const golden = goldenIndex();

for (const e of golden.filter((g) => g.apiKey === ApiKey.JoinGroup)) {
  test(`golden ${e.file}: the members' subscriptions decode to the topic the client subscribed to`, () => {
    const { body } = decodeRequestFrame(goldenFrame(e));
    const topic = `golden-${e.client}`;
    for (const p of body.protocols) {
      const metadata = p.metadata as Buffer;
      const version = metadata.readInt16BE(0);
      const r = new Reader(metadata);
      const m = readConsumerProtocolSubscription(r);
      assert.deepEqual(m.topics, [topic]);
      if (e.client === 'platformatic') {
        // @platformatic/kafka writes version 1 but stops after the user data, without the
        // owned partitions v1 has: strict decoding refuses it, the topics are read regardless.
        assert.equal(version, 1);
        assert.equal(r.bad, true);
        assert.equal(decodeConsumerProtocolSubscription(metadata), null);
      } else {
        assert.equal(r.bad, false, r.reason);
        assert.equal(r.remaining, 0);
        assert.deepEqual(encodeConsumerProtocolSubscription(m, version), metadata, 're-encodes byte for byte');
      }
    }
  });
}

for (const e of golden.filter((g) => g.apiKey === ApiKey.SyncGroup)) {
  test(`golden ${e.file}: the leader's assignment decodes to every partition of the topic and re-encodes byte for byte`, () => {
    const { body } = decodeRequestFrame(goldenFrame(e));
    for (const a of body.assignments) {
      const bytes = a.assignment as Buffer;
      const m = decodeConsumerProtocolAssignment(bytes);
      assert.ok(m, 'decodes');
      assert.deepEqual(m.assignedPartitions, [{ topic: `golden-${e.client}`, partitions: [0, 1, 2] }]);
      assert.deepEqual(encodeConsumerProtocolAssignment(m, bytes.readInt16BE(0)), bytes);
    }
  });
}

test('fuzz: random bytes never make the whole-message decoders throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
      const bytes = Buffer.from(a);
      assert.doesNotThrow(() => decodeConsumerProtocolSubscription(bytes));
      assert.doesNotThrow(() => decodeConsumerProtocolAssignment(bytes));
    }),
    { numRuns: 500, seed: 11 },
  );
});

test('the tolerant readers groups and tools use: golden subscriptions and assignments, the v0 fallback, null for what is not one', () => {
  for (const e of golden.filter((g) => g.apiKey === ApiKey.JoinGroup)) {
    for (const p of decodeRequestFrame(goldenFrame(e)).body.protocols) assert.deepEqual(subscribedTopics(p.metadata), [`golden-${e.client}`], e.file);
  }
  for (const e of golden.filter((g) => g.apiKey === ApiKey.SyncGroup)) {
    for (const a of decodeRequestFrame(goldenFrame(e)).body.assignments) assert.deepEqual(assignedPartitions(a.assignment), [{ topic: `golden-${e.client}`, partitions: [0, 1, 2] }], e.file);
  }
  // An assignment whose partitions arrive unsorted comes back sorted.
  const unsorted = encodeConsumerProtocolAssignment({ assignedPartitions: [{ topic: 't', partitions: [2, 0, 1] }], userData: null }, 0);
  assert.deepEqual(assignedPartitions(unsorted), [{ topic: 't', partitions: [0, 1, 2] }]);
  for (const bad of [null, undefined, Buffer.alloc(0), Buffer.from([0xff, 0xff, 0, 0, 0, 0]), Buffer.from([0, 0, 0x7f, 0xff, 0xff, 0xff])]) {
    assert.equal(subscribedTopics(bad), null, String(bad?.toString('hex')));
    assert.equal(assignedPartitions(bad), null, String(bad?.toString('hex')));
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
      assert.doesNotThrow(() => subscribedTopics(Buffer.from(a)));
      assert.doesNotThrow(() => assignedPartitions(Buffer.from(a)));
    }),
    { numRuns: 300, seed: 12 },
  );
});
