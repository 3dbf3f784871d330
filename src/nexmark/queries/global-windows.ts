// "One result per window over all bids" (q5, q7) in Rivulet Streams, in two stages, as Flink
// runs a global window: a local pre-aggregate per task, then one combiner.
//
// Why not groupBy(window) then a windowed aggregate: after a repartition, a partition's
// watermark comes from the records it reads (src/stream/README.md, "Known limits"), so a task
// that runs ahead of another would close windows the other still has bids for, and the last
// windows of a partition would wait for records of a later window that may never reach it.
//
// Stage 1 (the bid tasks): per task, an accumulator per window of event time that has bids;
// when the task's watermark closes windows (end + grace), the task sends their partial results
// in window order, then a marker "every window up to W is sent" (W the last closed one), to the
// one partition of <app>-windows-repartition. Empty windows cost nothing, however far time jumps.
// Stage 2 (one task): keeps each task's partial per window; a window is complete once every bid
// task (as many as nexmark-bid has partitions) has marked it sent (a task's partials and markers
// arrive in window order), and is then emitted once. A replayed partial (at-least-once) replaces
// the same task's, or is ignored once its window was emitted. Both stages keep their state in
// changelogged stores.

import { Operator, serdes, type KStream, type Pipeline, type Rec, type StoreCache, type Task } from 'rivulet/stream';
import { TOPICS, type Bid } from '../model.js';

export interface GlobalWindowSpec<A, R> {
  size: number;
  advance: number;
  graceMs: number;
  /** How far behind the newest bid one may arrive (the source's maxOutOfOrderMs). */
  maxOutOfOrderMs: number;
  init(): A;
  /** Adds a bid; may update `acc` in place. */
  add(acc: A, bid: Bid): A;
  /** A window's results from the partials of every task (any order). */
  results(partials: A[], start: number, end: number): Array<{ key: string; value: R }>;
}

interface Partial<A> {
  start: number;
  task: number;
  /** Bid tasks there are: partitions of nexmark-bid. */
  of: number;
  /** null: a marker, every window of this task up to `start` has been sent (a window it never sent had no bids). */
  acc: A | null;
}

/** Starts of the windows [s, s + size) (advancing by `advance`, aligned to epoch 0) holding `ts`, ascending. */
function windowStarts(ts: number, size: number, advance: number, out: number[]): number {
  const last = ts - (((ts % advance) + advance) % advance);
  let n = 0;
  for (let s = last - Math.ceil(size / advance - 1) * advance; s <= last; s += advance) if (s + size > ts) out[n++] = s;
  return n;
}

const NEXT = 'next';
const OPEN = 'open';
const MARKED = 'marked';

class PartialsOperator<A, R> extends Operator<string, Bid, string, Partial<A>> {
  private readonly cache: StoreCache<string, unknown>;
  private readonly starts: number[] = [];
  private readonly of: number;

  constructor(task: Task, name: string, storeName: string, private readonly spec: GlobalWindowSpec<A, R>) {
    super(task, name);
    this.cache = task.cache(storeName, serdes.string, serdes.json<unknown>());
    const of = task.ctx.partitions?.(TOPICS.bid);
    if (of === undefined) throw new Error(`${name} needs the number of partitions of ${TOPICS.bid}, which this runner does not tell (TaskContext.partitions)`);
    this.of = of;
  }

  process(r: Rec<string, Bid>): void {
    if (r.value === null || r.value === undefined) return;
    const s = this.spec;
    let next = this.cache.get(NEXT) as number | undefined;
    if (next === undefined) {
      // The task's first bid: the windows still open are those ending after the earliest time
      // a bid may still have; every earlier one is closed (and empty) here.
      windowStarts(r.timestamp - s.maxOutOfOrderMs - s.graceMs, s.size, s.advance, this.starts);
      next = this.starts[0]!;
      this.cache.put(NEXT, next);
    }
    const n = windowStarts(r.timestamp, s.size, s.advance, this.starts);
    let open = 0;
    for (let i = 0; i < n; i++) {
      const start = this.starts[i]!;
      if (start < next) continue; // closed and sent
      open++;
      const k = `w${start}`;
      let acc = this.cache.get(k) as A | undefined;
      if (acc === undefined) {
        const held = (this.cache.get(OPEN) as number[] | undefined) ?? [];
        held.push(start);
        held.sort((a, b) => a - b);
        this.cache.put(OPEN, held);
      }
      try {
        acc = s.add(acc ?? s.init(), r.value);
      } catch (e) {
        this.fail(e);
        return;
      }
      this.cache.put(k, acc);
    }
    if (open === 0) this.task.late(this.name);
  }

