// Windowed aggregation and join engines on one core, without Kafka: records per CPU-second
// for each window type (count, emit final and on update) and for a windowed stream-stream
// join. The store is a plain Map (flushed every 10,000 records, as commits would): this
// measures the engines; bench/stream/store.ts measures the stores.
// A script that prints figures, never a test:  npm run build && node dist/bench/stream/windows.js

import { cpus } from 'node:os';
import { WindowAggregation, type EmitMode } from '../../src/stream/windows/window-aggregation.js';
import { StreamStreamJoin } from '../../src/stream/windows/stream-join.js';
import { hopping, sessionWindows, slidingWindows, tumbling, type Windows } from '../../src/stream/windows/windows.js';
import { count } from '../../src/stream/aggregates.js';
import type { KeyValueStore } from '../../src/stream/types.js';
import { serdes } from '../../src/stream/serde.js';

const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000);

/** Unordered: enough for these cases, which never range-scan after the start. */
class MapStore implements KeyValueStore {
  private readonly m = new Map<string, Buffer>();
  get(k: Buffer): Buffer | undefined {
    return this.m.get(k.toString('latin1'));
  }
  put(k: Buffer, v: Buffer): void {
    this.m.set(k.toString('latin1'), v);
  }
  delete(k: Buffer): void {
    this.m.delete(k.toString('latin1'));
  }
  *range(): IterableIterator<[Buffer, Buffer]> {}
  approximateSize(): number {
    return this.m.size;
  }
}
const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`);

function cpuSeconds(run: () => void): number {
  const t0 = process.cpuUsage();
  run();
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / 1e6;
}

function windowCase(name: string, windows: Windows, emit: EmitMode): void {
  let results = 0;
  const store = new MapStore();
  const op = new WindowAggregation<string, number, number, number>({ windows, aggregate: count(), keySerde: serdes.string, store, emit, sink: { windowResult: () => void results++ } });
  // One record per ms of event time, keys round-robin; the watermark trails by 1 s.
  const s = cpuSeconds(() => {
    for (let i = 0; i < N; i++) {
      op.process(keys[i % KEYS]!, 1, i, i - 1_000);
      if ((i & 1023) === 0) op.advance(i - 1_000);
      if (i % 10_000 === 0) {
        op.flush();
      }
    }
  });
  console.log(`${name.padEnd(28)} ${emit.padEnd(7)} ${Math.round(N / s).toLocaleString('en-US').padStart(12)} records/CPU-s  (${results.toLocaleString('en-US')} results, ${op.openWindows} windows open)`);
}

function joinCase(): void {
  let results = 0;
  const store = new MapStore();
  const j = new StreamStreamJoin<string, number, number, number>({ kind: 'left', withinMs: 1_000, graceMs: 0, joiner: (l, r) => (l ?? 0) + (r ?? 0), keySerde: serdes.string, leftSerde: serdes.double, rightSerde: serdes.double, store, sink: { joinResult: () => void results++ } });
  const s = cpuSeconds(() => {
    for (let i = 0; i < N; i++) {
      const k = keys[i % KEYS]!;
      if (i & 1) j.processRight(k, i, i, i - 1_000);
      else j.processLeft(k, i, i, i - 1_000);
      if ((i & 1023) === 0) j.advance(i - 1_000);
      if (i % 10_000 === 0) {
        j.flush();
      }
    }
  });
  console.log(`${'left join within 1 s'.padEnd(28)} ${''.padEnd(7)} ${Math.round(N / s).toLocaleString('en-US').padStart(12)} records/CPU-s  (${results.toLocaleString('en-US')} results, ${j.buffered} buffered)`);
}

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}; ${N.toLocaleString('en-US')} records over ${KEYS.toLocaleString('en-US')} keys per case`);
for (const emit of ['final', 'update'] as const) {
  windowCase('tumbling 10 s', tumbling(10_000), emit);
  windowCase('hopping 10 s / 2.5 s', hopping(10_000, 2_500), emit);
  windowCase('session gap 20 s', sessionWindows(20_000), emit);
  windowCase('sliding 10 s', slidingWindows(10_000), emit);
}
joinCase();
