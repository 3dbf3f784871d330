// A PersistentStore in memory, for tests and until a persistent factory is given. The
// factory plays the local disk: a store closed and opened again by the same factory finds
// its committed entries and checkpoint, as a persistent store finds its files.

import type { PersistentStore, StoreFactory } from '../types.js';

type Entries = Map<string, Buffer>;

interface Saved {
  entries: Entries;
  checkpoint: bigint | undefined;
}

/** Keys as latin1 strings keep byte order under string comparison. */
const k = (b: Buffer) => b.toString('latin1');

class MemoryPersistentStore implements PersistentStore {
  /** Pending writes: a value, or null for a delete. */
  private readonly pending = new Map<string, Buffer | null>();
  constructor(private readonly saved: Saved, private readonly onDestroy: () => void) {}

  get(key: Buffer): Buffer | undefined {
    const s = k(key);
    const p = this.pending.get(s);
    if (p !== undefined) return p ?? undefined;
    return this.saved.entries.get(s);
  }
  put(key: Buffer, value: Buffer): void {
    this.pending.set(k(key), Buffer.from(value));
  }
  delete(key: Buffer): void {
    this.pending.set(k(key), null);
  }
  *range(from: Buffer, to: Buffer): IterableIterator<[Buffer, Buffer]> {
    const lo = k(from);
    const hi = k(to);
    const keys = new Set<string>();
    for (const s of this.saved.entries.keys()) if (s >= lo && s < hi) keys.add(s);
    for (const s of this.pending.keys()) if (s >= lo && s < hi) keys.add(s);
    for (const s of [...keys].sort()) {
      const v = this.get(Buffer.from(s, 'latin1'));
      if (v !== undefined) yield [Buffer.from(s, 'latin1'), v];
    }
  }
  approximateSize(): number {
    return this.saved.entries.size;
  }
  async commit(checkpoint: bigint): Promise<void> {
    for (const [s, v] of this.pending) {
      if (v === null) this.saved.entries.delete(s);
      else this.saved.entries.set(s, v);
    }
    this.pending.clear();
    this.saved.checkpoint = checkpoint;
  }
  abort(): void {
    this.pending.clear();
  }
  checkpoint(): bigint | undefined {
    return this.saved.checkpoint;
  }
  async close(): Promise<void> {
    this.pending.clear();
  }
  async destroy(): Promise<void> {
    this.pending.clear();
    this.onDestroy();
  }
}

export class MemoryStoreFactory implements StoreFactory {
  private readonly disk = new Map<string, Saved>();
  async open(taskId: string, storeName: string): Promise<PersistentStore> {
    const id = `${taskId}/${storeName}`;
    let saved = this.disk.get(id);
    if (!saved) {
      saved = { entries: new Map(), checkpoint: undefined };
      this.disk.set(id, saved);
    }
    return new MemoryPersistentStore(saved, () => this.disk.delete(id));
  }
  /** Forgets every store, as deleting the state directory does. */
  wipe(): void {
    this.disk.clear();
  }
}
