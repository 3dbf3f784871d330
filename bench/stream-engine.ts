// The stream engine's per-record cost, without Kafka: records straight into one TaskProcessor
// (as the runtime calls it), a no-op TaskContext, MemoryStore state, a flush every 1000 records.
// Prints records per CPU-second for a stateless and a counting pipeline. A script, not a test.
//   npm run build && node dist/bench/stream-engine.js [records]
import { cpus } from 'node:os';
import { pipeline, serdes, MemoryStore, type InputRecord, type TaskContext, type Topology } from '../src/stream/index.js';

const N = Number(process.argv[2] ?? 1_000_000);

interface Event {
  user: string;
  amount: number;
  ts: number;
}

function context(topology: Topology): TaskContext {
  const stores = new Map(topology.stores.map((s) => [s.name, new MemoryStore(s.name)]));
  let sent = 0;
  return {
    taskId: '0_0',
    subtopology: 0,
    partition: 0,
    application: topology.application,
    store: (name) => stores.get(name)!,
    send: () => void sent++,
    now: () => 0,
    recordError: (e) => {
      throw e.error;
    },
    metrics: { recordsIn: () => {}, recordsOut: () => {}, lateRecords: () => {}, watermark: () => {}, endToEnd: () => {} },
  };
}

async function run(name: string, topology: Topology): Promise<void> {
  const inputs: InputRecord[] = [];
  for (let i = 0; i < 10_000; i++) {
    const e: Event = { user: `user-${i % 1000}`, amount: i % 100, ts: 1_700_000_000_000 + i };
    inputs.push({ topic: 'events', partition: 0, offset: BigInt(i), key: Buffer.from(e.user), value: Buffer.from(JSON.stringify(e)), timestamp: e.ts, headers: [] });
  }
  const task = topology.subtopologies[0]!.createTask(context(topology));
  for (let i = 0; i < 100_000; i++) task.process(inputs[i % inputs.length]!); // warm up
  await task.flush();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    task.process(inputs[i % inputs.length]!);
    if (i % 1000 === 999) await task.flush();
  }
  await task.flush();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  console.log(`${name.padEnd(12)} ${N} records  ${(N / cpuSec).toFixed(0).padStart(9)} records/CPU-s  ${((cpuSec * 1e6) / N).toFixed(2)} CPU-us/record  (${(N / wall).toFixed(0)} records/s wall)`);
}

const opts = { key: serdes.string, value: serdes.json<Event>(), timestamp: (r: { value: Event }) => r.value.ts };

const stateless = pipeline('bench-stateless');
stateless
  .stream('events', opts)
  .filter((r) => r.value.amount > 10)
  .mapValues((r) => ({ user: r.value.user, cents: r.value.amount * 100 }))
  .to('out', { key: serdes.string, value: serdes.json<{ user: string; cents: number }>() });

const counting = pipeline('bench-count');
counting.stream('events', opts).groupByKey().count({ name: 'counts' }).toStream().to('out', { key: serdes.string, value: serdes.long });

console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'}`);
await run('stateless', stateless.build());
await run('count', counting.build());
