// The TestDriver: runs a Topology in memory, without a broker, with time under the test's
// control (Kafka Streams' TopologyTestDriver). It runs tasks as the runtime does: one
// TaskProcessor per partition of each sub-topology, a MemoryStore per task and store,
// repartition (and any other read-back) topics held in memory and fed to the sub-topology
// that reads them, flush + store commit at a commit point (after every pipe, or when the
// test calls commit()). Every topic written is kept and readable with output().
import type { Headers, InputRecord, OutputRecord, RecordError, Serde, SubTopology, TaskContext, TaskMetrics, TaskProcessor, Topology } from './types.js';
import type { TypedStoreSpec } from './dsl.js';
import { MemoryStore, MemoryStoreFactory } from './state/memory-store.js';
import { partitionForKey } from './partitioner.js';

export interface TestDriverOptions {
  /** Partitions per topic (sources, sinks, internal topics); others have `defaultPartitions`. */
  partitions?: Record<string, number>;
  /** Default 1. An internal topic without a count has as many as the sub-topology that writes it. */
  defaultPartitions?: number;
  /** Processing time at the start, ms (default 0). */
  startTime?: number;
  /** 'every-pipe' (default): flush and commit after each pipe and advanceTime; 'manual': only on commit(). */
  commit?: 'every-pipe' | 'manual';
  /** 'collect' (default): poison records go to deadLetters(); 'throw': the pipe that met one rejects. */
  onError?: 'collect' | 'throw';
  /** Stores (default: a fresh MemoryStoreFactory). Give the same factory to a second driver to restart with the committed state. */
  stores?: MemoryStoreFactory;
}

export interface PipeOptions {
  /** Event time of the record (its Kafka timestamp); default: the driver's processing time. */
  timestamp?: number;
  /** Default: murmur2 of the key bytes (Kafka's default partitioner); round-robin for a null key. */
  partition?: number;
  headers?: Headers;
}

export interface OutputRecordOf<K, V> {
  topic: string;
  partition: number;
  offset: number;
  key: K;
  value: V;
  timestamp: number;
  headers: Headers;
}

/** A poison record, as the runtime would send it to the dead-letter topic. */
export interface DeadLetter extends RecordError {
  /** The error's message (what the dead-letter headers carry). */
  message: string;
  taskId: string;
}

export interface TestInput<K, V> {
  pipe(key: K, value: V, options?: PipeOptions): Promise<void>;
  /** Pipes each [key, value] in order. */
  pipeAll(records: Iterable<readonly [K, V]>, options?: PipeOptions): Promise<void>;
}

export interface TestOutput<K, V> {
  /** Records not read yet, in the order they were written (across partitions); reading consumes them. */
  readAll(): OutputRecordOf<K, V>[];
  readKeyValues(): [K, V][];
  readValues(): V[];
  isEmpty(): boolean;
}

export interface DriverMetrics {
  recordsIn: number;
  recordsOut: Record<string, number>;
  lateRecords: Record<string, number>;
  /** The last watermark each task reported. */
  watermarks: Record<string, number>;
}

interface StoredRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Headers;
}

interface DriverTask {
  id: string;
  processor: TaskProcessor;
  stores: Map<string, MemoryStore>;
}

export class TestDriver {
  readonly topology: Topology;
  private time: number;
  private readonly opts: Required<Omit<TestDriverOptions, 'partitions' | 'stores'>> & { partitions: Record<string, number> };
  private readonly factory: MemoryStoreFactory;
  /** tasks[subtopology][partition] */
  private readonly tasks: DriverTask[][] = [];
  private readonly readers = new Map<string, SubTopology>();
  private readonly logs = new Map<string, StoredRecord[]>();
  private readonly cursors = new Map<string, number>();
  private readonly nextOffset = new Map<string, number>();
  private readonly queue: InputRecord[] = [];
  private readonly dead: DeadLetter[] = [];
  /** Per topic: the partition the next null-key record goes to. */
  private readonly roundRobin = new Map<string, number>();
  private checkpoint = 0n;
  private closed = false;
  readonly metrics: DriverMetrics = { recordsIn: 0, recordsOut: {}, lateRecords: {}, watermarks: {} };

  constructor(topology: Topology | { build(): Topology }, options: TestDriverOptions = {}) {
    this.topology = 'subtopologies' in topology ? topology : topology.build();
    this.opts = {
      partitions: options.partitions ?? {},
      defaultPartitions: options.defaultPartitions ?? 1,
      startTime: options.startTime ?? 0,
      commit: options.commit ?? 'every-pipe',
      onError: options.onError ?? 'collect',
    };
    this.time = this.opts.startTime;
    this.factory = options.stores ?? new MemoryStoreFactory();
    for (const sub of this.topology.subtopologies) {
      for (const t of sub.sources) {
        if (this.readers.has(t)) throw new Error(`topic ${t} is read by sub-topologies ${this.readers.get(t)!.id} and ${sub.id}; a topic may be read by one sub-topology only`);
        this.readers.set(t, sub);
      }
    }
    for (const sub of this.topology.subtopologies) {
      const n = Math.max(...sub.sources.map((t) => this.partitionsOf(t)));
      const row: DriverTask[] = [];
      for (let p = 0; p < n; p++) row.push(this.createTask(sub, p));
      this.tasks.push(row);
    }
  }

