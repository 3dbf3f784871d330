// Windows through the DSL and the TestDriver: emit final and on update, grace, late records
// (metric and side output), idle partitions not stalling windows, session merges with
// tombstones, hopping windows, and the window store emptied once windows close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline, serdes, TestDriver, MemoryStoreFactory, tumbling, hopping, sessionWindows, slidingWindows, type Rec, type Windowed, type KStream } from '../../../src/stream/index.js';

// Input: key = user, value = event time (ms); the extractor makes it the record's event time.
const byValue = { key: serdes.string, value: serdes.long, timestamp: (r: Rec<string, number>) => r.value };
const fmt = (r: { key: Windowed<string>; value: number | null }) => `${r.key.key}@${r.key.window.start}-${r.key.window.end}=${r.value}`;

test('tumbling count, emit final: one result per window once the watermark reaches end + grace; the store empties', async () => {
  const p = pipeline('wcount');
  const counts = p.stream('clicks', byValue).groupByKey().windowedBy(tumbling(60_000).grace(5_000)).count({ emit: 'final', name: 'counts' });
  counts.toStream().to('out', { key: counts.keySerde, value: serdes.nullable(serdes.long) });
  const d = new TestDriver(p);
  const clicks = d.input('clicks', serdes.string, serdes.long);
  const out = d.output('out', counts.keySerde, serdes.nullable(serdes.long));
  for (const [k, t] of [['a', 1_000], ['a', 59_999], ['b', 30_000], ['a', 61_000], ['a', 64_000]] as const) await clicks.pipe(k, t);
  assert.deepEqual(out.readAll().map(fmt), [], 'watermark 64000 < 60000 + 5000');
  await clicks.pipe('a', 50_000); // out of order, within grace
  await clicks.pipe('c', 65_000);
  const first = out.readAll();
  assert.deepEqual(first.map(fmt), ['a@0-60000=3', 'b@0-60000=1']);
  assert.equal(first[0]!.timestamp, 59_999);
  assert.ok(d.store('counts', serdes.bytes, serdes.bytes).all().length > 0);
  await clicks.pipe('z', 1_000_000);
  assert.deepEqual(out.readAll().map(fmt), ['a@60000-120000=2', 'c@60000-120000=1']);
  await clicks.pipe('z', 2_000_000);
  assert.deepEqual(d.store('counts', serdes.bytes, serdes.bytes).all().length, 1, 'only z\'s open window is left');
});

test('emit on update: a result per record; windowed keys reach the sink in Kafka Streams\' layout', async () => {
  const p = pipeline('wupd');
  const sums = p.stream('in', { key: serdes.string, value: serdes.long }).groupByKey().windowedBy(tumbling(10)).sum();
  sums.toStream().to('out', { key: sums.keySerde, value: serdes.nullable(serdes.long) });
  const d = new TestDriver(p);
  const input = d.input('in', serdes.string, serdes.long);
  await input.pipe('k', 5, { timestamp: 1 });
  await input.pipe('k', 7, { timestamp: 4 });
  await input.pipe('k', 1, { timestamp: 12 });
  assert.deepEqual(d.output('out', sums.keySerde, serdes.nullable(serdes.long)).readAll().map(fmt), ['k@0-10=5', 'k@0-10=12', 'k@10-20=1']);
  const raw = d.output('out', serdes.bytes, serdes.bytes);
  assert.equal(raw.isEmpty(), true);
});

test('late records: dropped, counted in lateRecords, and sent to the side output the user wrote to a topic', async () => {
  const p = pipeline('wlate');
  const counts = p.stream('clicks', byValue).groupByKey().windowedBy(tumbling(100).grace(10)).count({ emit: 'final', name: 'c' });
  counts.toStream().to('out', { key: counts.keySerde, value: serdes.nullable(serdes.long) });
  counts.lateRecords().to('late', { key: serdes.string, value: serdes.long });
  const d = new TestDriver(p);
  const clicks = d.input('clicks', serdes.string, serdes.long);
  await clicks.pipe('a', 50);
  await clicks.pipe('a', 150); // watermark 150 >= 100 + 10: [0, 100) closed
  await clicks.pipe('a', 99); // late
  await clicks.pipe('a', 120); // on time
  assert.deepEqual(d.output('out', counts.keySerde, serdes.nullable(serdes.long)).readAll().map(fmt), ['a@0-100=1']);
  assert.deepEqual(d.output('late', serdes.string, serdes.long).readKeyValues(), [['a', 99]]);
  assert.deepEqual(d.metrics.lateRecords, { 'windowed-count(c)': 1 });
});

test('an idle partition does not stall windows: after its idle timeout the other one closes them', async () => {
  const p = pipeline('widle');
  const opts = { ...byValue, watermark: { idleTimeoutMs: 1_000 } };
  const counts = p.stream('a', opts).merge(p.stream('b', opts)).groupByKey().windowedBy(tumbling(100)).count({ emit: 'final' });
  counts.toStream().to('out', { key: counts.keySerde, value: serdes.nullable(serdes.long) });
  const d = new TestDriver(p);
  const a = d.input('a', serdes.string, serdes.long);
  const out = d.output('out', counts.keySerde, serdes.nullable(serdes.long));
  await d.input('b', serdes.string, serdes.long).pipe('k', 10);
  await a.pipe('k', 20);
  await d.advanceTime(600);
  await a.pipe('k', 500);
  assert.deepEqual(out.readAll().map(fmt), [], 'b (at 10) holds the watermark');
  await d.advanceTime(500);
  assert.deepEqual(out.readAll().map(fmt), ['k@0-100=2']);
});

