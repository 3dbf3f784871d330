// The Kafka runtime's revocation (src/stream/runtime/pipeline.ts, revoke): the tasks of lost
// partitions are closed and their inputs dropped even when the roll back before it fails
// (regression: a throwing roll back left them open, still fed by the loop).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Pipeline } from '../../../src/stream/runtime/pipeline.js';
import { resolveConfig } from '../../../src/stream/runtime/config.js';
import { RuntimeMetrics } from '../../../src/stream/runtime/metrics.js';
import { ChangeRecordingStore, Task } from '../../../src/stream/runtime/task.js';
import { MemoryStoreFactory } from '../../../src/stream/state/memory-store.js';
import { pipeline, serdes } from '../../../src/stream/index.js';

test('a lost partition whose roll back throws still has its task closed and its input dropped', async () => {
  const p = pipeline('rv');
  p.stream('in', { key: serdes.string, value: serdes.string }).to('out', { key: serdes.string, value: serdes.string });
  const topology = p.build();
  const stores = new MemoryStoreFactory();
  const metrics = new RuntimeMetrics(new Registry(), 'rv');
  // Nothing is contacted: the test drives revoke() directly (port 1 refuses any connection).
  const runtime = new Pipeline(topology, resolveConfig('rv', { bootstrap: '127.0.0.1:1', stateDir: '.', instanceId: 'a' }), stores, metrics);
  const inner = await stores.open('0_0', 's');
  let storeClosed = false;
  const close = inner.close.bind(inner);
  inner.close = async () => {
    storeClosed = true;
    await close();
  };
  const task = new Task(topology.subtopologies[0]!, 0, 'rv', new Map([['s', new ChangeRecordingStore('s', inner, undefined)]]), metrics.forTask('0_0'), runtime);
  task.start();
  runtime['tasks'].set(task.taskId, task);
  runtime['inputs'].push({ topic: 'in', partition: 0, next: 0n, committed: 0n, aborted: new Set(), task });
  runtime['cycle'].rollBack = async () => {
    throw new Error('the new producer could not start: broker unreachable');
  };

  await assert.rejects(runtime['revoke']([{ topic: 'in', partition: 0 }], false), /broker unreachable/, 'the failure still reaches the loop');
  assert.equal(runtime['tasks'].size, 0, 'the task is dropped');
  assert.deepEqual(runtime['inputs'], [], 'its partition is no longer read');
  assert.equal(task.running, false, 'its processor is closed');
  assert.equal(storeClosed, true, 'its stores are closed');
  assert.equal(runtime['needsRebuild'], true, 'the other tasks are rebuilt');
  await runtime['closeClients']();
});
