// The checker of the "under fire" tests (test/helpers/stream-fire.ts) must fail on wrong
// output: a missing window, a window twice, a wrong count, a window that should not exist.
// Each case starts from the reference itself (which must pass) and breaks one thing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkWindowCounts, closingTime, expectedCounts, generateInput, parseResult, CLOSE_KEY_PREFIX, EPOCH_MS, GRACE_MS, MAX_DISORDER_MS, WINDOW_MS,
  type WindowResult,
} from '../../helpers/stream-fire.js';

const input = generateInput({ seed: 7, records: 3000, keys: 10, windows: 30 });
const expected = expectedCounts(input);

/** The output a correct pipeline writes: every window once, with its count. */
function perfectOutput(): WindowResult[] {
  return [...expected].map(([id, count], i) => {
    const [key, start] = id.split('@') as [string, string];
    return { key, start: Number(start), count, at: `0@${i}` };
  });
}

test('the generator is deterministic, spans the windows asked for, and is out of order only within the grace', () => {
  assert.deepEqual(generateInput({ seed: 7, records: 3000, keys: 10, windows: 30 }), input);
  assert.notDeepEqual(generateInput({ seed: 8, records: 3000, keys: 10, windows: 30 }), input);
  const windows = new Set(input.map((r) => r.ts - (r.ts % WINDOW_MS)));
  assert.equal(windows.size, 30);
  assert.equal(new Set(input.map((r) => r.key)).size, 10);
  let max = 0;
  let outOfOrder = 0;
  for (const r of input) {
    assert.ok(r.ts >= EPOCH_MS);
    if (r.ts < max) outOfOrder++;
    assert.ok(max - r.ts <= MAX_DISORDER_MS && MAX_DISORDER_MS < GRACE_MS, `record at ${r.ts} lags the latest (${max}) by more than the grace`);
    max = Math.max(max, r.ts);
  }
  assert.ok(outOfOrder > input.length / 10, `some records out of order (${outOfOrder})`);
  assert.ok(closingTime(input) >= max + WINDOW_MS + GRACE_MS);
});

test('the reference counts every record once, in its tumbling window', () => {
  assert.equal([...expected.values()].reduce((a, b) => a + b, 0), input.length);
  const r = input[123]!;
  const start = r.ts - (r.ts % WINDOW_MS);
  assert.equal(expected.get(`${r.key}@${start}`), input.filter((x) => x.key === r.key && x.ts >= start && x.ts < start + WINDOW_MS).length);
});

test('exactly-once: the reference itself passes, closing keys are ignored', () => {
  const out = [...perfectOutput(), { key: `${CLOSE_KEY_PREFIX}0`, start: 0, count: 1, at: '0@x' }];
  const r = checkWindowCounts(expected, out, 'exactly_once');
  assert.ok(r.ok, r.summary);
  assert.equal(r.closing, 1);
  assert.equal(r.duplicates, 0);
});

test('exactly-once fails on a missing window and names it', () => {
  const out = perfectOutput();
  const gone = out.splice(17, 1)[0]!;
  const r = checkWindowCounts(expected, out, 'exactly_once');
  assert.equal(r.ok, false);
  assert.equal(r.missing.length, 1);
  assert.match(r.summary, new RegExp(`1 windows missing, the first: ${gone.key}@${gone.start}`));
});

test('exactly-once fails on a window output twice, even with the right count', () => {
  const out = perfectOutput();
  out.push({ ...out[5]!, at: '1@99' });
  const r = checkWindowCounts(expected, out, 'exactly_once');
  assert.equal(r.ok, false);
  assert.equal(r.duplicates, 1);
  assert.equal(r.wrong.length, 1);
  assert.match(r.wrong[0]!, /at 0@5, \d+ at 1@99/);
});

test('exactly-once fails on a wrong count', () => {
  const out = perfectOutput();
  out[3] = { ...out[3]!, count: out[3]!.count + 1 };
  const r = checkWindowCounts(expected, out, 'exactly_once');
  assert.equal(r.ok, false);
  assert.equal(r.wrong.length, 1);
});

test('both modes fail on a window the reference does not have', () => {
  for (const g of ['exactly_once', 'at_least_once'] as const) {
    const out = [...perfectOutput(), { key: 'k000', start: EPOCH_MS + 1000 * WINDOW_MS, count: 1, at: '2@7' }];
    const r = checkWindowCounts(expected, out, g);
    assert.equal(r.ok, false, g);
    assert.equal(r.unexpected.length, 1);
  }
});

test('at-least-once passes duplicates and over-counts (and counts them), fails on a loss', () => {
  const out = perfectOutput();
  out.push({ ...out[0]!, at: '0@d1' }, { ...out[1]!, count: out[1]!.count + 2, at: '0@d2' }, { ...out[2]!, count: 1, at: '0@d3' });
  const r = checkWindowCounts(expected, out, 'at_least_once');
  assert.ok(r.ok, r.summary);
  assert.equal(r.duplicates, 3);
  assert.equal(r.overCounted.length, 1);
  assert.equal(r.partial.length, out[2]!.count > 1 ? 1 : 0);

  const lossy = perfectOutput();
  lossy[4] = { ...lossy[4]!, count: lossy[4]!.count - 1 };
  const l = checkWindowCounts(expected, lossy, 'at_least_once');
  assert.equal(l.ok, false);
  assert.equal(l.wrong.length, 1);
  assert.match(l.summary, /never output with their full count \(records lost\)/);

  const missing = perfectOutput().slice(1);
  assert.equal(checkWindowCounts(expected, missing, 'at_least_once').ok, false);
});

test('an output record that is not the fixture\'s JSON is named with its place', () => {
  assert.deepEqual(parseResult(Buffer.from('k1'), Buffer.from('{"key":"k1","start":5,"end":10,"count":3}'), '2@4'), { key: 'k1', start: 5, count: 3, at: '2@4' });
  assert.throws(() => parseResult(null, Buffer.from('nope'), '1@2'), /at 1@2 is not JSON/);
  assert.throws(() => parseResult(null, Buffer.from('{"key":"k1"}'), '1@3'), /at 1@3 .* is not \{key, start, end, count\}/);
});
