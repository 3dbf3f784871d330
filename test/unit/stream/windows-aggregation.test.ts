// The windowed aggregation engine: emit final or on update, grace, late records, hopping,
// session merges with tombstones, sliding windows against a brute-force reference, state
// cleanup, and restore from the store after a flush.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hopping, sessionWindows, slidingWindows, tumbling, type Windows } from '../../../src/stream/windows/windows.js';
import { WindowAggregation, type EmitMode } from '../../../src/stream/windows/window-aggregation.js';
import { average, count, sum, aggregator, type Aggregate } from '../../../src/stream/aggregates.js';
import { Collector, SortedMapStore, stringSerde } from './windows-helpers.js';

function setup<V, A, R>(windows: Windows, aggregate: Aggregate<V, A, R>, emit: EmitMode, store = new SortedMapStore()) {
  const out = new Collector<R>();
  const op = new WindowAggregation<string, V, A, R>({ windows, aggregate, keySerde: stringSerde, store, emit, sink: out });
  let watermark = -Infinity;
  /** Feeds a record with watermark = max event time seen (no out-of-orderness allowance), as Kafka's stream time. */
  const feed = (key: string, value: V, ts: number): boolean => {
    watermark = Math.max(watermark, ts);
    const ok = op.process(key, value, ts, watermark);
    op.advance(watermark);
    return ok;
  };
  return { op, out, store, feed };
}

test('tumbling count, emit final: one result per window once the watermark passes end + grace', () => {
  const { op, out, feed } = setup(tumbling(10).grace(5), count(), 'final');
  feed('a', 1, 1);
  feed('a', 1, 9);
  feed('b', 1, 3);
  assert.deepEqual(out.lines(), []);
  feed('a', 1, 12); // watermark 12 < 10 + 5: window [0, 10) still open
  feed('a', 1, 8); // out of order, within grace
  assert.deepEqual(out.lines(), []);
  feed('c', 1, 15); // watermark 15 = end + grace: closes [0, 10)
  assert.deepEqual(out.lines(), ['a@0-10=3', 'b@0-10=1']);
  assert.equal(op.openWindows, 2); // a@10, c@10
  feed('z', 1, 100);
  assert.deepEqual(out.lines().slice(2), ['a@10-20=1', 'c@10-20=1']);
  assert.equal(out.results[0]!.timestamp, 9, 'a final result carries the latest record time of its window');
});

test('late records (every window closed) are refused and leave no state; records within grace count', () => {
  const { op, out, feed } = setup(tumbling(10).grace(5), sum(), 'final');
  feed('a', 2, 5);
  feed('a', 3, 15); // closes [0, 10) (15 >= 10 + 5)
  assert.equal(feed('a', 100, 9), false, 'after end + grace: late');
  assert.equal(feed('a', 4, 12), true);
  assert.equal(op.openWindows, 1);
  feed('x', 0, 1000);
  assert.deepEqual(out.lines(), ['a@0-10=2', 'a@10-20=7', 'x@1000-1010=0'].slice(0, 2));
});

test('emit on update: every change is a result; the last one per window equals the final result', () => {
  const upd = setup(tumbling(10), count(), 'update');
  const fin = setup(tumbling(10), count(), 'final');
  const input: [string, number][] = [['a', 1], ['a', 2], ['b', 5], ['a', 11], ['b', 12], ['a', 13], ['a', 30]];
  for (const [k, ts] of input) {
    upd.feed(k, 1, ts);
    fin.feed(k, 1, ts);
  }
  assert.deepEqual(upd.out.lines().slice(0, 3), ['a@0-10=1', 'a@0-10=2', 'b@0-10=1']);
  assert.equal(upd.out.results.length, input.length);
  const finals = new Map(fin.out.results.map((r) => [`${r.key}@${r.start}-${r.end}`, r.value]));
  for (const [w, v] of finals) assert.equal(upd.out.latest().get(w), v, w);
  assert.equal(finals.size, 4); // a@0, b@0, a@10, b@10 closed; a@30 open
});

test('hopping windows: a record updates size / advance windows', () => {
  const { out, feed } = setup(hopping(10, 5), count(), 'final');
  feed('k', 1, 7); // [0,10) and [5,15)
  feed('k', 1, 12); // [5,15) and [10,20)
  feed('k', 1, 100);
  assert.deepEqual(out.lines(), ['k@0-10=1', 'k@5-15=2', 'k@10-20=1']);
});

test('state is cleaned up as windows close: open windows and store entries return to zero', () => {
  const { op, store, feed } = setup(hopping(10, 5).grace(2), count(), 'final');
  for (let i = 0; i < 200; i++) {
    feed(`k${i % 7}`, 1, i);
    if (i % 10 === 0) op.flush();
  }
  op.flush();
  assert.ok(store.approximateSize() > 0);
  op.advance(1_000);
  assert.equal(op.openWindows, 0);
  assert.equal(store.approximateSize(), 0);
});

test('restore: a new instance over the flushed store continues the open windows', () => {
  const store = new SortedMapStore();
  const first = setup(tumbling(10).grace(20), count(), 'final', store);
  first.feed('a', 1, 1);
  first.feed('a', 1, 2);
  first.feed('b', 1, 11);
  first.op.flush();
  const second = setup(tumbling(10).grace(20), count(), 'final', store);
  assert.equal(second.op.openWindows, 2);
  second.feed('a', 1, 3);
  second.feed('z', 1, 50);
  assert.deepEqual(second.out.lines(), ['a@0-10=3', 'b@10-20=1']);
  assert.equal(store.approximateSize(), 0);
});

