// Tables and grouped aggregations through the TestDriver: stores per task, commits, restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline, serdes, TestDriver, MemoryStoreFactory } from '../../../src/stream/index.js';

test('a table keeps the latest value per key; a tombstone deletes it and is forwarded as null', async () => {
  const p = pipeline('t');
  const customers = p.table('customers', { key: serdes.string, value: serdes.json<{ name: string }>(), name: 'customers-store' });
  customers.toStream().mapValues((r) => (r.value === null ? 'deleted' : r.value.name)).to('updates', { key: serdes.string, value: serdes.string });
  const t = p.build();
  assert.deepEqual(t.stores.map((s) => [s.name, s.subtopology, s.changelog]), [['customers-store', 0, true]]);
  const d = new TestDriver(t, { partitions: { customers: 2 } });
  const input = d.input('customers', serdes.string, serdes.nullable(serdes.json<{ name: string }>()));
  await input.pipe('c1', { name: 'Ann' });
  await input.pipe('c2', { name: 'Bo' });
  await input.pipe('c1', { name: 'Anne' });
  await input.pipe('c2', null);
  const store = d.store<string, { name: string }>('customers-store');
  assert.deepEqual(store.get('c1'), { name: 'Anne' });
  assert.equal(store.get('c2'), undefined);
  assert.deepEqual(store.all(), [['c1', { name: 'Anne' }]]);
  assert.deepEqual(d.output('updates', serdes.string, serdes.string).readKeyValues(), [
    ['c1', 'Ann'],
    ['c2', 'Bo'],
    ['c1', 'Anne'],
    ['c2', 'deleted'],
  ]);
});

test('groupByKey().count() counts per key and emits every update', async () => {
  const p = pipeline('wc');
  p.stream('words', { key: serdes.string, value: serdes.string })
    .groupByKey()
    .count({ name: 'counts' })
    .toStream()
    .to('counts-out', { key: serdes.string, value: serdes.long });
  const d = new TestDriver(p, { partitions: { words: 3 } });
  const input = d.input('words', serdes.string, serdes.string);
  for (const w of ['a', 'b', 'a', 'c', 'a', 'b']) await input.pipe(w, w);
  const out = d.output('counts-out', serdes.string, serdes.long).readKeyValues();
  assert.deepEqual(out.filter(([k]) => k === 'a'), [['a', 1], ['a', 2], ['a', 3]]);
  assert.deepEqual(out.filter(([k]) => k === 'b'), [['b', 1], ['b', 2]]);
  assert.equal(d.store<string, number>('counts').get('a'), 3);
  assert.equal(d.store<string, number>('counts').get('c'), 1);
});

test('groupByKey after a key-changing map repartitions by the new key, so each key is counted in one task', async () => {
  const p = pipeline('auto');
  p.stream('orders', { key: serdes.string, value: serdes.json<{ customer: string }>() })
    .map((r) => ({ key: r.value.customer, value: 1 }))
    .groupByKey({ key: serdes.string, value: serdes.int })
    .count({ name: 'per-customer' });
  const t = p.build();
  assert.deepEqual(t.internalTopics.map((x) => x.name), ['auto-per-customer-repartition']);
  assert.equal(t.stores[0]!.subtopology, 1);
  const d = new TestDriver(t, { partitions: { orders: 4 } });
  const input = d.input('orders', serdes.string, serdes.json<{ customer: string }>());
  // Order ids spread the records over the 4 input partitions; the counts must still add up.
  for (let i = 0; i < 20; i++) await input.pipe(`order-${i}`, { customer: i % 3 === 0 ? 'x' : 'y' });
  const all = new Map(d.store<string, number>('per-customer').all());
  assert.deepEqual(all, new Map([['x', 7], ['y', 13]]));
});

test('reduce and aggregate keep their values between records and across commits', async () => {
  const p = pipeline('agg');
  const s = p.stream('in', { key: serdes.string, value: serdes.int });
  s.groupByKey().reduce((a, v) => Math.max(a, v), { name: 'max', value: serdes.int }).toStream().to('max-out', { key: serdes.string, value: serdes.int });
  s.groupByKey()
    .aggregate(() => ({ sum: 0, n: 0 }), (a, r) => ({ sum: a.sum + r.value, n: a.n + 1 }), { name: 'avg' })
    .toStream()
    .mapValues((r) => r.value.sum / r.value.n)
    .to('avg-out', { key: serdes.string, value: serdes.double });
  const d = new TestDriver(p);
  const input = d.input('in', serdes.string, serdes.int);
  for (const n of [3, 1, 7, 5]) await input.pipe('k', n);
  assert.deepEqual(d.output('max-out', serdes.string, serdes.int).readValues(), [3, 3, 7, 7]);
  assert.deepEqual(d.output('avg-out', serdes.string, serdes.double).readValues(), [3, 2, 11 / 3, 4]);
  assert.deepEqual(d.store('avg').get('k'), { sum: 16, n: 4 });
});

