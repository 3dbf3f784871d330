// The server-side assignors of consumer groups (KIP-848): uniform spreads partitions evenly
// and moves as few as balance needs; range gives contiguous ranges per topic, co-partitioned,
// and keeps what members held. Pure functions, so no broker is needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniform, range, type Assignment, type AssignorMember } from '../../../src/broker/groups/assignors.js';

const member = (memberId: string, topics: string[], previous: Record<string, number[]> = {}): AssignorMember => ({
  memberId,
  topics: new Set(topics),
  previous: new Map(Object.entries(previous)),
});

const plain = (r: Map<string, Assignment>): Record<string, Record<string, number[]>> =>
  Object.fromEntries([...r].map(([m, a]) => [m, Object.fromEntries(a)]));

/** Every partition of every topic exactly once over all members. */
function assertComplete(r: Map<string, Assignment>, topics: Map<string, number>): void {
  const seen = new Set<string>();
  for (const a of r.values()) {
    for (const [t, ps] of a) {
      for (const p of ps) {
        assert.ok(!seen.has(`${t}:${p}`), `${t}:${p} assigned twice: ${JSON.stringify(plain(r))}`);
        seen.add(`${t}:${p}`);
      }
    }
  }
  let total = 0;
  for (const n of topics.values()) total += n;
  assert.equal(seen.size, total, `every partition assigned: ${JSON.stringify(plain(r))}`);
}

const count = (a: Assignment | undefined) => [...(a ?? new Map()).values()].reduce((n, ps) => n + ps.length, 0);

test('uniform: six partitions over three members, two each', () => {
  const topics = new Map([['T', 6]]);
  const r = uniform([member('a', ['T']), member('b', ['T']), member('c', ['T'])], topics);
  assertComplete(r, topics);
  for (const m of ['a', 'b', 'c']) assert.equal(count(r.get(m)), 2, JSON.stringify(plain(r)));
});

test('uniform is sticky: a new member takes only what balance needs, the others keep the rest', () => {
  const topics = new Map([['T', 6]]);
  const r = uniform([member('a', ['T'], { T: [0, 1, 2] }), member('b', ['T'], { T: [3, 4, 5] }), member('c', ['T'])], topics);
  assertComplete(r, topics);
  for (const m of ['a', 'b', 'c']) assert.equal(count(r.get(m)), 2, JSON.stringify(plain(r)));
  const kept = (m: string, had: number[]) => (r.get(m)!.get('T') ?? []).filter((p) => had.includes(p)).length;
  assert.equal(kept('a', [0, 1, 2]), 2, 'a keeps two of its three');
  assert.equal(kept('b', [3, 4, 5]), 2, 'b keeps two of its three');
});

test('uniform: a member leaving gives only its own partitions away', () => {
  const topics = new Map([['T', 6]]);
  const r = uniform([member('a', ['T'], { T: [0, 1] }), member('b', ['T'], { T: [2, 3] })], topics);
  assertComplete(r, topics);
  assert.deepEqual(r.get('a')!.get('T')!.filter((p) => p < 2), [0, 1]);
  assert.deepEqual(r.get('b')!.get('T')!.filter((p) => p >= 2 && p < 4), [2, 3]);
  assert.equal(count(r.get('a')), 3);
  assert.equal(count(r.get('b')), 3);
});

test('uniform with different subscriptions: each partition goes to a subscriber, load evened where it can be', () => {
  const topics = new Map([['T', 4], ['U', 4]]);
  const r = uniform([member('a', ['T', 'U']), member('b', ['U'])], topics);
  assertComplete(r, topics);
  assert.equal(r.get('b')!.get('T'), undefined, 'b never gets a topic it does not subscribe to');
  assert.equal(count(r.get('a')), 4);
  assert.equal(count(r.get('b')), 4);
});

test('range: contiguous ranges per topic, the first members one more, co-partitioned', () => {
  const topics = new Map([['T', 7], ['U', 7]]);
  const r = range([member('c', ['T', 'U']), member('a', ['T', 'U']), member('b', ['T', 'U'])], topics);
  assertComplete(r, topics);
  assert.deepEqual(plain(r), {
    a: { T: [0, 1, 2], U: [0, 1, 2] },
    b: { T: [3, 4], U: [3, 4] },
    c: { T: [5, 6], U: [5, 6] },
  });
});

test('range is sticky: when a member joins, the others keep what they held up to their share', () => {
  const topics = new Map([['T', 6]]);
  const r = range([member('a', ['T'], { T: [0, 1, 2] }), member('b', ['T'], { T: [3, 4, 5] }), member('c', ['T'])], topics);
  assertComplete(r, topics);
  assert.deepEqual(r.get('a')!.get('T'), [0, 1]);
  assert.deepEqual(r.get('b')!.get('T'), [3, 4]);
  assert.deepEqual(r.get('c')!.get('T'), [2, 5]);
});

test('assignors skip partitions of topics that shrank or vanished from the previous assignment', () => {
  const topics = new Map([['T', 2]]);
  for (const assign of [uniform, range]) {
    const r = assign([member('a', ['T'], { T: [0, 1, 2, 3], Gone: [0] })], topics);
    assertComplete(r, topics);
    assert.deepEqual(plain(r), { a: { T: [0, 1] } });
  }
});
