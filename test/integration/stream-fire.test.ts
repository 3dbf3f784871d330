// Exactly-once under fire (issue 15): the windowed count per key
// (test/fixtures/stream/windowed-count.mts, tumbling event-time windows, a changelog-backed
// store, final results on window close) runs as 3 pipeline processes while one of them is
// SIGKILLed at seeded random moments (at least 10 kills, each restarted after a short pause),
// during the input and after it; the records that close the last windows are sent only after
// the 10th kill, so every kill lands before the output can be complete. Then SIGTERM stops
// the processes and the read_committed output must equal the reference computed in memory
// from the same input: every (key, window) exactly once with its count, nothing else.
//
// The processes are `rivulet run` of the fixture. FIRE_RUNNER=direct runs it through
// test/helpers/stream-fire-runner.ts instead (loaded as `rivulet run` loads it, started with
// the runtime's startPipeline: to tell a CLI bug from a runtime one); with it, FIRE_TOPOLOGY=hand runs
// the same count written by hand as a Topology (to tell a runtime bug from a DSL or window
// one). FIRE_SEED=n replays a run. The checker is unit-tested in
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