test('state reaches the store at the commit point only (manual commits), and a restart resumes from it', async () => {
  const build = () => {
    const p = pipeline('restart');
    p.stream('in', { key: serdes.string, value: serdes.string }).groupByKey().count({ name: 'n' }).toStream().to('out', { key: serdes.string, value: serdes.long });
    return p;
  };
  const stores = new MemoryStoreFactory();
  const d1 = new TestDriver(build(), { commit: 'manual', stores });
  const in1 = d1.input('in', serdes.string, serdes.string);
  await in1.pipe('k', 'a');
  await in1.pipe('k', 'b');
  assert.equal(d1.store('n').get('k'), undefined, 'nothing written before the commit point');
  await d1.commit();
  assert.equal(d1.store('n').get('k'), 2);
  await in1.pipe('k', 'c'); // processed, never committed: lost with the crash below
  await d1.close();
  const d2 = new TestDriver(build(), { stores });
  await d2.input('in', serdes.string, serdes.string).pipe('k', 'd');
  assert.deepEqual(d2.output('out', serdes.string, serdes.long).readValues(), [3]);
});

test('a reducer that throws is a poison record named after its operator; the aggregate is unchanged', async () => {
  const p = pipeline('bad-reduce');
  p.stream('in', { key: serdes.string, value: serdes.int })
    .groupByKey()
    .reduce((a, v) => {
      if (v < 0) throw new RangeError('negative');
      return a + v;
    }, { name: 'sum' });
  const d = new TestDriver(p);
  const input = d.input('in', serdes.string, serdes.int);
  for (const n of [1, -1, 2]) await input.pipe('k', n);
  assert.deepEqual(d.deadLetters().map((e) => [e.operator, e.message]), [['reduce(sum)', 'negative']]);
  assert.equal(d.store('sum').get('k'), 3);
});

test('a custom operator through process() keeps typed state in a declared store via the task cache', async () => {
  const { Operator } = await import('../../../src/stream/index.js');
  type Task = ConstructorParameters<typeof Operator>[0];
  /** Forwards the first record of each key only. */
  class FirstPerKey extends Operator<string, number> {
    private readonly seen;
    constructor(task: Task, name: string) {
      super(task, name);
      this.seen = task.cache('first-seen', serdes.string, serdes.int);
    }
    process(r: { key: string; value: number; timestamp: number; headers: readonly (readonly [string, Buffer])[] }): void {
      if (this.seen.get(r.key) !== undefined) return;
      this.seen.put(r.key, r.value);
      this.forward(r);
    }
  }
  const p = pipeline('custom');
  p.addStore('first-seen', serdes.string, serdes.int);
  p.stream('in', { key: serdes.string, value: serdes.int })
    .process((task, name) => new FirstPerKey(task, name), { name: 'first-per-key', stores: ['first-seen'] })
    .to('out', { key: serdes.string, value: serdes.int });
  const t = p.build();
  assert.deepEqual(t.stores.map((s) => s.name), ['first-seen']);
  const d = new TestDriver(t);
  await d.input('in', serdes.string, serdes.int).pipeAll([['a', 1], ['b', 2], ['a', 3]]);
  assert.deepEqual(d.output('out', serdes.string, serdes.int).readKeyValues(), [['a', 1], ['b', 2]]);
  assert.equal(d.store('first-seen').get('a'), 1, 'the task flushed the cache to the store at the commit point');
});

test('groupBy(fn) groups by a new key through a named repartition topic', async () => {
  const p = pipeline('gb');
  p.stream('clicks', { key: serdes.string, value: serdes.json<{ page: string }>() })
    .groupBy((r) => r.value.page, { key: serdes.string, name: 'by-page' })
    .count({ name: 'page-counts' });
  const t = p.build();
  assert.deepEqual(t.internalTopics, [{ name: 'gb-by-page-repartition' }]);
  const d = new TestDriver(t, { partitions: { clicks: 3 } });
  const input = d.input('clicks', serdes.string, serdes.json<{ page: string }>());
  for (const [user, page] of [['u1', '/a'], ['u2', '/a'], ['u3', '/b'], ['u4', '/a']] as const) await input.pipe(user, { page });
  assert.deepEqual(new Map(d.store<string, number>('page-counts').all()), new Map([['/a', 3], ['/b', 1]]));
});

test('a commit point flushes until nothing moves: mapAsync results that cross a repartition are counted and in the store', async () => {
  const p = pipeline('settle');
  p.stream('in', { key: serdes.string, value: serdes.string })
    .mapAsync(async (r) => r.value.toUpperCase())
    .groupBy((r) => r.value, { key: serdes.string, name: 'by-value' })
    .count({ name: 'c' });
  const d = new TestDriver(p, { partitions: { in: 2 } });
  const input = d.input('in', serdes.string, serdes.string);
  await input.pipe('k1', 'x');
  assert.equal(d.store<string, number>('c').get('X'), 1, 'in the store after the pipe that caused it');
  await input.pipe('k2', 'x');
  assert.equal(d.store<string, number>('c').get('X'), 2);
});
