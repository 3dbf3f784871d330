// The runtime joins its group as a static member (group.instance.id = its instance id) only when
// asked: `rivulet run --static-membership true` (StatefulSet pods, whose names are stable).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Pipeline } from '../../../src/stream/runtime/pipeline.js';
import { resolveConfig, type RuntimeConfig } from '../../../src/stream/runtime/config.js';
import { RuntimeMetrics } from '../../../src/stream/runtime/metrics.js';
import { MemoryStoreFactory } from '../../../src/stream/state/memory-store.js';
import { pipeline, serdes } from '../../../src/stream/index.js';

async function memberInstanceId(extra: Partial<RuntimeConfig>): Promise<string | undefined> {
  const p = pipeline('rv');
  p.stream('in', { key: serdes.string, value: serdes.string }).to('out', { key: serdes.string, value: serdes.string });
  const runtime = new Pipeline(p.build(), resolveConfig('rv', { bootstrap: '127.0.0.1:1', stateDir: '.', instanceId: 'pod-0', ...extra }), new MemoryStoreFactory(), new RuntimeMetrics(new Registry(), 'rv'));
  try {
    return runtime['member']['o'].instanceId;
  } finally {
    await runtime['closeClients']();
  }
}

test('static membership sends the instance id as group.instance.id; by default the member is dynamic', async () => {
  assert.equal(await memberInstanceId({ staticMembership: true }), 'pod-0');
  assert.equal(await memberInstanceId({}), undefined);
  assert.equal(await memberInstanceId({ staticMembership: false }), undefined);
});
