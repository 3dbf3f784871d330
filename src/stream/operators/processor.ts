// The internal operator API (see README.md, "Writing an operator"). A task is a graph of
// Operator instances built by SubTopology.createTask; records move by direct calls
// (process -> forward -> child.process), watermarks by advanceWatermark, and the Task runs
// flush/tick/close over every operator in topological order.
import type { Headers, InputRecord, KeyValueStore, Serde, TaskContext, TaskProcessor } from '../types.js';
import { PartitionClock, taskWatermark } from '../event-time.js';
import { StoreCache } from '../state/store-cache.js';

/** A typed record between operators. Immutable by convention: operators that pass a record on unchanged forward the same object. */
export interface Rec<K, V> {
  readonly key: K;
  readonly value: V;
  /** Event time, ms. */
  readonly timestamp: number;
  readonly headers: Headers;
}

export abstract class Operator<KIn = any, VIn = any, KOut = KIn, VOut = VIn> {
  /** Operators fed by this one, in the order the pipeline defined them. */
  readonly children: Operator<KOut, VOut, any, any>[] = [];
  /** The last watermark this operator saw (a merge sees each one once per parent). */
  watermarkSeen = -Infinity;

  /** `name` is what recordError reports as the operator ("map", "map(enrich)", ...). */
  constructor(
    readonly task: Task,
    readonly name: string,
  ) {}

  /** One record from a parent. Never throws for a user function's failure: report it with this.fail. */
  abstract process(r: Rec<KIn, VIn>): void;

  protected forward(r: Rec<KOut, VOut>): void {
    const c = this.children;
    if (c.length === 1) c[0]!.process(r);
    else for (let i = 0; i < c.length; i++) c[i]!.process(r);
  }

  /** Called by parents (and the task for sources) when the task's watermark moved forward. */
  advanceWatermark(watermark: number): void {
    if (watermark <= this.watermarkSeen) return;
    this.watermarkSeen = watermark;
    this.onWatermark(watermark);
  }

  /** Override to act on watermarks (close windows); call forwardWatermark to pass it on. */
  protected onWatermark(watermark: number): void {
    this.forwardWatermark(watermark);
  }

  protected forwardWatermark(watermark: number): void {
    const c = this.children;
    for (let i = 0; i < c.length; i++) c[i]!.advanceWatermark(watermark);
  }

  /** Processing time moved (wall-clock punctuation). */
  onTick(_now: number): void {}

  /** Before a commit: finish async work, write caches to stores. Runs parents before children. */
  flush(): void | Promise<void> {}

  close(): void {}

  /** Reports the current input as a poison record failed by this operator. */
  protected fail(error: unknown): void {
    this.task.recordError(this.name, error);
  }
}

/** Something the task calls for each input record of one source topic. */
export interface SourceEntry {
  receive(input: InputRecord): void;
  advanceWatermark(watermark: number): void;
}

/** One task: the TaskProcessor a runner drives. */
export class Task implements TaskProcessor {
  /** The input record being processed (async operators set it back while forwarding late results). */
  current: InputRecord | null = null;
  /** The task's watermark (event time, ms); -Infinity before any. */
  watermark = -Infinity;
  /** Every operator, in topological order (creation order). */
  readonly operators: Operator[] = [];
  closed = false;
  private readonly sources = new Map<string, SourceEntry>();
  private readonly sourceList: SourceEntry[] = [];
  private readonly clocks: PartitionClock[] = [];
  private roomWait: Promise<void> | null = null;
  private readonly caches = new Map<string, StoreCache<any, any>>();

  constructor(readonly ctx: TaskContext) {}

  addSource(topic: string, source: SourceEntry): void {
    if (this.sources.has(topic)) throw new Error(`topic ${topic} is read twice in one sub-topology; read it once and reuse the stream`);
    this.sources.set(topic, source);
    this.sourceList.push(source);
  }

  /** An event-time input partition: it takes part in the task's watermark. */
  addClock(clock: PartitionClock): void {
    this.clocks.push(clock);
  }

  store(name: string): KeyValueStore {
    return this.ctx.store(name);
  }

  /**
   * The task's typed write-back cache of a store: one per store, shared by every operator that
   * uses it (a table and the join that reads it see the same unflushed writes). The task
   * writes it to the store on flush(), after the operators' own flushes.
   */
  cache<K, V>(storeName: string, keySerde: Serde<K>, valueSerde: Serde<V>): StoreCache<K, V> {
    let c = this.caches.get(storeName);
    if (c === undefined) {
      c = new StoreCache(this.ctx.store(storeName), keySerde, valueSerde);
      this.caches.set(storeName, c);
    }
    return c as StoreCache<K, V>;
  }

  process(input: InputRecord): void | Promise<void> {
    const source = this.sources.get(input.topic);
    if (source === undefined) {
      throw new Error(`task ${this.ctx.taskId} got a record of topic ${input.topic}, which it does not read (it reads ${[...this.sources.keys()].join(', ')})`);
    }
    this.current = input;
    source.receive(input);
    this.updateWatermark();
    if (this.roomWait !== null) {
      const w = this.roomWait;
      this.roomWait = null;
      return w;
    }
  }

  tick(now: number): void {
    for (let i = 0; i < this.clocks.length; i++) this.clocks[i]!.checkIdle(now);
    this.updateWatermark();
    const ops = this.operators;
    for (let i = 0; i < ops.length; i++) ops[i]!.onTick(now);
  }

  async flush(): Promise<void> {
    const ops = this.operators;
    for (let i = 0; i < ops.length; i++) {
      const p = ops[i]!.flush();
      if (p !== undefined) await p;
    }
    for (const c of this.caches.values()) c.flush();
  }

  close(): void {
    this.closed = true;
    for (const op of this.operators) op.close();
  }

  /** A poison record, reported by `operator`. */
  recordError(operator: string, error: unknown): void {
    if (this.current === null) throw new Error(`operator ${operator} failed outside any record: ${String(error)}`, { cause: error });
    this.ctx.recordError({ operator, error, input: this.current });
  }

  /** An async operator is full: the runner waits for `room` before the next process(). */
  waitForRoom(room: Promise<void>): void {
    this.roomWait = room;
  }

  /** A record's event time was below the watermark when `operator` needed it on time. */
  late(operator: string): void {
    this.ctx.metrics.lateRecords(operator, 1);
  }

  private updateWatermark(): void {
    if (this.clocks.length === 0) return;
    const wm = taskWatermark(this.clocks, this.watermark);
    if (wm <= this.watermark) return;
    this.watermark = wm;
    this.ctx.metrics.watermark(wm);
    const s = this.sourceList;
    for (let i = 0; i < s.length; i++) s[i]!.advanceWatermark(wm);
  }
}
