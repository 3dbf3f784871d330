// Window assignment math, the store key layout, windowed-key serdes and the aggregate library.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hopping, sessionWindows, slidingWindows, tumbling } from '../../../src/stream/windows/windows.js';
import { keyWindowsRange, parseWindowStoreKey, readTime, sessionWindowedSerde, timeWindowedSerde, windowStoreKey, writeTime } from '../../../src/stream/windows/window-key.js';
import { aggregator, average, count, max, min, reducer, sum, topN, type Aggregate } from '../../../src/stream/aggregates.js';
import { stringSerde } from './windows-helpers.js';

const startsOf = (w: ReturnType<typeof hopping>, ts: number): number[] => {
  const out: number[] = [];
  return out.slice(0, w.windowStartsFor(ts, out));
};

test('tumbling windows: one window [start, start + size) per record, aligned to the epoch', () => {
  const w = tumbling(10);
  assert.deepEqual(startsOf(w, 0), [0]);
  assert.deepEqual(startsOf(w, 9), [0]);
  assert.deepEqual(startsOf(w, 10), [10]);
  assert.deepEqual(startsOf(w, 1_700_000_000_123), [1_700_000_000_120]);
  assert.equal(w.maxWindowsPerRecord, 1);
});

test('hopping windows: a record belongs to every window of size containing it (size / advance of them)', () => {
  const w = hopping(10, 5);
  assert.deepEqual(startsOf(w, 12), [5, 10]);
  assert.deepEqual(startsOf(w, 10), [5, 10]);
  assert.deepEqual(startsOf(w, 4), [-5, 0]);
  const h = hopping(60_000, 15_000);
  for (let ts = 1_000_000; ts < 1_200_000; ts += 7_777) {
    const starts = startsOf(h, ts);
    assert.equal(starts.length, 4);
    for (const s of starts) assert.ok(s <= ts && ts < s + 60_000 && s % 15_000 === 0, `${ts} in [${s}, ${s + 60_000})`);
  }
});

test('window definitions refuse sizes, advances, gaps and graces that make no sense, saying why', () => {
  assert.throws(() => tumbling(0), /window size must be a whole number of milliseconds >= 1, got 0/);
  assert.throws(() => hopping(10, 20), /advance \(20 ms\) must not exceed its size \(10 ms\)/);
  assert.throws(() => tumbling(10).grace(-1), /grace must be/);
  assert.throws(() => sessionWindows(1.5), /session gap/);
  assert.equal(slidingWindows(5).grace(3).graceMs, 3);
  assert.equal(tumbling(5).graceMs, 0);
});

test('store keys: times order as bytes (negative ones too), a key\'s windows are one range, parse gives them back', () => {
  const times = [-5_000_000_000_000, -1, 0, 1, 255, 256, 4_294_967_295, 4_294_967_296, 1_700_000_000_000, Number.MAX_SAFE_INTEGER];
  const bufs = times.map((t) => {
    const b = Buffer.alloc(8);
    writeTime(b, 0, t);
    assert.equal(readTime(b, 0), t);
    return b;
  });
  for (let i = 1; i < bufs.length; i++) assert.ok(Buffer.compare(bufs[i - 1]!, bufs[i]!) < 0, `${times[i - 1]} < ${times[i]} as bytes`);
  const k = Buffer.from('user1');
  const keys = [windowStoreKey(k, 100), windowStoreKey(k, 0), windowStoreKey(Buffer.from('user10'), 50), windowStoreKey(Buffer.from('user2'), 50)].sort(Buffer.compare);
  const [from, to] = keyWindowsRange(k, 0, 101);
  const inRange = keys.filter((x) => Buffer.compare(x, from) >= 0 && Buffer.compare(x, to) < 0).map(parseWindowStoreKey);
  assert.deepEqual(inRange.map((p) => [p.keyBytes.toString(), p.start]), [['user1', 0], ['user1', 100]]);
  assert.throws(() => parseWindowStoreKey(Buffer.from([1, 2])), /not a window store key/);
});

test('windowed-key serdes use Kafka Streams\' layouts: key + start, and key + end + start for sessions', () => {
  const t = timeWindowedSerde(stringSerde, 60_000);
  const bytes = t.serialize({ key: 'k', window: { start: 120_000, end: 180_000 } })!;
  assert.equal(bytes.toString('hex'), Buffer.from('k').toString('hex') + '000000000001d4c0');
  assert.deepEqual(t.deserialize(bytes), { key: 'k', window: { start: 120_000, end: 180_000 } });
  const s = sessionWindowedSerde(stringSerde);
  const sb = s.serialize({ key: 'ab', window: { start: 5, end: 9 } })!;
  assert.equal(sb.toString('hex'), Buffer.from('ab').toString('hex') + '0000000000000009' + '0000000000000005');
  assert.deepEqual(s.deserialize(sb), { key: 'ab', window: { start: 5, end: 9 } });
  assert.throws(() => t.deserialize(Buffer.alloc(3)), /at least 8 bytes/);
});

function run<V, A, R>(agg: Aggregate<V, A, R>, values: V[]): R {
  let acc = agg.init();
  for (const v of values) acc = agg.add(acc, v);
  // Through the store encoding and back, as after a flush and a restore.
  return agg.result(agg.decode(agg.encode(acc)));
}

test('aggregates: count, sum, min, max, average, topN, reduce and custom, each through its byte encoding', () => {
  const xs = [4, -2, 9, 9, 0.5];
  assert.equal(run(count(), xs), 5);
  assert.equal(run(sum(), xs), 20.5);
  assert.equal(run(min(), xs), -2);
  assert.equal(run(max(), xs), 9);
  assert.equal(run(average(), xs), 4.1);
  assert.equal(count().encode(3).length, 8);
  assert.equal(average().encode({ sum: 1, count: 2 }).length, 16);
  assert.ok(Number.isNaN(average().result(average().init())));
  const bids = [{ id: 'a', price: 5 }, { id: 'b', price: 9 }, { id: 'c', price: 1 }, { id: 'd', price: 9 }, { id: 'e', price: 7 }];
  assert.deepEqual(run(topN(3, (b: { id: string; price: number }) => b.price), bids).map((b) => b.id), ['b', 'd', 'e']);
  assert.deepEqual(run(sum((b: { price: number }) => b.price), bids), 31);
  assert.equal(run(reducer((a: string, b: string) => a + b), ['x', 'y', 'z']), 'xyz');
  const custom = aggregator(() => ({ n: 0, last: '' }), (acc, v: string) => ({ n: acc.n + 1, last: v }));
  assert.deepEqual(run(custom, ['p', 'q']), { n: 2, last: 'q' });
});

test('aggregates: copies are independent of the original, and merges combine two sessions', () => {
  const avg = average();
  const a = avg.add(avg.init(), 10);
  const c = avg.copy(a);
  avg.add(c, 20);
  assert.equal(avg.result(a), 10);
  assert.equal(avg.result(c), 15);
  assert.equal(avg.result(avg.merge!(avg.add(avg.init(), 1), avg.add(avg.init(), 3))), 2);
  const top = topN(2, (x: number) => x);
  assert.deepEqual(top.merge!([9, 1], [5, 4]), [9, 5]);
  assert.equal(count().merge!(2, 3), 5);
  assert.equal(min().merge!(2, 3), 2);
  assert.equal(aggregator(() => 0, (a, v: number) => a + v).merge, undefined);
  assert.throws(() => topN(0, (x: number) => x), /topN needs n >= 1/);
});
