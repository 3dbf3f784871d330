// The contract shared by the transactional producer programs in other languages
// (java/TxnClient.java, python/txn_confluent.py) and the checks of their runs.
//
//   produce BOOTSTRAP TOPIC TXN_ID TOKEN TXNS PER_TXN ABORT_EVERY
//     writes TXNS transactions of PER_TXN records; record i of the run goes to partition
//     i % partitions with value TOKEN|txn|i; transaction t is aborted when
//     (t + 1) % ABORT_EVERY == 0. Prints { client, partitions, outcomes: ["commit"|"abort"],
//     acks: ["p@offset"] (in send order), errors }.
//   consume BOOTSTRAP TOPIC ISOLATION
//     assigns every partition from the beginning and reads until each position reaches the end
//     offset (for read_committed, the last stable offset). Prints { isolation, endOffsets,
//     positions: {partition: offset}, records: [[partition, offset, value]], errors }.

import assert from 'node:assert/strict';

export interface ProduceSummary {
  client: string;
  partitions: number;
  outcomes: string[];
  acks: string[];
  errors: string[];
}

export interface ConsumeSummary {
  isolation: string;
  endOffsets: Record<string, number>;
  positions: Record<string, number>;
  records: Array<[number, number, string]>;
  errors: string[];
}

export interface TxnPlan {
  partitions: number;
  txns: number;
  perTxn: number;
  abortEvery: number;
}

/**
 * Where every record must land: partition i % partitions, offsets in send order, and after
 * each transaction one offset in each partition it touched for its control marker.
 */
export function layout(plan: TxnPlan, tok: string) {
  const next = new Array<number>(plan.partitions).fill(0);
  const records: Array<{ p: number; offset: number; value: string; committed: boolean }> = [];
  const markers: number[][] = Array.from({ length: plan.partitions }, () => []);
  for (let t = 0, i = 0; t < plan.txns; t++) {
    const committed = (t + 1) % plan.abortEvery !== 0;
    const touched = new Set<number>();
    for (let k = 0; k < plan.perTxn; k++, i++) {
      const p = i % plan.partitions;
      touched.add(p);
      records.push({ p, offset: next[p]!++, value: `${tok}|${t}|${i}`, committed });
    }
    for (const p of [...touched].sort()) markers[p]!.push(next[p]!++);
  }
  return { records, markers, end: next };
}

export const outcomesOf = (plan: TxnPlan) => Array.from({ length: plan.txns }, (_, k) => ((k + 1) % plan.abortEvery === 0 ? 'abort' : 'commit'));

/** Records by partition, as [offset, value] in the order received. */
export function byPartition(partitions: number, records: Array<[number, number, string]>): Record<string, Array<[number, string]>> {
  const out: Record<string, Array<[number, string]>> = {};
  for (let p = 0; p < partitions; p++) out[p] = [];
  for (const [p, offset, value] of records) (out[p] ??= []).push([offset, value]);
  return out;
}

/** The producer's own report: every transaction ended as planned, every record acknowledged where the layout puts it. */
export function checkProduced(plan: TxnPlan, tok: string, ps: ProduceSummary, context: string): void {
  const { records } = layout(plan, tok);
  assert.deepEqual(ps.errors, [], context);
  assert.equal(ps.partitions, plan.partitions, context);
  assert.deepEqual(ps.outcomes, outcomesOf(plan), context);
  assert.deepEqual(ps.acks, records.map((r) => `${r.p}@${r.offset}`), `acknowledged offsets: one marker offset after each transaction in each partition\n${context}`);
}

/**
 * A consumer's view once every transaction is over: read_committed gets exactly the committed
 * records, read_uncommitted every record, each once, in order, at the offsets of the layout;
 * both end past the markers, which they never receive.
 */
export function checkConsumed(plan: TxnPlan, tok: string, cs: ConsumeSummary, context: string): void {
  const { records, markers, end } = layout(plan, tok);
  const isolation = cs.isolation;
  const expectEnd = Object.fromEntries(end.map((e, p) => [String(p), e]));
  assert.deepEqual(cs.errors, [], context);
  // Once every transaction is over, the last stable offset is the log end, markers included.
  assert.deepEqual(cs.endOffsets, expectEnd, `${isolation}: end offsets (the last marker is the last offset)\n${context}`);
  assert.deepEqual(cs.positions, expectEnd, `${isolation}: the position ends past the markers\n${context}`);
  const want = byPartition(plan.partitions, records.filter((r) => isolation === 'read_uncommitted' || r.committed).map((r) => [r.p, r.offset, r.value]));
  assert.deepEqual(byPartition(plan.partitions, cs.records), want, `${isolation}: records received, by partition, in order, with their offsets\n${context}`);
  // What was never received is exactly the aborted records (read_committed) and the markers.
  for (let p = 0; p < plan.partitions; p++) {
    const got = new Set(cs.records.filter((r) => r[0] === p).map((r) => r[1]));
    const missing = Array.from({ length: end[p]! }, (_, o) => o).filter((o) => !got.has(o));
    const aborted = records.filter((r) => r.p === p && !r.committed && isolation === 'read_committed').map((r) => r.offset);
    assert.deepEqual(missing, [...aborted, ...markers[p]!].sort((a, b) => a - b), `${isolation}: partition ${p}: offsets never delivered\n${context}`);
  }
}
