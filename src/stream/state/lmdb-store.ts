// The persistent keyed state store of Rivulet Streams, on LMDB (the `lmdb` package): reads are
// synchronous memory-mapped lookups (about a microsecond), commits are one transaction written
// and fsynced off the event loop. bench/stream/store.ts measured it against LevelDB
// (classic-level) and a map with an append-only file of our own.
//
// Layout: <stateDir>/<application>/<taskId>/<storeName>/data.mdb, one LMDB environment per
// store; the task directory holds the lock (dir-lock.ts) that keeps it to one worker.
//
// Writes since the last commit stay in JS memory (an overlay map that reads consult first);
// commit(checkpoint) writes them and the checkpoint in one LMDB transaction and resolves once
// it is flushed to disk, so the stored data and checkpoint always belong to the same commit.
// Inside LMDB every user key is stored behind a 0x00 byte (LMDB refuses empty keys) and the
// checkpoint under the key 0x01, which sorts after every user key.

import { open, type RootDatabase } from 'lmdb';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PersistentStore, StoreFactory } from '../types.js';
import { DirLock } from './dir-lock.js';
import { StoreError, StoreErrorCode } from './errors.js';

/** LMDB's limit (1978 bytes with the default page size) less the 0x00 prefix. */
export const MAX_KEY_BYTES = 1977;
const USER_PREFIX = 0x00;
const CHECKPOINT_KEY = Buffer.from([0x01]);
const DATA_FILE = 'data.mdb';

const ignore = (): void => {};

/** A write not yet committed: a value, or null for a delete. */
interface PendingWrite {
  key: Buffer;
  value: Buffer | null;
}

/** Pending writes by key (latin1 of the key bytes, a one-to-one map), and their keys in order when asked for. */
class Overlay {
  readonly writes = new Map<string, PendingWrite>();
  private sorted: PendingWrite[] | null = null;
  /** Puts less deletes, by key: what the overlay adds to the committed entry count, roughly. */
  netPuts = 0;

  /** Keeps copies: callers may reuse their buffers, or hand in views of a large fetch response. */
  set(key: Buffer, value: Buffer | null): void {
    this.write(key, value === null ? null : Buffer.from(value));
  }

  /** Keeps `value` itself (one of ours already), and the key only as a copy. */
  write(key: Buffer, value: Buffer | null): void {
    const id = key.toString('latin1');
    const w = this.writes.get(id);
    if (w === undefined) {
      this.writes.set(id, { key: Buffer.from(key), value });
      this.sorted = null;
      this.netPuts += value === null ? -1 : 1;
    } else {
      if ((w.value === null) !== (value === null)) this.netPuts += value === null ? -2 : 2;
      w.value = value;
    }
  }

  get size(): number {
    return this.writes.size;
  }

  /** The writes with from <= key < to, in key order. */
  inRange(from: Buffer, to: Buffer): PendingWrite[] {
    if (this.writes.size === 0) return [];
    if (this.sorted === null) this.sorted = [...this.writes.values()].sort((a, b) => Buffer.compare(a.key, b.key));
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(s[mid].key, from) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: PendingWrite[] = [];
    for (let i = lo; i < s.length && Buffer.compare(s[i].key, to) < 0; i++) out.push(s[i]);
    return out;
  }
}

/** Two sorted write lists as one; `over` wins where both hold a key. */
function mergeWrites(over: PendingWrite[], under: PendingWrite[]): PendingWrite[] {
  if (under.length === 0) return over;
  if (over.length === 0) return under;
  const out: PendingWrite[] = [];
  let i = 0;
  let j = 0;
  while (i < over.length || j < under.length) {
    const c = i === over.length ? 1 : j === under.length ? -1 : Buffer.compare(over[i].key, under[j].key);
    if (c <= 0) {
      out.push(over[i++]);
      if (c === 0) j++;
    } else {
      out.push(under[j++]);
    }
  }
  return out;
}

function checkName(what: string, name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new StoreError(`${what} ${JSON.stringify(name)} cannot name a directory: use letters, digits, '-', '_' or '.'`, StoreErrorCode.invalidUse);
  }
}

export class LmdbStore implements PersistentStore {
  private pending = new Overlay();
  /** The batch being committed: still visible to reads until LMDB holds it. */
  private committing: Overlay | null = null;
  private inFlight: Promise<void> | null = null;
  private lastCheckpoint: bigint | undefined;
  private committedEntries: number;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Reused to build the prefixed key of a lookup without allocating. */
  private scratch = Buffer.allocUnsafe(MAX_KEY_BYTES + 1);

