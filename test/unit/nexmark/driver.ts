// Runs a Nexmark query in the TestDriver: generated events piped to the input topics the
// query reads (partitioned by key, as Kafka's partitioner does), its output read back as
// check.ts results.

import { TestDriver, serdes, type MemoryStoreFactory, type Pipeline } from '../../../src/stream/index.js';
import { encodeEvent } from '../../../src/nexmark/generator.js';
import { TOPICS, outputTopic, type NexmarkEvent, type QueryName } from '../../../src/nexmark/model.js';
import type { QueryResult } from '../../../src/nexmark/check.js';

/** `stores`: a MemoryStoreFactory shared with an earlier run continues from its committed state (a restart). */
export async function runOnDriver(query: QueryName, p: Pipeline, events: readonly NexmarkEvent[], partitions = 3, stores?: MemoryStoreFactory): Promise<QueryResult[]> {
  const topology = p.build();
  const reads = new Set(topology.subtopologies.flatMap((s) => s.sources));
  const d = new TestDriver(topology, { partitions: { [TOPICS.person]: partitions, [TOPICS.auction]: partitions, [TOPICS.bid]: partitions }, commit: 'manual', onError: 'throw', ...(stores ? { stores } : {}) });
  try {
    const inputs = new Map<string, ReturnType<typeof d.input<Buffer | null, Buffer | null>>>();
    for (const t of Object.values(TOPICS)) if (reads.has(t)) inputs.set(t, d.input(t, serdes.bytes, serdes.bytes));
    for (const e of events) {
      const r = encodeEvent(e);
      const input = inputs.get(r.topic);
      if (input) await input.pipe(r.key, r.value, { timestamp: r.timestamp });
    }
    await d.commit();
    return d
      .output(outputTopic(query), serdes.string, serdes.json<unknown>())
      .readKeyValues()
      .map(([key, value]) => ({ key, value }));
  } finally {
    await d.close();
  }
}
