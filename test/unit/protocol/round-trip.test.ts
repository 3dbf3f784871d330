// Every API, every version, request and response: values generated from Kafka's JSON
// definitions (tagged and nullable fields included) encode, decode to the same values,
// and re-encode to the same bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader } from '../../../src/protocol/reader.js';
import { encode, SizeWriter, type Writer } from '../../../src/protocol/writer.js';
import { codecs, ApiKey } from '../../../src/protocol/generated/index.js';
import {
  allCodecs,
  flexibleAt,
  loadDefinitions,
  messageArbitrary,
  project,
  taggedTopLevel,
  versionsOf,
} from './helpers.js';

const defs = loadDefinitions();

type Read = (r: Reader) => any;
type Write = (w: Writer, m: any) => void;

function bytesOf(write: Write, m: unknown): Buffer {
  const chunks = encode(write, m);
  const sizer = new SizeWriter();
  write(sizer, m);
  const out = Buffer.concat(chunks);
  assert.equal(sizer.size + sizer.external, out.length, 'SizeWriter agrees with what was written');
  return out;
}

function decodeAll(read: Read, bytes: Buffer): any {
  const r = new Reader(bytes);
  const m = read(r);
  assert.equal(r.bad, false, r.reason);
  assert.equal(r.remaining, 0, 'decoder consumed every byte');
  return m;
}

test('the codec table matches the definitions it was generated from', () => {
  assert.deepEqual([...defs.keys()].sort((a, b) => a - b), allCodecs().map((c) => c.key));
  for (const c of allCodecs()) {
    const { request, response } = defs.get(c.key)!;
    const versions = versionsOf(request);
    assert.deepEqual([versions[0], versions.at(-1)], [c.minVersion, c.maxVersion], c.name);
    assert.deepEqual(versionsOf(response), versions, `${c.name} response versions`);
    // Tables are indexed by version number: one entry per version up to the highest, undefined below the lowest.
    for (const table of [c.readRequest, c.writeResponse, c.writeRequest, c.readResponse]) {
      assert.equal(table.length, c.maxVersion + 1, `${c.name}: a table entry per version number`);
      for (let v = 0; v <= c.maxVersion; v++) {
        assert.equal(typeof table[v], v < c.minVersion ? 'undefined' : 'function', `${c.name} v${v}`);
      }
    }
    const firstFlexible = versions.find((v) => flexibleAt(request, v)) ?? Infinity;
    assert.equal(c.flexibleFrom, firstFlexible, `${c.name} flexibleFrom`);
  }
});

for (const codec of allCodecs()) {
  for (const kind of ['request', 'response'] as const) {
    test(`round trip: ${codec.name} ${kind}, every version`, async (t) => {
      const spec = defs.get(codec.key)![kind];
      for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
        const read = (kind === 'request' ? codec.readRequest : codec.readResponse)[v] as Read;
        const write = (kind === 'request' ? codec.writeRequest : codec.writeResponse)[v] as Write;
        await t.test(`v${v}`, () => {
          fc.assert(
            fc.property(messageArbitrary(spec, v), (m) => {
              const bytes = bytesOf(write, m);
              const decoded = decodeAll(read, bytes);
              assert.deepStrictEqual(project(decoded, m), m);
              assert.deepEqual(bytesOf(write, decoded), bytes, 're-encoding gives the same bytes');
            }),
            { numRuns: 30, seed: codec.key * 1000 + v * 2 + (kind === 'request' ? 0 : 1) },
          );
        });
        if (flexibleAt(spec, v)) {
          await t.test(`v${v}: unknown tagged fields are skipped, and a truncated one marks the reader bad`, () => {
            fc.assert(
              fc.property(messageArbitrary(spec, v), fc.uint8Array({ minLength: 1, maxLength: 5 }), (m, extra) => {
                for (const k of taggedTopLevel(spec, v)) delete m[k];
                const bytes = bytesOf(write, m);
                // The top-level tag buffer ends the message; with no tagged field set it is one zero byte.
                assert.equal(bytes.at(-1), 0);
                const withUnknown = Buffer.concat([bytes.subarray(0, -1), Buffer.from([1, 100, extra.length]), extra]);
                const decoded = decodeAll(read, withUnknown);
                assert.deepStrictEqual(project(decoded, m), m);
                assert.deepEqual(bytesOf(write, decoded), bytes, 'unknown tags are dropped on re-encoding');
                const r = new Reader(withUnknown.subarray(0, -1));
                read(r);
                assert.equal(r.bad, true, 'an unknown tagged field that overruns the frame');
              }),
              { numRuns: 10, seed: codec.key * 7 + v },
            );
          });
        }
      }
    });
  }
}