  /** Use LmdbStoreFactory.open. */
  constructor(
    private readonly db: RootDatabase<Buffer, Buffer>,
    readonly dir: string,
    private readonly onClose: () => void,
  ) {
    const cp = db.getBinary(CHECKPOINT_KEY);
    this.lastCheckpoint = cp === undefined ? undefined : cp.readBigInt64BE(0);
    this.committedEntries = this.countEntries();
  }

  private countEntries(): number {
    const stats = this.db.getStats() as { entryCount: number };
    return stats.entryCount - (this.lastCheckpoint === undefined ? 0 : 1);
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError(`the state store in ${this.dir} is closed; open it again from its StoreFactory`, StoreErrorCode.closed);
  }

  private lookupKey(key: Buffer): Buffer {
    this.scratch[0] = USER_PREFIX;
    key.copy(this.scratch, 1);
    return this.scratch.subarray(0, key.length + 1);
  }

  private static storedKey(key: Buffer): Buffer {
    const k = Buffer.allocUnsafe(key.length + 1);
    k[0] = USER_PREFIX;
    key.copy(k, 1);
    return k;
  }

  private checkKey(key: Buffer): void {
    if (key.length > MAX_KEY_BYTES) {
      throw new StoreError(`a state key of ${key.length} bytes is longer than the ${MAX_KEY_BYTES} bytes the store can hold; key state by something shorter (a hash of the key, for example)`, StoreErrorCode.keyTooLong);
    }
  }

  get(key: Buffer): Buffer | undefined {
    this.ensureOpen();
    if (this.pending.size !== 0 || this.committing !== null) {
      const id = key.toString('latin1');
      const w = this.pending.writes.get(id) ?? this.committing?.writes.get(id);
      if (w !== undefined) return w.value ?? undefined;
    }
    if (key.length > MAX_KEY_BYTES) return undefined;
    return this.db.getBinary(this.lookupKey(key));
  }

  put(key: Buffer, value: Buffer): void {
    this.ensureOpen();
    this.checkKey(key);
    this.pending.set(key, value);
  }

  delete(key: Buffer): void {
    this.ensureOpen();
    this.checkKey(key);
    this.pending.set(key, null);
  }

  *range(from: Buffer, to: Buffer): IterableIterator<[Buffer, Buffer]> {
    this.ensureOpen();
    if (Buffer.compare(from, to) >= 0) return;
    // The overlay as it is now; committed entries from one LMDB read snapshot.
    const overlay = mergeWrites(this.pending.inRange(from, to), this.committing?.inRange(from, to) ?? []);
    // A bound longer than any stored key, cut to its first MAX_KEY_BYTES bytes p: a stored key
    // k is below `to` exactly when k <= p, and at or above `from` exactly when k > p.
    const longFrom = from.length > MAX_KEY_BYTES;
    const longTo = to.length > MAX_KEY_BYTES;
    const committed = this.db
      .getRange({
        start: LmdbStore.storedKey(longFrom ? from.subarray(0, MAX_KEY_BYTES) : from),
        exclusiveStart: longFrom,
        end: LmdbStore.storedKey(longTo ? to.subarray(0, MAX_KEY_BYTES) : to),
        inclusiveEnd: longTo,
      })
      [Symbol.iterator]();
    try {
      let c = committed.next();
      let i = 0;
      while (!c.done || i < overlay.length) {
        const cKey = c.done ? null : c.value.key.subarray(1);
        const cmp = cKey === null ? -1 : i === overlay.length ? 1 : Buffer.compare(overlay[i].key, cKey);
        if (cmp <= 0) {
          const w = overlay[i++];
          if (cmp === 0) c = committed.next(); // the overlay hides the committed entry
          if (w.value !== null) yield [w.key, w.value];
        } else {
          yield [cKey!, c.value.value];
          c = committed.next();
        }
      }
    } finally {
      committed.return?.();
    }
  }

  approximateSize(): number {
    this.ensureOpen();
    // Counts a pending put of an existing key as new and a delete of a missing one as a
    // removal: approximate, as the contract allows, and exact once committed.
    return Math.max(0, this.committedEntries + this.pending.netPuts + (this.committing?.netPuts ?? 0));
  }

