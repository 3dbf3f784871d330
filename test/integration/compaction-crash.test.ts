// Crash safety of log compaction: a producer writes keyed acks=all batches to a compacted
// topic whose cleaner runs all the time (small segments, any dirty ratio), and the broker is
// killed with SIGKILL at seeded random moments, so kills land before, during and after
// cleaning passes and their swaps. After every restart each key's latest acknowledged record
// is readable at its acknowledged offset (or a later record of that key that was sent but
// not acknowledged replaced it), every record stored is one that was sent, at the offset it
// was given, and the high watermark never went back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, killAfter } from '../helpers/broker.js';
import { makeTempDir } from '../helpers/temp.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch, decodeBatches } from '../helpers/batches.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { createTopicsBody, fetchBody, produceBody } from '../helpers/requests.js';

const CYCLES = 20;
const KEYS = 25;
const TOPIC = 'compact-crash';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Rec {
  offset: number;
  key: string;
  value: string;
}

/** Every record up to the high watermark, across compaction's gaps; and the high watermark. */
async function readAll(port: number): Promise<{ records: Rec[]; hw: number }> {
  const c = await WireClient.connect(port);
  const out: Rec[] = [];
  try {
    let offset = 0;
    for (;;) {
      const res = await c.request(ApiKey.Fetch, 12, fetchBody(TOPIC, { offset, maxBytes: 8 << 20 }));
      const p = res.responses[0].partitions[0];
      if (p.errorCode !== 0) throw new Error(`fetch @${offset}: error ${p.errorCode}`);
      const buf: Buffer = p.records ?? Buffer.alloc(0);
      let next = offset;
      for (let pos = 0; pos + 61 <= buf.length; ) {
        const size = buf.readInt32BE(pos + 8) + 12;
        if (pos + size > buf.length) break;
        next = Number(buf.readBigInt64BE(pos)) + buf.readInt32BE(pos + 23) + 1;
        pos += size;
      }
      for (const r of decodeBatches(buf)) if (r.offset >= offset) out.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString() });
      if (next >= p.highWatermark || next === offset) return { records: out, hw: Number(p.highWatermark) };
      offset = next;
    }
  } finally {
    c.close();
  }
}

test(`compaction: each key's latest acknowledged record survives ${CYCLES} SIGKILLs of a cleaning broker`, { timeout: 300_000 }, async (t) => {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
  const random = rng(seed);
  const dataDir = await makeTempDir('rivulet-compact-crash-');
  // Per offset, what was sent there and acknowledged (the offset is known once acknowledged).
  const acked = new Map<number, { key: string; value: string }>();
  // Values sent but never acknowledged, per key (a kill may have stored them).
  const unacked = new Map<string, Set<string>>();
  let sent = 0;
  let hwSeen = 0;
  let recoveries = 0;
  const check = (records: Rec[], hw: number, where: string): void => {
    assert.ok(hw >= hwSeen, `${where}: high watermark ${hw} went back from ${hwSeen}`);
    hwSeen = hw;
    for (const r of records) {
      const a = acked.get(r.offset);
      if (a !== undefined) assert.deepEqual({ key: r.key, value: r.value }, a, `${where}: offset ${r.offset} holds what was acknowledged there`);
      else assert.ok(unacked.get(r.key)?.has(r.value), `${where}: offset ${r.offset} holds ${r.key}=${r.value}, which was never acknowledged at another offset`);
    }
    const latestAcked = new Map<string, number>();
    for (const [offset, a] of acked) if (offset > (latestAcked.get(a.key) ?? -1)) latestAcked.set(a.key, offset);
    const latestStored = new Map<string, Rec>();
    for (const r of records) latestStored.set(r.key, r);
    for (const [key, offset] of latestAcked) {
      const stored = latestStored.get(key);
      assert.ok(stored !== undefined, `${where}: key ${key} lost (latest acknowledged at ${offset})`);
      if (stored.offset === offset) continue;
      // Only a later record of the key, sent but not acknowledged, may stand in its place.
      assert.ok(stored.offset > offset && !acked.has(stored.offset), `${where}: key ${key}: latest acknowledged at ${offset}, latest stored at ${stored.offset}`);
    }
  };
  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const broker = await startBroker({ dataDir, args: ['--set', 'log.cleaner.backoff.ms=10'] });
      const client = await WireClient.connect(broker.port);
      if (cycle === 0) {
        const res = await client.request(ApiKey.CreateTopics, 7, createTopicsBody(TOPIC, 1, {
          configs: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: '2048' },
            { name: 'min.cleanable.dirty.ratio', value: '0' },
            { name: 'delete.retention.ms', value: '86400000' },
          ],
        }));
        assert.equal(res.topics[0].errorCode, 0);
      }
      recoveries += (broker.output().match(/cleaning pass|cleaned segments/g) ?? []).length;
      const before = await readAll(broker.port);
      check(before.records, before.hw, `seed ${seed} cycle ${cycle}`);

      const kill = killAfter(broker, 50 + Math.floor(random() * 400));
      const inFlight: Promise<void>[] = [];
      const producer = (async () => {
        while (!kill.killed) {
          const n = 1 + Math.floor(random() * 8);
          const recs = Array.from({ length: n }, () => ({ key: `k${Math.floor(random() * KEYS)}`, value: `c${cycle}-m${sent++}-${'x'.repeat(Math.floor(random() * 60))}` }));
          for (const r of recs) {
            let set = unacked.get(r.key);
            if (set === undefined) unacked.set(r.key, (set = new Set()));
            set.add(r.value);
          }
          const batch = buildBatch(recs.map((r) => ({ key: Buffer.from(r.key), value: Buffer.from(r.value) })));
          const p = client
            .request(ApiKey.Produce, 9, produceBody(TOPIC, batch))
            .then((res) => {
              const pr = res.responses[0].partitionResponses[0];
              if (pr.errorCode !== 0) return;
              recs.forEach((r, i) => {
                acked.set(Number(pr.baseOffset) + i, r);
                unacked.get(r.key)!.delete(r.value);
              });
            })
            .catch(() => undefined);
          inFlight.push(p);
          if (inFlight.length >= 4) await inFlight.shift();
        }
      })();
      await kill.done;
      await producer;
      await Promise.all(inFlight);
      client.close();
    }
    const final = await startBroker({ dataDir });
    recoveries += (final.output().match(/cleaning pass|cleaned segments/g) ?? []).length;
    const end = await readAll(final.port);
    await final.stop();
    check(end.records, end.hw, `seed ${seed} final`);
    assert.ok(acked.size > 0, 'some produce requests were acknowledged');
    assert.ok(end.records.length < end.hw, `seed ${seed}: the cleaner removed records (${end.records.length} stored of ${end.hw} offsets)`);
    t.diagnostic(`seed ${seed}: ${acked.size} acknowledged of ${sent} sent; ${end.records.length} records stored below offset ${end.hw}; ${recoveries} restarts found an interrupted cleaning pass`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
