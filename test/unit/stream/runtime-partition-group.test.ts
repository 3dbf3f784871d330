// The order in which a task takes the records of its input partitions
// (src/stream/runtime/partition-group.ts): lowest buffered timestamp first, waiting for an empty
// partition only while it may still have earlier records, idle time from an injected clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bufferFetched, emptyBuffer, MAX_TASK_IDLE_DISABLED, nextPartition, processedPosition, resetBuffer, take, type BufferedPartition,
} from '../../../src/stream/runtime/partition-group.js';
import { resolveConfig } from '../../../src/stream/runtime/config.js';
import type { InputRecord } from '../../../src/stream/types.js';

interface Part extends BufferedPartition {
  topic: string;
}

function part(topic: string): Part {
  return { topic, next: 0n, ...emptyBuffer() };
}

/** A fetch answer for `p`: records at its fetch position on, one per timestamp, and the partition's end. */
function fetch(p: Part, timestamps: number[], end?: bigint): void {
  const records: InputRecord[] = timestamps.map((timestamp, i) => ({
    topic: p.topic, partition: 0, offset: p.next + BigInt(i), key: null, value: Buffer.from(`${p.topic}@${timestamp}`), timestamp, headers: [], appendTime: undefined,
  }));
  p.next += BigInt(timestamps.length);
  bufferFetched(p, records, end ?? p.next);
}

/** Takes records while the group allows, at clock `now`; returns them as "topic@timestamp". */
function drain(parts: Part[], now: number, maxTaskIdleMs = 0): string[] {
  const out: string[] = [];
  for (let p = nextPartition(parts, now, maxTaskIdleMs); p !== undefined; p = nextPartition(parts, now, maxTaskIdleMs)) out.push(take(p).value!.toString());
  return out;
}

test('interleaved timestamps across three partitions come out in timestamp order', () => {
  const a = part('a');
  const b = part('b');
  const c = part('c');
  fetch(a, [1, 4, 7]);
  fetch(b, [2, 5, 8]);
  fetch(c, [3, 6, 9]);
  // Every partition caught up after its records: the group drains all of them, in order.
  assert.deepEqual(drain([a, b, c], 0), ['a@1', 'b@2', 'c@3', 'a@4', 'b@5', 'c@6', 'a@7', 'b@8', 'c@9']);
});

test('a stream fetched before its table: the older table records still go first', () => {
  const table = part('table');
  const stream = part('stream');
  fetch(stream, [100, 101, 102]);
  fetch(table, [10, 11, 12]);
  assert.deepEqual(drain([stream, table], 0), ['table@10', 'table@11', 'table@12', 'stream@100', 'stream@101', 'stream@102']);
});

test('equal timestamps: the partition listed first, then offset order', () => {
  const a = part('a');
  const b = part('b');
  fetch(a, [5, 5]);
  fetch(b, [5, 5]);
  assert.deepEqual(drain([b, a], 0), ['b@5', 'b@5', 'a@5', 'a@5']);
  fetch(a, [6, 6]);
  fetch(b, [6, 6]);
  const out: InputRecord[] = [];
  for (let p = nextPartition([a, b], 0, 0); p !== undefined; p = nextPartition([a, b], 0, 0)) out.push(take(p));
  assert.deepEqual(out.map((r) => `${r.topic}:${r.offset}`), ['a:2', 'a:3', 'b:2', 'b:3']);
});

test('an empty partition with records known on the broker holds the task back until they are fetched', () => {
  const table = part('table');
  const stream = part('stream');
  fetch(stream, [100, 101]);
  // The table's first answer brought one record of three on the broker (end 3).
  fetch(table, [10], 3n);
  assert.deepEqual(drain([stream, table], 0), ['table@10'], 'the stream waits: the table may hold older records');
  assert.deepEqual(drain([stream, table], 1_000_000), [], 'however long, with max idle 0: the records are known to be there');
  fetch(table, [20, 200]);
  assert.deepEqual(drain([stream, table], 0), ['table@20', 'stream@100', 'stream@101', 'table@200']);
});

