// Exactly-once under fire (issue 15): the windowed count per key
// (test/fixtures/stream/windowed-count.mts, tumbling event-time windows, a changelog-backed
// store, final results on window close) runs as 3 `rivulet run` processes while one of them
// is SIGKILLed at seeded random moments (at least 10 kills, each restarted after a short
// pause), during the input and after, until every window has come out. The read_committed
// output must equal the reference computed in memory from the same input: every (key,
// window) exactly once with its count, nothing missing, nothing else.
//
// FIRE_SEED=n replays a run. FIRE_RUNNER=direct runs the hand-written topology of
// test/helpers/stream-fire-runner.ts on the runtime's startPipeline instead of `rivulet run`
// (to tell a runtime bug from a DSL or CLI one); it is the default until the fixture exists. The checker itself is unit-tested in
// test/unit/stream/fire-checker.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFire } from '../helpers/stream-fire-run.js';

const seed = Number(process.env.FIRE_SEED ?? 1501);

test(`exactly-once: 3 pipeline processes, at least 10 SIGKILLs, output equals the reference (seed ${seed})`, { timeout: 300_000 }, async () => {
  const r = await runFire({ guarantee: 'exactly_once', target: 'pipeline', seed, kills: 10, input: { records: 30_000, keys: 20, windows: 150 } });
  assert.ok(r.kills >= 10, `only ${r.kills} kills`);
  assert.ok(r.check.ok, `seed ${seed}, ${r.kills} kills:\n${r.check.summary}`);
  assert.equal(r.check.duplicates, 0);
  assert.deepEqual(r.stopCodes, [0, 0, 0], `every process stops cleanly on SIGTERM\n${r.unexpectedExits.join('\n')}`);
});
