// The simplest pipeline: a function. Each record of --input goes through it; what it returns
// goes to --output. Here: payments in, a receipt out for each paid one, nothing for the rest.
//
//   npx rivulet run examples/function.ts --input payments --output receipts
//
// record: { key, value, headers, timestamp, topic, partition, offset }, the key a string and
// the value parsed JSON (--key-format string, --value-format json, the defaults).
// Return { value, key?, headers?, timestamp?, topic? }, an array of them, or undefined.

interface Order {
  id: string;
  amount: number;
  status: 'paid' | 'pending' | 'cancelled';
}

export default (record: { key: string | null; value: Order }) => {
  const order = record.value;
  if (order.status !== 'paid') return undefined;
  return { value: { order: order.id, customer: record.key, total: Math.round(order.amount * 100) / 100 } };
};
