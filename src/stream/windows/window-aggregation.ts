// The windowed aggregation engine, independent of the DSL: one instance per task and operator.
// Open windows live typed in memory (the write-back cache); `flush` writes the changed ones to
// the task's store, closing a window deletes it there. A restored task reloads its open
// windows from the store on creation, so a restart continues every window where it was.
//
// Time windows, sliding windows and session windows follow Kafka Streams' processors
// (KStreamWindowAggregate, KStreamSlidingWindowAggregate, KStreamSessionWindowAggregate).

import type { KeyValueStore, Serde } from '../types.js';
import type { Aggregate } from '../aggregates.js';
import { SessionWindows, SlidingWindows, TimeWindows, type Windows } from './windows.js';
import { TimeHeap } from './time-heap.js';
import { allWindowsRange, parseWindowStoreKey, readTime, windowStoreKey, writeTime } from './window-key.js';

export type EmitMode = 'final' | 'update';

/** Where results go; a direct call per result, no closure per record. */
export interface WindowResultSink<K, R> {
  /** `value` null: the window no longer exists (a session merged into a larger one), in update mode. */
  windowResult(key: K, start: number, end: number, value: R | null, timestamp: number): void;
}

/** One open window of one key. */
class OpenWindow<A> {
  dirty = false;
  /** Written to the store (so closing or merging it away must delete it there). */
  stored = false;
  dead = false;
  /** Its store key, made on its first flush and reused (updates, the delete when it closes). */
  storeKey: Buffer | undefined = undefined;
  constructor(
    readonly owner: KeyWindows<unknown, A>,
    readonly start: number,
    readonly end: number,
    /** The watermark at which it closes. */
    readonly due: number,
    public acc: A,
    /** Largest record timestamp in it: the result's timestamp. */
    public maxTs: number,
  ) {}
}

/** A key's open windows, in start order. */
class KeyWindows<K, A> {
  keyBytes: Buffer | undefined = undefined;
  readonly windows: OpenWindow<A>[] = [];
  constructor(
    readonly id: unknown,
    readonly key: K,
  ) {}
}

export interface WindowAggregationOptions<K, V, A, R> {
  windows: Windows;
  aggregate: Aggregate<V, A, R>;
  keySerde: Serde<K>;
  store: KeyValueStore;
  emit: EmitMode;
  sink: WindowResultSink<K, R>;
}

export class WindowAggregation<K, V, A, R> {
  private readonly windows: Windows;
  private readonly agg: Aggregate<V, A, R>;
  private readonly keySerde: Serde<K>;
  private readonly store: KeyValueStore;
  private readonly emitUpdates: boolean;
  private readonly sink: WindowResultSink<K, R>;
  private readonly keys = new Map<unknown, KeyWindows<K, A>>();
  private readonly queue = new TimeHeap<OpenWindow<A>>();
  private readonly dirty: OpenWindow<A>[] = [];
  private readonly starts: number[] = [];
  /** Extra watermark before an inclusive-end window (sliding, session) closes. */
  private readonly inclusiveEnd: number;
  private openCount = 0;

  constructor(o: WindowAggregationOptions<K, V, A, R>) {
    this.windows = o.windows;
    this.agg = o.aggregate;
    this.keySerde = o.keySerde;
    this.store = o.store;
    this.emitUpdates = o.emit === 'update';
    this.sink = o.sink;
    this.inclusiveEnd = o.windows instanceof TimeWindows ? 0 : 1;
    if (o.windows instanceof SessionWindows && this.agg.merge === undefined) {
      throw new Error('session windows merge sessions when a record bridges them: give the aggregate a merger (aggregator(init, add, { merger }))');
    }
    this.restore();
  }

  /** Open windows held (in memory and in the store). */
  get openWindows(): number {
    return this.openCount;
  }

  /**
   * Adds a record at event time `ts`, the task's watermark being `watermark` (this record
   * included). Returns false when the record is late: every window it belongs to has closed.
   */
  process(key: K, value: V, ts: number, watermark: number): boolean {
    const w = this.windows;
    if (w instanceof TimeWindows) return this.processTime(w, key, value, ts, watermark);
    if (w instanceof SessionWindows) return this.processSession(w, key, value, ts, watermark);
    return this.processSliding(w, key, value, ts, watermark);
  }

  /** Closes every window whose close time the watermark reached: final results, state deleted. */
  advance(watermark: number): void {
    const q = this.queue;
    for (let w = q.peek(); w !== undefined && w.due <= watermark; w = q.peek()) {
      q.pop();
      if (w.dead) continue;
      this.remove(w);
      if (!this.emitUpdates) this.sink.windowResult(w.owner.key as K, w.start, w.end, this.agg.result(w.acc), w.maxTs);
    }
  }

