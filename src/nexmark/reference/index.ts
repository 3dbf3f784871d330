// The check descriptor of each query (check.ts): its name, how its output is compared, its
// reference.

import type { QueryName } from '../model.js';
import type { QueryCheck } from '../check.js';
import { q0 } from './q0.js';
import { q1 } from './q1.js';
import { q2 } from './q2.js';
import { referenceQ3 } from './q3.js';
import { referenceQ4 } from './q4.js';
import { q5 } from './q5.js';
import { referenceQ6 } from './q6.js';
import { q7 } from './q7.js';
import { referenceQ8 } from './q8.js';

/** A table's final value per key, as records. */
const records = <V>(table: Map<string, V>) => [...table].map(([key, value]) => ({ key, value }));

export const CHECKS: Record<QueryName, QueryCheck> = {
  q0: { name: 'q0', mode: 'multiset', reference: q0 },
  q1: { name: 'q1', mode: 'multiset', reference: q1 },
  q2: { name: 'q2', mode: 'multiset', reference: q2 },
  q3: { name: 'q3', mode: 'multiset', reference: referenceQ3 },
  q4: { name: 'q4', mode: 'last-per-key', reference: (events) => records(referenceQ4(events)) },
  q5: { name: 'q5', mode: 'multiset', reference: q5 },
  q6: { name: 'q6', mode: 'last-per-key', reference: (events) => records(referenceQ6(events)) },
  q7: { name: 'q7', mode: 'multiset', reference: q7 },
  q8: { name: 'q8', mode: 'multiset', reference: referenceQ8 },
};
