// The DSL of windows and joins, and their operators over the engine's operator API:
//   stream.groupByKey().windowedBy(tumbling(60_000).grace(5_000)).count({ emit: 'final' })
//     -> WindowedKTable: .toStream() of { key, window: { start, end } } results, .lateRecords()
//   stream.join(table, joiner) / leftJoin: stream-table enrichment (the table in the same task)
//   stream.join(other, joiner, { within, grace }) / leftJoin / outerJoin: windowed stream-stream
//   table.join(other, joiner) / leftJoin / outerJoin: table-table
// Every operator keeps its state in a declared store (so the runtime gives it a changelog).

import type { Serde } from '../types.js';
import { serdes } from '../serde.js';
import { KStream, KTable, type KGroupedStream, type Named, type NodeSpec } from '../dsl.js';
import { Operator, type Rec, type Task } from '../operators/processor.js';
import { AggregateOperator, TableOperator } from '../operators/stateful.js';
import { aggregator, average, count, max, min, reducer, sum, topN, type Aggregate, type AverageState } from '../aggregates.js';
import { WindowAggregation, type EmitMode, type WindowResultSink } from './window-aggregation.js';
import { SessionWindows, TimeWindows, type Windowed, type Windows } from './windows.js';
import { sessionWindowedSerde, timeWindowedSerde } from './window-key.js';
import { StreamStreamJoin, type StreamJoinKind, type StreamJoinSink } from './stream-join.js';
import { KeyValueTable, TableTableJoin, type TableJoinKind, type TableView } from './table-join.js';

export interface WindowedOptions extends Named {
  /** 'update' (default, as Kafka Streams): a result on every change; 'final': one result per window once it closes (watermark >= end + grace). */
  emit?: EmitMode;
  /** Keep a changelog topic for the window store (default true). */
  changelog?: boolean;
}

/** A late-record side output: a pass-through operator the window operator feeds directly. */
class LatePort extends Operator {
  process(r: Rec<unknown, unknown>): void {
    this.forward(r);
  }
}

/** Runs a WindowAggregation for one task; results go to its children, late records to its LatePorts. */
class WindowAggregateOperator<K, V, A, R> extends Operator<K, V, Windowed<K>, R | null> implements WindowResultSink<K, R> {
  private readonly core: WindowAggregation<K, V, A, R>;
  private main: Operator[] | null = null;
  private late: Operator[] = [];
  private current: Rec<K, V> | null = null;

  constructor(task: Task, name: string, storeName: string, windows: Windows, aggregate: Aggregate<V, A, R>, keySerde: Serde<K>, emit: EmitMode) {
    super(task, name);
    this.core = new WindowAggregation<K, V, A, R>({ windows, aggregate, keySerde, store: task.store(storeName), emit, sink: this });
  }

  process(r: Rec<K, V>): void {
    if (r.key === null || r.key === undefined) {
      this.fail(new Error('cannot window a record without a key; give it one with keyBy() or map() first'));
      return;
    }
    this.current = r;
    let ok: boolean;
    try {
      ok = this.core.process(r.key, r.value, r.timestamp, this.watermarkSeen);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (!ok) {
      this.task.late(this.name);
      const late = this.late;
      if (this.main === null) this.split();
      for (let i = 0; i < late.length; i++) late[i]!.process(r);
    }
  }

  windowResult(key: K, start: number, end: number, value: R | null, timestamp: number): void {
    if (this.main === null) this.split();
    const rec: Rec<Windowed<K>, R | null> = { key: { key, window: { start, end } }, value, timestamp, headers: this.current?.headers ?? [] };
    const c = this.main!;
    for (let i = 0; i < c.length; i++) c[i]!.process(rec);
  }

  protected override onWatermark(watermark: number): void {
    // Final results belong to no one input record: they carry no headers.
    this.current = null;
    this.core.advance(watermark);
    this.forwardWatermark(watermark);
  }

  override flush(): void {
    this.core.flush();
  }

  /** Children are wired after construction: sort them into results and late outputs once. */
  private split(): void {
    this.main = this.children.filter((c) => !(c instanceof LatePort));
    this.late = this.children.filter((c) => c instanceof LatePort);
  }
}

/** The result of a windowed aggregation: a table keyed by window. */
export class WindowedKTable<K, V, R> {
  constructor(
    private readonly parent: KStream<K, V>,
    readonly node: NodeSpec,
    /** Serde of windowed keys in Kafka Streams' layout, for sinks: `.toStream().to(topic, { key: t.keySerde, ... })`. */
    readonly keySerde: Serde<Windowed<K>>,
  ) {}

