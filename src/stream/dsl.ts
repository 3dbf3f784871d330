// The pipeline DSL: a typed graph of operator specs that `build()` compiles to a Topology.
// Types flow from each source's serdes through every operator to the sinks. The graph is
// split into sub-topologies at repartition topics; nodes joined by an edge or a shared
// store stay together, so co-partitioned sources (a stream and the table it joins) share one.
import type { InternalTopicSpec, Serde, StoreSpec, SubTopology, TaskContext, Topology } from './types.js';
import { serdes } from './serde.js';
import type { WatermarkOptions } from './event-time.js';
import { Operator, Task, type Rec } from './operators/processor.js';
import { SourceOperator, type TimestampExtractor } from './operators/source.js';
import {
  BranchOperator,
  FilterOperator,
  FlatMapOperator,
  MapOperator,
  MapValuesOperator,
  PassOperator,
  PeekOperator,
  SelectKeyOperator,
  SinkOperator,
  type KeyValue,
  type Partitioner,
} from './operators/stateless.js';
import { MapAsyncOperator, type MapAsyncOptions } from './operators/map-async.js';
import { AggregateOperator, TableOperator } from './operators/stateful.js';
import { TableGroupByOperator, changeSerde, type Change } from './operators/table-group-by.js';
import { WindowedKStream, joinStreamTable, joinStreams, joinTables, type JoinWindowOptions } from './windows/windowed-stream.js';
import type { Windows } from './windows/windows.js';

export type { Rec, KeyValue, Partitioner, TimestampExtractor, WatermarkOptions, MapAsyncOptions, Change };

/** One operator of the graph, before any task exists. */
export interface NodeSpec {
  readonly id: number;
  /** The operator's name, as errors and describe() show it. */
  readonly name: string;
  readonly parents: readonly NodeSpec[];
  /** The topic a source node reads. */
  readonly sourceTopic?: string;
  /** The topic a sink node writes. */
  readonly sinkTopic?: string;
  /** Stores the operator uses (they and the operator land in one sub-topology). */
  readonly stores: readonly string[];
  /** Makes this node's operator for one task; the builder wires it to its parents. */
  create(task: Task): Operator;
}

/** A store the topology declares, with the serdes of what it holds (the driver reads it typed). */
export interface TypedStoreSpec<K = unknown, V = unknown> extends StoreSpec {
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
}

export interface StreamOptions<K, V> {
  key: Serde<K>;
  value: Serde<V>;
  /** Event time of a record (default: the record's timestamp). */
  timestamp?: TimestampExtractor<K, V>;
  watermark?: WatermarkOptions;
}

export interface TableOptions<K, V> {
  key: Serde<K>;
  /** The value serde; null bytes (tombstones) are deletions and never reach it. */
  value: Serde<V>;
  /** The store's name (default `<topic>-table`). */
  name?: string;
  /** Keep a changelog topic for the store (default true). */
  changelog?: boolean;
}

export interface SinkOptions<K, V> {
  key: Serde<K>;
  value: Serde<V>;
  /** Picks the partition (default: murmur2 of the key bytes, as Kafka's default partitioner). */
  partitioner?: Partitioner<K, V>;
  name?: string;
}

export interface Named {
  /** Names the operator in errors and describe() (and, where it has one, its store or topic). */
  name?: string;
}

export interface KeyByOptions<K, V> extends Named {
  /** Serde of the new key on the repartition topic (default JSON). */
  key?: Serde<K>;
  /** Serde of the value on the repartition topic (default: the stream's, when known, else JSON). */
  value?: Serde<V>;
  /** Partitions of the repartition topic (default: as many as the sub-topology that writes it). */
  partitions?: number;
}

export interface TableGroupByOptions<K, V> extends Named {
  /** Serde of the new key on the repartition topic (default JSON). */
  key?: Serde<K>;
  /** Serde of the new value on the repartition topic (default JSON). */
  value?: Serde<V>;
  /** Partitions of the repartition topic (default: as many as the sub-topology that writes it). */
  partitions?: number;
}

