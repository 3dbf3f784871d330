// A hand-made topology for the runtime's tests: one sub-topology that counts records per key
// in the store "counts" and sends each new count ("<key>" -> "<n>") to an output topic. A
// record whose value is "poison" is reported through recordError instead. Also: reading a
// topic read_committed over the wire, and producing keyed records.

import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import type { Registry } from 'prom-client';
import type { Topology } from '../../src/stream/types.js';
import { readIsolated, IsolationLevel } from './txn-wire.js';

export function countTopology(application: string, input: string, output: string): Topology {
  return {
    application,
    stores: [{ name: 'counts', subtopology: 0, changelog: true }],
    internalTopics: [],
    sinks: [output],
    describe: () => `${input} -> count per key (store counts) -> ${output}`,
    subtopologies: [
      {
        id: 0,
        sources: [input],
        createTask(ctx) {
          const store = ctx.store('counts');
          return {
            process(r) {
              if (r.value?.toString() === 'poison') {
                ctx.recordError({ operator: 'count', error: new Error('this record is poison'), input: r });
                return;
              }
              const key = r.key ?? Buffer.alloc(0);
              const n = Number(store.get(key)?.toString() ?? '0') + 1;
              const v = Buffer.from(String(n));
              store.put(key, v);
              ctx.send({ topic: output, key, value: v, timestamp: r.timestamp });
            },
            tick() {},
            async flush() {},
            close() {},
          };
        },
      },
    ],
  };
}

export async function createTopics(bootstrap: string, topics: string[], partitions: number): Promise<void> {
  const admin = new Admin({ clientId: 'stream-test', bootstrapBrokers: [bootstrap] });
  try {
    await admin.createTopics({ topics, partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** Sends `records` (key, value) and waits for the acks. */
export async function produce(bootstrap: string, topic: string, records: Array<[string, string]>): Promise<void> {
  const p = new Producer({ clientId: 'stream-test', bootstrapBrokers: [bootstrap], serializers: stringSerializers });
  try {
    // acks=all on the send: the library ignores the producer's acks option (it sends acks=1,
    // whose answer may come before the records are readable).
    await p.send({ acks: -1, messages: records.map(([key, value]) => ({ topic, key, value })) });
  } finally {
    await p.close();
  }
}

/** Every committed record of `topic` (all partitions), as [key, value] strings, in offset order per partition. */
export async function readCommitted(port: number, topic: string, partitions: number): Promise<Array<[string, string | null]>> {
  const out: Array<[string, string | null]> = [];
  for (let p = 0; p < partitions; p++) {
    const r = await readIsolated(port, topic, p, IsolationLevel.READ_COMMITTED);
    for (const rec of r.records) out.push([rec.key?.toString() ?? '', rec.value?.toString() ?? null]);
  }
  return out;
}

/** The counts each key received, in order. */
export function countsByKey(records: Array<[string, string | null]>): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const [k, v] of records) {
    let l = m.get(k);
    if (!l) m.set(k, (l = []));
    l.push(Number(v));
  }
  return m;
}

/** The sum of a counter's values across its labels. */
export async function metricSum(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const v = await m.get();
  return v.values.reduce((n, x) => n + x.value, 0);
}
