// Joins through the DSL and the TestDriver: stream-table enrichment (inner and left, and a
// repartition when the stream's key changed), windowed stream-stream joins, table-table joins.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline, serdes, sessionWindows, TestDriver, type Rec } from '../../../src/stream/index.js';

test('stream-table join: clicks enriched with the user table; updates of the table apply to later clicks only', async () => {
  const p = pipeline('enrich');
  const users = p.table('users', { key: serdes.string, value: serdes.string });
  const clicks = p.stream('clicks', { key: serdes.string, value: serdes.string });
  clicks.join(users, (page, name) => `${name} saw ${page}`).to('joined', { key: serdes.string, value: serdes.string });
  clicks.leftJoin(users, (page, name) => `${name ?? 'someone'} saw ${page}`, { name: 'all' }).to('all', { key: serdes.string, value: serdes.string });
  const d = new TestDriver(p);
  const u = d.input('users', serdes.string, serdes.nullable(serdes.string));
  const c = d.input('clicks', serdes.string, serdes.string);
  await c.pipe('u1', '/early');
  await u.pipe('u1', 'Ada');
  await c.pipe('u1', '/home');
  await c.pipe('u2', '/nobody');
  await u.pipe('u1', 'Ada L.');
  await c.pipe('u1', '/docs');
  await u.pipe('u1', null);
  await c.pipe('u1', '/gone');
  assert.deepEqual(d.output('joined', serdes.string, serdes.string).readValues(), ['Ada saw /home', 'Ada L. saw /docs']);
  assert.deepEqual(d.output('all', serdes.string, serdes.string).readValues(), ['someone saw /early', 'Ada saw /home', 'someone saw /nobody', 'Ada L. saw /docs', 'someone saw /gone']);
});

test('stream-table join after a key change repartitions the stream so it meets the table in the same task', async () => {
  const p = pipeline('enrich2');
  const users = p.table('users', { key: serdes.string, value: serdes.string });
  p.stream('orders', { key: serdes.string, value: serdes.json<{ user: string; amount: number }>() })
    .map((r: Rec<string, { user: string; amount: number }>) => ({ key: r.value.user, value: r.value.amount }))
    .join(users, (amount, name) => `${name}:${amount}`, { name: 'by-user' })
    .to('out', { key: serdes.string, value: serdes.string });
  const topo = p.build();
  assert.ok(topo.internalTopics.some((t) => t.name === 'enrich2-by-user-repartition'), topo.describe());
  const d = new TestDriver(p, { partitions: { users: 4, orders: 4 } });
  for (const [id, name] of [['u1', 'Ada'], ['u2', 'Bob'], ['u3', 'Cy']]) await d.input('users', serdes.string, serdes.string).pipe(id!, name!);
  const orders = d.input('orders', serdes.string, serdes.json<{ user: string; amount: number }>());
  for (let i = 0; i < 12; i++) await orders.pipe(`o${i}`, { user: `u${1 + (i % 3)}`, amount: i });
  const got = d.output('out', serdes.string, serdes.string).readValues().sort();
  assert.equal(got.length, 12);
  assert.deepEqual(got.filter((v) => v.startsWith('Ada')).sort(), ['Ada:0', 'Ada:3', 'Ada:6', 'Ada:9']);
});

test('windowed stream-stream joins: inner pairs, left and outer unmatched records after the window closes', async () => {
  const p = pipeline('ssjoin');
  const opts = (topic: string) => p.stream(topic, { key: serdes.string, value: serdes.string });
  const views = opts('views');
  const clicks = opts('clicks');
  views.join(clicks, (v, c) => `${v}+${c}`, { within: 10, name: 'inner' }).to('inner', { key: serdes.string, value: serdes.string });
  views.leftJoin(clicks, (v, c) => `${v}+${c ?? '-'}`, { within: 10, name: 'left' }).to('left', { key: serdes.string, value: serdes.string });
  views.outerJoin(clicks, (v, c) => `${v ?? '-'}+${c ?? '-'}`, { within: 10, grace: 5, name: 'outer' }).to('outer', { key: serdes.string, value: serdes.string });
  const d = new TestDriver(p);
  const v = d.input('views', serdes.string, serdes.string);
  const c = d.input('clicks', serdes.string, serdes.string);
  await v.pipe('a', 'v1', { timestamp: 100 });
  await c.pipe('a', 'c1', { timestamp: 108 });
  await v.pipe('b', 'v2', { timestamp: 109 });
  await c.pipe('c', 'c2', { timestamp: 110 });
  await v.pipe('z', 'v9', { timestamp: 200 });
  // The watermark is the minimum over both inputs: clicks (at 110) hold it until they move on.
  await c.pipe('y', 'c9', { timestamp: 300 });
  const read = (t: string) => d.output(t, serdes.string, serdes.string).readAll().map((r) => `${r.key}:${r.value}@${r.timestamp}`);
  assert.deepEqual(read('inner'), ['a:v1+c1@108']);
  assert.deepEqual(read('left'), ['a:v1+c1@108', 'b:v2+-@109']);
  assert.deepEqual(read('outer'), ['a:v1+c1@108', 'b:v2+-@109', 'c:-+c2@110']);
  assert.equal(d.store('left', serdes.bytes, serdes.bytes).all().length, 2, 'only the records at 200 and 300 are still kept');
});

test('table-table joins: a result per update of either side, tombstones when it goes away', async () => {
  const p = pipeline('ttjoin');
  const users = p.table('users', { key: serdes.string, value: serdes.string });
  const scores = p.table('scores', { key: serdes.string, value: serdes.long });
  users.join(scores, (name, score) => `${name}=${score}`, { name: 'inner' }).toStream().to('inner', { key: serdes.string, value: serdes.nullable(serdes.string) });
  users.leftJoin(scores, (name, score) => `${name}=${score ?? 0}`, { name: 'left' }).toStream().to('left', { key: serdes.string, value: serdes.nullable(serdes.string) });
  const d = new TestDriver(p);
  const u = d.input('users', serdes.string, serdes.nullable(serdes.string));
  const s = d.input('scores', serdes.string, serdes.nullable(serdes.long));
  await s.pipe('u1', 5);
  await u.pipe('u1', 'Ada');
  await s.pipe('u1', 7);
  await u.pipe('u2', 'Bob');
  await s.pipe('u1', null);
  await u.pipe('u1', null);
  const read = (t: string) => d.output(t, serdes.string, serdes.nullable(serdes.string)).readKeyValues().map(([k, v]) => `${k}:${v}`);
  assert.deepEqual(read('inner'), ['u1:Ada=5', 'u1:Ada=7', 'u1:null']);
  assert.deepEqual(read('left'), ['u1:Ada=5', 'u1:Ada=7', 'u2:Bob=0', 'u1:Ada=0', 'u1:null']);
});

test('definition errors say what to do: a stream-stream join without a window, a session aggregate without a merger', () => {
  const p = pipeline('errs');
  const a = p.stream('a', { key: serdes.string, value: serdes.long });
  const b = p.stream('b', { key: serdes.string, value: serdes.long });
  assert.throws(() => a.join(b, (x, y) => x + y, undefined as never), /needs a window: join\(other, joiner, \{ within: ms, grace: ms \}\)/);
  assert.throws(() => a.groupByKey().windowedBy(sessionWindows(10)).aggregate(() => 0, (acc, v) => acc + v), /aggregate needs a merger/);
  assert.doesNotThrow(() => a.groupByKey().windowedBy(sessionWindows(10)).aggregate(() => 0, (acc, v) => acc + v, { merger: (x, y) => x + y, name: 'ok' }));
});