export interface AggregateOptions<A> extends Named {
  /** Serde of the aggregate in the store (default JSON). */
  value?: Serde<A>;
  changelog?: boolean;
}

/** The value type a branch predicate lets through: narrowed by a type guard, else unchanged. */
export type Narrowed<P, V> = P extends (r: any) => r is Rec<any, infer V2> ? V2 : V;

const opName = (kind: string, named: Named | undefined): string => (named?.name === undefined ? kind : `${kind}(${named.name})`);

/** A pipeline definition: sources, operators and sinks of one application. */
export class Pipeline {
  private readonly nodes: NodeSpec[] = [];
  private readonly storeSpecs = new Map<string, { keySerde: Serde<unknown>; valueSerde: Serde<unknown>; changelog: boolean }>();
  private readonly internal: InternalTopicSpec[] = [];
  private readonly sourceTopics = new Set<string>();
  private readonly sinkTopics = new Set<string>();
  private built: Topology | null = null;

  constructor(readonly application: string) {
    if (!/^[A-Za-z0-9._-]+$/.test(application)) throw new Error(`application id "${application}" must be letters, digits, ".", "_" or "-" (it prefixes topic names and is the consumer group id)`);
  }

  /** A stream of the records of `topic`. */
  stream<K, V>(topic: string, options: StreamOptions<K, V>): KStream<K, V> {
    const node = this.source(topic, `source(${topic})`, options.key, options.value, options.timestamp, options.watermark ?? {});
    return new KStream<K, V>(this, node, options.key, options.value, false, options.watermark ?? {});
  }

  /** The latest value per key of a compacted topic, kept in a store; a tombstone deletes the key. */
  table<K, V>(topic: string, options: TableOptions<K, V>): KTable<K, V, V | null> {
    const valueSerde = serdes.nullable(options.value);
    const src = this.source(topic, `source(${topic})`, options.key, valueSerde, undefined, null);
    const storeName = options.name ?? `${topic}-table`;
    this.addStore(storeName, options.key, options.value, options.changelog ?? true);
    const name = `table(${topic})`;
    const node = this.addNode({ name, parents: [src], stores: [storeName], create: (task) => new TableOperator(task, name, storeName, options.key, options.value) });
    return new KTable<K, V, V | null>(this, node, storeName, options.key, options.value);
  }

  /**
   * Adds an operator node (the extension point for operators outside this file: windows,
   * joins). `create` runs once per task; parents feed it in the order given.
   */
  addNode(spec: { name: string; parents: readonly NodeSpec[]; stores?: readonly string[]; sourceTopic?: string; sinkTopic?: string; create(task: Task): Operator }): NodeSpec {
    if (this.built !== null) throw new Error(`pipeline ${this.application} is already built; define every operator before build()`);
    const node: NodeSpec = { id: this.nodes.length, name: spec.name, parents: spec.parents, stores: spec.stores ?? [], sourceTopic: spec.sourceTopic, sinkTopic: spec.sinkTopic, create: spec.create };
    this.nodes.push(node);
    if (spec.sinkTopic !== undefined) this.sinkTopics.add(spec.sinkTopic);
    return node;
  }

  /** Declares a store of the topology; operators open it with task.store(name). */
  addStore<K, V>(name: string, keySerde: Serde<K>, valueSerde: Serde<V>, changelog = true): void {
    if (this.storeSpecs.has(name)) throw new Error(`store name ${name} is used twice in pipeline ${this.application}; give the operators different names`);
    this.storeSpecs.set(name, { keySerde: keySerde as Serde<unknown>, valueSerde: valueSerde as Serde<unknown>, changelog });
  }

