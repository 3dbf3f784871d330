// Compares a query's actual output with its reference's, in the two ways model.ts names:
//   'multiset': the exact multiset of (key, value) results (q0, q1, q2, q3, q5, q7, q8);
//   'last-per-key': the last value of each key (q4, q6: tables updated on every change).
// Values are compared as JSON with sorted object keys, so field order does not matter.
// The result names what is missing, unexpected and duplicated (the first few of each), so a
// failing benchmark run says what went wrong.
//
// A query plugs in with a descriptor: { name, mode, reference } (reference/types.ts), added to
// CHECKS in reference/index.ts.

import type { NexmarkEvent, QueryName } from './model.js';
import type { QueryResult, Reference, ReferenceOptions } from './reference/types.js';

export type { QueryResult, Reference, ReferenceOptions } from './reference/types.js';

export type CheckMode = 'multiset' | 'last-per-key';

export interface QueryCheck {
  name: QueryName;
  mode: CheckMode;
  reference: Reference;
}

export interface CheckOutcome {
  ok: boolean;
  expected: number;
  actual: number;
  /** Expected results absent from the output (multiset: each missing copy; last-per-key: keys). */
  missing: QueryResult[];
  /** Results the reference does not have (last-per-key: keys the reference has not). */
  unexpected: QueryResult[];
  /** Expected results the output has more times than expected (multiset only). */
  duplicated: Array<QueryResult & { times: number; expectedTimes: number }>;
  /** last-per-key: keys whose last value differs. */
  different: Array<{ key: string; expected: unknown; actual: unknown }>;
  /** A readable account: "q5: OK (42 results)" or what differs, first few of each. */
  summary: string;
}

/** JSON with object keys sorted: equal values give equal text whatever their field order. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

const FIRST = 5;
const show = (r: { key: string; value?: unknown }): string => `${r.key} -> ${canonical(r.value)}`;

/** Runs `check.reference` over `events` and compares `actual` (in output order) with it. */
export function checkQuery(check: QueryCheck, events: readonly NexmarkEvent[], actual: readonly QueryResult[], options?: ReferenceOptions): CheckOutcome {
  return compare(check.name, check.mode, check.reference(events, options), actual);
}

/** Compares an output with expected results. For 'last-per-key', both are read in order and the last value of each key counts. */
export function compare(name: string, mode: CheckMode, expected: readonly QueryResult[], actual: readonly QueryResult[]): CheckOutcome {
  const out: CheckOutcome = { ok: true, expected: expected.length, actual: actual.length, missing: [], unexpected: [], duplicated: [], different: [], summary: '' };
  if (mode === 'multiset') {
    const want = new Map<string, { r: QueryResult; n: number }>();
    for (const r of expected) {
      const k = `${r.key}\u0000${canonical(r.value)}`;
      const e = want.get(k);
      if (e) e.n++;
      else want.set(k, { r, n: 1 });
    }
    const got = new Map<string, { r: QueryResult; n: number }>();
    for (const r of actual) {
      const k = `${r.key}\u0000${canonical(r.value)}`;
      const e = got.get(k);
      if (e) e.n++;
      else got.set(k, { r, n: 1 });
    }
    for (const [k, w] of want) {
      const g = got.get(k)?.n ?? 0;
      for (let i = g; i < w.n; i++) out.missing.push(w.r);
      if (g > w.n) out.duplicated.push({ ...w.r, times: g, expectedTimes: w.n });
    }
    for (const [k, g] of got) if (!want.has(k)) for (let i = 0; i < g.n; i++) out.unexpected.push(g.r);
  } else {
    const last = (rs: readonly QueryResult[]) => {
      const m = new Map<string, unknown>();
      for (const r of rs) m.set(r.key, r.value);
      return m;
    };
    const want = last(expected);
    const got = last(actual);
    for (const [key, value] of want) {
      if (!got.has(key)) out.missing.push({ key, value });
      else if (canonical(got.get(key)) !== canonical(value)) out.different.push({ key, expected: value, actual: got.get(key) });
    }
    for (const [key, value] of got) if (!want.has(key)) out.unexpected.push({ key, value });
  }
  out.ok = out.missing.length === 0 && out.unexpected.length === 0 && out.duplicated.length === 0 && out.different.length === 0;
  if (out.ok) out.summary = `${name}: OK (${actual.length} results${mode === 'last-per-key' ? `, ${new Set(actual.map((r) => r.key)).size} keys` : ''})`;
  else {
    const lines = [`${name}: output differs from the reference (${mode}): ${actual.length} results, ${expected.length} expected`];
    const part = <T>(label: string, xs: readonly T[], fmt: (x: T) => string) => {
      if (xs.length === 0) return;
      lines.push(`  ${label}: ${xs.length}${xs.length > FIRST ? `, the first ${FIRST}` : ''}`);
      for (const x of xs.slice(0, FIRST)) lines.push(`    ${fmt(x)}`);
    };
    part('missing', out.missing, show);
    part('unexpected', out.unexpected, show);
    part('duplicated', out.duplicated, (d) => `${show(d)} (${d.times} times, expected ${d.expectedTimes})`);
    part('different last value', out.different, (d) => `${d.key}: expected ${canonical(d.expected)}, got ${canonical(d.actual)}`);
    out.summary = lines.join('\n');
  }
  return out;
}
