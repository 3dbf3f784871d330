// `rivulet run` loads the join queries as they are compiled (dist/src/nexmark/queries/*.js)
// and as source (src/.../*.ts): their relative import of the stream library must become the
// runner's own instance, not a bundled second copy (whose @platformatic/kafka cannot find
// its wasm file). Run with --describe's code path: bundle, import, build the topology.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describePipeline } from '../../../src/stream/run/supervisor.js';
import { optionsFromEnv, resolve } from '../../../src/nexmark/queries/common.js';
import { build as buildQ8 } from '../../../src/nexmark/queries/q8.js';

const functionOptions = { inputs: [], keyFormat: 'string', valueFormat: 'string', name: '' } as const;
const compiled = (q: string): string => fileURLToPath(new URL(`../../../src/nexmark/queries/${q}.js`, import.meta.url));
const source = (q: string): string => fileURLToPath(new URL(`../../../../src/nexmark/queries/${q}.ts`, import.meta.url));

test('rivulet run loads q3, q4, q6 and q8, compiled or from source', async () => {
  const expect: Record<string, string> = {
    q3: 'nexmark-q3-auctions-by-seller-repartition',
    q4: 'nexmark-q4-by-category-repartition',
    q6: 'nexmark-q6-by-seller-repartition',
    q8: 'nexmark-q8-new-users-repartition',
  };
  for (const [q, topic] of Object.entries(expect)) {
    const described = await describePipeline({ file: compiled(q), fallbackApplication: q, functionOptions: { ...functionOptions, inputs: [] } });
    assert.match(described, new RegExp(`^Topology nexmark-${q}:`), described);
    assert.ok(described.includes(topic) && described.includes(`nexmark-${q}-out`), described);
  }
  const fromSource = await describePipeline({ file: source('q6'), fallbackApplication: 'q6', functionOptions: { ...functionOptions, inputs: [] } });
  assert.match(fromSource, /^Topology nexmark-q6:/);
});

test('the join queries take their options from RIVULET_APPLICATION_ID, RIVULET_NEXMARK_GRACE_MS and RIVULET_NEXMARK_MAX_OUT_OF_ORDER_MS', () => {
  assert.deepEqual(optionsFromEnv({}), {});
  assert.deepEqual(optionsFromEnv({ RIVULET_APPLICATION_ID: 'nx', RIVULET_NEXMARK_GRACE_MS: '500', RIVULET_NEXMARK_MAX_OUT_OF_ORDER_MS: '0' }), { applicationId: 'nx', graceMs: 500, maxOutOfOrderMs: 0 });
  assert.throws(() => optionsFromEnv({ RIVULET_NEXMARK_GRACE_MS: '1s' }), /RIVULET_NEXMARK_GRACE_MS must be a whole number of milliseconds/);
  assert.deepEqual(resolve('q4'), { applicationId: 'nexmark-q4', graceMs: 0, maxOutOfOrderMs: 0 });
  assert.throws(() => resolve('q8', { graceMs: -1 }), /q8: graceMs/);
  assert.equal(buildQ8({ applicationId: 'other' }).build().application, 'other');
});
