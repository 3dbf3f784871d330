// The Kafka runtime's loop with no partitions to read (src/stream/runtime/pipeline.ts, step):
// it waits for an event (work from the group member's hooks) instead of polling on a timer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Pipeline } from '../../../src/stream/runtime/pipeline.js';
import { resolveConfig } from '../../../src/stream/runtime/config.js';
import { RuntimeMetrics } from '../../../src/stream/runtime/metrics.js';
import { MemoryStoreFactory } from '../../../src/stream/state/memory-store.js';
import { pipeline, serdes } from '../../../src/stream/index.js';

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

test('with no partitions, the loop sleeps until a hook hands it work, and wakes at once then', async (t) => {
  const p = pipeline('idle');
  p.stream('in', { key: serdes.string, value: serdes.string }).to('out', { key: serdes.string, value: serdes.string });
  // Nothing is contacted: the test drives step() directly (port 1 refuses any connection).
  const runtime = new Pipeline(p.build(), resolveConfig('idle', { bootstrap: '127.0.0.1:1', stateDir: '.', instanceId: 'a' }), new MemoryStoreFactory(), new RuntimeMetrics(new Registry(), 'idle'));
  // Timers never fire on their own here: only the event can end the wait.
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let woke = false;
  const step = runtime['step']().then(() => (woke = true));
  await settle();
  assert.equal(woke, false, 'the loop waits while there is nothing to do');
  // What onAssign / onRevoke do: hand work to the loop.
  void runtime['onLoop'](async () => {});
  await settle();
  assert.equal(woke, true, 'the work woke the loop');
  await step;
  t.mock.timers.reset();
  await runtime['closeClients']();
});