// Regression: the generated writers tested tagged struct and nullable fields with
// `!m.x == null`, which is always false, so those tagged fields were never written.
test('regression: FetchRequest.ClusterId (tagged nullable string) is written when set', () => {
  const c = codecs[ApiKey.Fetch]!;
  const m = { clusterId: 'cluster-x', replicaId: -1, maxWaitMs: 500, minBytes: 1, topics: [] };
  const bytes = bytesOf(c.writeRequest[12]!, m);
  assert.ok(bytes.includes(Buffer.from('cluster-x')));
  assert.equal(decodeAll(c.readRequest[12]!, bytes).clusterId, 'cluster-x');
  const none = bytesOf(c.writeRequest[12]!, { ...m, clusterId: null });
  assert.equal(none.length, bytes.length - 1 - 1 - 1 - 'cluster-x'.length, 'left out when null: tag, size, length, text');
});

test('regression: FetchResponse.CurrentLeader (tagged struct) is written when set, left out at its default', () => {
  const c = codecs[ApiKey.Fetch]!;
  const partition = (currentLeader: unknown) => ({
    partitionIndex: 0,
    errorCode: 6,
    highWatermark: 10,
    lastStableOffset: 10,
    logStartOffset: 0,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: null,
    currentLeader,
  });
  const msg = (currentLeader: unknown) => ({ throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [{ topic: 't', partitions: [partition(currentLeader)] }] });
  const set = bytesOf(c.writeResponse[12]!, msg({ leaderId: 3, leaderEpoch: 7 }));
  assert.deepEqual(decodeAll(c.readResponse[12]!, set).responses[0].partitions[0].currentLeader, { leaderId: 3, leaderEpoch: 7 });
  const unset = bytesOf(c.writeResponse[12]!, msg(undefined));
  const atDefault = bytesOf(c.writeResponse[12]!, msg({ leaderId: -1, leaderEpoch: -1 }));
  assert.deepEqual(atDefault, unset, 'a tagged struct equal to its defaults is left out, as Kafka does');
  assert.equal(set.length, unset.length + 1 + 1 + 4 + 4 + 1, 'tag, size, leaderId, leaderEpoch, struct tag buffer');
  // Decoding a message without the tag and re-encoding does not invent it.
  assert.deepEqual(bytesOf(c.writeResponse[12]!, decodeAll(c.readResponse[12]!, unset)), unset);
});

// Regression: nullable struct fields went on the wire without Kafka's INT8 presence
// marker (-1 null, 1 present), so DescribeTopicPartitions cursors and the
// ConsumerGroupHeartbeat/ShareGroupHeartbeat assignments did not match other clients.
test('regression: a nullable struct carries an INT8 presence marker', () => {
  const c = codecs[ApiKey.DescribeTopicPartitions]!;
  const none = bytesOf(c.writeRequest[0]!, { topics: [], responsePartitionLimit: 5, cursor: null });
  assert.equal(none.toString('hex'), '01' + '00000005' + 'ff' + '00');
  const some = bytesOf(c.writeRequest[0]!, { topics: [], responsePartitionLimit: 5, cursor: { topicName: 'a', partitionIndex: 2 } });
  assert.equal(some.toString('hex'), '01' + '00000005' + '01' + '0261' + '00000002' + '00' + '00');
  assert.equal(decodeAll(c.readRequest[0]!, none).cursor, null);
  assert.deepEqual(decodeAll(c.readRequest[0]!, some).cursor, { topicName: 'a', partitionIndex: 2 });
});
