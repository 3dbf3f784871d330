// Hardening case 1: a topic name deleted and created again. A DeleteTopics on one connection
// and a CreateTopics (or an auto-creating Produce) of the same name on another, sent before
// the delete has finished, must give a new, empty topic that never serves the old records;
// its acks=all records survive a restart, and the broker still stops cleanly. A SIGKILL in
// the middle of a delete must leave nothing a later topic of that name can serve.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch, decodeBatches } from '../helpers/batches.js';
import { readPartition } from '../helpers/read-all.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { createTopicsBody, fetchBody, produceBody } from '../helpers/requests.js';

/** Partitions of the topics being deleted: enough that a delete takes a while. */
const PARTITIONS = 24;

function batch(prefix: string, n: number): Buffer {
  return buildBatch(Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${prefix}-${i}`) })));
}

/** Fills every partition of `topic` with `n` records tagged `prefix` (acks=all; creates the topic if it is absent). */
async function fill(c: WireClient, topic: string, prefix: string, n: number): Promise<void> {
  const res = await c.request(ApiKey.Produce, 9, produceBody(topic, Array.from({ length: PARTITIONS }, (_, p): [number, Buffer] => [p, batch(`${prefix}-p${p}`, n)])));
  for (const pr of res.responses[0].partitionResponses) assert.equal(pr.errorCode, 0, `producing to ${topic}-${pr.index}`);
}

/** Every partition's records, from one Fetch that reads them all from offset 0. */
async function contents(c: WireClient, topic: string): Promise<{ hw: number[]; values: string[] }> {
  const partitions = Array.from({ length: PARTITIONS }, (_, p) => p);
  const res = await c.request(ApiKey.Fetch, 12, fetchBody(topic, { partitions, maxBytes: 8 << 20, partitionMaxBytes: 1 << 20 }));
  const ps = res.responses[0].partitions as Array<{ partitionIndex: number; errorCode: number; highWatermark: number; records: Buffer | null }>;
  for (const p of ps) assert.equal(p.errorCode, 0, `fetching ${topic}-${p.partitionIndex}`);
  return {
    hw: ps.map((p) => Number(p.highWatermark)),
    values: ps.flatMap((p) => decodeBatches(p.records ?? Buffer.alloc(0)).map((r) => r.value!.toString())),
  };
}

async function topicId(c: WireClient, topic: string): Promise<string | null> {
  const md = await c.request(ApiKey.Metadata, 12, { topics: [{ name: topic, topicId: null }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const t = md.topics[0];
  return t.errorCode === 0 ? String(t.topicId) : null;
}

test('case 1: delete and re-create of a topic name from two connections never serves the old records, keeps the new ones across a restart, and stops cleanly', { timeout: 120_000 }, async () => {
  const dataDir = await makeTempDir('rivulet-recreate-');
  let broker: BrokerProcess | null = await startBroker({ dataDir, args: ['--set', `num.partitions=${PARTITIONS}`] });
  const a = await WireClient.connect(broker.port);
  const b = await WireClient.connect(broker.port);
  const kept = new Map<string, string[]>();
  try {
    for (let round = 0; round < 3; round++) {
      for (const how of ['create', 'produce'] as const) {
        const name = `recreate-${how}-${round}`;
        await fill(a, name, 'old', 5);
        // The delete on one connection, the new topic on the other at once, before the delete is answered.
        const deleted = a.request(ApiKey.DeleteTopics, 4, { topicNames: [name], timeoutMs: 5000 });
        let firstOffset: number;
        if (how === 'create') {
          for (;;) {
            const res = await b.request(ApiKey.CreateTopics, 7, createTopicsBody(name, PARTITIONS));
            const r = res.topics[0];
            if (r.errorCode === 0) break;
            // Refused only while the delete is in progress, as Kafka does.
            assert.equal(r.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS, `round ${round}: ${r.errorMessage}`);
            assert.match(r.errorMessage, /marked for deletion/);
            await deleted;
          }
          const res = await b.request(ApiKey.Produce, 9, produceBody(name, batch('new', 1)));
          assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
          firstOffset = Number(res.responses[0].partitionResponses[0].baseOffset);
        } else {
          // Auto-creation through Produce.
          const res = await b.request(ApiKey.Produce, 9, produceBody(name, batch('new', 1)));
          assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
          firstOffset = Number(res.responses[0].partitionResponses[0].baseOffset);
        }
        assert.equal((await deleted).responses[0].errorCode, 0);
        assert.equal(firstOffset, 0, `round ${round} ${how}: the new topic's first record is at offset 0, not after the old records`);
        const now = await contents(b, name);
        assert.deepEqual(now.values, ['new-0'], `round ${round} ${how}: the new topic holds only its own record`);
        kept.set(name, now.values);
      }
    }
    a.close();
    b.close();
    assert.equal(await broker.stop(), 0, `SIGTERM exits 0:\n${broker.output()}`);
    broker = await startBroker({ dataDir });
    for (const [name, values] of kept) {
      const records = await readPartition(broker.port, name, 0);
      assert.deepEqual(records.map((r) => r.value!.toString()), values, `${name}: the acks=all record survives a restart`);
    }
    assert.equal(await broker.stop(), 0, `SIGTERM exits 0:\n${broker.output()}`);
    broker = null;
  } finally {
    a.close();
    b.close();
    await broker?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
});

