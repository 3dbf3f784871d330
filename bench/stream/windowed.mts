// The benchmark's windowed pipeline: a count per key in tumbling 1 s event-time windows,
// kept in a changelog-backed LMDB store, every change written out as JSON (emit 'update').
// Topics come from the benchmark (BENCH_INPUT, BENCH_OUTPUT), the application id from
// --application-id. An .mts file so that tsc (bench/**/*.ts) leaves it to rivulet run.

import { pipeline, serdes, tumbling } from 'rivulet/stream';

const p = pipeline(process.env.RIVULET_APPLICATION_ID ?? 'bench-windowed');

p.stream(process.env.BENCH_INPUT ?? 'bench-in', { key: serdes.string, value: serdes.json<{ n: number; ts: number }>() })
  .groupByKey()
  .windowedBy(tumbling(1000))
  .count({ emit: 'update', name: 'counts' })
  .toStream()
  .map((r) => ({ key: r.key.key, value: { key: r.key.key, start: r.key.window.start, count: r.value ?? 0 } }))
  .to(process.env.BENCH_OUTPUT ?? 'bench-out', { key: serdes.string, value: serdes.json<{ key: string; start: number; count: number }>() });

export default p;