  /** Results as records keyed by `{ key, window }`; a null value (update mode, sessions) retracts a merged-away session. */
  toStream(): KStream<Windowed<K>, R | null> {
    return this.parent.derive<Windowed<K>, R | null>(this.node, this.keySerde, undefined, false);
  }

  /** Records that arrived after every window they belong to had closed (each is also counted in the lateRecords metric). */
  lateRecords(): KStream<K, V> {
    const p = this.parent.pipeline;
    const name = `${this.node.name}.late`;
    const port = p.addNode({ name, parents: [this.node], create: (task) => new LatePort(task, name) });
    return this.parent.derive<K, V>(port, this.parent.keySerde, this.parent.valueSerde, false);
  }
}

/** A grouped stream cut into windows: pick an aggregate. */
export class WindowedKStream<K, V> {
  constructor(
    private readonly grouped: KGroupedStream<K, V>,
    readonly windows: Windows,
  ) {}

  count(options?: WindowedOptions): WindowedKTable<K, V, number> {
    return this.aggregateWith('count', count<V>(), options);
  }

  sum(of?: (value: V) => number, options?: WindowedOptions): WindowedKTable<K, V, number> {
    return this.aggregateWith('sum', sum<V>(of), options);
  }

  min(of?: (value: V) => number, options?: WindowedOptions): WindowedKTable<K, V, number> {
    return this.aggregateWith('min', min<V>(of), options);
  }

  max(of?: (value: V) => number, options?: WindowedOptions): WindowedKTable<K, V, number> {
    return this.aggregateWith('max', max<V>(of), options);
  }

  average(of?: (value: V) => number, options?: WindowedOptions): WindowedKTable<K, V, number> {
    return this.aggregateWith<AverageState, number>('average', average<V>(of), options);
  }

  /** The `n` values with the highest score per window, highest first. */
  topN(n: number, score: (value: V) => number, options?: WindowedOptions & { value?: Serde<V> }): WindowedKTable<K, V, V[]> {
    return this.aggregateWith('topN', topN<V>(n, score, options?.value ?? this.grouped.valueSerde), options);
  }

  reduce(reduce: (aggregate: V, value: V) => V, options?: WindowedOptions & { value?: Serde<V> }): WindowedKTable<K, V, V> {
    return this.aggregateWith<V | undefined, V>('reduce', reducer<V>(reduce, options?.value ?? this.grouped.valueSerde), options);
  }

  /** A custom aggregate; session windows also need `merger` (combines two sessions' aggregates). */
  aggregate<A>(initializer: () => A, adder: (aggregate: A, value: V) => A, options?: WindowedOptions & { value?: Serde<A>; merger?: (a: A, b: A) => A }): WindowedKTable<K, V, A> {
    const o: { serde?: Serde<A>; merger?: (a: A, b: A) => A } = {};
    if (options?.value !== undefined) o.serde = options.value;
    if (options?.merger !== undefined) o.merger = options.merger;
    return this.aggregateWith('aggregate', aggregator<V, A>(initializer, adder, o), options);
  }

