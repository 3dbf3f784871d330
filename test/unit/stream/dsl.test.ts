// The DSL's stateless operators, run through the TestDriver as a runtime would run them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline, serdes, TestDriver, partitionForKey } from '../../../src/stream/index.js';

interface Order {
  id: string;
  customer: string;
  amount: number;
  ts: number;
}

const order = (id: string, customer: string, amount: number, ts = 0): Order => ({ id, customer, amount, ts });

test('filter and map reach the sink with the new key and value, in order', async () => {
  const p = pipeline('orders-app');
  p.stream('orders', { key: serdes.string, value: serdes.json<Order>() })
    .filter((r) => r.value.amount >= 10)
    .map((r) => ({ key: r.value.customer, value: r.value.amount * 2 }))
    .to('big-orders', { key: serdes.string, value: serdes.double });
  const d = new TestDriver(p);
  const input = d.input('orders', serdes.string, serdes.json<Order>());
  await input.pipe('o1', order('o1', 'alice', 5));
  await input.pipe('o2', order('o2', 'bob', 10));
  await input.pipe('o3', order('o3', 'alice', 30));
  assert.deepEqual(d.output('big-orders', serdes.string, serdes.double).readKeyValues(), [
    ['bob', 20],
    ['alice', 60],
  ]);
  assert.deepEqual(d.deadLetters(), []);
  assert.deepEqual({ in: d.metrics.recordsIn, out: d.metrics.recordsOut }, { in: 3, out: { 'big-orders': 2 } }, 'each record counted once, in and out');
  await d.close();
});

test('mapValues, flatMap, flatMapValues and peek', async () => {
  const p = pipeline('words');
  const seen: string[] = [];
  p.stream('lines', { key: serdes.string, value: serdes.string })
    .peek((r) => seen.push(r.value))
    .flatMapValues((r) => r.value.split(' '))
    .mapValues((r) => r.value.toUpperCase())
    .flatMap((r) => [{ key: r.value, value: r.key }, { key: r.value, value: r.key + '!' }])
    .to('out', { key: serdes.string, value: serdes.string });
  const d = new TestDriver(p);
  await d.input('lines', serdes.string, serdes.string).pipe('l1', 'a b');
  assert.deepEqual(seen, ['a b']);
  assert.deepEqual(d.output('out', serdes.string, serdes.string).readKeyValues(), [
    ['A', 'l1'],
    ['A', 'l1!'],
    ['B', 'l1'],
    ['B', 'l1!'],
  ]);
});

test('the event time from the extractor is the output timestamp; headers pass through', async () => {
  const p = pipeline('ts');
  p.stream('in', { key: serdes.string, value: serdes.json<Order>(), timestamp: (r) => r.value.ts }).to('out', { key: serdes.string, value: serdes.json<Order>() });
  const d = new TestDriver(p, { startTime: 1_000_000 });
  await d.input('in', serdes.string, serdes.json<Order>()).pipe('k', order('o', 'c', 1, 1234), { timestamp: 99, headers: [['h', Buffer.from('v')]] });
  const [out] = d.output('out', serdes.string, serdes.json<Order>()).readAll();
  assert.equal(out!.timestamp, 1234);
  assert.deepEqual(out!.headers, [['h', Buffer.from('v')]]);
});

test('a record that fails to deserialize is reported with operator "deserialize" and goes no further', async () => {
  const p = pipeline('poison');
  p.stream('in', { key: serdes.string, value: serdes.json<{ n: number }>() }).to('out', { key: serdes.string, value: serdes.json<{ n: number }>() });
  const d = new TestDriver(p);
  await d.input('in', serdes.string, serdes.string).pipe('bad', '{not json');
  await d.input('in', serdes.string, serdes.string).pipe('good', '{"n":1}');
  const dead = d.deadLetters();
  assert.equal(dead.length, 1);
  assert.equal(dead[0]!.operator, 'deserialize');
  assert.equal(dead[0]!.input.key!.toString(), 'bad');
  assert.match(dead[0]!.message, /JSON/);
  assert.deepEqual(d.output('out', serdes.string, serdes.json<{ n: number }>()).readKeyValues(), [['good', { n: 1 }]]);
});

test('a user function that throws is reported with the operator named, and the next records still flow', async () => {
  const p = pipeline('throws');
  p.stream('in', { key: serdes.string, value: serdes.int })
    .map((r) => {
      if (r.value === 13) throw new Error('unlucky');
      return { key: r.key, value: r.value };
    }, { name: 'enrich' })
    .filter((r) => {
      if (r.value === 7) throw new TypeError('seven');
      return true;
    })
    .to('out', { key: serdes.string, value: serdes.int });
  const d = new TestDriver(p);
  const input = d.input('in', serdes.string, serdes.int);
  for (const n of [1, 13, 7, 2]) await input.pipe('k', n);
  assert.deepEqual(d.deadLetters().map((e) => [e.operator, e.message]), [
    ['map(enrich)', 'unlucky'],
    ['filter', 'seven'],
  ]);
  assert.deepEqual(d.output('out', serdes.string, serdes.int).readValues(), [1, 2]);
});