  /** Sends the partials of the windows the watermark closed, then a marker: every window up to the last closed one is sent. */
  protected override onWatermark(watermark: number): void {
    const s = this.spec;
    const next = this.cache.get(NEXT) as number | undefined;
    if (next !== undefined && Number.isFinite(watermark)) {
      // The last window start (on the advance grid) with start + size + grace <= watermark.
      const x = watermark - s.size - s.graceMs;
      const last = x - (((x % s.advance) + s.advance) % s.advance);
      const marked = this.cache.get(MARKED) as number | undefined;
      // The first marker may name the window just before the first open one (nothing to close).
      if (last >= next - s.advance && (marked === undefined || last > marked)) {
        const task = this.task.ctx.partition;
        const held = (this.cache.get(OPEN) as number[] | undefined) ?? [];
        while (held.length > 0 && held[0]! <= last) {
          const start = held.shift()!;
          const k = `w${start}`;
          this.forward({ key: String(start), value: { start, task, of: this.of, acc: this.cache.get(k) as A }, timestamp: start + s.size - 1, headers: [] });
          this.cache.delete(k);
        }
        this.cache.put(OPEN, held);
        this.forward({ key: String(last), value: { start: last, task, of: this.of, acc: null }, timestamp: last + s.size - 1, headers: [] });
        this.cache.put(MARKED, last);
        if (last + s.advance > next) this.cache.put(NEXT, last + s.advance);
      }
    }
    this.forwardWatermark(watermark);
  }
}

const FRONT = 'front';
const DONE = 'done';
const HELD = 'held';

class CombineOperator<A, R> extends Operator<string, Partial<A>, string, R> {
  private readonly cache: StoreCache<string, unknown>;

  constructor(task: Task, name: string, storeName: string, private readonly spec: GlobalWindowSpec<A, R>) {
    super(task, name);
    this.cache = task.cache(storeName, serdes.string, serdes.json<unknown>());
  }

  process(r: Rec<string, Partial<A>>): void {
    const p = r.value;
    if (p === null || p === undefined) return;
    const c = this.cache;
    const done = c.get(DONE) as number | undefined;
    if (done !== undefined && p.start <= done) return; // a replay of an emitted window
    const held = (c.get(HELD) as number[] | undefined) ?? [];
    if (p.acc !== null) {
      const k = `w${p.start}`;
      const partials = (c.get(k) as Record<string, A> | undefined) ?? {};
      partials[p.task] = p.acc;
      c.put(k, partials);
      if (!held.includes(p.start)) {
        held.push(p.start);
        held.sort((a, b) => a - b);
      }
    }
    const front = (c.get(FRONT) as Record<string, number> | undefined) ?? {};
    front[p.task] = Math.max(front[p.task] ?? -Infinity, p.start);
    c.put(FRONT, front);
    // Complete up to the lowest window every task has reached (sent in window order, so a task's
    // partial or marker for W says all its windows up to W are here).
    let complete = Infinity;
    for (let t = 0; t < p.of; t++) complete = Math.min(complete, front[t] ?? -Infinity);
    let emitted: number | undefined;
    while (held.length > 0 && held[0]! <= complete) {
      const start = held.shift()!;
      const wk = `w${start}`;
      const accs = Object.values((c.get(wk) as Record<string, A> | undefined) ?? {});
      c.delete(wk);
      emitted = start;
      let results: Array<{ key: string; value: R }>;
      try {
        results = this.spec.results(accs, start, start + this.spec.size);
      } catch (e) {
        this.fail(e);
        continue;
      }
      for (const o of results) this.forward({ key: o.key, value: o.value, timestamp: start + this.spec.size - 1, headers: r.headers });
    }
    c.put(HELD, held);
    if (emitted !== undefined) c.put(DONE, emitted);
  }
}

/** The results of `spec` over the bids, one set per window once every bid task has closed it. */
export function globalWindows<A, R>(p: Pipeline, bids: KStream<string, Bid>, spec: GlobalWindowSpec<A, R>): KStream<string, R> {
  const partialStore = 'partials';
  const combineStore = 'combine';
  p.addStore(partialStore, serdes.string, serdes.json<unknown>());
  p.addStore(combineStore, serdes.string, serdes.json<unknown>());
  return bids
    .process<string, Partial<A>>((task, name) => new PartialsOperator(task, name, partialStore, spec), {
      name: partialStore,
      stores: [partialStore],
      key: serdes.string,
      value: serdes.json<Partial<A>>(),
      keyChanged: true,
    })
    .repartition('windows', { partitions: 1 })
    .process<string, R>((task, name) => new CombineOperator(task, name, combineStore, spec), { name: combineStore, stores: [combineStore], key: serdes.string, value: serdes.json<R>() });
}
