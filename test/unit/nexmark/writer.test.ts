// The writer with a stand-in producer and clock: pacing by event time (never before an event is
// due, nor later than one event interval after), the in-flight window, partitions by key,
// timestamps, and a failed send ending the write with its error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageToProduce, Producer } from '@platformatic/kafka';
import { NexmarkGenerator } from '../../../src/nexmark/generator.js';
import { writeEvents } from '../../../src/nexmark/writer.js';
import { partitionForKey } from '../../../src/client/stream-producer.js';

type Msg = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

/** A producer whose sends are answered when `answer()` says so (at once by default), recording what it got. */
function fakeProducer(opts: { failAt?: number; clockNow?: () => number } = {}) {
  const sends: Array<{ at: number; messages: Msg[] }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const producer = {
    send({ messages }: { messages: Msg[] }) {
      sends.push({ at: opts.clockNow?.() ?? 0, messages });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const n = sends.length;
      return new Promise((res, rej) =>
        setImmediate(() => {
          inFlight--;
          if (n === opts.failAt) rej(new Error('broker gone'));
          else res({});
        }),
      );
    },
  } as unknown as Producer<Buffer, Buffer, Buffer, Buffer>;
  return { producer, sends, maxInFlight: () => maxInFlight };
}

test('paced: each event goes out once the clock reaches its event time since the first, not before, not an interval late', async () => {
  let now = 5_000; // the fake wall clock, ms; moves only when the writer sleeps
  const slept: number[] = [];
  const clock = { now: () => now, sleep: async (ms: number) => { slept.push(ms); now += ms; } };
  const f = fakeProducer({ clockNow: () => now });
  const T0 = 1_700_000_000_000;
  const rate = 200; // one event every 5 ms
  const st = await writeEvents({ producer: f.producer, generator: new NexmarkGenerator({ seed: 1, eventsPerSecond: rate, firstEventTime: T0 }), partitions: { person: 2, auction: 2, bid: 2 }, events: 400, paced: true, clock }, undefined);
  assert.equal(st.sent, 400);
  const all = f.sends.flatMap((s) => s.messages.map((m) => ({ at: s.at, due: Number(m.timestamp) - T0 })));
  assert.equal(all.length, 400);
  for (const m of all) {
    assert.ok(m.at - 5_000 >= m.due - 1, `sent at ${m.at - 5_000} ms, due at ${m.due} ms`);
    assert.ok(m.at - 5_000 <= m.due + 1000 / rate, `sent at ${m.at - 5_000} ms, due at ${m.due} ms`);
  }
  assert.ok(slept.length > 100, 'it waited between events instead of sending at once');
});

test('as fast as possible: batches of batchSize, at most maxInFlight unanswered, keys partitioned by murmur2, timestamps = dateTime', async () => {
  const f = fakeProducer();
  const gen = new NexmarkGenerator({ seed: 2, eventsPerSecond: 1000, firstEventTime: 0 });
  const st = await writeEvents({ producer: f.producer, generator: gen, partitions: { person: 1, auction: 2, bid: 3 }, events: 5000, batchSize: 100, maxInFlight: 3 });
  assert.equal(st.acked.person + st.acked.auction + st.acked.bid, 5000);
  assert.deepEqual(st.acked, { person: 100, auction: 300, bid: 4600 });
  assert.equal(f.sends.length, 50);
  assert.ok(f.maxInFlight() <= 3 && f.maxInFlight() >= 2, `max in flight ${f.maxInFlight()}`);
  const counts: Record<string, number> = { 'nexmark-person': 1, 'nexmark-auction': 2, 'nexmark-bid': 3 };
  for (const m of f.sends.flatMap((s) => s.messages)) {
    assert.equal(m.partition, partitionForKey(m.key!, counts[m.topic]!));
    assert.equal(Number(m.timestamp), (JSON.parse(m.value!.toString()) as { dateTime: number }).dateTime);
  }
});

test('a failed send ends the write with its error', async () => {
  const f = fakeProducer({ failAt: 3 });
  await assert.rejects(
    writeEvents({ producer: f.producer, generator: new NexmarkGenerator({ seed: 3, eventsPerSecond: 1000, firstEventTime: 0 }), partitions: { person: 1, auction: 1, bid: 1 }, events: 100_000, batchSize: 10, maxInFlight: 1 }),
    /broker gone/,
  );
  assert.ok(f.sends.length < 10, `stopped sending after the failure (${f.sends.length} sends)`);
});