test("onError 'throw' stops at the poison record", async () => {
  const p = pipeline('stop');
  p.stream('in', { key: serdes.string, value: serdes.int }).to('out', { key: serdes.string, value: serdes.int });
  const d = new TestDriver(p, { onError: 'throw' });
  await assert.rejects(d.input('in', serdes.string, serdes.string).pipe('k', 'xy'), /operator deserialize/);
});

test('keyBy repartitions through <app>-<name>-repartition to the partition murmur2 of the new key picks', async () => {
  const p = pipeline('rk');
  p.stream('orders', { key: serdes.string, value: serdes.json<Order>() })
    .keyBy((r) => r.value.customer, { key: serdes.string, name: 'by-customer' })
    .peek(() => {})
    .to('by-customer', { key: serdes.string, value: serdes.json<Order>() });
  const topology = p.build();
  assert.deepEqual(topology.internalTopics, [{ name: 'rk-by-customer-repartition' }]);
  assert.equal(topology.subtopologies.length, 2);
  assert.deepEqual(topology.subtopologies[0]!.sources, ['orders']);
  assert.deepEqual(topology.subtopologies[1]!.sources, ['rk-by-customer-repartition']);
  assert.deepEqual(topology.sinks, ['by-customer']);
  const described = topology.describe();
  assert.ok(described.indexOf('to(by-customer)') > described.indexOf('Sub-topology 1'), `the sink is after the repartition:\n${described}`);
  const d = new TestDriver(topology, { partitions: { orders: 4, 'by-customer': 4 } });
  const input = d.input('orders', serdes.string, serdes.json<Order>());
  const customers = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
  for (let i = 0; i < 12; i++) await input.pipe(`o${i}`, order(`o${i}`, customers[i % customers.length]!, i));
  const moved = d.output('rk-by-customer-repartition', serdes.string, serdes.json<Order>()).readAll();
  assert.equal(moved.length, 12);
  for (const r of moved) assert.equal(r.partition, partitionForKey(Buffer.from(r.key), 4), `repartition partition of ${r.key}`);
  const out = d.output('by-customer', serdes.string, serdes.json<Order>()).readAll();
  assert.deepEqual(out.map((r) => r.value.id), moved.map((r) => r.value.id));
  // The downstream task for partition p got exactly the records of partition p.
  for (const r of out) assert.equal(r.partition, partitionForKey(Buffer.from(r.key), 4));
});

test('branch routes each record to the first matching branch; merge joins streams', async () => {
  const p = pipeline('br');
  const [big, small] = p.stream('in', { key: serdes.string, value: serdes.int }).branch(
    (r) => r.value >= 100,
    (r) => r.value >= 10,
  );
  big.to('big', { key: serdes.string, value: serdes.int });
  small.to('small', { key: serdes.string, value: serdes.int });
  big.mapValues((r) => r.value + 1).merge(small).to('both', { key: serdes.string, value: serdes.int });
  const d = new TestDriver(p);
  const input = d.input('in', serdes.string, serdes.int);
  for (const n of [5, 500, 50, 100, 10]) await input.pipe('k', n);
  assert.deepEqual(d.output('big', serdes.string, serdes.int).readValues(), [500, 100]);
  assert.deepEqual(d.output('small', serdes.string, serdes.int).readValues(), [50, 10]);
  assert.deepEqual(d.output('both', serdes.string, serdes.int).readValues(), [501, 50, 101, 10]);
});

test('split names its branches', async () => {
  const p = pipeline('split');
  const { even, odd } = p.stream('in', { key: serdes.string, value: serdes.int }).split({ even: (r) => r.value % 2 === 0, odd: () => true });
  even.to('even', { key: serdes.string, value: serdes.int });
  odd.to('odd', { key: serdes.string, value: serdes.int });
  const d = new TestDriver(p);
  await d.input('in', serdes.string, serdes.int).pipeAll([['a', 1], ['b', 2], ['c', 3]]);
  assert.deepEqual(d.output('even', serdes.string, serdes.int).readKeyValues(), [['b', 2]]);
  assert.deepEqual(d.output('odd', serdes.string, serdes.int).readKeyValues(), [['a', 1], ['c', 3]]);
});

test('merge of two source topics makes them co-partitioned in one sub-topology', async () => {
  const p = pipeline('m');
  const a = p.stream('a', { key: serdes.string, value: serdes.string });
  const b = p.stream('b', { key: serdes.string, value: serdes.string });
  a.merge(b).to('out', { key: serdes.string, value: serdes.string });
  const t = p.build();
  assert.equal(t.subtopologies.length, 1);
  assert.deepEqual(t.subtopologies[0]!.sources, ['a', 'b']);
  const d = new TestDriver(t, { partitions: { a: 2, b: 2 } });
  await d.input('a', serdes.string, serdes.string).pipe('x', 'from a', { partition: 1 });
  await d.input('b', serdes.string, serdes.string).pipe('y', 'from b', { partition: 1 });
  const out = d.output('out', serdes.string, serdes.string).readAll();
  assert.deepEqual(out.map((r) => r.value), ['from a', 'from b']);
});

