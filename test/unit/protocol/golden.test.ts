// Golden request frames captured from kafkajs and @platformatic/kafka by
// scripts/capture-golden.mjs: each decodes with our codec to the values the client
// meant, and re-encodes to the same bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { encodeRequest } from '../../../src/protocol/header.js';
import { validateBatches } from '../../../src/protocol/record-batch.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { codecOf, decodeRequestFrame, goldenFrame, goldenIndex, type GoldenEntry } from './helpers.js';

const index = goldenIndex();
const topicOf = (e: GoldenEntry): string => `golden-${e.client}`;
const groupOf = (e: GoldenEntry): string => `golden-${e.client}-group`;
/** The capture script's stand-in broker derives topic ids from the name this way. */
const topicIdOf = (name: string): string => createHash('sha256').update(name).digest().subarray(0, 16).toString('base64url');

test('the golden set covers the APIs the brief asks for, from both clients', () => {
  for (const client of ['kafkajs', 'platformatic']) {
    const apis = new Set(index.filter((e) => e.client === client).map((e) => e.apiKey));
    for (const k of [ApiKey.ApiVersions, ApiKey.Metadata, ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.CreateTopics, ApiKey.InitProducerId]) {
      assert.ok(apis.has(k), `${client} has no golden frame for API ${k}`);
    }
  }
  // One client speaks the old, non-flexible versions and the other the flexible ones.
  assert.ok(index.some((e) => e.version < codecOf(e.apiKey).flexibleFrom));
  assert.ok(index.some((e) => e.version >= codecOf(e.apiKey).flexibleFrom));
});

