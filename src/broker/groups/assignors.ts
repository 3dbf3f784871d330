// The server-side assignors of consumer groups (KIP-848): `uniform` (the default) and
// `range`, named as Kafka names them. Both are pure functions from the members (their
// subscribed topics and their previous target assignment) and the topics' partition
// counts to a new target assignment, and both are sticky: a partition stays with its
// previous owner unless balance requires it to move.

/** Topic id -> partitions (ascending). */
export type Assignment = Map<string, number[]>;

export interface AssignorMember {
  readonly memberId: string;
  /** Ids of the topics the member subscribes to (that exist). */
  readonly topics: ReadonlySet<string>;
  /** The member's previous target assignment, for stickiness. */
  readonly previous: Assignment;
}

/** Topic id -> partition count. */
export type TopicCounts = ReadonlyMap<string, number>;

export type Assignor = (members: readonly AssignorMember[], topics: TopicCounts) => Map<string, Assignment>;

function byId(a: AssignorMember, b: AssignorMember): number {
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function toAssignment(parts: Map<string, Set<number>>): Assignment {
  const a: Assignment = new Map();
  for (const [t, ps] of [...parts.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    if (ps.size > 0) a.set(t, [...ps].sort((x, y) => x - y));
  }
  return a;
}

/**
 * Spreads every subscribed partition over the members subscribed to its topic so that
 * counts differ by at most one where subscriptions allow: previous owners keep what they
 * had, free partitions go to the least loaded eligible member, then partitions move from
 * the most to the least loaded member until no move narrows the gap.
 */
export const uniform: Assignor = (members, topics) => {
  const sorted = [...members].sort(byId);
  const held = new Map<string, Map<string, Set<number>>>(sorted.map((m) => [m.memberId, new Map()]));
  const count = new Map<string, number>(sorted.map((m) => [m.memberId, 0]));
  const owner = new Map<string, string>(); // `${topic}:${partition}` -> member
  const give = (m: string, t: string, p: number) => {
    const mine = held.get(m)!;
    if (!mine.has(t)) mine.set(t, new Set());
    mine.get(t)!.add(p);
    owner.set(`${t}:${p}`, m);
    count.set(m, count.get(m)! + 1);
  };
  const take = (m: string, t: string, p: number) => {
    held.get(m)!.get(t)!.delete(p);
    owner.delete(`${t}:${p}`);
    count.set(m, count.get(m)! - 1);
  };
  for (const m of sorted) {
    for (const [t, ps] of m.previous) {
      const n = topics.get(t);
      if (n === undefined || !m.topics.has(t)) continue;
      for (const p of ps) if (p < n && !owner.has(`${t}:${p}`)) give(m.memberId, t, p);
    }
  }
  const eligible = new Map<string, AssignorMember[]>();
  for (const t of [...topics.keys()].sort()) {
    const subs = sorted.filter((m) => m.topics.has(t));
    if (subs.length > 0) eligible.set(t, subs);
  }
  const leastLoaded = (subs: AssignorMember[]): AssignorMember => {
    let best = subs[0]!;
    for (const m of subs) if (count.get(m.memberId)! < count.get(best.memberId)!) best = m;
    return best;
  };
  // Partition-major order, so that without history each topic is spread over every member.
  for (const [t, subs] of eligible) {
    const n = topics.get(t)!;
    for (let p = 0; p < n; p++) if (!owner.has(`${t}:${p}`)) give(leastLoaded(subs).memberId, t, p);
  }
  // Balance: each move lowers the sum of squared counts, so this ends.
  for (;;) {
    let moved = false;
    const byLoad = [...sorted].sort((a, b) => count.get(b.memberId)! - count.get(a.memberId)! || byId(a, b));
    for (const from of byLoad) {
      const load = count.get(from.memberId)!;
      for (const [t, ps] of held.get(from.memberId)!) {
        if (ps.size === 0) continue;
        const to = leastLoaded(eligible.get(t)!);
        if (count.get(to.memberId)! + 1 >= load) continue;
        const p = Math.max(...ps);
        take(from.memberId, t, p);
        give(to.memberId, t, p);
        moved = true;
        break;
      }
      if (moved) break;
    }
    if (!moved) break;
  }
  return new Map(sorted.map((m) => [m.memberId, toAssignment(held.get(m.memberId)!)]));
};

/**
 * Per topic, the members subscribed to it (by member id) get contiguous ranges, the first
 * `partitions % members` one partition more, as Kafka's range assignor gives them; members
 * keep partitions they held up to their share, so a change of membership moves only what
 * it must. Members with the same subscriptions get the same partition numbers of each
 * topic when nothing was held before (co-partitioning).
 */
export const range: Assignor = (members, topics) => {
  const sorted = [...members].sort(byId);
  const held = new Map<string, Map<string, Set<number>>>(sorted.map((m) => [m.memberId, new Map()]));
  for (const t of [...topics.keys()].sort()) {
    const n = topics.get(t)!;
    const subs = sorted.filter((m) => m.topics.has(t));
    if (subs.length === 0) continue;
    const min = Math.floor(n / subs.length);
    let extra = n % subs.length;
    const quota = new Map<string, number>();
    const had = (m: AssignorMember) => (m.previous.get(t) ?? []).filter((p) => p < n);
    // Extra partitions go first to members that already held more than the minimum.
    for (const m of subs) {
      const q = extra > 0 && had(m).length > min ? min + 1 : min;
      if (q > min) extra--;
      quota.set(m.memberId, q);
    }
    for (const m of subs) {
      if (extra > 0 && quota.get(m.memberId) === min) {
        quota.set(m.memberId, min + 1);
        extra--;
      }
    }
    const taken = new Set<number>();
    const mine = new Map<string, Set<number>>(subs.map((m) => [m.memberId, new Set()]));
    for (const m of subs) {
      const q = quota.get(m.memberId)!;
      for (const p of had(m)) {
        if (mine.get(m.memberId)!.size >= q) break;
        if (taken.has(p)) continue;
        taken.add(p);
        mine.get(m.memberId)!.add(p);
      }
    }
    let next = 0;
    for (const m of subs) {
      const q = quota.get(m.memberId)!;
      const s = mine.get(m.memberId)!;
      while (s.size < q) {
        while (taken.has(next)) next++;
        taken.add(next);
        s.add(next);
      }
    }
    for (const m of subs) held.get(m.memberId)!.set(t, mine.get(m.memberId)!);
  }
  return new Map(sorted.map((m) => [m.memberId, toAssignment(held.get(m.memberId)!)]));
};

export const assignors: ReadonlyMap<string, Assignor> = new Map([
  ['uniform', uniform],
  ['range', range],
]);

export const DEFAULT_ASSIGNOR = 'uniform';
