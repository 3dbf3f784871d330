// The Kafka runtime's task closing (src/stream/runtime/pipeline.ts): the tasks of lost
// partitions, and every task of a rebuild, are closed and their inputs dropped even when the
// roll back before it fails (regression: a throwing roll back left them open, still fed by the
// loop); a task that fails to close does not keep the pipeline from settling `closed`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Pipeline } from '../../../src/stream/runtime/pipeline.js';
import { emptyBuffer } from '../../../src/stream/runtime/partition-group.js';
import { resolveConfig } from '../../../src/stream/runtime/config.js';
import { RuntimeMetrics } from '../../../src/stream/runtime/metrics.js';
import { ChangeRecordingStore, Task } from '../../../src/stream/runtime/task.js';
import { MemoryStoreFactory } from '../../../src/stream/state/memory-store.js';
import { pipeline, serdes } from '../../../src/stream/index.js';

/** A runtime that contacts nothing (port 1 refuses any connection), with one running task on `in` partition 0. */
async function runtimeWithTask(o: { rollBackFails?: boolean; storeCloseFails?: boolean } = {}) {
  const p = pipeline('rv');
  p.stream('in', { key: serdes.string, value: serdes.string }).to('out', { key: serdes.string, value: serdes.string });
  const topology = p.build();
  const stores = new MemoryStoreFactory();
  const metrics = new RuntimeMetrics(new Registry(), 'rv');
  const runtime = new Pipeline(topology, resolveConfig('rv', { bootstrap: '127.0.0.1:1', stateDir: '.', instanceId: 'a' }), stores, metrics);
  const inner = await stores.open('0_0', 's');
  const state = { storeClosed: false };
  const close = inner.close.bind(inner);
  inner.close = async () => {
    state.storeClosed = true;
    await close();
    if (o.storeCloseFails) throw new Error('the disk went away');
  };
  const task = new Task(topology.subtopologies[0]!, 0, 'rv', new Map([['s', new ChangeRecordingStore('s', inner, undefined)]]), metrics.forTask('0_0'), runtime);
  task.start();
  runtime['tasks'].set(task.taskId, task);
  runtime['inputs'].push({ topic: 'in', partition: 0, next: 0n, committed: 0n, aborted: new Set(), task, ...emptyBuffer() });
  if (o.rollBackFails) {
    runtime['cycle'].rollBack = async () => {
      throw new Error('the new producer could not start: broker unreachable');
    };
  }
  return { runtime, task, state };
}

function assertClosed(r: Awaited<ReturnType<typeof runtimeWithTask>>): void {
  assert.equal(r.runtime['tasks'].size, 0, 'the task is dropped');
  assert.deepEqual(r.runtime['inputs'], [], 'its partition is no longer read');
  assert.equal(r.task.running, false, 'its processor is closed');
  assert.equal(r.state.storeClosed, true, 'its stores are closed');
}

test('a lost partition whose roll back throws still has its task closed and its input dropped', async () => {
  const r = await runtimeWithTask({ rollBackFails: true });
  await assert.rejects(r.runtime['revoke']([{ topic: 'in', partition: 0 }], false), /broker unreachable/, 'the failure still reaches the loop');
  assertClosed(r);
  assert.equal(r.runtime['needsRebuild'], true, 'the other tasks are rebuilt');
  await r.runtime['closeClients']();
});

test('a rebuild whose roll back throws still closes every task; the rebuild is tried again', async () => {
  const r = await runtimeWithTask({ rollBackFails: true });
  r.runtime['needsRebuild'] = true;
  await assert.rejects(r.runtime['rebuildAll'](), /broker unreachable/);
  assertClosed(r);
  assert.equal(r.runtime['needsRebuild'], true, 'still to rebuild');
  await r.runtime['closeClients']();
});

test('a task whose store fails to close does not keep the pipeline from closing', { timeout: 30_000 }, async () => {
  const r = await runtimeWithTask({ storeCloseFails: true });
  r.runtime['stopping'] = true;
  await r.runtime['run']();
  assertClosed(r);
  assert.equal(await r.runtime.handle.closed, undefined, 'closed settles');
  assert.equal(r.runtime.handle.isLive(), false);
});

test('a group member that stops for good (FENCED_INSTANCE_ID, say) stops the pipeline: closed settles with the error, and the roll back starts no new producer', { timeout: 30_000 }, async () => {
  const r = await runtimeWithTask();
  const finals: boolean[] = [];
  const rollBack = r.runtime['cycle'].rollBack.bind(r.runtime['cycle']);
  r.runtime['cycle'].rollBack = async (tasks, final) => {
    finals.push(final ?? false);
    await rollBack(tasks, final).catch(() => undefined);
  };
  // What the member does when its heartbeat loop ends with a fatal error.
  r.runtime['member']['o'].onFatal!(new Error('FENCED_INSTANCE_ID: another member holds instance id a'));
  await r.runtime['run']();
  const closed = await r.runtime.handle.closed;
  assert.ok(closed instanceof Error, 'closed settles with an error');
  assert.match(closed.message, /the group member stopped: .*FENCED_INSTANCE_ID/);
  assert.deepEqual(finals, [true], 'one final roll back: no next transaction, no new producer whose InitProducerId would fence the live owner');
  assert.equal(r.runtime.handle.isLive(), false);
  assertClosed(r);
});

test('a revocation whose work fails half-way (a kept task not re-opened, say) has every task rebuilt, not left unread', async () => {
  const r = await runtimeWithTask();
  r.runtime['revoke'] = async () => {
    throw new Error('reading the committed offsets failed: broker unreachable');
  };
  const hook = r.runtime['member']['o'].onRevoke!([{ topic: 'in', partition: 0 }]);
  // The loop runs the hook's work.
  await r.runtime['control'].shift()!();
  await hook;
  assert.equal(r.runtime['needsRebuild'], true, 'the loop rebuilds every task from the member\'s assignment');
  await r.runtime['closeClients']();
});
