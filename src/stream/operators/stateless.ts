// Stateless operators: one class each, the user's function called directly per record.
// A function that throws makes the record a poison record reported with this operator's name.
import type { Serde } from '../types.js';
import { Operator, type Rec, type Task } from './processor.js';

export interface KeyValue<K, V> {
  key: K;
  value: V;
}

export class FilterOperator<K, V> extends Operator<K, V> {
  constructor(task: Task, name: string, private readonly predicate: (r: Rec<K, V>) => boolean) {
    super(task, name);
  }

  process(r: Rec<K, V>): void {
    let keep: boolean;
    try {
      keep = this.predicate(r);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (keep) this.forward(r);
  }
}

export class MapOperator<K, V, K2, V2> extends Operator<K, V, K2, V2> {
  constructor(task: Task, name: string, private readonly fn: (r: Rec<K, V>) => KeyValue<K2, V2>) {
    super(task, name);
  }

  process(r: Rec<K, V>): void {
    let out: KeyValue<K2, V2>;
    try {
      out = this.fn(r);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.forward({ key: out.key, value: out.value, timestamp: r.timestamp, headers: r.headers });
  }
}

export class MapValuesOperator<K, V, V2> extends Operator<K, V, K, V2> {
  constructor(task: Task, name: string, private readonly fn: (r: Rec<K, V>) => V2) {
    super(task, name);
  }

  process(r: Rec<K, V>): void {
    let value: V2;
    try {
      value = this.fn(r);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.forward({ key: r.key, value, timestamp: r.timestamp, headers: r.headers });
  }
}

/** The key changes, the value stays (keyBy before its repartition). */
export class SelectKeyOperator<K, V, K2> extends Operator<K, V, K2, V> {
  constructor(task: Task, name: string, private readonly fn: (r: Rec<K, V>) => K2) {
    super(task, name);
  }

  process(r: Rec<K, V>): void {
    let key: K2;
    try {
      key = this.fn(r);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.forward({ key, value: r.value, timestamp: r.timestamp, headers: r.headers });
  }
}

export class FlatMapOperator<K, V, K2, V2> extends Operator<K, V, K2, V2> {
  constructor(task: Task, name: string, private readonly fn: (r: Rec<K, V>) => Iterable<KeyValue<K2, V2>>) {
    super(task, name);
  }

  process(r: Rec<K, V>): void {
    let out: KeyValue<K2, V2>[];
    try {
      // Collected first: a function that throws halfway emits nothing (the record is poison as a whole).
      const it = this.fn(r);
      out = Array.isArray(it) ? it : [...it];
    } catch (e) {
      this.fail(e);
      return;
    }
    for (let i = 0; i < out.length; i++) {
      const kv = out[i]!;
      this.forward({ key: kv.key, value: kv.value, timestamp: r.timestamp, headers: r.headers });
    }
  }
}

export class PeekOperator<K, V> extends Operator<K, V> {
  constructor(task: Task, name: string, private readonly fn: (r: Rec<K, V>) => void) {
    super(task, name);
  }

  process(r: Rec<K, V>): void {
    try {
      this.fn(r);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.forward(r);
  }
}

/** Passes records on unchanged: a merge of several parents, or one output of a branch. */
export class PassOperator<K, V> extends Operator<K, V> {
  process(r: Rec<K, V>): void {
    this.forward(r);
  }
}

/** Each record goes to the first branch whose predicate holds (children[i] is branch i); none: dropped, as the user asked. */
export class BranchOperator<K, V> extends Operator<K, V> {
  constructor(task: Task, name: string, private readonly predicates: readonly ((r: Rec<K, V>) => boolean)[]) {
    super(task, name);
  }

  process(r: Rec<K, V>): void {
    const p = this.predicates;
    for (let i = 0; i < p.length; i++) {
      let hit: boolean;
      try {
        hit = p[i]!(r);
      } catch (e) {
        this.fail(e);
        return;
      }
      if (hit) {
        this.children[i]!.process(r);
        return;
      }
    }
  }
}

export type Partitioner<K, V> = (key: K, value: V, partitions: number) => number;

/** Serializes and sends to a topic (a user sink, or a repartition topic). */
export class SinkOperator<K, V> extends Operator<K, V, never, never> {
  constructor(
    task: Task,
    name: string,
    private readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly partitioner: Partitioner<K, V> | undefined,
  ) {
    super(task, name);
  }

  process(r: Rec<K, V>): void {
    let key: Buffer | null;
    let value: Buffer | null;
    let partition: number | undefined;
    try {
      key = this.keySerde.serialize(r.key);
      value = this.valueSerde.serialize(r.value);
      if (this.partitioner !== undefined) partition = this.partition(r);
    } catch (e) {
      this.fail(e);
      return;
    }
    const ctx = this.task.ctx;
    ctx.send({ topic: this.topic, partition, key, value, timestamp: r.timestamp, headers: r.headers });
    const now = ctx.now();
    const append = this.task.current?.appendTime;
    ctx.metrics.endToEnd(now - r.timestamp, append === undefined ? undefined : now - append);
  }

  private partition(r: Rec<K, V>): number {
    const ctx = this.task.ctx;
    if (ctx.partitions === undefined) throw new Error(`to(${this.topic}) has a partitioner, but this runner does not tell partition counts (TaskContext.partitions)`);
    const n = ctx.partitions(this.topic);
    const p = this.partitioner!(r.key, r.value, n);
    if (!Number.isInteger(p) || p < 0 || p >= n) throw new Error(`the partitioner of to(${this.topic}) returned ${p}; it must be an integer from 0 to ${n - 1}`);
    return p;
  }
}
