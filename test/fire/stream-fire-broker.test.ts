// Exactly-once while the broker is SIGKILLed (issue 15): the windowed count of
// stream-fire.test.ts runs as 3 processes while the broker (started by the test) is
// SIGKILLed at seeded random moments, at least 3 times, and restarted on the same data
// directory and port. The input is produced before the kills (a produce that failed while the
// broker was down could not be retried without risking a duplicate input). The read_committed
// output must equal the reference. FIRE_SEED=n replays a run; FIRE_RUNNER as in
// stream-fire.test.ts.
//
// A produce that failed while the broker was down may have been written (its answer lost):
// the runtime then replaces its transactional producer (a new epoch, sequences from 0) instead
// of reusing the same epoch with sequence numbers behind the broker's, which looped on
// OUT_OF_ORDER_SEQUENCE_NUMBER (see stream-runtime-lost-produce.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFire } from '../helpers/stream-fire-run.js';

const seed = Number(process.env.FIRE_SEED ?? 3501);

test(`exactly-once: broker SIGKILLed and restarted at least 3 times, output equals the reference (seed ${seed})`, { timeout: 300_000 }, async () => {
  const r = await runFire({ guarantee: 'exactly_once', target: 'broker', seed, kills: 3, input: { records: 60_000, keys: 20, windows: 300 }, timeoutMs: 90_000 });
  assert.ok(r.kills >= 3, `only ${r.kills} broker kills`);
  assert.ok(r.check.ok, `seed ${seed}, ${r.kills} broker kills:\n${r.check.summary}\n${r.unexpectedExits.join('\n')}`);
  assert.equal(r.check.duplicates, 0);
});
