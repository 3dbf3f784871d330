// Tables in a task's store, and the joins that read them (Kafka Streams' semantics):
//   stream-table: each stream record looks up the table's current value for its key (the table
//     side never triggers output); inner drops records without a table value, left keeps them.
//   table-table: an update on either side recomputes the key's result and emits it; when the
//     result disappears (a delete, or inner with one side gone) a tombstone (null) is emitted,
//     but only if there was a result before.

import type { KeyValueStore, Serde } from '../types.js';

/** What a join reads of a table. */
export interface TableView<K, V> {
  get(key: K): V | undefined;
}

class CachedValue<V> {
  dirty = true;
  constructor(
    readonly keyBytes: Buffer,
    public value: V | undefined,
  ) {}
}

/**
 * A materialized table: latest value per key, typed values cached in memory (write-back),
 * bytes in the store after `flush`. Store layout: key bytes -> value bytes.
 */
export class KeyValueTable<K, V> implements TableView<K, V> {
  private readonly cache = new Map<unknown, CachedValue<V>>();
  private readonly dirty: CachedValue<V>[] = [];
  constructor(
    private readonly store: KeyValueStore,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    /** Clean entries kept after a flush; beyond it the cache is emptied and reads go to the store. */
    private readonly maxCached = 100_000,
  ) {}

  get(key: K): V | undefined {
    const c = this.lookup(key);
    return c?.value;
  }

  /** Sets (undefined or null: deletes) the key's value; returns the previous one. */
  put(key: K, value: V | null | undefined): V | undefined {
    const id = this.idOf(key);
    let c = this.cache.get(id);
    if (c === undefined) c = this.load(id, key);
    const old = c.value;
    c.value = value ?? undefined;
    if (!c.dirty) {
      c.dirty = true;
      this.dirty.push(c);
    }
    return old;
  }

  flush(): void {
    for (const c of this.dirty) {
      c.dirty = false;
      if (c.value === undefined) this.store.delete(c.keyBytes);
      else this.store.put(c.keyBytes, this.valueSerde.serialize(c.value) ?? Buffer.alloc(0));
    }
    this.dirty.length = 0;
    if (this.cache.size > this.maxCached) this.cache.clear();
  }

  private lookup(key: K): CachedValue<V> | undefined {
    const id = this.idOf(key);
    const c = this.cache.get(id);
    return c ?? this.load(id, key);
  }

  private load(id: unknown, key: K): CachedValue<V> {
    const keyBytes = this.keySerde.serialize(key) ?? Buffer.alloc(0);
    const bytes = this.store.get(keyBytes);
    const c = new CachedValue<V>(keyBytes, bytes === undefined ? undefined : this.valueSerde.deserialize(bytes));
    c.dirty = false;
    this.cache.set(id, c);
    return c;
  }

  private idOf(key: K): unknown {
    const t = typeof key;
    if (t === 'string' || t === 'number') return key;
    return (this.keySerde.serialize(key) ?? Buffer.alloc(0)).toString('latin1');
  }
}

export type TableJoinKind = 'inner' | 'left' | 'outer';

/** Stream-table join of one record: the joined value, or undefined when an inner join drops it. */
export function joinWithTable<K, V, T, O>(kind: 'inner' | 'left', table: TableView<K, T>, key: K, value: V, joiner: (value: V, tableValue: T | undefined, key: K) => O): O | undefined {
  const t = table.get(key);
  if (t === undefined && kind === 'inner') return undefined;
  return joiner(value, t, key);
}

/** Table-table join of two tables in the same task; call on every update of either side. */
export class TableTableJoin<K, L, R, O> {
  constructor(
    private readonly kind: TableJoinKind,
    private readonly left: KeyValueTable<K, L>,
    private readonly right: KeyValueTable<K, R>,
    private readonly joiner: (left: L | undefined, right: R | undefined, key: K) => O,
    private readonly sink: { tableResult(key: K, value: O | null, timestamp: number): void },
  ) {}

  /** The left table's key changed to `value` (null: deleted). */
  updateLeft(key: K, value: L | null, ts: number): void {
    const old = this.left.put(key, value);
    const r = this.right.get(key);
    this.emit(key, old, r, value ?? undefined, r, ts);
  }

  /** The right table's key changed to `value` (null: deleted). */
  updateRight(key: K, value: R | null, ts: number): void {
    const old = this.right.put(key, value);
    const l = this.left.get(key);
    this.emit(key, l, old, l, value ?? undefined, ts);
  }

  private has(l: L | undefined, r: R | undefined): boolean {
    if (this.kind === 'inner') return l !== undefined && r !== undefined;
    if (this.kind === 'left') return l !== undefined;
    return l !== undefined || r !== undefined;
  }

  private emit(key: K, oldL: L | undefined, oldR: R | undefined, l: L | undefined, r: R | undefined, ts: number): void {
    if (this.has(l, r)) this.sink.tableResult(key, this.joiner(l, r, key), ts);
    else if (this.has(oldL, oldR)) this.sink.tableResult(key, null, ts);
  }
}
