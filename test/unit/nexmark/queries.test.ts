// Each Rivulet Nexmark query in the in-memory TestDriver on a generated data set, its output
// checked with check.ts against the reference.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NexmarkGenerator } from '../../../src/nexmark/generator.js';
import { checkQuery } from '../../../src/nexmark/check.js';
import { CHECKS } from '../../../src/nexmark/reference/index.js';
import { build as q0 } from '../../../src/nexmark/queries/q0.js';
import { build as q1 } from '../../../src/nexmark/queries/q1.js';
import { build as q2 } from '../../../src/nexmark/queries/q2.js';
import { runOnDriver } from './driver.js';

// 100 events/s of event time: 6000 events span a minute, several windows of every query.
const events = new NexmarkGenerator({ seed: 11, eventsPerSecond: 100, firstEventTime: 1_700_000_000_000 }).events(6000);

for (const [name, build] of [['q0', q0], ['q1', q1], ['q2', q2]] as const) {
  test(`${name} in the TestDriver equals the reference`, async () => {
    const actual = await runOnDriver(name, build(), events);
    const outcome = checkQuery(CHECKS[name]!, events, actual);
    assert.ok(outcome.ok, outcome.summary);
    assert.ok(actual.length > 0, 'the query wrote something');
  });
}
