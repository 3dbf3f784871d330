// The contracts between the parts of Rivulet Streams (see README.md in this folder):
//   the DSL and operators (engine) build a Topology;
//   a runner (the in-memory TestDriver, or the Kafka runtime) executes it, one TaskProcessor
//   per task, giving each a TaskContext (state stores, output, processing time, errors).
// Everything below is plain data and interfaces: no Kafka client, no I/O.

/** Turns values of one type into bytes and back. `null` is Kafka's null (a tombstone as a value). */
export interface Serde<T> {
  serialize(value: T): Buffer | null;
  deserialize(data: Buffer | null): T;
}

/** Record headers, in order; Kafka allows a name more than once. */
export type Headers = ReadonlyArray<readonly [string, Buffer]>;

/** A record as it arrives from an input partition, still bytes. */
export interface InputRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** The record's timestamp (CreateTime, or LogAppendTime when the topic stamps it), ms. */
  timestamp: number;
  headers: Headers;
  /** When the broker appended the batch, ms, when known (LogAppendTime topics); for end-to-end latency. */
  appendTime?: number;
}

/** A record to produce. No partition: the default partitioner (murmur2 of the key bytes, as Kafka's). */
export interface OutputRecord {
  topic: string;
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: Headers;
}

/**
 * One named key-value store of one task, over bytes, ordered by unsigned byte order of keys.
 * Reads see every write made so far, committed or not.
 */
export interface KeyValueStore {
  get(key: Buffer): Buffer | undefined;
  put(key: Buffer, value: Buffer): void;
  delete(key: Buffer): void;
  /** Entries with from <= key < to, in key order. */
  range(from: Buffer, to: Buffer): IterableIterator<[Buffer, Buffer]>;
  /** Number of entries (may be approximate for a persistent store). */
  approximateSize(): number;
}

/**
 * A task's store as the runner holds it: writes since the last commit are pending; `commit`
 * makes them durable together with the changelog offset restore would resume from, `abort`
 * drops them. A store that was never committed has no checkpoint.
 */
export interface PersistentStore extends KeyValueStore {
  /** Makes pending writes durable, atomically with `checkpoint` (the changelog offset from which a restore resumes). */
  commit(checkpoint: bigint): Promise<void>;
  /** Drops pending writes: reads see the last commit again. */
  abort(): void;
  /** The changelog offset of the last commit, or undefined (restore from the start of the changelog). */
  checkpoint(): bigint | undefined;
  close(): Promise<void>;
  /** Closes and deletes the local copy (the changelog rebuilds it). */
  destroy(): Promise<void>;
}

/** Opens stores; one per (task, store name), under the pipeline's state directory. */
export interface StoreFactory {
  open(taskId: string, storeName: string): Promise<PersistentStore>;
}

/** A state store a topology declares. */
export interface StoreSpec {
  name: string;
  /** The sub-topology whose tasks own it. */
  subtopology: number;
  /** Backed by a compacted changelog topic `<application>-<name>-changelog` (default true). */
  changelog: boolean;
}

/** A topic the pipeline creates and owns (repartition topics; changelogs are derived from StoreSpec). */
export interface InternalTopicSpec {
  /** The full name: `<application>-<suffix>`. */
  name: string;
  /** Partitions: the same as the sub-topology that writes it, unless given. */
  partitions?: number;
  config?: Record<string, string>;
}

/** Called by operators for a record they cannot process (a poison record). */
export interface RecordError {
  /** Which operator failed: "deserialize", "map", ... with its name when the user gave one. */
  operator: string;
  error: unknown;
  /** The input record being processed when it failed. */
  input: InputRecord;
}

/** What a runner gives each task. */
export interface TaskContext {
  /** "<subtopology>_<partition>", as Kafka Streams names tasks. */
  readonly taskId: string;
  readonly subtopology: number;
  readonly partition: number;
  readonly application: string;
  /** The task's store (opened and restored by the runner before the task processes anything). */
  store(name: string): KeyValueStore;
  /** Produces a record (sinks, repartition topics). Under exactly-once it is part of the task's transaction. */
  send(record: OutputRecord): void;
  /**
   * Partitions of a topic the task writes (for sinks with a partitioner). Optional so runners
   * built before it compile; a sink with a partitioner fails with a clear error without it.
   */
  partitions?(topic: string): number;
  /** Processing time, ms (the driver controls it; the runtime reads the clock). */
  now(): number;
  /** A poison record: the runner sends it to the dead-letter topic or stops the pipeline, by setting. Never skipped silently. */
  recordError(e: RecordError): void;
  /** Metrics the operators report; a no-op in the driver unless asked for. */
  readonly metrics: TaskMetrics;
}

/** Counters and histograms a runner exports (Prometheus in the runtime). Labels: the task and operator. */
export interface TaskMetrics {
  /** Counted by the runner (every record given to the processor, every send), not by operators. */
  recordsIn(n: number): void;
  recordsOut(topic: string, n: number): void;
  lateRecords(operator: string, n: number): void;
  /** The task's watermark moved to `watermark` (event time, ms). */
  watermark(watermark: number): void;
  /** End-to-end latency of one output record, from its event time and (when known) its input's append time, ms. */
  endToEnd(fromEventTimeMs: number, fromAppendTimeMs: number | undefined): void;
}

/** One task's processor graph, built by `SubTopology.createTask`. */
export interface TaskProcessor {
  /**
   * One input record of one of the sub-topology's source partitions. Synchronous unless an
   * async operator (mapAsync) is full: then the promise settles when it has room again.
   */
  process(input: InputRecord): void | Promise<void>;
  /** Processing time moved (idle partitions, wall-clock punctuation). */
  tick(now: number): void;
  /**
   * Before every commit: waits for in-flight async work, writes cached state to the stores
   * and sends what is buffered, so that every input processed so far has all its effects
   * in stores and sends.
   */
  flush(): Promise<void>;
  /** The task is being closed (revoked, or the pipeline stops); nothing is sent after this. */
  close(): void;
}

/** A group of operators fed by co-partitioned source topics: its tasks are the partitions. */
export interface SubTopology {
  id: number;
  /** Topics read (user topics and repartition topics); co-partitioned: task p reads partition p of each. */
  sources: string[];
  createTask(ctx: TaskContext): TaskProcessor;
}

/** What a pipeline definition compiles to, and what runners execute. */
export interface Topology {
  /** The application id: consumer group id, prefix of internal topics and transactional ids. */
  application: string;
  subtopologies: SubTopology[];
  stores: StoreSpec[];
  internalTopics: InternalTopicSpec[];
  /** Topics written by sinks (for checks and tooling). */
  sinks: string[];
  /** A readable description of the graph (for `rivulet run --describe` and errors). */
  describe(): string;
}
