// One task: a partition of one sub-topology. It owns its stores (each wrapped so that every
// write since the last commit is remembered for the changelog), the context its operators
// see, and its processor. The pipeline creates, drives, commits and closes tasks.

import type {
  InputRecord, KeyValueStore, OutputRecord, PersistentStore, RecordError, SubTopology, TaskContext, TaskMetrics, TaskProcessor,
} from '../types.js';

/** A change to a store since the last commit: a value, or null for a delete (a tombstone in the changelog). */
export interface StoreChange {
  key: Buffer;
  value: Buffer | null;
}

/**
 * The task's view of a PersistentStore: reads and writes go through, and each write is also
 * appended to `changes` (the runtime sends them to the changelog partition at commit). Operators
 * flush their write-back caches at commit, so each key appears about once per commit.
 */
export class ChangeRecordingStore implements KeyValueStore {
  changes: StoreChange[] = [];
  constructor(readonly name: string, readonly inner: PersistentStore, readonly changelogTopic: string | undefined) {}
  get(key: Buffer): Buffer | undefined {
    return this.inner.get(key);
  }
  put(key: Buffer, value: Buffer): void {
    this.inner.put(key, value);
    if (this.changelogTopic !== undefined) this.changes.push({ key: Buffer.from(key), value: Buffer.from(value) });
  }
  delete(key: Buffer): void {
    this.inner.delete(key);
    if (this.changelogTopic !== undefined) this.changes.push({ key: Buffer.from(key), value: null });
  }
  range(from: Buffer, to: Buffer): IterableIterator<[Buffer, Buffer]> {
    return this.inner.range(from, to);
  }
  approximateSize(): number {
    return this.inner.approximateSize();
  }
}

/** What a task hands the pipeline: sends, dead letters and errors go through these. */
export interface TaskSink {
  send(task: Task, record: OutputRecord): void;
  recordError(task: Task, e: RecordError): void;
}

export class Task implements TaskContext {
  readonly taskId: string;
  processor: TaskProcessor | undefined;
  /** True once the processor exists (stores restored). */
  running = false;
  /** Records processed since the last commit (offsets to commit). */
  dirty = false;

  constructor(
    readonly sub: SubTopology,
    readonly partition: number,
    readonly application: string,
    readonly stores: Map<string, ChangeRecordingStore>,
    readonly metrics: TaskMetrics,
    private readonly sink: TaskSink,
    /** Partition counts of the topics the pipeline knows (sources and internal topics). */
    private readonly topicPartitions: ReadonlyMap<string, number> = new Map(),
  ) {
    this.taskId = `${sub.id}_${partition}`;
  }

  /** Partitions of a source or internal topic (sinks with a partitioner, operators that address every task). */
  partitions(topic: string): number {
    const n = this.topicPartitions.get(topic);
    if (n === undefined) throw new Error(`task ${this.taskId} does not know how many partitions topic "${topic}" has: only the pipeline's source and internal (repartition) topics are known (${[...this.topicPartitions.keys()].join(', ') || 'none'})`);
    return n;
  }

  get subtopology(): number {
    return this.sub.id;
  }

  start(): void {
    this.processor = this.sub.createTask(this);
    this.running = true;
  }

  store(name: string): KeyValueStore {
    const s = this.stores.get(name);
    if (!s) throw new Error(`task ${this.taskId} has no store "${name}": declare it in the topology's stores with subtopology ${this.sub.id} (it has: ${[...this.stores.keys()].join(', ') || 'none'})`);
    return s;
  }
  send(record: OutputRecord): void {
    // A late async result of an abandoned processor: its input is processed again.
    if (this.processor === undefined) return;
    this.sink.send(this, record);
  }
  now(): number {
    return Date.now();
  }
  recordError(e: RecordError): void {
    if (this.processor === undefined) return;
    this.sink.recordError(this, e);
  }

  process(input: InputRecord): void | Promise<void> {
    this.dirty = true;
    return this.processor!.process(input);
  }

  /**
   * Stops the processor, stores kept open: after a roll back, its work is dropped and the task
   * is closed or rebuilt. Nothing it emits from now on (late async results) is sent.
   */
  abandon(): void {
    if (this.processor) {
      try {
        this.processor.close();
      } catch {
        // A processor that fails to close has nothing more to send.
      }
    }
    this.processor = undefined;
    this.running = false;
  }

  /** Closes the processor and the stores; pending store writes are dropped unless committed before. */
  async close(): Promise<void> {
    this.abandon();
    for (const s of this.stores.values()) {
      s.inner.abort();
      s.changes = [];
      await s.inner.close();
    }
  }
}
