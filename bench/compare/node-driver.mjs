// The Node driver of bench/compare/run.mjs: keyed records at max rate through @platformatic/kafka
// (the client Rivulet's own CLI uses), a fixed number of requests in flight, acks=all.
//   node bench/compare/node-driver.mjs produce <bootstrap> <topic> <count> <valueBytes> <keys>
// Prints one JSON line: msg/s, MB/s (values) and per-request latency percentiles (ms).

import { Producer, murmur2 } from '@platformatic/kafka';
import { performance } from 'node:perf_hooks';

const [mode, bootstrap, topic, countArg, sizeArg, keysArg] = process.argv.slice(2);
if (mode !== 'produce') throw new Error(`unknown mode ${mode}`);
const count = Number(countArg);
const size = Number(sizeArg);
const keys = Array.from({ length: Number(keysArg) }, (_, i) => Buffer.from(`key-${i}`));
const values = Array.from({ length: 64 }, (_, i) => Buffer.alloc(size, 65 + (i % 26)));
const BATCH = 500; // records per send(); keyed, so each request carries several partitions
const IN_FLIGHT = 8;

const producer = new Producer({
  clientId: 'bench-node-driver',
  bootstrapBrokers: [bootstrap],
  idempotent: false,
  connectTimeout: 5000,
  timeout: 30000,
  retries: 2,
  retryDelay: 100,
});

const md = await producer.metadata({ topics: [topic], autocreateTopics: true });
const partitions = md.topics.get(topic)?.partitionsCount ?? 1;
// the Java client's default partitioner: murmur2 of the key, positive, modulo partitions
const partitionOf = keys.map((k) => (murmur2(k) & 0x7fffffff) % partitions);

const lat = [];
let next = 0;
let errors = 0;
const started = performance.now();
async function lane() {
  while (next < count) {
    const from = next;
    const to = Math.min(count, from + BATCH);
    next = to;
    const messages = [];
    for (let i = from; i < to; i++) {
      const k = i % keys.length;
      messages.push({ topic, key: keys[k], value: values[i % values.length], partition: partitionOf[k] });
    }
    const t = performance.now();
    try {
      // acks per send: the client does not apply a producer-level acks to send().
      await producer.send({ messages, acks: -1 });
    } catch (e) {
      errors += messages.length;
      if (errors === messages.length) console.error(e);
    }
    lat.push(performance.now() - t);
  }
}
await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
const secs = (performance.now() - started) / 1000;
await producer.close();
lat.sort((a, b) => a - b);
const pct = (q) => lat[Math.min(lat.length - 1, Math.max(0, Math.ceil((q / 100) * lat.length) - 1))];
const r = (x) => Math.round(x * 1000) / 1000;
console.log(JSON.stringify({
  count, errors, secs: r(secs), msgPerSec: r(count / secs), mbPerSec: r((count * size) / 1048576 / secs),
  p50: r(pct(50)), p99: r(pct(99)), max: r(lat[lat.length - 1]),
}));