  /** Declares an internal topic `<application>-<suffix>` and returns its full name. */
  addInternalTopic(suffix: string, partitions?: number): string {
    const name = `${this.application}-${suffix}`;
    if (this.internal.some((t) => t.name === name)) throw new Error(`internal topic ${name} is declared twice; give the operators different names`);
    this.internal.push(partitions === undefined ? { name } : { name, partitions });
    return name;
  }

  /** A source node: the task feeds it the records of `topic`. */
  source<K, V>(topic: string, name: string, key: Serde<K>, value: Serde<V>, timestamp: TimestampExtractor<K, V> | undefined, watermark: WatermarkOptions | null): NodeSpec {
    if (this.sourceTopics.has(topic)) throw new Error(`topic ${topic} is already a source of pipeline ${this.application}; read it once and reuse the stream (or table)`);
    this.sourceTopics.add(topic);
    return this.addNode({ name, parents: [], sourceTopic: topic, create: (task) => new SourceOperator(task, name, topic, key, value, timestamp, watermark) });
  }

  /** A unique suffix for generated names: `<kind>-<n>`. */
  generatedName(kind: string): string {
    return `${kind}-${String(this.nodes.length).padStart(4, '0')}`;
  }

  /** Compiles the pipeline into a Topology (once; later calls return the same one). */
  build(): Topology {
    if (this.built === null) this.built = this.compile();
    return this.built;
  }

  private compile(): Topology {
    const nodes = this.nodes;
    if (nodes.length === 0) throw new Error(`pipeline ${this.application} has no sources; start with p.stream(topic, ...) or p.table(topic, ...)`);
    // Union-find: edges and shared stores put nodes in one sub-topology.
    const parent = nodes.map((_, i) => i);
    const find = (i: number): number => {
      while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
      return i;
    };
    const union = (a: number, b: number): void => {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
    };
    const storeOwner = new Map<string, number>();
    for (const n of nodes) {
      for (const p of n.parents) union(n.id, p.id);
      for (const s of n.stores) {
        if (!this.storeSpecs.has(s)) throw new Error(`operator ${n.name} uses store ${s}, which the pipeline never declared (addStore)`);
        const owner = storeOwner.get(s);
        if (owner === undefined) storeOwner.set(s, n.id);
        else union(owner, n.id);
      }
    }
    const groups = new Map<number, NodeSpec[]>();
    for (const n of nodes) {
      const r = find(n.id);
      let g = groups.get(r);
      if (g === undefined) groups.set(r, (g = []));
      g.push(n);
    }
    // Sub-topology ids in order of their first node: a definition always compiles the same way.
    const ordered = [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
    const subOf = new Map<number, number>();
    const subtopologies: SubTopology[] = ordered.map((group, id) => {
      for (const n of group) subOf.set(n.id, id);
      const sources = group.filter((n) => n.sourceTopic !== undefined).map((n) => n.sourceTopic!);
      // Not in the SubTopology contract: what it writes, so the driver can size internal topics.
      const writes = group.filter((n) => n.sinkTopic !== undefined).map((n) => n.sinkTopic!);
      return {
        id,
        sources,
        writes,
        createTask: (ctx: TaskContext) => instantiate(group, ctx),
      };
    });
    const stores: TypedStoreSpec[] = [...this.storeSpecs.entries()].map(([name, s]) => {
      const owner = storeOwner.get(name);
      if (owner === undefined) throw new Error(`store ${name} is declared but no operator uses it`);
      return { name, subtopology: subOf.get(owner)!, changelog: s.changelog, keySerde: s.keySerde, valueSerde: s.valueSerde };
    });
    const internalTopics = this.internal.map((t) => ({ ...t }));
    const internalNames = new Set(internalTopics.map((t) => t.name));
    const sinks = [...this.sinkTopics].filter((t) => !internalNames.has(t));
    const application = this.application;
    const describe = (): string => {
      const lines = [`Topology ${application}:`];
      for (const [i, group] of ordered.entries()) {
        lines.push(`  Sub-topology ${i}: sources ${subtopologies[i]!.sources.join(', ')}`);
        for (const n of group) {
          const from = n.parents.length === 0 ? '' : ` <- ${n.parents.map((p) => p.name).join(', ')}`;
          const extra = [n.stores.length > 0 ? `stores: ${n.stores.join(', ')}` : '', n.sinkTopic !== undefined ? `-> ${n.sinkTopic}` : ''].filter((x) => x !== '').join('; ');
          lines.push(`    ${n.name}${from}${extra === '' ? '' : ` (${extra})`}`);
        }
      }
      return lines.join('\n');
    };
    return { application, subtopologies, stores, internalTopics, sinks, describe };
  }
}

/** Builds one task's operators, parents before children (node ids are topological). */
function instantiate(group: readonly NodeSpec[], ctx: TaskContext): Task {
  const task = new Task(ctx);
  const made = new Map<number, Operator>();
  for (const n of group) {
    const op = n.create(task);
    made.set(n.id, op);
    task.operators.push(op);
    for (const p of n.parents) made.get(p.id)!.children.push(op);
  }
  return task;
}

/** Starts a pipeline definition; `application` is its id (consumer group, internal topic prefix). */
export function pipeline(application: string): Pipeline {
  return new Pipeline(application);
}

/** A stream of typed records. Every method adds an operator and returns the stream after it. */
export class KStream<K, V> {
  constructor(
    readonly pipeline: Pipeline,
    readonly node: NodeSpec,
    /** The key serde when known (from the source or a keyBy); undefined after a key-changing map. */
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
    /** The key changed since the last partitioning: grouping by it needs a repartition first. */
    readonly keyChanged: boolean,
    /** Watermark options a repartition's source carries on. */
    readonly watermark: WatermarkOptions,
  ) {}