  /** Writes changed windows to the store (before every commit). */
  flush(): void {
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) {
      const w = d[i]!;
      w.dirty = false;
      if (w.dead) continue;
      const acc = this.agg.encode(w.acc);
      const v = Buffer.allocUnsafe(16 + acc.length);
      writeTime(v, 0, w.end);
      writeTime(v, 8, w.maxTs);
      acc.copy(v, 16);
      this.store.put(this.storeKey(w), v);
      w.stored = true;
    }
    d.length = 0;
  }

  // ---- time windows (tumbling, hopping)

  private processTime(tw: TimeWindows, key: K, value: V, ts: number, watermark: number): boolean {
    const starts = this.starts;
    const n = tw.windowStartsFor(ts, starts);
    let kw: KeyWindows<K, A> | undefined;
    let added = false;
    for (let i = 0; i < n; i++) {
      const start = starts[i]!;
      const end = start + tw.size;
      const closeAt = end + tw.graceMs;
      if (closeAt <= watermark) continue;
      kw ??= this.keyWindows(key);
      let w = find(kw.windows, start);
      if (w === undefined) w = this.open(kw, start, end, closeAt, this.agg.init(), ts);
      this.update(w, value, ts);
      added = true;
    }
    return added;
  }

  // ---- session windows

  private processSession(sw: SessionWindows, key: K, value: V, ts: number, watermark: number): boolean {
    const kw = this.keyWindows(key);
    const list = kw.windows;
    let start = ts;
    let end = ts;
    // Sessions are disjoint and in start order: the ones within gap of ts are consecutive.
    let first = -1;
    let last = -1;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (s.end < ts - sw.gap) continue;
      if (s.start > ts + sw.gap) break;
      if (first < 0) first = i;
      last = i;
      if (s.start < start) start = s.start;
      if (s.end > end) end = s.end;
    }
    const closeAt = end + sw.graceMs + 1;
    if (closeAt <= watermark) {
      if (list.length === 0) this.keys.delete(kw.id);
      return false;
    }
    if (first >= 0 && last === first && list[first]!.start === start && list[first]!.end === end) {
      // Inside one existing session: it keeps its bounds.
      this.update(list[first]!, value, ts);
      return true;
    }
    let acc = this.agg.init();
    let maxTs = ts;
    const merged = first >= 0 ? list.slice(first, last + 1) : undefined;
    if (merged !== undefined) {
      for (const s of merged) {
        acc = this.agg.merge!(acc, s.acc);
        if (s.maxTs > maxTs) maxTs = s.maxTs;
      }
    }
    // Opened before the old sessions go, so the key's entry stays.
    const w = this.open(kw, start, end, closeAt, acc, maxTs);
    if (merged !== undefined) {
      for (const s of merged) {
        this.remove(s);
        // The old session is replaced: downstream forgets it (a tombstone, as Kafka Streams).
        if (this.emitUpdates) this.sink.windowResult(kw.key, s.start, s.end, null, s.maxTs);
      }
    }
    this.update(w, value, ts);
    return true;
  }

  // ---- sliding windows (Kafka Streams' SlidingWindows: left window [ts - d, ts] of each record,
  // right window [ts + 1, ts + 1 + d] when records follow within d)

  private processSliding(sl: SlidingWindows, key: K, value: V, ts: number, watermark: number): boolean {
    const d = sl.maxDiff;
    const grace = sl.graceMs + 1;
    // Late when even its right window [ts + 1, ts + 1 + d] has closed (as Kafka Streams).
    if (ts + 1 + d + grace <= watermark) return false;
    const kw = this.keyWindows(key);
    const list = kw.windows;
    let leftAgg: OpenWindow<A> | undefined;
    let rightSeed: A | undefined;
    let rightSeedTs = 0;
    let leftCreated = false;
    let rightCreated = false;
    let previousTs: number | undefined;
    let added = false;
    // Windows starting in [ts - 2d, ts + 1], in start order (updating does not reorder them).
    const lo = ts - 2 * d;
    for (let i = 0; i < list.length; i++) {
      const w = list[i]!;
      if (w.start < lo) continue;
      if (w.start > ts + 1) break;
      const endTime = w.start + d;
      if (endTime < ts) {
        leftAgg = w;
        previousTs = w.maxTs;
      } else if (endTime === ts) {
        leftCreated = true;
        if (w.maxTs < ts) previousTs = w.maxTs;
        added = this.slidingUpdate(w, value, ts, watermark) || added;
      } else if (w.start <= ts) {
        // The latest window holding ts: before this record, it holds exactly the records
        // after ts within d, which is this record's right window.
        rightSeed = w.maxTs > ts ? this.agg.copy(w.acc) : undefined;
        rightSeedTs = w.maxTs;
        added = this.slidingUpdate(w, value, ts, watermark) || added;
      } else {
        rightCreated = true; // starts at ts + 1
      }
    }
    if (previousTs !== undefined) {
      const prevRightStart = previousTs + 1;
      // The previous record's right window holds this record: open it.
      if (prevRightStart + d >= ts && find(list, prevRightStart) === undefined) {
        added = this.slidingOpen(kw, prevRightStart, d, grace, this.agg.init(), value, ts, watermark) || added;
      }
    }
    if (!leftCreated) {
      const seed = leftAgg !== undefined && previousTs !== undefined && ts - d <= previousTs ? this.agg.copy(leftAgg.acc) : this.agg.init();
      added = this.slidingOpen(kw, ts - d, d, grace, seed, value, ts, watermark) || added;
    }
    if (!rightCreated && rightSeed !== undefined) {
      const w = this.open(kw, ts + 1, ts + 1 + d, ts + 1 + d + grace, rightSeed, rightSeedTs);
      this.changed(w);
      if (this.emitUpdates) this.sink.windowResult(kw.key, w.start, w.end, this.agg.result(w.acc), w.maxTs);
    }
    if (list.length === 0) this.keys.delete(kw.id);
    return added;
  }

  private slidingUpdate(w: OpenWindow<A>, value: V, ts: number, watermark: number): boolean {
    if (w.due <= watermark) return false;
    this.update(w, value, ts);
    return true;
  }

  private slidingOpen(kw: KeyWindows<K, A>, start: number, d: number, grace: number, acc: A, value: V, ts: number, watermark: number): boolean {
    const end = start + d;
    const closeAt = end + grace;
    if (closeAt <= watermark) return false;
    this.update(this.open(kw, start, end, closeAt, acc, ts), value, ts);
    return true;
  }

  // ---- shared

  private keyWindows(key: K): KeyWindows<K, A> {
    const id = this.idOf(key);
    let kw = this.keys.get(id);
    if (kw === undefined) {
      kw = new KeyWindows<K, A>(id, key);
      this.keys.set(id, kw);
    }
    return kw;
  }

  /** Strings and numbers are map keys as they are; other keys by their bytes. */
  private idOf(key: K): unknown {
    const t = typeof key;
    if (t === 'string' || t === 'number') return key;
    return (this.keySerde.serialize(key) ?? Buffer.alloc(0)).toString('latin1');
  }

  private open(kw: KeyWindows<K, A>, start: number, end: number, closeAt: number, acc: A, maxTs: number): OpenWindow<A> {
    const w = new OpenWindow<A>(kw as KeyWindows<unknown, A>, start, end, closeAt, acc, maxTs);
    const list = kw.windows;
    let i = list.length;
    while (i > 0 && list[i - 1]!.start > start) i--;
    list.splice(i, 0, w);
    this.queue.push(w);
    this.openCount++;
    return w;
  }

  private update(w: OpenWindow<A>, value: V, ts: number): void {
    w.acc = this.agg.add(w.acc, value);
    if (ts > w.maxTs) w.maxTs = ts;
    this.changed(w);
    if (this.emitUpdates) this.sink.windowResult(w.owner.key as K, w.start, w.end, this.agg.result(w.acc), w.maxTs);
  }

  private changed(w: OpenWindow<A>): void {
    if (!w.dirty) {
      w.dirty = true;
      this.dirty.push(w);
    }
  }

  private remove(w: OpenWindow<A>): void {
    w.dead = true;
    this.openCount--;
    const kw = w.owner as KeyWindows<K, A>;
    const i = kw.windows.indexOf(w);
    if (i >= 0) kw.windows.splice(i, 1);
    if (kw.windows.length === 0) this.keys.delete(kw.id);
    if (w.stored) this.store.delete(this.storeKey(w));
  }

  private storeKey(w: OpenWindow<A>): Buffer {
    if (w.storeKey !== undefined) return w.storeKey;
    const kw = w.owner;
    kw.keyBytes ??= this.keySerde.serialize(kw.key as K) ?? Buffer.alloc(0);
    return (w.storeKey = windowStoreKey(kw.keyBytes, w.start));
  }

  /** Reloads the open windows a previous run of this task left in the store. */
  private restore(): void {
    const [from, to] = allWindowsRange();
    for (const [k, v] of this.store.range(from, to)) {
      const { keyBytes, start } = parseWindowStoreKey(k);
      const key = this.keySerde.deserialize(Buffer.from(keyBytes));
      const kw = this.keyWindows(key);
      kw.keyBytes ??= Buffer.from(keyBytes);
      const end = readTime(v, 0);
      const closeAt = end + this.windows.graceMs + this.inclusiveEnd;
      const w = this.open(kw, start, end, closeAt, this.agg.decode(v.subarray(16)), readTime(v, 8));
      w.stored = true;
    }
  }
}

function find<A>(list: OpenWindow<A>[], start: number): OpenWindow<A> | undefined {
  for (let i = 0; i < list.length; i++) if (list[i]!.start === start) return list[i];
  return undefined;
}

export { SlidingWindows, SessionWindows, TimeWindows };
