// The check descriptor of each query (check.ts): its name, how its output is compared, its
// reference. A query's reference joins here when it exists.

import type { QueryName } from '../model.js';
import type { QueryCheck } from '../check.js';
import { q0 } from './q0.js';
import { q1 } from './q1.js';
import { q2 } from './q2.js';
import { q5 } from './q5.js';
import { q7 } from './q7.js';

export const CHECKS: Partial<Record<QueryName, QueryCheck>> = {
  q0: { name: 'q0', mode: 'multiset', reference: q0 },
  q1: { name: 'q1', mode: 'multiset', reference: q1 },
  q2: { name: 'q2', mode: 'multiset', reference: q2 },
  q5: { name: 'q5', mode: 'multiset', reference: q5 },
  q7: { name: 'q7', mode: 'multiset', reference: q7 },
};
