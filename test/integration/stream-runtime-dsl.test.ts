// A pipeline written with the DSL (rivulet/stream) on the Kafka runtime: re-keyed records go
// through the repartition topic the DSL declares, are counted per key in a changelog-backed
// store, and after a stop, more input and a restart the final counts equal a reference count.
// The records in/out counters count each record once (the runner counts, not the operators).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker, brokerTail } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { makeTempDir } from '../helpers/temp.js';
import { Registry } from 'prom-client';
import { createTopics, metricSum, produce } from '../helpers/stream-count.js';
import { readIsolated, IsolationLevel } from '../helpers/txn-wire.js';
import { pipeline, serdes, startPipeline } from '../../src/stream/index.js';

const P = 3;

test('DSL on the runtime, exactly-once: map to a new key, groupByKey().count() through a repartition topic; final counts equal the reference across a restart', { timeout: 120_000 }, async () => {
  const broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
  const stateDir = await makeTempDir('rivulet-stream-dsl-');
  try {
    await createTopics(broker.bootstrap, ['words', 'word-counts'], P);
    const p = pipeline('wc');
    p.stream('words', { key: serdes.string, value: serdes.string })
      .map((r) => ({ key: r.value, value: r.value }))
      .groupByKey({ key: serdes.string, value: serdes.string })
      .count({ name: 'counts' })
      .toStream()
      .to('word-counts', { key: serdes.string, value: serdes.long });
    const topology = p.build();
    assert.ok(topology.internalTopics.length > 0, 'the re-key declares a repartition topic');

    const reference = new Map<string, number>();
    const send = async (words: string[]) => {
      for (const w of words) reference.set(w, (reference.get(w) ?? 0) + 1);
      await produce(broker.bootstrap, 'words', words.map((w, i) => [`line${i}`, w]));
    };
    const finalCounts = async () => {
      const latest = new Map<string, number>();
      for (let part = 0; part < P; part++) {
        for (const r of (await readIsolated(broker.port, 'word-counts', part, IsolationLevel.READ_COMMITTED)).records) {
          latest.set(r.key!.toString(), Number(serdes.long.deserialize(r.value)));
        }
      }
      return latest;
    };
    const expectReference = async () => {
      let got = new Map<string, number>();
      await waitFor('final counts equal the reference', async () => {
        got = await finalCounts();
        return [...reference].every(([w, n]) => got.get(w) === n);
      }, 60_000, () => `got ${JSON.stringify([...got])}, want ${JSON.stringify([...reference])}\n${brokerTail(broker, 20)}`);
      assert.deepEqual([...got].sort(), [...reference].sort());
    };
    const words = ['apple', 'pear', 'plum', 'fig', 'kiwi', 'lime', 'date'];
    await send(Array.from({ length: 140 }, (_, i) => words[(i * 3) % words.length]!));
    const cfg = { bootstrap: broker.bootstrap, stateDir, instanceId: 'a', commitIntervalMs: 50 };
    const registry = new Registry();
    const r1 = await startPipeline(topology, { ...cfg, metricsRegistry: registry });
    try {
      await expectReference();
      // 140 words read by the first sub-topology, re-keyed into the repartition topic, read again by the second.
      const repartition = topology.internalTopics.find((t) => t.name.endsWith('-repartition'))!.name;
      assert.equal(await metricSum(registry, 'rivulet_stream_records_in_total'), 280, 'each input record counted once per sub-topology');
      const out = (await registry.getSingleMetric('rivulet_stream_records_out_total')!.get()).values;
      assert.equal(out.filter((v) => v.labels.topic === repartition).reduce((n, v) => n + v.value, 0), 140, 'each re-keyed record counted once');
    } finally {
      await r1.stop();
    }
    await send(Array.from({ length: 70 }, (_, i) => words[(i * 5) % words.length]!));
    const r2 = await startPipeline(topology, cfg);
    try {
      await expectReference();
    } finally {
      await r2.stop();
    }
  } finally {
    await broker.stop();
    await broker.cleanup();
    await rm(stateDir, { recursive: true, force: true });
  }
});
