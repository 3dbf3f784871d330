// An in-memory PersistentStore: what the TestDriver gives every task, and a reference for
// the store contract suite. Committed entries live in a sorted array (unsigned byte order,
// for range); writes since the last commit sit in a pending map (a deletion is `null`) that
// commit merges and abort drops. Nothing survives the process: close keeps nothing.
import type { KeyValueStore, PersistentStore, StoreFactory } from '../types.js';

/** Pending writes keyed by the key bytes as a latin1 string (one char per byte, order kept). */
type Pending = Map<string, Buffer | null>;

export class MemoryStore implements PersistentStore {
  /** Committed entries sorted by key (Buffer.compare is unsigned byte order). */
  private keys: Buffer[] = [];
  private values: Buffer[] = [];
  private pending: Pending = new Map();
  private committed: bigint | undefined = undefined;
  private closed = false;

  constructor(readonly name = 'memory') {}

  get(key: Buffer): Buffer | undefined {
    this.checkOpen();
    const p = this.pending.get(key.toString('latin1'));
    if (p !== undefined) return p === null ? undefined : p;
    const i = this.search(key);
    return i >= 0 ? this.values[i] : undefined;
  }

  put(key: Buffer, value: Buffer): void {
    this.checkOpen();
    // Copies: callers may reuse their buffers.
    this.pending.set(key.toString('latin1'), Buffer.from(value));
  }

  delete(key: Buffer): void {
    this.checkOpen();
    this.pending.set(key.toString('latin1'), null);
  }

  range(from: Buffer, to: Buffer): IterableIterator<[Buffer, Buffer]> {
    return this.scan(from, to);
  }

  /** Every entry, in key order (for tests and tools). */
  entries(): IterableIterator<[Buffer, Buffer]> {
    return this.scan(Buffer.alloc(0), undefined);
  }

  private *scan(from: Buffer, to: Buffer | undefined): IterableIterator<[Buffer, Buffer]> {
    this.checkOpen();
    // A merged view of committed and pending entries, as of the call.
    const pend = [...this.pending.entries()]
      .map(([k, v]) => [Buffer.from(k, 'latin1'), v] as const)
      .filter(([k]) => Buffer.compare(k, from) >= 0 && (to === undefined || Buffer.compare(k, to) < 0))
      .sort((a, b) => Buffer.compare(a[0], b[0]));
    let i = this.lowerBound(from);
    let j = 0;
    while (true) {
      const ck = i < this.keys.length && (to === undefined || Buffer.compare(this.keys[i]!, to) < 0) ? this.keys[i]! : undefined;
      const pk = j < pend.length ? pend[j]! : undefined;
      if (ck === undefined && pk === undefined) return;
      const c = ck === undefined ? 1 : pk === undefined ? -1 : Buffer.compare(ck, pk[0]);
      if (c < 0) {
        yield [ck!, this.values[i]!];
        i++;
      } else {
        if (c === 0) i++; // the pending write shadows the committed entry
        if (pk![1] !== null) yield [pk![0], pk![1]];
        j++;
      }
    }
  }

  approximateSize(): number {
    let n = this.keys.length;
    for (const [k, v] of this.pending) {
      const exists = this.search(Buffer.from(k, 'latin1')) >= 0;
      if (v === null && exists) n--;
      else if (v !== null && !exists) n++;
    }
    return n;
  }

  async commit(checkpoint: bigint): Promise<void> {
    this.checkOpen();
    for (const [k, v] of this.pending) {
      const key = Buffer.from(k, 'latin1');
      const i = this.search(key);
      if (v === null) {
        if (i >= 0) {
          this.keys.splice(i, 1);
          this.values.splice(i, 1);
        }
      } else if (i >= 0) {
        this.values[i] = v;
      } else {
        const at = -i - 1;
        this.keys.splice(at, 0, key);
        this.values.splice(at, 0, v);
      }
    }
    this.pending = new Map();
    this.committed = checkpoint;
  }

  abort(): void {
    this.pending = new Map();
  }

  checkpoint(): bigint | undefined {
    return this.committed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async destroy(): Promise<void> {
    this.keys = [];
    this.values = [];
    this.pending = new Map();
    this.committed = undefined;
    this.closed = true;
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Takes the committed contents of a closed store (a reopen after a clean close). */
  restoreFrom(other: MemoryStore): void {
    this.keys = other.keys.slice();
    this.values = other.values.slice();
    this.committed = other.committed;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`store ${this.name} is closed; open it again from its StoreFactory`);
  }

  /** Index of key in the committed keys, or -(insertion point) - 1. */
  private search(key: Buffer): number {
    let lo = 0;
    let hi = this.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = Buffer.compare(this.keys[mid]!, key);
      if (c < 0) lo = mid + 1;
      else if (c > 0) hi = mid - 1;
      else return mid;
    }
    return -lo - 1;
  }

  private lowerBound(key: Buffer): number {
    const i = this.search(key);
    return i >= 0 ? i : -i - 1;
  }
}

/**
 * Memory stores by (task, name). Reopening a store the factory opened before gives its
 * committed contents back (as a restart with a local checkpoint would); `destroy` forgets it.
 */
export class MemoryStoreFactory implements StoreFactory {
  private readonly stores = new Map<string, MemoryStore>();

  async open(taskId: string, storeName: string): Promise<MemoryStore> {
    return this.openSync(taskId, storeName);
  }

  /** The same as open, for runners that cannot wait (the TestDriver). */
  openSync(taskId: string, storeName: string): MemoryStore {
    const id = `${taskId}/${storeName}`;
    let s = this.stores.get(id);
    if (s === undefined || s.isClosed()) {
      const next = new MemoryStore(id);
      if (s !== undefined && s.checkpoint() !== undefined) next.restoreFrom(s);
      s = next;
      this.stores.set(id, s);
    }
    return s;
  }
}

export type { KeyValueStore };