test('session windows: records within gap join a session; a bridging record merges two, with tombstones in update mode', () => {
  const { out, feed, op } = setup(sessionWindows(5).grace(100), count(), 'update');
  feed('u', 1, 0);
  feed('u', 1, 3); // [0,3]
  feed('u', 1, 20); // new session [20,20]
  feed('u', 1, 12); // [12,12]: 12 - 3 > 5 and 20 - 12 > 5
  assert.deepEqual(out.lines(), ['u@0-0=1', 'u@0-0=null', 'u@0-3=2', 'u@20-20=1', 'u@12-12=1']);
  out.results.length = 0;
  feed('u', 1, 16); // within 5 of 12 and of 20: merges [12,12] and [20,20] into [12,20]
  assert.deepEqual(out.lines(), ['u@12-12=null', 'u@20-20=null', 'u@12-20=3']);
  assert.equal(op.openWindows, 2);
  feed('u', 1, 14); // inside [12,20]: same session, no tombstone
  assert.deepEqual(out.lines().slice(3), ['u@12-20=4']);
});

test('session windows, emit final: merged-away sessions are never emitted; sessions close after end + grace', () => {
  const { out, feed, op } = setup(sessionWindows(5).grace(10), count(), 'final');
  feed('u', 1, 0);
  feed('u', 1, 10);
  feed('u', 1, 5); // bridges [0,0] and [10,10] into [0,10]
  feed('v', 1, 20); // watermark 20 = 10 + 10: a record at 15 may still join [0,10]
  assert.deepEqual(out.lines(), []);
  assert.equal(feed('u', 1, 15), true); // [0,15]
  feed('v', 1, 26); // 26 > 15 + 10: closed
  assert.deepEqual(out.lines(), ['u@0-15=4']);
  assert.equal(feed('u', 1, 1), false, 'late: its session would have closed');
  assert.equal(op.openWindows, 2);
  op.advance(1e9);
  assert.deepEqual(out.lines(), ['u@0-15=4', 'v@20-20=1', 'v@26-26=1']);
});

test('session windows need an aggregate that can merge', () => {
  assert.throws(() => setup(sessionWindows(5), aggregator(() => 0, (a, v: number) => a + v), 'final'), /give the aggregate a merger/);
});

/** Kafka Streams' sliding windows by definition: each record's left window [t - d, t], and a right window [t + 1, t + 1 + d] when it holds records. */
function slidingReference(times: number[], d: number): Map<string, number> {
  const windows = new Set<number>();
  for (const t of times) {
    windows.add(t - d);
    if (times.some((u) => u > t && u <= t + 1 + d)) windows.add(t + 1);
  }
  const out = new Map<string, number>();
  for (const s of windows) {
    const n = times.filter((u) => u >= s && u <= s + d).length;
    if (n > 0) out.set(`k@${s}-${s + d}`, n);
  }
  return out;
}

test('sliding windows: the final counts equal the definition, for in-order and out-of-order input (seeded random)', () => {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const d = 1 + rand(20);
    const times: number[] = [];
    let t = 1000;
    for (let i = 0, n = 1 + rand(12); i < n; i++) {
      t += rand(15);
      times.push(t);
    }
    // Shuffle a little: a grace large enough for every record keeps it in its windows.
    for (let i = times.length - 1; i > 0; i--) if (rand(3) === 0) [times[i], times[i - 1]] = [times[i - 1]!, times[i]!];
    const { out, feed, op } = setup(slidingWindows(d).grace(1_000), count(), 'final');
    for (const ts of times) assert.equal(feed('k', 1, ts), true);
    op.advance(1e9);
    const got = new Map(out.results.map((r) => [`${r.key}@${r.start}-${r.end}`, r.value as number]));
    assert.deepEqual(got, slidingReference(times, d), `d=${d} times=${times.join(',')}`);
    assert.equal(op.openWindows, 0);
  }
});

test('sliding windows, update mode: the last update of each window equals its final count', () => {
  const times = [10, 12, 20, 11, 35, 36, 30];
  const upd = setup(slidingWindows(5).grace(100), count(), 'update');
  for (const ts of times) upd.feed('k', 1, ts);
  assert.deepEqual(upd.out.latest(), slidingReference(times, 5));
});

test('sliding windows with an accumulator updated in place (average): windows seeded from others stay independent', () => {
  const times = [100, 103, 101, 108, 104, 120, 112];
  const { out, feed, op } = setup(slidingWindows(6).grace(100), average(), 'final');
  for (const ts of times) feed('k', ts, ts);
  op.advance(1e9);
  const expected = new Map<string, number>();
  for (const w of slidingReference(times, 6).keys()) {
    const [s, e] = w.slice(2).split('-').map(Number) as [number, number];
    const inside = times.filter((t) => t >= s && t <= e);
    expected.set(w, inside.reduce((a, b) => a + b, 0) / inside.length);
  }
  assert.deepEqual(new Map(out.results.map((r) => [`${r.key}@${r.start}-${r.end}`, r.value])), expected);
});