  /** Any Aggregate (see aggregates.ts): count(), sum(), topN(), ... or your own. */
  aggregateWith<A, R>(kind: string, aggregate: Aggregate<V, A, R>, options?: WindowedOptions): WindowedKTable<K, V, R> {
    const stream = this.grouped.stream;
    const p = stream.pipeline;
    const storeName = options?.name ?? p.generatedName(`windowed-${kind}`);
    const input = this.grouped.partitioned(storeName);
    const keySerde = this.grouped.keySerde ?? input.keySerde ?? (serdes.json<K>() as Serde<K>);
    if (this.windows instanceof SessionWindows && aggregate.merge === undefined) {
      throw new Error(`session windows merge sessions when a record bridges them: ${kind} needs a merger (aggregate(init, add, { merger }))`);
    }
    p.addStore(storeName, serdes.bytes, serdes.bytes, options?.changelog ?? true);
    const name = `windowed-${kind}(${storeName})`;
    const windows = this.windows;
    const emit = options?.emit ?? 'update';
    const node = p.addNode({ name, parents: [input.node], stores: [storeName], create: (task) => new WindowAggregateOperator(task, name, storeName, windows, aggregate, keySerde, emit) });
    const size = windows instanceof TimeWindows ? windows.size : windows instanceof SessionWindows ? 0 : windows.maxDiff;
    const windowedSerde = windows instanceof SessionWindows ? sessionWindowedSerde(keySerde) : timeWindowedSerde(keySerde, size);
    return new WindowedKTable<K, V, R>(input, node, windowedSerde);
  }
}

// ---- stream-table join

/** A table's reader in one task: the table's (or aggregate's) operator, found by its store. */
function tableIn<K, T>(task: Task, storeName: string): TableView<K, T> {
  for (const op of task.operators) {
    if ((op instanceof TableOperator || op instanceof AggregateOperator) && op.storeName === storeName) return op as unknown as TableView<K, T>;
  }
  throw new Error(`the table of store ${storeName} is not in task ${task.ctx.taskId}; a stream can join only a table of the same sub-topology (read with p.table() or built by an aggregation), defined before the join`);
}

class StreamTableJoinOperator<K, V, T, O> extends Operator<K, V, K, O> {
  private readonly table: TableView<K, T>;
  constructor(
    task: Task,
    name: string,
    storeName: string,
    private readonly inner: boolean,
    private readonly joiner: (value: V, tableValue: T | undefined, key: K) => O,
  ) {
    super(task, name);
    this.table = tableIn<K, T>(task, storeName);
  }

  process(r: Rec<K, V>): void {
    if (r.key === null || r.key === undefined) {
      if (this.inner) return;
    }
    let out: O;
    try {
      const t = r.key === null || r.key === undefined ? undefined : this.table.get(r.key);
      if (t === undefined && this.inner) return;
      out = this.joiner(r.value, t, r.key);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.forward({ key: r.key, value: out, timestamp: r.timestamp, headers: r.headers });
  }
}

/** Stream-table join (`kind` inner or left): each stream record reads the table's current value for its key. */
export function joinStreamTable<K, V, T, O>(stream: KStream<K, V>, kind: 'inner' | 'left', table: KTable<K, T, any>, joiner: (value: V, tableValue: T | undefined, key: K) => O, options?: Named): KStream<K, O> {
  const p = stream.pipeline;
  const label = options?.name ?? p.generatedName(`${kind}-join`);
  // Co-partitioned with the table: a stream whose key changed goes through a repartition topic first.
  const input = stream.keyChanged ? stream.repartition(label, { key: table.keySerde }) : stream;
  const name = `${kind === 'inner' ? 'join' : 'leftJoin'}(${label})`;
  const node = p.addNode({ name, parents: [input.node], stores: [table.storeName], create: (task) => new StreamTableJoinOperator<K, V, T, O>(task, name, table.storeName, kind === 'inner', joiner) });
  return input.derive<K, O>(node, input.keySerde, undefined, false);
}

// ---- stream-stream join

export interface JoinWindowOptions extends Named {
  /** Records join when their event times differ by at most this, ms; Infinity: an unbounded join (both sides kept forever). */
  within: number;
  /** How long after a window's end out-of-order records still join, ms (default 0). */
  grace?: number;
  /** Serdes of both sides' values in the join store (default: the streams', else JSON). */
  leftValue?: Serde<unknown>;
  rightValue?: Serde<unknown>;
  changelog?: boolean;
}

/** One side's entry into a stream-stream join; the join operator wires itself to it. */
class JoinSide extends Operator {
  join: StreamJoinOperator<unknown, unknown, unknown, unknown> | null = null;
  constructor(
    task: Task,
    name: string,
    readonly joinId: string,
    readonly left: boolean,
  ) {
    super(task, name);
  }
  process(r: Rec<unknown, unknown>): void {
    this.join!.receive(this.left, r);
  }
}

class StreamJoinOperator<K, L, R, O> extends Operator<K, unknown, K, O> implements StreamJoinSink<K, O> {
  private readonly core: StreamStreamJoin<K, L, R, O>;
  private headers: Rec<K, unknown>['headers'] = [];