  /** A stream after an operator added by code outside this file (windows, joins). */
  derive<K2, V2>(node: NodeSpec, keySerde: Serde<K2> | undefined, valueSerde: Serde<V2> | undefined, keyChanged = this.keyChanged): KStream<K2, V2> {
    return new KStream<K2, V2>(this.pipeline, node, keySerde, valueSerde, keyChanged, this.watermark);
  }

  private add<K2, V2>(kind: string, named: Named | undefined, make: (task: Task, name: string) => Operator, keySerde: Serde<K2> | undefined, valueSerde: Serde<V2> | undefined, keyChanged: boolean): KStream<K2, V2> {
    const name = opName(kind, named);
    const node = this.pipeline.addNode({ name, parents: [this.node], create: (task) => make(task, name) });
    return this.derive<K2, V2>(node, keySerde, valueSerde, keyChanged);
  }

  filter(predicate: (r: Rec<K, V>) => boolean, options?: Named): KStream<K, V> {
    return this.add('filter', options, (t, n) => new FilterOperator(t, n, predicate), this.keySerde, this.valueSerde, this.keyChanged);
  }

  /** New key and value; a later groupByKey repartitions by the new key. */
  map<K2, V2>(fn: (r: Rec<K, V>) => KeyValue<K2, V2>, options?: Named): KStream<K2, V2> {
    return this.add<K2, V2>('map', options, (t, n) => new MapOperator(t, n, fn), undefined, undefined, true);
  }

  /** A new value; the key (and partitioning) stays. */
  mapValues<V2>(fn: (r: Rec<K, V>) => V2, options?: Named): KStream<K, V2> {
    return this.add<K, V2>('mapValues', options, (t, n) => new MapValuesOperator(t, n, fn), this.keySerde, undefined, this.keyChanged);
  }

  /** Zero or more records per record. */
  flatMap<K2, V2>(fn: (r: Rec<K, V>) => Iterable<KeyValue<K2, V2>>, options?: Named): KStream<K2, V2> {
    return this.add<K2, V2>('flatMap', options, (t, n) => new FlatMapOperator(t, n, fn), undefined, undefined, true);
  }