  async commit(checkpoint: bigint): Promise<void> {
    this.ensureOpen();
    if (this.inFlight !== null) {
      throw new StoreError('commit() was called while the previous commit of this store is still in flight; await each commit before the next', StoreErrorCode.invalidUse);
    }
    const cp = Buffer.allocUnsafe(8);
    cp.writeBigInt64BE(checkpoint); // throws a RangeError for a value no offset can have
    // Nothing to write and the checkpoint stays: no transaction, no fsync.
    if (this.pending.size === 0 && checkpoint === this.lastCheckpoint) return;
    const batch = this.pending;
    this.pending = new Overlay();
    this.committing = batch;
    const db = this.db;
    const run = async (): Promise<void> => {
      try {
        // Asynchronous writes queued in one event turn form one LMDB transaction (lmdb's
        // event-turn batching; nothing else writes to this environment), written on lmdb's
        // thread: about 0.35 ms of this thread per 1,000 keys, where a transaction callback
        // doing the same writes here takes about 4 ms (bench/stream/store.ts).
        // Writes of one turn share one promise (that of the transaction); the checkpoint's
        // stands for all, the others only need a handler so a failure is not unhandled.
        let seen: Promise<unknown> | undefined;
        for (const w of batch.writes.values()) {
          const p = w.value === null ? db.remove(LmdbStore.storedKey(w.key)) : db.put(LmdbStore.storedKey(w.key), w.value);
          if (p !== seen) {
            seen = p;
            p.catch(ignore);
          }
        }
        await db.put(CHECKPOINT_KEY, cp);
        await db.flushed;
      } catch (e) {
        // Keep the batch pending under whatever was written since, so a retry commits it all.
        for (const [id, w] of batch.writes) if (!this.pending.writes.has(id)) this.pending.write(w.key, w.value);
        throw new StoreError(`committing ${batch.size} state writes in ${this.dir} failed: ${(e as Error).message}; the writes stay pending and the checkpoint did not move`, StoreErrorCode.commitFailed, e);
      } finally {
        this.committing = null;
      }
      this.lastCheckpoint = checkpoint;
      this.committedEntries = this.countEntries();
    };
    this.inFlight = run();
    try {
      await this.inFlight;
    } finally {
      this.inFlight = null;
    }
  }

  abort(): void {
    this.ensureOpen();
    this.pending = new Overlay();
  }

  checkpoint(): bigint | undefined {
    this.ensureOpen();
    return this.lastCheckpoint;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown(false);
    return this.closing;
  }

  async destroy(): Promise<void> {
    if (this.closing === null) {
      this.closing = this.shutdown(true);
      return this.closing;
    }
    await this.closing;
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Closes LMDB (after a commit in flight settles), deletes the files if asked, then releases the task's lock. */
  private async shutdown(remove: boolean): Promise<void> {
    await this.inFlight?.catch(ignore);
    this.closed = true;
    this.pending = new Overlay();
    try {
      await this.db.close();
      // Before the lock goes: another worker may open this task as soon as it is released.
      if (remove) await rm(this.dir, { recursive: true, force: true });
    } finally {
      this.onClose();
    }
  }
}

export interface LmdbStoreFactoryOptions {
  /** The pipeline's state directory (each application gets a folder under it). */
  stateDir: string;
  application: string;
}

/**
 * Opens LmdbStores under <stateDir>/<application>/<taskId>/<storeName>. The first store of a
 * task takes the task directory's lock; it is released when the task's last store closes.
 */
export class LmdbStoreFactory implements StoreFactory {
  /** Per task: its lock (being taken, then held) and the names of its open stores. */
  private readonly tasks = new Map<string, { lock: Promise<DirLock>; held: DirLock | null; open: Set<string> }>();

  constructor(private readonly opts: LmdbStoreFactoryOptions) {
    checkName('application', opts.application);
  }

  /** Where a task's stores live. */
  taskDir(taskId: string): string {
    return join(this.opts.stateDir, this.opts.application, taskId);
  }

  async open(taskId: string, storeName: string): Promise<LmdbStore> {
    checkName('task id', taskId);
    checkName('store name', storeName);
    const taskDir = this.taskDir(taskId);
    let task = this.tasks.get(taskId);
    if (task === undefined) {
      // Stores of one task may be opened at once: they share one lock, taken once.
      const acquiring = DirLock.acquire(taskDir);
      task = { lock: acquiring, held: null, open: new Set() };
      this.tasks.set(taskId, task);
      acquiring.catch(ignore); // reported to every opener below
    }
    if (task.open.has(storeName)) {
      throw new StoreError(`store "${storeName}" of task ${taskId} is already open; close it before opening it again`, StoreErrorCode.invalidUse);
    }
    const t = task;
    t.open.add(storeName);
    const release = (): void => {
      t.open.delete(storeName);
      if (t.open.size === 0 && this.tasks.get(taskId) === t) {
        this.tasks.delete(taskId);
        if (t.held !== null) t.held.release();
        else t.lock.then((l) => l.release(), ignore);
      }
    };
    const dir = join(taskDir, storeName);
    try {
      t.held = await t.lock;
      const db = open<Buffer, Buffer>({ path: join(dir, DATA_FILE), keyEncoding: 'binary', encoding: 'binary', compression: false, cache: false });
      return new LmdbStore(db, dir, release);
    } catch (e) {
      release();
      if (e instanceof StoreError) throw e;
      throw new StoreError(`could not open the state store ${dir}: ${(e as Error).message}`, StoreErrorCode.invalidUse, e);
    }
  }
}