  /** Processing time now, ms. */
  now(): number {
    return this.time;
  }

  /** Partitions of a topic in this test. */
  partitionsOf(topic: string): number {
    const given = this.opts.partitions[topic];
    if (given !== undefined) return given;
    const internal = this.topology.internalTopics.find((t) => t.name === topic);
    if (internal !== undefined) {
      if (internal.partitions !== undefined) return internal.partitions;
      const writer = this.topology.subtopologies.find((s) => this.writes(s, topic));
      if (writer !== undefined) return Math.max(...writer.sources.map((t) => this.partitionsOf(t)));
    }
    return this.opts.defaultPartitions;
  }

  /** Whether a sub-topology writes a topic (DSL-built topologies list it in `writes`). */
  private writes(sub: SubTopology, topic: string): boolean {
    const writes = (sub as SubTopology & { writes?: readonly string[] }).writes;
    if (writes !== undefined) return writes.includes(topic);
    // A topology from elsewhere: the writer of a repartition topic comes before its reader.
    const reader = this.readers.get(topic);
    return reader !== undefined && sub.id < reader.id && !sub.sources.includes(topic);
  }

  input<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestInput<K, V> {
    if (!this.readers.has(topic)) throw new Error(`topic ${topic} is not read by ${this.topology.application}; it reads ${[...this.readers.keys()].join(', ')}`);
    const pipe = async (key: K, value: V, o?: PipeOptions): Promise<void> => {
      this.checkOpen();
      const k = keySerde.serialize(key);
      const v = valueSerde.serialize(value);
      const r = this.append({ topic, partition: o?.partition, key: k, value: v, timestamp: o?.timestamp ?? this.time, headers: o?.headers ?? [] });
      await this.run(r);
      if (this.opts.commit === 'every-pipe') await this.commit();
    };
    return {
      pipe,
      pipeAll: async (records, o) => {
        for (const [k, v] of records) await pipe(k, v, o);
      },
    };
  }

  output<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutput<K, V> {
    const readAll = (): OutputRecordOf<K, V>[] => {
      const log = this.logs.get(topic) ?? [];
      const from = this.cursors.get(topic) ?? 0;
      this.cursors.set(topic, log.length);
      return log.slice(from).map((r) => ({ topic, partition: r.partition, offset: r.offset, key: keySerde.deserialize(r.key), value: valueSerde.deserialize(r.value), timestamp: r.timestamp, headers: r.headers }));
    };
    return {
      readAll,
      readKeyValues: () => readAll().map((r) => [r.key, r.value]),
      readValues: () => readAll().map((r) => r.value),
      isEmpty: () => (this.logs.get(topic)?.length ?? 0) <= (this.cursors.get(topic) ?? 0),
    };
  }

  /** A store's contents across all tasks, typed with the serdes the topology declared (or the ones given). */
  store<K, V>(name: string, keySerde?: Serde<K>, valueSerde?: Serde<V>): { get(key: K): V | undefined; all(): [K, V][] } {
    const spec = this.topology.stores.find((s) => s.name === name) as TypedStoreSpec<K, V> | undefined;
    if (spec === undefined) throw new Error(`no store ${name} in ${this.topology.application}; its stores: ${this.topology.stores.map((s) => s.name).join(', ') || 'none'}`);
    const ks = keySerde ?? spec.keySerde;
    const vs = valueSerde ?? spec.valueSerde;
    if (ks === undefined || vs === undefined) throw new Error(`store ${name} has no serdes in the topology; pass them: d.store(name, keySerde, valueSerde)`);
    const stores = this.tasks[spec.subtopology]!.map((t) => t.stores.get(name)!);
    return {
      get: (key) => {
        const k = ks.serialize(key)!;
        for (const s of stores) {
          const v = s.get(k);
          if (v !== undefined) return vs.deserialize(v);
        }
        return undefined;
      },
      all: () => {
        const out: [K, V][] = [];
        for (const s of stores) for (const [k, v] of s.entries()) out.push([ks.deserialize(k), vs.deserialize(v)]);
        return out;
      },
    };
  }

  /** Poison records reported so far. */
  deadLetters(): DeadLetter[] {
    return this.dead.slice();
  }

  /** Moves processing time forward and ticks every task (idle partitions, punctuation). */
  async advanceTime(ms: number): Promise<void> {
    this.checkOpen();
    if (!(ms >= 0)) throw new Error(`advanceTime needs a duration >= 0; got ${ms}`);
    this.time += ms;
    for (const row of this.tasks) for (const t of row) t.processor.tick(this.time);
    await this.drain();
    if (this.opts.commit === 'every-pipe') await this.commit();
  }

