// mapAsync (bounded concurrency, per-key order) and event time (watermarks, idle partitions,
// late records), through the TestDriver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline, serdes, TestDriver, Operator, type Rec, type KStream } from '../../../src/stream/index.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('mapAsync forwards results in input order per key, whatever order the calls finish in', async () => {
  const p = pipeline('async');
  const calls = new Map<string, (v: string) => void>();
  p.stream('in', { key: serdes.string, value: serdes.string })
    .mapAsync((r) => new Promise<string>((resolve) => calls.set(r.value, resolve)), { concurrency: 8 })
    .to('out', { key: serdes.string, value: serdes.string });
  const d = new TestDriver(p, { commit: 'manual' });
  await d.input('in', serdes.string, serdes.string).pipeAll([['x', 'x1'], ['y', 'y1'], ['x', 'x2'], ['y', 'y2'], ['x', 'x3']]);
  assert.equal(calls.size, 5, 'all five calls run at once');
  const out = d.output('out', serdes.string, serdes.string);
  const finish = async (v: string) => {
    calls.get(v)!(v.toUpperCase());
    await settle();
    return out.readValues();
  };
  assert.deepEqual(await finish('x2'), [], 'x2 waits for x1');
  assert.deepEqual(await finish('y1'), ['Y1'], 'another key overtakes');
  assert.deepEqual(await finish('x3'), []);
  assert.deepEqual(await finish('x1'), ['X1', 'X2', 'X3']);
  assert.deepEqual(await finish('y2'), ['Y2']);
  await d.commit();
});

test('mapAsync runs at most `concurrency` calls; flush waits for every one; order per key holds under random delays', async () => {
  const p = pipeline('async2');
  let inFlight = 0;
  let maxInFlight = 0;
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 4;
  p.stream('in', { key: serdes.string, value: serdes.int })
    .mapAsync(
      async (r) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, rand()));
        inFlight--;
        return r.value * 10;
      },
      { concurrency: 4 },
    )
    .to('out', { key: serdes.string, value: serdes.int });
  const d = new TestDriver(p, { commit: 'manual' });
  const records: [string, number][] = [];
  for (let i = 0; i < 60; i++) records.push([`k${i % 5}`, i]);
  await d.input('in', serdes.string, serdes.int).pipeAll(records);
  await d.commit();
  assert.equal(inFlight, 0, 'commit waited for every call');
  assert.ok(maxInFlight <= 4, `at most 4 calls at once, saw ${maxInFlight}`);
  assert.ok(maxInFlight > 1, 'calls overlap');
  const out = d.output('out', serdes.string, serdes.int).readKeyValues();
  assert.equal(out.length, 60);
  for (let k = 0; k < 5; k++) {
    const values = out.filter(([key]) => key === `k${k}`).map(([, v]) => v);
    assert.deepEqual(values, records.filter(([key]) => key === `k${k}`).map(([, v]) => v * 10), `order of k${k}`);
  }
});

test('a rejected mapAsync call is a poison record with the operator named; later records of the key still flow', async () => {
  const p = pipeline('async3');
  p.stream('in', { key: serdes.string, value: serdes.int })
    .mapAsync(async (r) => {
      if (r.value === 2) throw new Error('service said no');
      return r.value;
    }, { name: 'lookup', concurrency: 2 })
    .to('out', { key: serdes.string, value: serdes.int });
  const d = new TestDriver(p);
  await d.input('in', serdes.string, serdes.int).pipeAll([['k', 1], ['k', 2], ['k', 3]]);
  assert.deepEqual(d.output('out', serdes.string, serdes.int).readValues(), [1, 3]);
  const dead = d.deadLetters();
  assert.deepEqual(dead.map((e) => [e.operator, e.message]), [['mapAsync(lookup)', 'service said no']]);
  assert.equal(serdes.int.deserialize(dead[0]!.input.value), 2, 'the dead letter carries its own input record');
});

/** An operator written against the extension API: records the watermarks it sees and counts late records. */
class WatermarkProbe extends Operator<string, number> {
  constructor(task: ConstructorParameters<typeof Operator>[0], name: string, private readonly seen: number[]) {
    super(task, name);
  }

  process(r: Rec<string, number>): void {
    // Lateness against the watermark that reached this operator (an async operator upstream may hold it back).
    if (r.timestamp < this.watermarkSeen) this.task.late(this.name);
    this.forward(r);
  }

  protected override onWatermark(watermark: number): void {
    this.seen.push(watermark);
    this.forwardWatermark(watermark);
  }
}

function probe(s: KStream<string, number>, seen: number[]): void {
  s.pipeline.addNode({ name: 'probe', parents: [s.node], create: (task) => new WatermarkProbe(task, 'probe', seen) });
}

