// The contract shared by the round-trip programs in other languages
// (python/confluent_roundtrip.py, python/kafkapython_roundtrip.py, java/RoundTrip.java).
//
// Each program is called as: <program> BOOTSTRAP TOPIC COUNT TOKEN COMPRESSION
// It produces COUNT keyed records (acks=all) to TOPIC, record i having
//   key    = "key-" + (i % 13)
//   value  = TOKEN + "|" + i + "|" + "\u00e9" * (i % 7) + "z" * (i % 50)
//   header "seq" = String(i)
// then consumes the topic back by assigning every partition from offset 0 (no group), and
// prints one JSON object on stdout:
//   { client, topic, partitions, acked, errors: [string],
//     delivered: [[partition, offset] | null]   (index i = record i, from the delivery reports)
//     records:   [[partition, offset, key, value, seq | null]]  (in the order consumed) }

import assert from 'node:assert/strict';

export const keyCount = 13;
export const keyOf = (i: number) => `key-${i % keyCount}`;
export const valueOf = (tok: string, i: number) => `${tok}|${i}|${'\u00e9'.repeat(i % 7)}${'z'.repeat(i % 50)}`;

export interface RoundTripSummary {
  client: string;
  topic: string;
  partitions: number;
  acked: number;
  errors: string[];
  delivered: Array<[number, number] | null>;
  records: Array<[number, number, string | null, string | null, string | null]>;
}

export function parseSummary(stdout: Buffer, context: string): RoundTripSummary {
  const text = stdout.toString('utf8').trim();
  const line = text.split('\n').filter((l) => l.startsWith('{')).pop();
  assert.ok(line, `no JSON summary on stdout\n${context}`);
  return JSON.parse(line) as RoundTripSummary;
}

/** Asserts everything the round trip promises; `context` is appended to failure messages. */
export function checkRoundTrip(s: RoundTripSummary, tok: string, count: number, expectPartitions: number, context: string): void {
  const ctx = (m: string) => `${m}\n(client ${s.client})\n${context}`;
  assert.deepEqual(s.errors, [], ctx('the client reported errors'));
  assert.equal(s.acked, count, ctx('not every record was acknowledged'));
  assert.equal(s.partitions, expectPartitions, ctx('partition count of the auto-created topic'));
  assert.equal(s.records.length, count, ctx('number of records consumed back'));

  // Offsets of each partition: 0, 1, 2, ... in the order consumed.
  const perPartition = new Map<number, number[]>();
  for (const [p, off, , value] of s.records) {
    const list = perPartition.get(p) ?? [];
    assert.equal(off, list.length, ctx(`partition ${p}: offset ${off} where ${list.length} was expected (value ${JSON.stringify(value)})`));
    const i = Number(String(value).split('|')[1]);
    list.push(i);
    perPartition.set(p, list);
  }

  // Content: every record is exactly one of the records produced, with its key and header.
  const seen = new Set<number>();
  for (const [p, off, key, value, seq] of s.records) {
    const parts = String(value).split('|');
    assert.equal(parts[0], tok, ctx(`record ${p}@${off} is not from this run: ${JSON.stringify(value)}`));
    const i = Number(parts[1]);
    assert.ok(Number.isInteger(i) && i >= 0 && i < count, ctx(`record ${p}@${off} has a bad index: ${JSON.stringify(value)}`));
    assert.ok(!seen.has(i), ctx(`record ${i} was consumed twice (duplicate in the log?)`));
    seen.add(i);
    assert.equal(value, valueOf(tok, i), ctx(`record ${p}@${off}: value differs`));
    assert.equal(key, keyOf(i), ctx(`record ${p}@${off}: key differs`));
    assert.equal(seq, String(i), ctx(`record ${p}@${off}: header "seq" differs`));
    const d = s.delivered[i];
    assert.deepEqual(d, [p, off], ctx(`record ${i}: the delivery report said ${JSON.stringify(d)}, the consumer found it at [${p},${off}]`));
  }
  assert.equal(seen.size, count, ctx('records missing'));

  // Order: within a partition the log holds records in the order they were sent.
  for (const [p, idx] of perPartition) {
    for (let k = 1; k < idx.length; k++) {
      assert.ok(idx[k - 1]! < idx[k]!, ctx(`partition ${p}: record ${idx[k]} is after record ${idx[k - 1]} (offset ${k})`));
    }
  }

  // Keys: one key always lands in one partition (the client's partitioner, honoured by the log).
  const keyPartition = new Map<string, number>();
  for (const [p, off, key] of s.records) {
    const prev = keyPartition.get(String(key));
    if (prev !== undefined) assert.equal(p, prev, ctx(`key ${key} is in partitions ${prev} and ${p} (offset ${off})`));
    keyPartition.set(String(key), p);
  }
  if (expectPartitions > 1) {
    assert.ok(perPartition.size > 1, ctx(`all ${keyCount} keys went to one partition of ${expectPartitions}`));
  }
}