  /** Zero or more values per record, each with the record's key. */
  flatMapValues<V2>(fn: (r: Rec<K, V>) => Iterable<V2>, options?: Named): KStream<K, V2> {
    const toKv = (r: Rec<K, V>): KeyValue<K, V2>[] => {
      const out: KeyValue<K, V2>[] = [];
      for (const value of fn(r)) out.push({ key: r.key, value });
      return out;
    };
    return this.add<K, V2>('flatMapValues', options, (t, n) => new FlatMapOperator(t, n, toKv), this.keySerde, undefined, this.keyChanged);
  }

  /**
   * An async value per record (enrichment from a service): up to `concurrency` calls at once,
   * results forwarded in input order per key. A rejected promise makes the record poison.
   */
  mapAsync<V2>(fn: (r: Rec<K, V>) => Promise<V2>, options?: MapAsyncOptions): KStream<K, V2> {
    return this.add<K, V2>('mapAsync', options, (t, n) => new MapAsyncOperator(t, n, fn, options), this.keySerde, undefined, this.keyChanged);
  }

  /** Sees each record (logging, metrics) and passes it on unchanged. */
  peek(fn: (r: Rec<K, V>) => void, options?: Named): KStream<K, V> {
    return this.add('peek', options, (t, n) => new PeekOperator(t, n, fn), this.keySerde, this.valueSerde, this.keyChanged);
  }

  /**
   * A new key, and a repartition through the internal topic `<application>-<name>-repartition`
   * so that every record of a key reaches the same task downstream.
   */
  keyBy<K2>(fn: (r: Rec<K, V>) => K2, options?: KeyByOptions<K2, V>): KStream<K2, V> {
    const selected = this.add<K2, V>('keyBy', options, (t, n) => new SelectKeyOperator(t, n, fn), options?.key, this.valueSerde, true);
    return selected.repartition(options?.name ?? this.pipeline.generatedName('keyBy'), options);
  }

  /** Sends the stream through the internal topic `<application>-<name>-repartition` and reads it back in a new sub-topology. */
  repartition(name: string, options?: { key?: Serde<K>; value?: Serde<V>; partitions?: number }): KStream<K, V> {
    const key = options?.key ?? this.keySerde ?? (serdes.json<K>() as Serde<K>);
    const value = options?.value ?? this.valueSerde ?? (serdes.json<V>() as Serde<V>);
    const p = this.pipeline;
    const topic = p.addInternalTopic(`${name}-repartition`, options?.partitions);
    const sinkName = `repartition(${name})`;
    p.addNode({ name: sinkName, parents: [this.node], sinkTopic: topic, create: (t) => new SinkOperator(t, sinkName, topic, key, value, undefined) });
    const src = p.source(topic, `source(${topic})`, key, value, undefined, this.watermark);
    return new KStream<K, V>(p, src, key, value, false, this.watermark);
  }

  /**
   * Routes each record to the first branch whose predicate holds; records matching none are
   * dropped. A type-guard predicate (`(r): r is Rec<K, Refund> => ...`) narrows its branch's value type.
   */
  branch<const P extends readonly ((r: Rec<K, V>) => boolean)[]>(...predicates: P): { [I in keyof P]: KStream<K, Narrowed<P[I], V>> } {
    const name = opName('branch', undefined);
    const b = this.pipeline.addNode({ name, parents: [this.node], create: (task) => new BranchOperator(task, name, predicates) });
    return predicates.map((_, i) => {
      const portName = `${name}[${i}]`;
      const port = this.pipeline.addNode({ name: portName, parents: [b], create: (task) => new PassOperator(task, portName) });
      return this.derive<K, V>(port, this.keySerde, this.valueSerde);
    }) as { [I in keyof P]: KStream<K, Narrowed<P[I], V>> };
  }

