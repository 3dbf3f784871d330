// Shared by the windows and joins tests: a small sorted in-memory store and a result collector.

import type { KeyValueStore, Serde } from '../../../src/stream/types.js';
import type { WindowResultSink } from '../../../src/stream/windows/window-aggregation.js';

export class SortedMapStore implements KeyValueStore {
  readonly map = new Map<string, Buffer>();
  get(key: Buffer): Buffer | undefined {
    return this.map.get(key.toString('latin1'));
  }
  put(key: Buffer, value: Buffer): void {
    this.map.set(key.toString('latin1'), Buffer.from(value));
  }
  delete(key: Buffer): void {
    this.map.delete(key.toString('latin1'));
  }
  *range(from: Buffer, to: Buffer): IterableIterator<[Buffer, Buffer]> {
    const keys = [...this.map.keys()].map((k) => Buffer.from(k, 'latin1')).filter((k) => Buffer.compare(k, from) >= 0 && Buffer.compare(k, to) < 0);
    keys.sort(Buffer.compare);
    for (const k of keys) yield [k, this.map.get(k.toString('latin1'))!];
  }
  approximateSize(): number {
    return this.map.size;
  }
}

export const stringSerde: Serde<string> = {
  serialize: (v) => Buffer.from(v),
  deserialize: (b) => (b === null ? '' : b.toString()),
};

export interface Result<R> {
  key: string;
  start: number;
  end: number;
  value: R | null;
  timestamp: number;
}

export class Collector<R> implements WindowResultSink<string, R> {
  readonly results: Result<R>[] = [];
  windowResult(key: string, start: number, end: number, value: R | null, timestamp: number): void {
    this.results.push({ key, start, end, value, timestamp });
  }
  /** "key@start-end=value" lines, for compact assertions. */
  lines(): string[] {
    return this.results.map((r) => `${r.key}@${r.start}-${r.end}=${r.value === null ? 'null' : JSON.stringify(r.value)}`);
  }
  /** The last value of every window, dropping windows whose last result is a tombstone. */
  latest(): Map<string, R> {
    const m = new Map<string, R | null>();
    for (const r of this.results) m.set(`${r.key}@${r.start}-${r.end}`, r.value);
    const out = new Map<string, R>();
    for (const [k, v] of m) if (v !== null) out.set(k, v);
    return out;
  }
}
