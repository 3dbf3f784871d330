// At-least-once under fire (issue 15): the same windowed count and kills as
// stream-fire.test.ts, with --guarantee at_least_once. Nothing may be lost: every (key,
// window) of the reference comes out at least once with at least its count. Duplicates (a
// window output again after a crash) and over-counts (records processed twice) are allowed,
// counted and printed. FIRE_SEED=n replays a run; FIRE_RUNNER as in stream-fire.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFire } from '../helpers/stream-fire-run.js';

const seed = Number(process.env.FIRE_SEED ?? 2501);

test(`at-least-once: 3 pipeline processes, at least 10 SIGKILLs, nothing lost (seed ${seed})`, { timeout: 300_000 }, async () => {
  const r = await runFire({ guarantee: 'at_least_once', target: 'pipeline', seed, kills: 10, input: { records: 30_000, keys: 20, windows: 150 } });
  assert.ok(r.kills >= 10, `only ${r.kills} kills`);
  assert.ok(r.check.ok, `seed ${seed}, ${r.kills} kills:\n${r.check.summary}`);
  console.log(`at-least-once: ${r.check.duplicates} duplicate window results, ${r.check.overCounted.length} windows over-counted, ${r.check.partial.length} with a partial copy, after ${r.kills} kills`);
});
