// A typed write-back cache over one task's bytes store: operators read and write typed keys
// and values; bytes reach the store on flush() (before every commit), so a key updated many
// times between commits is serialized and written once.
import type { KeyValueStore, Serde } from '../types.js';

interface Entry<K, V> {
  key: K;
  /** undefined: absent (read as missing, or deleted). */
  value: V | undefined;
  dirty: boolean;
}

export class StoreCache<K, V> {
  private readonly entries = new Map<unknown, Entry<K, V>>();
  private dirtyCount = 0;

  /** Past maxEntries, a flush also empties the cache (reads then go to the store again). */
  constructor(
    readonly store: KeyValueStore,
    readonly keySerde: Serde<K>,
    readonly valueSerde: Serde<V>,
    readonly maxEntries = 10_000,
  ) {}

  /** Strings and numbers are their own map key; anything else by its serialized bytes. */
  private id(key: K): unknown {
    const t = typeof key;
    if (t === 'string' || t === 'number') return key;
    return this.keySerde.serialize(key)!.toString('latin1');
  }

  get(key: K): V | undefined {
    const id = this.id(key);
    const e = this.entries.get(id);
    if (e !== undefined) return e.value;
    const bytes = this.store.get(this.keyBytes(key));
    const value = bytes === undefined ? undefined : this.valueSerde.deserialize(bytes);
    this.entries.set(id, { key, value, dirty: false });
    return value;
  }

  put(key: K, value: V): void {
    this.set(key, value);
  }

  delete(key: K): void {
    this.set(key, undefined);
  }

  private set(key: K, value: V | undefined): void {
    const id = this.id(key);
    const e = this.entries.get(id);
    if (e === undefined) {
      this.entries.set(id, { key, value, dirty: true });
      this.dirtyCount++;
      return;
    }
    e.value = value;
    if (!e.dirty) {
      e.dirty = true;
      this.dirtyCount++;
    }
  }

  /** Writes every dirty entry to the store. */
  flush(): void {
    if (this.dirtyCount > 0) {
      for (const e of this.entries.values()) {
        if (!e.dirty) continue;
        const k = this.keyBytes(e.key);
        if (e.value === undefined) this.store.delete(k);
        else {
          const v = this.valueSerde.serialize(e.value);
          if (v === null) this.store.delete(k);
          else this.store.put(k, v);
        }
        e.dirty = false;
      }
      this.dirtyCount = 0;
    }
    if (this.entries.size > this.maxEntries) this.entries.clear();
  }

  /** Forgets cached entries without writing them (the runner aborted: the store is the truth again). */
  clear(): void {
    this.entries.clear();
    this.dirtyCount = 0;
  }

  private keyBytes(key: K): Buffer {
    const k = this.keySerde.serialize(key);
    if (k === null) throw new Error('a store key serialized to null; store keys need bytes');
    return k;
  }
}