test('a sink partitioner picks the partition and sees the partition count', async () => {
  const p = pipeline('part');
  p.stream('in', { key: serdes.string, value: serdes.int }).to('out', { key: serdes.string, value: serdes.int, partitioner: (_k, v, n) => v % n });
  const d = new TestDriver(p, { partitions: { out: 3 } });
  await d.input('in', serdes.string, serdes.int).pipeAll([['a', 4], ['b', 8], ['c', 3]]);
  assert.deepEqual(d.output('out', serdes.string, serdes.int).readAll().map((r) => r.partition), [1, 2, 0]);
});

test('without a partition, input records go to the partition murmur2 of the key picks', async () => {
  const p = pipeline('in-part');
  p.stream('in', { key: serdes.string, value: serdes.int }).to('out', { key: serdes.string, value: serdes.int, partitioner: (_k, _v, _n) => 0 });
  const d = new TestDriver(p, { partitions: { in: 8 } });
  const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
  for (const k of keys) await d.input('in', serdes.string, serdes.int).pipe(k, 1);
  assert.deepEqual(d.output('in', serdes.string, serdes.int).readAll().map((r) => r.partition), keys.map((k) => partitionForKey(Buffer.from(k), 8)));
});

test('describe() names every operator and sub-topology', () => {
  const p = pipeline('desc');
  p.stream('in', { key: serdes.string, value: serdes.int })
    .filter(() => true, { name: 'keep' })
    .keyBy((r) => r.value, { key: serdes.int, name: 'by-value' })
    .to('out', { key: serdes.int, value: serdes.int });
  const text = p.build().describe();
  assert.match(text, /Sub-topology 0: sources in/);
  assert.match(text, /filter\(keep\) <- source\(in\)/);
  assert.match(text, /Sub-topology 1: sources desc-by-value-repartition/);
  assert.match(text, /to\(out\)/);
});

test('errors for people: a topic read twice, an unknown input topic', () => {
  const p = pipeline('twice');
  p.stream('in', { key: serdes.string, value: serdes.int });
  assert.throws(() => p.stream('in', { key: serdes.string, value: serdes.int }), /already a source.*reuse the stream/);
  p.build();
  const d = new TestDriver(p);
  assert.throws(() => d.input('nope', serdes.string, serdes.int), /not read by twice; it reads in/);
});

test('unkeyed records: a null key is a poison record for serdes.string, and flows with serdes.nullable; the driver spreads them round-robin', async () => {
  const p = pipeline('nullkeys');
  p.stream('strict', { key: serdes.string, value: serdes.int }).to('strict-out', { key: serdes.string, value: serdes.int });
  p.stream('logs', { key: serdes.nullable(serdes.string), value: serdes.string }).to('logs-out', { key: serdes.nullable(serdes.string), value: serdes.string });
  const d = new TestDriver(p, { partitions: { logs: 3, strict: 3 } });
  await d.input('strict', serdes.nullable(serdes.string), serdes.int).pipe(null, 1);
  assert.deepEqual(d.deadLetters().map((e) => e.operator), ['deserialize']);
  assert.match(d.deadLetters()[0]!.message, /serdes\.nullable\(serdes\.string\)/);
  const logs = d.input('logs', serdes.nullable(serdes.string), serdes.string);
  for (const line of ['a', 'b', 'c', 'd']) await logs.pipe(null, line);
  const out = d.output('logs-out', serdes.nullable(serdes.string), serdes.string).readAll();
  assert.deepEqual(out.map((r) => [r.key, r.value]), [[null, 'a'], [null, 'b'], [null, 'c'], [null, 'd']]);
  assert.deepEqual(d.output('logs', serdes.nullable(serdes.string), serdes.string).readAll().map((r) => r.partition).sort(), [0, 0, 1, 2]);
});

test('the driver refuses a partition that does not exist, a negative time step, and use after close', async () => {
  const p = pipeline('limits');
  p.stream('in', { key: serdes.string, value: serdes.int }).to('out', { key: serdes.string, value: serdes.int });
  const d = new TestDriver(p, { partitions: { in: 2 } });
  await assert.rejects(d.input('in', serdes.string, serdes.int).pipe('k', 1, { partition: 2 }), /partition 2 of topic in does not exist; it has 2/);
  await assert.rejects(d.advanceTime(-1), /advanceTime needs a duration >= 0/);
  await d.close();
  await assert.rejects(d.input('in', serdes.string, serdes.int).pipe('k', 1), /TestDriver is closed/);
});