  /** Named branches: `split({ big: r => r.value.n > 9, small: () => true })`; first match wins. */
  split<const B extends Record<string, (r: Rec<K, V>) => boolean>>(branches: B): { [N in keyof B]: KStream<K, Narrowed<B[N], V>> } {
    const names = Object.keys(branches);
    const streams = this.branch(...names.map((n) => branches[n]!));
    const out: Record<string, KStream<K, V>> = {};
    names.forEach((n, i) => (out[n] = streams[i]!));
    return out as { [N in keyof B]: KStream<K, Narrowed<B[N], V>> };
  }

  /** Both streams' records in one stream (same key and value types). */
  merge(...others: KStream<K, V>[]): KStream<K, V> {
    const name = 'merge';
    const node = this.pipeline.addNode({ name, parents: [this.node, ...others.map((o) => o.node)], create: (task) => new PassOperator(task, name) });
    const changed = this.keyChanged || others.some((o) => o.keyChanged);
    return this.derive<K, V>(node, this.keySerde, this.valueSerde, changed);
  }

  /**
   * A custom operator (README.md, "Writing an operator"): `create` makes one per task. Stores
   * it uses must be declared first with `pipeline.addStore`. `keyChanged` (default false)
   * says the operator changes keys, so a later groupByKey repartitions.
   */
  process<K2 = K, V2 = V>(
    create: (task: Task, name: string) => Operator<K, V, K2, V2>,
    options: { name: string; stores?: readonly string[]; key?: Serde<K2>; value?: Serde<V2>; keyChanged?: boolean },
  ): KStream<K2, V2> {
    const name = options.name;
    const node = this.pipeline.addNode({ name, parents: [this.node], stores: options.stores, create: (task) => create(task, name) });
    return this.derive<K2, V2>(node, options.key, options.value, options.keyChanged ?? this.keyChanged);
  }

  /** Writes the stream to a topic. */
  to(topic: string, options: SinkOptions<K, V>): void {
    const name = options.name === undefined ? `to(${topic})` : `to(${options.name})`;
    this.pipeline.addNode({ name, parents: [this.node], sinkTopic: topic, create: (task) => new SinkOperator(task, name, topic, options.key, options.value, options.partitioner) });
  }

  /** Groups by the current key (repartitioning first when a map changed it). */
  groupByKey(options?: { key?: Serde<K>; value?: Serde<V> }): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this, options?.key ?? this.keySerde, options?.value ?? this.valueSerde);
  }

  /** Stream-table join: each record with the table's current value for its key; records without one are dropped. */
  join<T, O>(table: KTable<K, T, any>, joiner: (value: V, tableValue: T, key: K) => O, options?: Named): KStream<K, O>;
  /** Windowed stream-stream join: pairs of records of one key at most `within` ms apart. */
  join<V2, O>(other: KStream<K, V2>, joiner: (value: V, other: V2, key: K) => O, options: JoinWindowOptions): KStream<K, O>;
  join(other: KTable<K, any, any> | KStream<K, any>, joiner: (a: any, b: any, key: K) => any, options?: any): KStream<K, any> {
    if (other instanceof KTable) return joinStreamTable(this, 'inner', other, joiner, options);
    return joinStreams(this, 'inner', other, joiner, options);
  }

  /** Stream-table left join: every record, with the table's value for its key or undefined. */
  leftJoin<T, O>(table: KTable<K, T, any>, joiner: (value: V, tableValue: T | undefined, key: K) => O, options?: Named): KStream<K, O>;
  /** Windowed left join: pairs, and each record of this stream that found none (with undefined) once its window closes. */
  leftJoin<V2, O>(other: KStream<K, V2>, joiner: (value: V, other: V2 | undefined, key: K) => O, options: JoinWindowOptions): KStream<K, O>;
  leftJoin(other: KTable<K, any, any> | KStream<K, any>, joiner: (a: any, b: any, key: K) => any, options?: any): KStream<K, any> {
    if (other instanceof KTable) return joinStreamTable(this, 'left', other, joiner, options);
    return joinStreams(this, 'left', other, joiner, options);
  }

  /** Windowed outer join: pairs, and records of either side that found none once their window closes. */
  outerJoin<V2, O>(other: KStream<K, V2>, joiner: (value: V | undefined, other: V2 | undefined, key: K) => O, options: JoinWindowOptions): KStream<K, O> {
    return joinStreams(this, 'outer', other, joiner, options);
  }

  /** keyBy then groupByKey. */
  groupBy<K2>(fn: (r: Rec<K, V>) => K2, options?: KeyByOptions<K2, V>): KGroupedStream<K2, V> {
    return this.keyBy(fn, options).groupByKey();
  }
}

