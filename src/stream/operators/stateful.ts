// Keyed state operators over a StoreCache: a table's latest value per key, and the grouped
// aggregations (count, reduce, aggregate). Each emits the new value on every update.
import type { Serde } from '../types.js';
import type { StoreCache } from '../state/store-cache.js';
import { Operator, type Rec, type Task } from './processor.js';

/** The latest value per key of a compacted topic; a null value (tombstone) deletes the key. */
export class TableOperator<K, V> extends Operator<K, V | null> {
  private readonly cache: StoreCache<K, V>;

  constructor(task: Task, name: string, readonly storeName: string, keySerde: Serde<K>, valueSerde: Serde<V>) {
    super(task, name);
    this.cache = task.cache(storeName, keySerde, valueSerde);
  }

  process(r: Rec<K, V | null>): void {
    if (r.key === null || r.key === undefined) {
      this.fail(new Error('a table record has no key; every record of a table topic needs one (the key is what the table is indexed by)'));
      return;
    }
    if (r.value === null) this.cache.delete(r.key);
    else this.cache.put(r.key, r.value);
    this.forward(r);
  }

  /** The value for a key, as of the records processed so far (joins read it). */
  get(key: K): V | undefined {
    return this.cache.get(key);
  }
}

/** Folds each record into the value kept for its key and emits the new value. */
export class AggregateOperator<K, V, A> extends Operator<K, V, K, A> {
  private readonly cache: StoreCache<K, A>;

  constructor(
    task: Task,
    name: string,
    readonly storeName: string,
    keySerde: Serde<K>,
    valueSerde: Serde<A>,
    /** The value for a key's first record. */
    private readonly first: (r: Rec<K, V>) => A,
    /** The value after a later record. */
    private readonly add: (aggregate: A, r: Rec<K, V>) => A,
  ) {
    super(task, name);
    this.cache = task.cache(storeName, keySerde, valueSerde);
  }

  process(r: Rec<K, V>): void {
    if (r.key === null || r.key === undefined) {
      this.fail(new Error('cannot aggregate a record without a key; give it one with keyBy() or map() first'));
      return;
    }
    let next: A;
    try {
      const current = this.cache.get(r.key);
      next = current === undefined ? this.first(r) : this.add(current, r);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.cache.put(r.key, next);
    this.forward({ key: r.key, value: next, timestamp: r.timestamp, headers: r.headers });
  }

  /** The aggregate for a key, as of the records processed so far (joins read it). */
  get(key: K): A | undefined {
    return this.cache.get(key);
  }
}