  constructor(task: Task, name: string, joinId: string, storeName: string, kind: StreamJoinKind, o: JoinWindowOptions, keySerde: Serde<K>, leftSerde: Serde<L>, rightSerde: Serde<R>, joiner: (l: L | undefined, r: R | undefined, key: K) => O) {
    super(task, name);
    for (const op of task.operators) if (op instanceof JoinSide && op.joinId === joinId) op.join = this as unknown as StreamJoinOperator<unknown, unknown, unknown, unknown>;
    this.core = new StreamStreamJoin<K, L, R, O>({ kind, withinMs: o.within, graceMs: o.grace ?? 0, joiner, keySerde, leftSerde, rightSerde, store: task.store(storeName), sink: this });
  }

  process(): void {
    // Records arrive through the JoinSide operators (receive), never from a parent directly.
  }

  receive(left: boolean, r: Rec<K, unknown>): void {
    if (r.key === null || r.key === undefined) {
      this.fail(new Error('cannot join a record without a key; give it one with keyBy() or map() first'));
      return;
    }
    this.headers = r.headers;
    let ok: boolean;
    try {
      ok = left ? this.core.processLeft(r.key, r.value as L, r.timestamp, this.watermarkSeen) : this.core.processRight(r.key, r.value as R, r.timestamp, this.watermarkSeen);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (!ok) this.task.late(this.name);
  }

  joinResult(key: K, value: O, timestamp: number): void {
    this.forward({ key, value, timestamp, headers: this.headers });
  }

  protected override onWatermark(watermark: number): void {
    // Unmatched records come out after their input was processed: no headers to carry.
    this.headers = [];
    this.core.advance(watermark);
    this.forwardWatermark(watermark);
  }

  override flush(): void {
    this.core.flush();
  }
}

/** Windowed stream-stream join. */
export function joinStreams<K, L, R, O>(left: KStream<K, L>, kind: StreamJoinKind, right: KStream<K, R>, joiner: (l: L | undefined, r: R | undefined, key: K) => O, options: JoinWindowOptions): KStream<K, O> {
  if (options === undefined || typeof options.within !== 'number') throw new Error('a stream-stream join needs a window: join(other, joiner, { within: ms, grace: ms })');
  const p = left.pipeline;
  const label = options.name ?? p.generatedName(`${kind}-join`);
  const l = left.keyChanged ? left.repartition(`${label}-left`) : left;
  const r = right.keyChanged ? right.repartition(`${label}-right`) : right;
  const keySerde = l.keySerde ?? r.keySerde ?? (serdes.json<K>() as Serde<K>);
  const leftSerde = (options.leftValue ?? l.valueSerde ?? serdes.json<L>()) as Serde<L>;
  const rightSerde = (options.rightValue ?? r.valueSerde ?? serdes.json<R>()) as Serde<R>;
  const storeName = label;
  p.addStore(storeName, serdes.bytes, serdes.bytes, options.changelog ?? true);
  const sideL = p.addNode({ name: `${label}.left`, parents: [l.node], stores: [storeName], create: (task) => new JoinSide(task, `${label}.left`, label, true) });
  const sideR = p.addNode({ name: `${label}.right`, parents: [r.node], stores: [storeName], create: (task) => new JoinSide(task, `${label}.right`, label, false) });
  const name = `${kind === 'inner' ? 'join' : kind === 'left' ? 'leftJoin' : 'outerJoin'}(${label})`;
  const node = p.addNode({ name, parents: [sideL, sideR], stores: [storeName], create: (task) => new StreamJoinOperator<K, L, R, O>(task, name, label, storeName, kind, options, keySerde, leftSerde, rightSerde, joiner) });
  return l.derive<K, O>(node, keySerde, undefined, false);
}

// ---- table-table join

class TableJoinSide extends Operator {
  join: TableJoinOperator<unknown, unknown, unknown, unknown> | null = null;
  constructor(
    task: Task,
    name: string,
    readonly joinId: string,
    readonly left: boolean,
  ) {
    super(task, name);
  }
  process(r: Rec<unknown, unknown>): void {
    this.join!.receive(this.left, r);
  }
}

class TableJoinOperator<K, L, R, O> extends Operator<K, unknown, K, O | null> {
  private readonly core: TableTableJoin<K, L, R, O>;
  private readonly left: KeyValueTable<K, L>;
  private readonly right: KeyValueTable<K, R>;
  private headers: Rec<K, unknown>['headers'] = [];