  /** A commit point: flush every task (until nothing more moves), then commit every store. */
  async commit(): Promise<void> {
    this.checkOpen();
    // Records a flush sends (mapAsync results, to repartition topics) change downstream tasks,
    // which then need a flush of their own: repeat until a round moves nothing.
    let moved: number;
    do {
      for (const row of this.tasks) for (const t of row) await t.processor.flush();
      moved = await this.drain();
    } while (moved > 0);
    this.checkpoint++;
    for (const row of this.tasks) for (const t of row) for (const s of t.stores.values()) await s.commit(this.checkpoint);
  }

  /** Closes every task and store (committed state stays in the store factory). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const row of this.tasks) for (const t of row) t.processor.close();
    for (const row of this.tasks) for (const t of row) for (const s of t.stores.values()) await s.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the TestDriver is closed; create a new one');
  }

  private createTask(sub: SubTopology, partition: number): DriverTask {
    const id = `${sub.id}_${partition}`;
    const stores = new Map<string, MemoryStore>();
    for (const spec of this.topology.stores) {
      if (spec.subtopology === sub.id) stores.set(spec.name, this.factory.openSync(id, spec.name));
    }
    const metrics: TaskMetrics = {
      recordsIn: (n) => (this.metrics.recordsIn += n),
      recordsOut: (topic, n) => (this.metrics.recordsOut[topic] = (this.metrics.recordsOut[topic] ?? 0) + n),
      lateRecords: (op, n) => (this.metrics.lateRecords[op] = (this.metrics.lateRecords[op] ?? 0) + n),
      watermark: (wm) => (this.metrics.watermarks[id] = wm),
      endToEnd: () => {},
    };
    const ctx: TaskContext = {
      taskId: id,
      subtopology: sub.id,
      partition,
      application: this.topology.application,
      store: (name) => {
        const s = stores.get(name);
        if (s === undefined) throw new Error(`task ${id} has no store ${name}; stores of sub-topology ${sub.id}: ${[...stores.keys()].join(', ') || 'none'}`);
        return s;
      },
      send: (r) => {
        metrics.recordsOut(r.topic, 1);
        const stored = this.append(r);
        if (this.readers.has(r.topic)) this.queue.push(stored);
      },
      partitions: (topic) => this.partitionsOf(topic),
      now: () => this.time,
      recordError: (e) => {
        const message = e.error instanceof Error ? e.error.message : String(e.error);
        if (this.opts.onError === 'throw') throw new Error(`poison record in task ${id}, operator ${e.operator}: ${message}`, { cause: e.error });
        this.dead.push({ ...e, message, taskId: id });
      },
      metrics,
    };
    return { id, processor: sub.createTask(ctx), stores };
  }

  /** Writes a record to a topic's log, picking its partition as a producer would. */
  private append(r: OutputRecord): InputRecord & { offset: bigint } {
    const n = this.partitionsOf(r.topic);
    let partition = r.partition;
    if (partition === undefined) {
      if (r.key !== null) partition = partitionForKey(r.key, n);
      else {
        partition = (this.roundRobin.get(r.topic) ?? 0) % n;
        this.roundRobin.set(r.topic, partition + 1);
      }
    }
    if (!Number.isInteger(partition) || partition < 0 || partition >= n) throw new Error(`partition ${partition} of topic ${r.topic} does not exist; it has ${n} (set TestDriver options.partitions)`);
    const tp = `${r.topic}/${partition}`;
    const offset = this.nextOffset.get(tp) ?? 0;
    this.nextOffset.set(tp, offset + 1);
    const headers = r.headers ?? [];
    let log = this.logs.get(r.topic);
    if (log === undefined) this.logs.set(r.topic, (log = []));
    log.push({ topic: r.topic, partition, offset, key: r.key, value: r.value, timestamp: r.timestamp, headers });
    return { topic: r.topic, partition, offset: BigInt(offset), key: r.key, value: r.value, timestamp: r.timestamp, headers, appendTime: this.time };
  }

  /** Processes a record of a read topic, then everything it caused on read-back topics. */
  private async run(r: InputRecord): Promise<void> {
    this.queue.push(r);
    await this.drain();
  }

  /** Processes queued records (and what they cause); returns how many. */
  private async drain(): Promise<number> {
    let n = 0;
    while (this.queue.length > 0) {
      n++;
      const r = this.queue.shift()!;
      const sub = this.readers.get(r.topic)!;
      const task = this.tasks[sub.id]![r.partition];
      if (task === undefined) throw new Error(`no task for partition ${r.partition} of ${r.topic}; sub-topology ${sub.id} has ${this.tasks[sub.id]!.length}`);
      this.metrics.recordsIn++;
      const wait = task.processor.process(r);
      if (wait !== undefined) await wait;
    }
    return n;
  }
}