test('a partition never fetched (end unknown) holds the task back', () => {
  const a = part('a');
  const b = part('b');
  fetch(a, [1]);
  assert.equal(nextPartition([a, b], 0, 0), undefined);
  fetch(b, []);
  assert.equal(nextPartition([a, b], 0, 0), a);
});

test('a caught-up empty partition: no wait with max idle 0', () => {
  const a = part('a');
  const b = part('b');
  fetch(a, [1, 2]);
  fetch(b, []);
  assert.deepEqual(drain([a, b], 0), ['a@1', 'a@2']);
});

test('a caught-up empty partition: waited for until max idle has passed (injected clock), again after it gets records', () => {
  const a = part('a');
  const b = part('b');
  fetch(a, [1, 2, 3]);
  fetch(b, []);
  assert.deepEqual(drain([a, b], 1000, 500), [], 'idling starts at 1000');
  assert.deepEqual(drain([a, b], 1499, 500), [], 'still idling');
  assert.deepEqual(drain([a, b], 1500, 500), ['a@1', 'a@2', 'a@3'], 'the deadline passed');
  fetch(b, [4]);
  fetch(a, [5]);
  assert.deepEqual(drain([a, b], 2000, 500), ['b@4'], 'b had records: its next idle period starts afresh');
  assert.deepEqual(drain([a, b], 2499, 500), []);
  assert.deepEqual(drain([a, b], 2500, 500), ['a@5']);
});

test('max idle -1: never waits, not even for records known on the broker', () => {
  const a = part('a');
  const b = part('b');
  fetch(a, [1, 2]);
  fetch(b, [0], 10n);
  assert.deepEqual(drain([a, b], 0, MAX_TASK_IDLE_DISABLED), ['b@0', 'a@1', 'a@2']);
  assert.deepEqual(drain([a, part('c')], 0, MAX_TASK_IDLE_DISABLED), []);
});

test('processedPosition: the first buffered offset while records wait, the fetch position once all are taken', () => {
  const a = part('a');
  a.next = 40n;
  fetch(a, [1, 2, 3]);
  // Markers after the last record: the fetch position moved past them too.
  a.next = 45n;
  assert.equal(processedPosition(a), 40n, 'nothing processed: nothing to commit');
  take(a);
  assert.equal(processedPosition(a), 41n);
  take(a);
  take(a);
  assert.equal(processedPosition(a), 45n);
});

test('bufferFetched refuses records while some are buffered; resetBuffer forgets them and the end', () => {
  const a = part('a');
  fetch(a, [1, 2]);
  assert.throws(() => fetch(a, [3]), /fetch only partitions whose buffer is empty/);
  resetBuffer(a);
  assert.equal(a.end, -1n);
  assert.equal(nextPartition([a], 0, 0), undefined);
});

test('maxTaskIdleMs: 0 by default as in Kafka Streams, -1 allowed, anything below or fractional refused with what to use', () => {
  const base = { bootstrap: '127.0.0.1:1', stateDir: 'unused', instanceId: 'a' };
  assert.equal(resolveConfig('app', base).maxTaskIdleMs, 0);
  assert.equal(resolveConfig('app', { ...base, maxTaskIdleMs: -1 }).maxTaskIdleMs, -1);
  assert.equal(resolveConfig('app', { ...base, maxTaskIdleMs: 250 }).maxTaskIdleMs, 250);
  assert.throws(() => resolveConfig('app', { ...base, maxTaskIdleMs: -2 }), /maxTaskIdleMs must be a whole number of milliseconds, 0 or more \(or -1/);
  assert.throws(() => resolveConfig('app', { ...base, maxTaskIdleMs: 1.5 }), /maxTaskIdleMs/);
});