/** A small deterministic generator, so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const CYCLES = 12;

test(`case 1: a SIGKILL in the middle of a delete (${CYCLES} cycles) finishes or undoes it; a topic of that name never serves the deleted records`, { timeout: 240_000 }, async () => {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
  const random = rng(seed);
  const dataDir = await makeTempDir('rivulet-delete-crash-');
  const name = 'doomed';
  let lastId: string | null = null;
  let lastPrefix = '';
  let broker: BrokerProcess | null = null;
  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const at = `seed ${seed} cycle ${cycle}`;
      // Every topic the catalogue lists opens, or the broker would not be ready.
      broker = await startBroker({ dataDir, args: ['--set', `num.partitions=${PARTITIONS}`] });
      const c = await WireClient.connect(broker.port);
      const keeper = await contents(c, 'keeper').catch(() => null);
      if (cycle > 0) assert.deepEqual(keeper?.hw, Array(PARTITIONS).fill(3), `${at}: the topic beside the deletes keeps its records`);
      else await fill(c, 'keeper', 'keep', 3);
      const id = await topicId(c, name);
      if (id !== null) {
        // The delete was undone by the crash: the same topic, whole.
        assert.equal(id, lastId, `${at}: a topic of the deleted name after the crash is the old one, not a new one holding its files`);
        const old = await contents(c, name);
        assert.deepEqual(old.hw, Array(PARTITIONS).fill(4), `${at}: an undone delete keeps every record`);
      } else {
        // The delete finished (or the topic never existed): a new topic of the name is empty.
        const prefix = `c${cycle}`;
        if (random() < 0.5) {
          const res = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(name, PARTITIONS));
          assert.equal(res.topics[0].errorCode, 0, `${at}: ${res.topics[0].errorMessage}`);
        } else {
          // Auto-created by a Metadata request.
          await c.request(ApiKey.Metadata, 12, { topics: [{ name, topicId: null }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
        }
        const fresh = await contents(c, name);
        assert.deepEqual(fresh.values, [], `${at}: a new topic of a deleted name serves none of the deleted records (last ones were ${lastPrefix})`);
        await fill(c, name, prefix, 4);
        lastId = await topicId(c, name);
        lastPrefix = prefix;
      }
      const killAfterMs = Math.floor(random() * 60);
      void c.request(ApiKey.DeleteTopics, 4, { topicNames: [name], timeoutMs: 5000 }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, killAfterMs));
      await broker.kill();
      c.close();
      broker = null;
    }
  } finally {
    await broker?.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
});