/** A stream grouped by key, ready to aggregate into a table. */
export class KGroupedStream<K, V> {
  constructor(
    readonly stream: KStream<K, V>,
    readonly keySerde: Serde<K> | undefined,
    readonly valueSerde: Serde<V> | undefined,
  ) {}

  /** The stream to aggregate: repartitioned by key when a map changed the key. */
  partitioned(name: string): KStream<K, V> {
    const s = this.stream;
    return s.keyChanged ? s.repartition(name, { key: this.keySerde, value: this.valueSerde }) : s;
  }

  /** Cuts the groups into event-time windows: tumbling(), hopping(), slidingWindows(), sessionWindows(). */
  windowedBy(windows: Windows): WindowedKStream<K, V> {
    return new WindowedKStream<K, V>(this, windows);
  }

  /** Records per key. */
  count(options?: AggregateOptions<number>): KTable<K, number> {
    return this.aggregateWith('count', options, serdes.long, () => 1, (n) => n + 1);
  }

  /** Combines values of a key: the first value as it is, then reducer(aggregate, value). */
  reduce(reducer: (aggregate: V, value: V, r: Rec<K, V>) => V, options?: AggregateOptions<V>): KTable<K, V> {
    return this.aggregateWith('reduce', options, options?.value ?? this.valueSerde ?? (serdes.json<V>() as Serde<V>), (r) => r.value, (a, r) => reducer(a, r.value, r));
  }

  /** Folds values of a key into an aggregate starting from initializer(). */
  aggregate<A>(initializer: () => A, adder: (aggregate: A, r: Rec<K, V>) => A, options?: AggregateOptions<A>): KTable<K, A> {
    return this.aggregateWith('aggregate', options, options?.value ?? (serdes.json<A>() as Serde<A>), (r) => adder(initializer(), r), adder);
  }

  private aggregateWith<A>(kind: string, options: AggregateOptions<A> | undefined, valueSerde: Serde<A>, first: (r: Rec<K, V>) => A, add: (a: A, r: Rec<K, V>) => A): KTable<K, A> {
    const p = this.stream.pipeline;
    const storeName = options?.name ?? p.generatedName(kind);
    const input = this.partitioned(storeName);
    const keySerde = this.keySerde ?? input.keySerde ?? (serdes.json<K>() as Serde<K>);
    p.addStore(storeName, keySerde, valueSerde, options?.changelog ?? true);
    const name = `${kind}(${storeName})`;
    const node = p.addNode({ name, parents: [input.node], stores: [storeName], create: (task) => new AggregateOperator(task, name, storeName, keySerde, valueSerde, first, add) });
    return new KTable<K, A>(p, node, storeName, keySerde, valueSerde);
  }
}

/**
 * A table: the latest value per key, in the store `storeName`. `U` is what its updates carry
 * (`V | null` for a table read from a topic, where null is a deletion).
 */
export class KTable<K, V, U = V> {
  constructor(
    readonly pipeline: Pipeline,
    /** The node that emits the table's updates. */
    readonly node: NodeSpec,
    readonly storeName: string,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
  ) {}