test('session windows through the driver: a bridging record merges two sessions, tombstones retract the old ones', async () => {
  const p = pipeline('wsess');
  const s = p.stream('in', byValue).groupByKey().windowedBy(sessionWindows(15).grace(1_000)).count();
  s.toStream().to('out', { key: s.keySerde, value: serdes.nullable(serdes.long) });
  const d = new TestDriver(p);
  const input = d.input('in', serdes.string, serdes.long);
  for (const t of [100, 105, 130, 118]) await input.pipe('u', t);
  const got = d.output('out', s.keySerde, serdes.nullable(serdes.long)).readAll().map(fmt);
  assert.deepEqual(got, ['u@100-100=1', 'u@100-100=null', 'u@100-105=2', 'u@130-130=1', 'u@100-105=null', 'u@130-130=null', 'u@100-130=4']);
});

test('hopping and sliding windows through the driver', async () => {
  const p = pipeline('whop');
  const h = p.stream('in', byValue).groupByKey().windowedBy(hopping(10, 5)).count({ emit: 'final', name: 'h' });
  h.toStream().to('hop', { key: h.keySerde, value: serdes.nullable(serdes.long) });
  const d = new TestDriver(p);
  const input = d.input('in', serdes.string, serdes.long);
  for (const t of [7, 12, 100]) await input.pipe('k', t);
  assert.deepEqual(d.output('hop', h.keySerde, serdes.nullable(serdes.long)).readAll().map(fmt), ['k@0-10=1', 'k@5-15=2', 'k@10-20=1']);

  const p2 = pipeline('wslide');
  const s = p2.stream('in', byValue).groupByKey().windowedBy(slidingWindows(10)).count({ emit: 'final' });
  s.toStream().to('out', { key: s.keySerde, value: serdes.nullable(serdes.long) });
  const d2 = new TestDriver(p2);
  const in2 = d2.input('in', serdes.string, serdes.long);
  for (const t of [100, 105, 200]) await in2.pipe('k', t);
  assert.deepEqual(d2.output('out', s.keySerde, serdes.nullable(serdes.long)).readAll().map(fmt), ['k@90-100=1', 'k@95-105=2', 'k@101-111=1']);
});

test('windowed aggregates survive a restart: a second driver on the same stores continues the open windows', async () => {
  const p = () => {
    const pl = pipeline('wrestart');
    const t = pl.stream('in', byValue).groupByKey().windowedBy(tumbling(100)).aggregate(() => [] as number[], (acc, v) => [...acc, v], { emit: 'final', name: 'agg' });
    t.toStream().to('out', { key: t.keySerde, value: serdes.nullable(serdes.json<number[]>()) });
    return { pl, t };
  };
  const first = p();
  const stores = new MemoryStoreFactory();
  const d1 = new TestDriver(first.pl, { stores });
  await d1.input('in', serdes.string, serdes.long).pipe('k', 10);
  await d1.input('in', serdes.string, serdes.long).pipe('k', 20);
  const second = p();
  const d2 = new TestDriver(second.pl, { stores });
  await d2.input('in', serdes.string, serdes.long).pipe('k', 30);
  await d2.input('in', serdes.string, serdes.long).pipe('k', 500);
  const out = d2.output('out', second.t.keySerde, serdes.nullable(serdes.json<number[]>())).readAll();
  assert.deepEqual(out.map((r) => [r.key.window.start, r.value]), [[0, [10, 20, 30]]]);
});

test('windowed min, max, average, topN and reduce through the DSL; update results carry the input headers, final ones none', async () => {
  const p = pipeline('waggs');
  const grouped = p.stream('bids', { key: serdes.string, value: serdes.long }).groupByKey();
  const w = tumbling(100);
  const sinks = {
    min: grouped.windowedBy(w).min(undefined, { emit: 'final', name: 'min' }),
    max: grouped.windowedBy(w).max(undefined, { emit: 'final', name: 'max' }),
    avg: grouped.windowedBy(w).average(undefined, { emit: 'final', name: 'avg' }),
    top: grouped.windowedBy(w).topN(2, (v) => v, { emit: 'final', name: 'top' }),
    cat: grouped.windowedBy(w).reduce((a, b) => a * 10 + b, { name: 'cat' }),
  };
  for (const [topic, t] of Object.entries(sinks)) (t.toStream() as KStream<Windowed<string>, unknown>).to(topic, { key: t.keySerde, value: serdes.json<unknown>() });
  const d = new TestDriver(p);
  const bids = d.input('bids', serdes.string, serdes.long);
  for (const [v, ts] of [[3, 1], [9, 2], [1, 3], [7, 4]]) await bids.pipe('x', v!, { timestamp: ts!, headers: [['h', Buffer.from(String(v))]] });
  await bids.pipe('y', 0, { timestamp: 500, headers: [['h', Buffer.from('y')]] }); // closes the windows of x
  const first = (topic: string) => d.output(topic, serdes.bytes, serdes.json<unknown>()).readAll()[0]!;
  assert.equal(first('min').value, 1);
  assert.equal(first('max').value, 9);
  assert.equal(first('avg').value, 5);
  const top = first('top');
  assert.deepEqual(top.value, [9, 7]);
  assert.deepEqual(top.headers, []);
  const cat = d.output('cat', serdes.bytes, serdes.json<unknown>()).readAll();
  assert.deepEqual(cat.slice(0, 4).map((r) => r.value), [3, 39, 391, 3917]);
  assert.equal(cat[1]!.headers[0]![1].toString(), '9');
});