  constructor(task: Task, name: string, joinId: string, leftStore: string, rightStore: string, kind: TableJoinKind, keySerde: Serde<K>, leftSerde: Serde<L>, rightSerde: Serde<R>, joiner: (l: L | undefined, r: R | undefined, key: K) => O) {
    super(task, name);
    for (const op of task.operators) if (op instanceof TableJoinSide && op.joinId === joinId) op.join = this as unknown as TableJoinOperator<unknown, unknown, unknown, unknown>;
    this.left = new KeyValueTable<K, L>(task.store(leftStore), keySerde, leftSerde);
    this.right = new KeyValueTable<K, R>(task.store(rightStore), keySerde, rightSerde);
    this.core = new TableTableJoin<K, L, R, O>(kind, this.left, this.right, joiner, this);
  }

  process(): void {
    // Updates arrive through the TableJoinSide operators.
  }

  receive(left: boolean, r: Rec<K, unknown>): void {
    if (r.key === null || r.key === undefined) return;
    this.headers = r.headers;
    try {
      if (left) this.core.updateLeft(r.key, (r.value ?? null) as L | null, r.timestamp);
      else this.core.updateRight(r.key, (r.value ?? null) as R | null, r.timestamp);
    } catch (e) {
      this.fail(e);
    }
  }

  tableResult(key: K, value: O | null, timestamp: number): void {
    this.forward({ key, value, timestamp, headers: this.headers });
  }

  override flush(): void {
    this.left.flush();
    this.right.flush();
  }
}

/**
 * Table-table join: the join keeps each side's latest values in its own stores
 * (`<name>-left`, `<name>-right`) to know the previous result of a key, and emits the new
 * result (or a tombstone) on every update of either side.
 */
export function joinTables<K, L, R, O>(left: KTable<K, L, any>, kind: TableJoinKind, right: KTable<K, R, any>, joiner: (l: L | undefined, r: R | undefined, key: K) => O, options?: Named & { value?: Serde<O>; changelog?: boolean }): KTable<K, O, O | null> {
  const p = left.pipeline;
  const label = options?.name ?? p.generatedName(`table-${kind}-join`);
  const leftStore = `${label}-left`;
  const rightStore = `${label}-right`;
  const resultStore = `${label}-result`;
  const changelog = options?.changelog ?? true;
  p.addStore(leftStore, left.keySerde, left.valueSerde, changelog);
  p.addStore(rightStore, right.keySerde, right.valueSerde, changelog);
  const stores = [leftStore, rightStore, left.storeName, right.storeName];
  const sideL = p.addNode({ name: `${label}.left`, parents: [left.node], stores, create: (task) => new TableJoinSide(task, `${label}.left`, label, true) });
  const sideR = p.addNode({ name: `${label}.right`, parents: [right.node], stores, create: (task) => new TableJoinSide(task, `${label}.right`, label, false) });
  const name = `table${kind === 'inner' ? 'Join' : kind === 'left' ? 'LeftJoin' : 'OuterJoin'}(${label})`;
  const node = p.addNode({ name, parents: [sideL, sideR], stores, create: (task) => new TableJoinOperator<K, L, R, O>(task, name, label, leftStore, rightStore, kind, left.keySerde, left.valueSerde, right.valueSerde, joiner) });
  // The result is a stream of updates; it has no store of its own to join against.
  return new KTable<K, O, O | null>(p, node, resultStore, left.keySerde, options?.value ?? (serdes.json<O>() as Serde<O>));
}