test("the task's watermark is the minimum over its active input partitions, minus maxOutOfOrderMs; an idle partition stops holding it; a late record is counted", async () => {
  const p = pipeline('wm');
  const opts = { key: serdes.string, value: serdes.int, timestamp: (r: Rec<string, number>) => r.value, watermark: { maxOutOfOrderMs: 100, idleTimeoutMs: 1000 } };
  const seen: number[] = [];
  probe(p.stream('a', opts).merge(p.stream('b', opts)), seen);
  const d = new TestDriver(p);
  const a = d.input('a', serdes.string, serdes.int);
  const b = d.input('b', serdes.string, serdes.int);
  await a.pipe('k', 1000);
  assert.deepEqual(seen, [], 'b has not spoken and is not idle yet');
  await b.pipe('k', 500);
  assert.deepEqual(seen, [400]);
  await d.advanceTime(600);
  await a.pipe('k', 2000);
  assert.deepEqual(seen, [400], 'b still holds it');
  await d.advanceTime(500);
  assert.deepEqual(seen, [400, 1900], 'b idle for 1000 ms: a alone sets it');
  assert.equal(d.metrics.watermarks['0_0'], 1900);
  await b.pipe('k', 1000);
  assert.deepEqual(seen, [400, 1900], 'the watermark never goes back');
  assert.equal(d.metrics.watermarks['0_0'], 1900, 'nor does the task report it going back');
  assert.deepEqual(d.metrics.lateRecords, { probe: 1 });
});

test('a partition that never delivers a record holds the watermark until its idle timeout', async () => {
  const p = pipeline('wm2');
  const opts = { key: serdes.string, value: serdes.int, timestamp: (r: Rec<string, number>) => r.value, watermark: { idleTimeoutMs: 5000 } };
  const seen: number[] = [];
  probe(p.stream('a', opts).merge(p.stream('b', opts)), seen);
  const d = new TestDriver(p);
  await d.advanceTime(4000);
  await d.input('a', serdes.string, serdes.int).pipe('k', 70);
  assert.deepEqual(seen, []);
  await d.advanceTime(1000);
  assert.deepEqual(seen, [70]);
});

test('mapAsync holds watermarks back while calls are in flight, so its own records are not late downstream', async () => {
  const p = pipeline('wm3');
  const seen: number[] = [];
  const resolvers: (() => void)[] = [];
  const s = p.stream('a', { key: serdes.string, value: serdes.int, timestamp: (r) => r.value }).mapAsync((r) => new Promise<number>((resolve) => resolvers.push(() => resolve(r.value))));
  probe(s, seen);
  const d = new TestDriver(p, { commit: 'manual' });
  await d.input('a', serdes.string, serdes.int).pipe('k', 100);
  await d.input('a', serdes.string, serdes.int).pipe('j', 150);
  assert.equal(d.metrics.watermarks['0_0'], 150, 'the task is at 150');
  assert.deepEqual(seen, [], 'held while calls are in flight');
  for (const r of resolvers) r();
  await d.commit();
  assert.deepEqual(seen, [150]);
  assert.deepEqual(d.metrics.lateRecords, {});
});

test('a timestamp extractor that throws or returns no number makes a poison record', async () => {
  const p = pipeline('badts');
  p.stream('in', { key: serdes.string, value: serdes.json<{ ts?: number }>(), timestamp: (r) => r.value.ts! }).to('out', { key: serdes.string, value: serdes.json<{ ts?: number }>() });
  const d = new TestDriver(p);
  await d.input('in', serdes.string, serdes.json<{ ts?: number }>()).pipeAll([['a', {}], ['b', { ts: 5 }]]);
  assert.deepEqual(d.deadLetters().map((e) => e.operator), ['timestamp']);
  assert.match(d.deadLetters()[0]!.message, /finite number/);
  assert.deepEqual(d.output('out', serdes.string, serdes.json<{ ts?: number }>()).readKeyValues(), [['b', { ts: 5 }]]);
});

test('a failure downstream of a mapAsync result (the runner stops on poison) fails the next flush instead of escaping', async () => {
  const p = pipeline('async-stop');
  p.stream('in', { key: serdes.string, value: serdes.int })
    .mapAsync(async (r) => r.value)
    .map((r) => {
      if (r.value === 2) throw new Error('bad two');
      return { key: r.key, value: r.value };
    })
    .to('out', { key: serdes.string, value: serdes.int });
  const d = new TestDriver(p, { onError: 'throw' });
  await d.input('in', serdes.string, serdes.int).pipe('k', 1);
  await assert.rejects(d.input('in', serdes.string, serdes.int).pipe('k', 2), /operator map: bad two/);
  assert.deepEqual(d.output('out', serdes.string, serdes.int).readValues(), [1]);
});
