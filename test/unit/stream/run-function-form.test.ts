// The function form of `rivulet run` (src/stream/run/function-form.ts): records through a
// user function, driven through the Topology contract with a minimal task context.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { functionTopology, type RecordFunction } from '../../../src/stream/run/function-form.js';
import type { InputRecord, OutputRecord, RecordError, TaskContext, TaskProcessor } from '../../../src/stream/types.js';

function harness(fn: RecordFunction, output: string | null = 'out') {
  const sent: OutputRecord[] = [];
  const errors: RecordError[] = [];
  const topology = functionTopology(fn, { application: 'app', inputs: ['in'], output: output ?? undefined, keyFormat: 'string', valueFormat: 'json', name: 'f' });
  const ctx: TaskContext = {
    taskId: '0_0',
    subtopology: 0,
    partition: 0,
    application: 'app',
    store: () => assert.fail('no stores'),
    send: (r) => void sent.push(r),
    now: () => 10_000,
    recordError: (e) => void errors.push(e),
    metrics: { recordsIn() {}, recordsOut() {}, lateRecords() {}, watermark() {}, endToEnd() {} },
  };
  const task: TaskProcessor = topology.subtopologies[0]!.createTask(ctx);
  let offset = 0n;
  const input = (key: string | null, value: unknown): InputRecord => ({
    topic: 'in',
    partition: 0,
    offset: offset++,
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from(JSON.stringify(value)),
    timestamp: 5000,
    headers: [],
  });
  return { topology, task, sent, errors, input };
}

const decoded = (r: OutputRecord) => ({ topic: r.topic, key: r.key?.toString() ?? null, value: r.value === null ? null : JSON.parse(r.value.toString()), timestamp: r.timestamp });

test('outputs keep the input key and timestamp unless they give their own; arrays fan out; undefined produces nothing', async () => {
  const h = harness((r) => {
    const v = r.value as { n: number };
    if (v.n === 0) return undefined;
    if (v.n === 2) return [{ value: 'a' }, { key: 'k2', value: 'b', timestamp: 7, topic: 'side' }];
    return { value: v.n * 10 };
  });
  await h.task.process(h.input('k', { n: 1 }));
  await h.task.process(h.input('k', { n: 0 }));
  await h.task.process(h.input(null, { n: 2 }));
  assert.deepEqual(h.sent.map(decoded), [
    { topic: 'out', key: 'k', value: 10, timestamp: 5000 },
    { topic: 'out', key: null, value: 'a', timestamp: 5000 },
    { topic: 'side', key: 'k2', value: 'b', timestamp: 7 },
  ]);
  assert.equal(h.topology.describe().includes('function: f'), true);
});

test('a record that fails to decode, a throwing function and a bad return value are poison records, never skipped silently', async () => {
  const h = harness((r) => {
    if ((r.value as { n: number }).n === 1) throw new Error('boom');
    return 42 as never;
  });
  await h.task.process({ ...h.input('k', 0), value: Buffer.from('{not json') });
  await h.task.process(h.input('k', { n: 1 }));
  await h.task.process(h.input('k', { n: 2 }));
  assert.deepEqual(h.errors.map((e) => e.operator), ['deserialize', 'function f', 'function f']);
  assert.match(String(h.errors[2]!.error), /must return \{ value/);
  assert.equal(h.sent.length, 0);
});

test('an async function keeps offset order within a task even when not awaited, and flush waits for it', async () => {
  const delays = [30, 1, 15];
  let i = 0;
  const h = harness(async (r) => {
    await new Promise((res) => setTimeout(res, delays[i++]));
    return { value: r.value };
  });
  // The runner may not await process(): records must still come out in order.
  void h.task.process(h.input('k', 1));
  void h.task.process(h.input('k', 2));
  void h.task.process(h.input('k', 3));
  await h.task.flush();
  assert.deepEqual(h.sent.map((r) => decoded(r).value), [1, 2, 3]);
});

test('an output with no topic and no --output is an error for that record', async () => {
  const h = harness((r) => ({ value: r.value }), null);
  await h.task.process(h.input('k', 1));
  assert.equal(h.sent.length, 0);
  assert.match(String(h.errors[0]!.error), /give --output TOPIC/);
});