  /** Table-table join: a result for keys in both tables, updated (or deleted: null) when either changes. */
  join<V2, O>(other: KTable<K, V2, any>, joiner: (value: V, other: V2, key: K) => O, options?: Named): KTable<K, O, O | null> {
    return joinTables(this, 'inner', other, joiner as (l: V | undefined, r: V2 | undefined, key: K) => O, options);
  }

  /** Table-table left join: a result for every key of this table. */
  leftJoin<V2, O>(other: KTable<K, V2, any>, joiner: (value: V, other: V2 | undefined, key: K) => O, options?: Named): KTable<K, O, O | null> {
    return joinTables(this, 'left', other, joiner as (l: V | undefined, r: V2 | undefined, key: K) => O, options);
  }

  /** Table-table outer join: a result for every key of either table. */
  outerJoin<V2, O>(other: KTable<K, V2, any>, joiner: (value: V | undefined, other: V2 | undefined, key: K) => O, options?: Named): KTable<K, O, O | null> {
    return joinTables(this, 'outer', other, joiner, options);
  }

  /** Every update of the table as a record (a deletion has a null value). */
  toStream(): KStream<K, U> {
    return new KStream<K, U>(this.pipeline, this.node, this.keySerde, undefined, false, {});
  }

  /**
   * Re-keys the table for an aggregation with an adder and a subtractor
   * (`groupBy(fn).aggregate(init, add, subtract)`, Kafka Streams' KGroupedTable): each update
   * takes the key's old value out of its group and puts the new one in its (maybe other)
   * group, through the internal topic `<application>-<name>-repartition`. The key's last value
   * is kept in the store `<name>-prev` to know what to take out.
   */
  groupBy<K2, V2>(selector: (key: K, value: V) => KeyValue<K2, V2>, options?: TableGroupByOptions<K2, V2>): KGroupedTable<K2, V2> {
    const p = this.pipeline;
    const name = options?.name ?? p.generatedName('table-groupBy');
    const keySerde = options?.key ?? (serdes.json<K2>() as Serde<K2>);
    const changes = changeSerde(options?.value ?? (serdes.json<V2>() as Serde<V2>));
    const prevStore = `${name}-prev`;
    p.addStore(prevStore, this.keySerde, this.valueSerde);
    const opName = `groupBy(${name})`;
    const { keySerde: tableKey, valueSerde: tableValue } = this;
    const node = p.addNode({ name: opName, parents: [this.node], stores: [prevStore], create: (task) => new TableGroupByOperator<K, V, K2, V2>(task, opName, prevStore, tableKey, tableValue, keySerde, selector) });
    const selected = new KStream<K2, Change<V2>>(p, node, keySerde, changes, true, {});
    return new KGroupedTable<K2, V2>(selected.repartition(name, { key: keySerde, value: changes, partitions: options?.partitions }), keySerde);
  }
}

/** A table re-keyed by KTable.groupBy: its updates as changes (old value out, new value in), partitioned by the new key. */
export class KGroupedTable<K, V> {
  constructor(
    readonly changes: KStream<K, Change<V>>,
    readonly keySerde: Serde<K>,
  ) {}

  /**
   * Per group: `adder` folds in a value that entered the group, `subtractor` takes out one that
   * left (a key's update, deletion or move to another group). When a key's update stays in
   * its group, both run before the one result goes out.
   */
  aggregate<A>(initializer: () => A, adder: (aggregate: A, value: V, key: K) => A, subtractor: (aggregate: A, value: V, key: K) => A, options?: AggregateOptions<A>): KTable<K, A> {
    const apply = (aggregate: A, r: Rec<K, Change<V>>): A => {
      let a = aggregate;
      if (r.value.old !== undefined) a = subtractor(a, r.value.old, r.key);
      if (r.value.new !== undefined) a = adder(a, r.value.new, r.key);
      return a;
    };
    return this.changes.groupByKey({ key: this.keySerde }).aggregate(initializer, apply, options);
  }
}
