// Transactions with python3-confluent-kafka (librdkafka; python/txn_confluent.py):
// 1. a transactional producer commits and aborts transactions of 100 records over 3
//    partitions (every third aborted); its acknowledged offsets follow the layout (a marker
//    after each transaction), read_committed gets exactly the committed records in order and
//    ends past the markers, read_uncommitted gets the aborted ones too (transactions.ts);
// 2. consume-transform-produce: a consumer in a group reads an input topic with
//    read_committed, and each batch goes out in one transaction together with the consumer's
//    positions (send_offsets_to_transaction with consumer_group_metadata()); every fourth
//    transaction is aborted (after its outputs reached the log) and its batch processed
//    again. read_committed on the output sees
//    each input record transformed exactly once, in order; the group's committed offsets are
//    the offsets the last committed transaction sent, which are the input's end.
//
// KAFKA_PEER_CMD runs this file against another broker, e.g. Apache Kafka (see
// test/helpers/broker-or-peer.ts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { BrokerProcess } from '../helpers/broker.js';
import { startBrokerOrPeer } from '../helpers/broker-or-peer.js';
import { debianPython, describeRun, lastJson, pythonDir, requireTool, run, token, works } from './tools.js';
import { byPartition, checkConsumed, checkProduced, type ConsumeSummary, type ProduceSummary, type TxnPlan } from './transactions.js';

const python = debianPython();
const script = join(pythonDir, 'txn_confluent.py');
const partitions = 3;
const plan: TxnPlan = { partitions, txns: 12, perTxn: 100, abortEvery: 3 };
const ctpInputs = 3_000;
const ctpBatch = 70;
const ctpAbortEvery = 4;

let broker: BrokerProcess | undefined;

before(async () => {
  broker = await startBrokerOrPeer({ settings: { 'num.partitions': String(partitions), 'group.initial.rebalance.delay.ms': '0' } });
});

after(async () => {
  await broker?.cleanup();
});

async function present(t: Parameters<typeof requireTool>[0]): Promise<boolean> {
  return requireTool(t, await works(python, ['-c', 'import confluent_kafka']), `the Python module confluent_kafka (for ${python})`, 'install it with `sudo apt-get install python3-confluent-kafka`');
}

async function consume(topic: string, isolation: string): Promise<{ cs: ConsumeSummary; context: string }> {
  const r = await run(python, [script, 'consume', broker!.bootstrap, topic, isolation], { timeoutMs: 90_000 });
  const context = describeRun(`${python} txn_confluent.py consume ${isolation}`, r, broker);
  assert.equal(r.code, 0, context);
  const cs = lastJson<ConsumeSummary>(r.stdout, context);
  assert.equal(cs.isolation, isolation, context);
  return { cs, context };
}

test(`confluent-kafka transactional producer: ${plan.txns} transactions of ${plan.perTxn} records, every ${plan.abortEvery}rd aborted; read_committed sees exactly the committed ones`, { timeout: 180_000 }, async (t) => {
  if (!(await present(t))) return;
  const topic = `txn-py-${token()}`;
  const tok = token();
  const r = await run(python, [script, 'produce', broker!.bootstrap, topic, `txn-py-${tok}`, tok, String(plan.txns), String(plan.perTxn), String(plan.abortEvery)], { timeoutMs: 120_000 });
  const context = describeRun(`${python} txn_confluent.py produce`, r, broker);
  const ps = lastJson<ProduceSummary>(r.stdout, context);
  t.diagnostic(ps.client);
  assert.equal(r.code, 0, context);
  checkProduced(plan, tok, ps, context);
  for (const isolation of ['read_committed', 'read_uncommitted']) {
    const { cs, context: cctx } = await consume(topic, isolation);
    checkConsumed(plan, tok, cs, cctx);
  }
});

interface CtpSummary {
  client: string;
  committed: number;
  aborted: number;
  abortedRecords: number;
  sentOffsets: Record<string, number>;
  groupOffsets: Record<string, number>;
  inputEnd: Record<string, number>;
  errors: string[];
}

test(`confluent-kafka consume-transform-produce: ${ctpInputs} records in transactions of ${ctpBatch} with send_offsets_to_transaction, every ${ctpAbortEvery}th aborted and redone`, { timeout: 180_000 }, async (t) => {
  if (!(await present(t))) return;
  const id = token();
  const input = `ctp-in-${id}`;
  const output = `ctp-out-${id}`;
  const group = `ctp-${id}`;
  const fr = await run(python, [script, 'fill', broker!.bootstrap, input, String(ctpInputs), id], { timeoutMs: 90_000 });
  const fctx = describeRun(`${python} txn_confluent.py fill`, fr, broker);
  assert.equal(fr.code, 0, fctx);
  assert.deepEqual(lastJson<{ errors: string[] }>(fr.stdout, fctx).errors, [], fctx);

  const r = await run(python, [script, 'ctp', broker!.bootstrap, input, output, group, `ctp-${id}`, String(ctpBatch), String(ctpAbortEvery)], { timeoutMs: 150_000 });
  const context = describeRun(`${python} txn_confluent.py ctp`, r, broker);
  assert.equal(r.code, 0, context);
  const s = lastJson<CtpSummary>(r.stdout, context);
  t.diagnostic(`${s.client}: ${s.committed} transactions committed, ${s.aborted} aborted`);
  assert.deepEqual(s.errors, [], context);
  assert.ok(s.aborted >= 1 && s.committed >= ctpInputs / ctpBatch, `transactions committed and aborted\n${context}`);
  const inputEnd = Object.fromEntries(Array.from({ length: partitions }, (_, p) => [String(p), Math.floor(ctpInputs / partitions) + (p < ctpInputs % partitions ? 1 : 0)]));
  assert.deepEqual(s.inputEnd, inputEnd, context);
  assert.deepEqual(s.sentOffsets, inputEnd, `the offsets the last committed transaction sent\n${context}`);
  assert.deepEqual(s.groupOffsets, s.sentOffsets, `the group's committed offsets are what the transactions sent\n${context}`);

  // Output partition p carries input partition p's records, transformed, each once, in order.
  const want: Record<string, string[]> = {};
  for (let p = 0; p < partitions; p++) want[p] = [];
  for (let i = 0; i < ctpInputs; i++) want[i % partitions]!.push(`out|${id}|in|${i}`);
  const { cs, context: cctx } = await consume(output, 'read_committed');
  assert.deepEqual(cs.errors, [], cctx);
  assert.deepEqual(cs.positions, cs.endOffsets, `read_committed: the position ends at the last stable offset\n${cctx}`);
  const got = Object.fromEntries(Object.entries(byPartition(partitions, cs.records)).map(([p, recs]) => [p, recs.map(([, v]) => v)]));
  assert.deepEqual(got, want, `read_committed: every input exactly once, in order\n${cctx}`);
  // Sanity: the aborted transactions' outputs are in the log, and only read_uncommitted sees them.
  const { cs: all, context: actx } = await consume(output, 'read_uncommitted');
  assert.deepEqual(all.errors, [], actx);
  assert.equal(all.records.length, ctpInputs + s.abortedRecords, `read_uncommitted sees the ${s.abortedRecords} outputs of aborted transactions too\n${actx}`);
});
