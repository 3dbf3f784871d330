// Compile-time checks of the DSL's type inference: this file fails `tsc` (and so the build)
// when a type stops flowing from source to sink. Each @ts-expect-error line must be an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline, serdes, type KStream, type KTable, type Rec } from '../../../src/stream/index.js';

interface Order {
  id: string;
  amount: number;
  ts: number;
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const is = <T extends true>(_?: T) => {};

function definitions() {
  const p = pipeline('types');
  const orders = p.stream('orders', { key: serdes.string, value: serdes.json<Order>(), timestamp: (r) => r.value.ts });
  is<Equal<typeof orders, KStream<string, Order>>>();

  const mapped = orders.map((r) => ({ key: r.value.amount, value: { id: r.value.id, big: r.value.amount > 10 } }));
  is<Equal<typeof mapped, KStream<number, { id: string; big: boolean }>>>();

  const values = orders.mapValues((r) => r.value.id.length);
  is<Equal<typeof values, KStream<string, number>>>();

  const flat = orders.flatMap((r) => [{ key: r.value.id, value: r.value.ts }]);
  is<Equal<typeof flat, KStream<string, number>>>();

  const enriched = orders.mapAsync(async (r) => ({ ...r.value, vip: true }));
  is<Equal<typeof enriched, KStream<string, { vip: boolean; id: string; amount: number; ts: number }>>>();

  const rekeyed = orders.keyBy((r) => r.value.amount, { key: serdes.int });
  is<Equal<typeof rekeyed, KStream<number, Order>>>();

  const [a, b] = orders.branch((r) => r.value.amount > 1, () => true);
  is<Equal<typeof a, KStream<string, Order>>>();
  is<Equal<typeof b, KStream<string, Order>>>();

  const { big } = orders.split({ big: (r) => r.value.amount > 100, rest: () => true });
  is<Equal<typeof big, KStream<string, Order>>>();

  type Refund = Order & { refund: true };
  const [refunds, rest] = orders.branch((r): r is Rec<string, Refund> => 'refund' in r.value, () => true);
  is<Equal<typeof refunds, KStream<string, Refund>>>();
  is<Equal<typeof rest, KStream<string, Order>>>();
  const named = orders.split({ refunds: (r): r is Rec<string, Refund> => 'refund' in r.value, other: () => true });
  is<Equal<typeof named.refunds, KStream<string, Refund>>>();
  is<Equal<typeof named.other, KStream<string, Order>>>();
  // @ts-expect-error no such branch
  void named.nope;

  const counts = orders.groupByKey().count();
  is<Equal<typeof counts, KTable<string, number>>>();
  const totals = orders.groupByKey().aggregate(() => 0, (sum, r) => sum + r.value.amount);
  is<Equal<typeof totals, KTable<string, number>>>();

  const table = p.table('customers', { key: serdes.string, value: serdes.json<{ name: string }>() });
  is<Equal<ReturnType<typeof table.toStream>, KStream<string, { name: string } | null>>>();
  const byInitial = table
    .groupBy((_id, c) => ({ key: c.name.charAt(0), value: c.name.length }), { key: serdes.string, value: serdes.int })
    .aggregate(() => 0, (sum, n) => sum + n, (sum, n) => sum - n);
  is<Equal<typeof byInitial, KTable<string, number>>>();
  // @ts-expect-error the subtractor must return the aggregate's type
  table.groupBy((id, c) => ({ key: id, value: c.name })).aggregate(() => 0, (n) => n + 1, () => 'x');

  // @ts-expect-error the value is an Order, not a string
  orders.to('out', { key: serdes.string, value: serdes.string });
  // @ts-expect-error the key became a number
  rekeyed.to('out', { key: serdes.string, value: serdes.json<Order>() });
  // @ts-expect-error no such field on Order
  orders.filter((r) => r.value.price > 1);
  // @ts-expect-error streams of different value types do not merge
  orders.merge(values);
  // @ts-expect-error the timestamp extractor must return a number
  p.stream('other', { key: serdes.string, value: serdes.json<Order>(), timestamp: (r) => r.value.id });
  // @ts-expect-error a partitioner sees the typed key
  orders.to('out', { key: serdes.string, value: serdes.json<Order>(), partitioner: (k: number) => k });
  mapped.to('ok', { key: serdes.int, value: serdes.json<{ id: string; big: boolean }>() });
  return p;
}

test('the type checks above compile (the build fails otherwise), and the pipeline builds', () => {
  assert.equal(definitions().build().application, 'types');
});
