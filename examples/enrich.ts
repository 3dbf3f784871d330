// A stream-table enrichment: each order gets its customer's details from a table.
//
//   npx rivulet run examples/enrich.ts
//
// "customers" is a compacted topic (key: customer id, value: the customer as JSON); the
// pipeline keeps its latest value per key in a state store (a table). Each record of
// "orders" (key: customer id, value: the order as JSON) is joined with the customer it names
// and written to "orders-enriched". An order whose customer is not known yet still goes out,
// with customer: null (a left join); use .join instead of .leftJoin to drop those.
//
// The two topics must have the same number of partitions (the order of customer c and the
// customer c are read by the same task), as in Kafka Streams.

import { pipeline, serdes } from 'rivulet/stream';

interface Customer {
  name: string;
  tier: 'gold' | 'silver' | 'basic';
}

interface Order {
  id: string;
  amount: number;
}

interface EnrichedOrder extends Order {
  customerId: string;
  customer: Customer | null;
}

const p = pipeline(process.env.RIVULET_APPLICATION_ID ?? 'enrich');

const customers = p.table('customers', { key: serdes.string, value: serdes.json<Customer>() });

p.stream('orders', { key: serdes.string, value: serdes.json<Order>() })
  .leftJoin(customers, (order, customer, customerId): EnrichedOrder => ({ ...order, customerId, customer: customer ?? null }))
  .to('orders-enriched', { key: serdes.string, value: serdes.json<EnrichedOrder>() });

export default p;