/** What each frame must hold, beyond decoding cleanly. */
const checks: Partial<Record<number, (body: any, e: GoldenEntry) => void>> = {
  [ApiKey.ApiVersions](b, e) {
    if (e.version >= 3) {
      assert.equal(b.clientSoftwareName, e.client === 'platformatic' ? 'platformatic-kafka' : b.clientSoftwareName);
      assert.match(b.clientSoftwareVersion, /^\d+\.\d+\.\d+/);
    }
  },
  [ApiKey.Metadata](b, e) {
    assert.equal(b.allowAutoTopicCreation, false);
    if (b.topics !== null) assert.deepEqual(b.topics.map((t: any) => t.name), [topicOf(e)]);
  },
  [ApiKey.CreateTopics](b, e) {
    assert.equal(b.topics.length, 1);
    assert.equal(b.topics[0].name, topicOf(e));
    assert.equal(b.topics[0].numPartitions, 3);
    assert.equal(b.topics[0].replicationFactor, 1);
    assert.equal(b.validateOnly, false);
  },
  [ApiKey.InitProducerId](b) {
    assert.equal(b.transactionalId, null, 'an idempotent, non-transactional producer');
    assert.ok(b.transactionTimeoutMs > 0);
  },
  [ApiKey.Produce](b, e) {
    assert.equal(b.acks, -1);
    assert.equal(b.transactionalId, null);
    assert.ok(b.timeoutMs > 0);
    assert.equal(b.topicData.length, 1);
    assert.equal(b.topicData[0].name, topicOf(e));
    assert.equal(b.topicData[0].partitionData.length, 1);
    const p = b.topicData[0].partitionData[0];
    assert.equal(p.index, 0);
    assert.ok(Buffer.isBuffer(p.records));
    const s = validateBatches(p.records);
    assert.equal(s.error, ErrorCode.NONE, s.reason);
    assert.equal(s.batches, 1);
    assert.equal(s.records, 2, 'the two messages sent');
    assert.equal(s.producerId, 4242, 'the id InitProducerId handed out');
    assert.equal(s.producerEpoch, 0);
    assert.equal(s.baseSequence, 0);
    assert.equal(s.lastSequence, 1);
    assert.equal(s.transactional, false);
    // The record values travel uncompressed: the text is in the batch.
    assert.ok(p.records.includes(Buffer.from('hello golden')));
    assert.ok(p.records.includes(Buffer.from('second ünïcode ✓')));
  },
  [ApiKey.Fetch](b, e) {
    assert.equal(b.replicaId, -1);
    assert.ok(b.maxWaitMs > 0);
    assert.ok(b.maxBytes > 0);
    const partitions = b.topics.flatMap((t: any) => t.partitions.map((p: any) => p.partition)).sort();
    assert.deepEqual(partitions, [0, 1, 2]);
    for (const t of b.topics) {
      if (e.version >= 13) {
        assert.equal(t.topic, '');
        assert.equal(t.topicId, topicIdOf(topicOf(e)));
      } else {
        assert.equal(t.topic, topicOf(e));
      }
      for (const p of t.partitions) {
        assert.equal(p.fetchOffset, 0);
        assert.ok(p.partitionMaxBytes > 0);
      }
    }
    if (e.version >= 15) assert.deepEqual(b.replicaState, { replicaId: -1, replicaEpoch: -1 });
  },
  [ApiKey.ListOffsets](b, e) {
    assert.equal(b.replicaId, -1);
    assert.equal(b.topics.length, 1);
    assert.equal(b.topics[0].name, topicOf(e));
    assert.deepEqual(b.topics[0].partitions.map((p: any) => p.partitionIndex).sort(), [0, 1, 2]);
    for (const p of b.topics[0].partitions) assert.ok(p.timestamp === -1 || p.timestamp === -2, `timestamp ${p.timestamp}`);
  },
  [ApiKey.FindCoordinator](b, e) {
    assert.equal(b.keyType, 0);
    if (e.version >= 4) assert.deepEqual(b.coordinatorKeys, [groupOf(e)]);
    else assert.equal(b.key, groupOf(e));
  },
  [ApiKey.JoinGroup](b, e) {
    assert.equal(b.groupId, groupOf(e));
    assert.equal(b.protocolType, 'consumer');
    assert.equal(b.memberId, '');
    assert.ok(b.protocols.length >= 1);
    for (const p of b.protocols) assert.ok(p.metadata.length > 0);
  },
  [ApiKey.SyncGroup](b, e) {
    assert.equal(b.groupId, groupOf(e));
    assert.equal(b.generationId, 1);
    assert.deepEqual(b.assignments.map((a: any) => a.memberId), [b.memberId], 'the leader assigns to itself');
  },
  [ApiKey.OffsetFetch](b, e) {
    assert.equal(b.groupId, groupOf(e));
    assert.equal(b.topics[0].name, topicOf(e));
  },
  [ApiKey.LeaveGroup](b, e) {
    assert.equal(b.groupId, groupOf(e));
    if (e.version >= 3) assert.equal(b.members.length, 1);
  },
  [ApiKey.Heartbeat](b, e) {
    assert.equal(b.groupId, groupOf(e));
    assert.equal(b.generationId, 1);
  },
};

for (const e of index) {
  test(`golden ${e.file}: decodes and re-encodes byte for byte`, () => {
    const frame = goldenFrame(e);
    assert.equal(frame.length, e.size);
    assert.equal(frame.readInt32BE(0), frame.length - 4, 'size field');
    const { reader, header, body } = decodeRequestFrame(frame);
    assert.equal(reader.bad, false, reader.reason);
    assert.equal(reader.remaining, 0, 'the body fills the frame');
    assert.equal(header.apiKey, e.apiKey);
    assert.equal(header.apiVersion, e.version);
    assert.equal(header.clientId, `golden-${e.client}`);

    const check = checks[e.apiKey];
    assert.ok(check, `no field checks for API ${e.api}`);
    check(body, e);

    const codec = codecOf(e.apiKey);
    const chunks = encodeRequest(header, codec.writeRequest[e.version]!, body);
    assert.deepEqual(Buffer.concat(chunks), frame);
    if (e.apiKey === ApiKey.Produce) {
      // The record batch is handed to the socket by reference, not copied.
      const records = body.topicData[0].partitionData[0].records as Buffer;
      assert.ok(chunks.includes(records), 'record buffer spliced by reference');
    }
  });
}
