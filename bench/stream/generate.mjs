#!/usr/bin/env node
// The benchmark's input generator (a process of its own, so its CPU is not the pipeline's):
// writes JSON records { n, ts } keyed "k<n mod keys>", each stamped with its event time
// (the record timestamp and ts, ms), to one topic, at a fixed rate or as fast as possible.
//
//   node bench/stream/generate.mjs <bootstrap> <topic> <count> <rate per s, 0 = as fast as possible> [keys]
// Prints "generated <count> <seconds>" on stdout when every record is acknowledged.

import { Producer, ProduceAcks } from '@platformatic/kafka';

const [bootstrap, topic, countArg, rateArg, keysArg] = process.argv.slice(2);
const count = Number(countArg);
const rate = Number(rateArg);
const keys = Number(keysArg ?? 1000);
if (!bootstrap || !topic || !(count > 0) || !(rate >= 0)) {
  console.error('usage: generate.mjs <bootstrap> <topic> <count> <rate per s, 0 = max> [keys]');
  process.exit(2);
}

const producer = new Producer({ clientId: 'bench-generator', bootstrapBrokers: bootstrap.split(','), acks: ProduceAcks.LEADER, idempotent: false });
const batchOf = (from, n) => {
  const messages = [];
  const ts = Date.now();
  for (let i = from; i < from + n; i++) {
    messages.push({ topic, key: Buffer.from(`k${i % keys}`), value: Buffer.from(JSON.stringify({ n: i, ts })), timestamp: BigInt(ts) });
  }
  return messages;
};

const started = performance.now();
let sent = 0;
if (rate === 0) {
  // As fast as possible: a few requests in flight, 500 records each.
  const inFlight = new Set();
  while (sent < count) {
    const n = Math.min(500, count - sent);
    const p = producer.send({ messages: batchOf(sent, n) }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    sent += n;
    if (inFlight.size >= 8) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
} else {
  // A fixed rate: every 10 ms, the records due by then (so each record's ts is its send time, within 10 ms).
  const tickMs = 10;
  const pending = new Set();
  await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * rate));
      if (due > sent) {
        const p = producer.send({ messages: batchOf(sent, due - sent) }).catch(reject).finally(() => pending.delete(p));
        pending.add(p);
        sent = due;
      }
      if (sent >= count) {
        clearInterval(timer);
        Promise.all(pending).then(resolve, reject);
      }
    }, tickMs);
  });
}
await producer.close();
console.log(`generated ${count} ${((performance.now() - started) / 1000).toFixed(3)}`);
