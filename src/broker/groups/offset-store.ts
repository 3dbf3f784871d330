// Committed offsets: kept in memory for lookups, and made durable in an internal log
// (`__consumer_offsets-0` in the data directory) that is replayed on start. Each change
// is one record batch holding one record whose value is a JSON document of the commits
// and deletions it makes; the log is a Log like any partition's, so torn writes are cut
// at recovery just the same. Compaction writes a snapshot of every live offset at the
// tail and then drops everything before it.

import type { Log } from '../../storage/log.js';
import { buildSingleRecordBatch, singleRecordValue } from './internal-records.js';

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

interface Change {
  v: 1;
  /** [group, topic, partition, offset, leaderEpoch, metadata, commitTimestamp] */
  commits?: [string, string, number, number, number, string | null, number][];
  /** [group, topic, partition] */
  deletes?: [string, string, number][];
  groups?: string[];
}

export interface OffsetStoreOptions {
  /** Bytes appended since the last snapshot that trigger compaction (at least this, and 4x the live state). */
  compactAfterBytes: number;
  /** Wait for fsync before a commit is acknowledged. */
  fsync: boolean;
}

const SNAPSHOT_CHUNK = 5000;

export class OffsetStore {
  /** group -> "topic\0partition" -> offset */
  private readonly groups = new Map<string, Map<string, CommittedOffset>>();
  private bytesSinceSnapshot = 0;
  private compacting: Promise<void> | null = null;
  /** Changes appended to the log and not yet stored (nor applied), in append order. */
  private readonly inflight = new Set<Change>();

  constructor(
    private readonly log: Log,
    private readonly options: OffsetStoreOptions,
  ) {}

  /** Replays the log into memory. */
  async load(): Promise<void> {
    let offset = this.log.logStartOffset;
    while (offset < this.log.highWatermark) {
      const chunks = await this.log.read(offset, 1 << 20);
      if (chunks.length === 0) break;
      for (const chunk of chunks) {
        let pos = 0;
        while (pos + 61 <= chunk.length) {
          const size = chunk.readInt32BE(pos + 8) + 12;
          const batch = chunk.subarray(pos, pos + size);
          const base = Number(batch.readBigInt64BE(0));
          if (base >= offset) {
            const value = singleRecordValue(batch);
            if (value !== null) this.apply(JSON.parse(value.toString('utf8')) as Change);
            offset = base + batch.readInt32BE(23) + 1;
          }
          pos += size;
        }
      }
    }
  }

  private apply(c: Change): void {
    applyChange(this.groups, c);
  }

  /**
   * Stores a change, then applies it in memory: a commit is visible to OffsetFetch only once
   * it is in the log (and fsynced unless the fsync policy is never), so a commit the client
   * is told failed is never seen, before or after a restart. The log resolves its writes
   * and flushes in append order, so changes are applied in the order they were stored.
   */
  private async write(c: Change): Promise<void> {
    const batch = buildSingleRecordBatch(Buffer.from(JSON.stringify(c)), Date.now());
    this.bytesSinceSnapshot += batch.length;
    this.inflight.add(c);
    try {
      await this.log.append(batch).written;
      if (this.options.fsync) await this.log.flush();
    } finally {
      this.inflight.delete(c);
    }
    this.apply(c);
    this.maybeCompact();
  }

  commit(group: string, entries: { topic: string; partition: number; offset: CommittedOffset }[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.write({
      v: 1,
      commits: entries.map((e) => [group, e.topic, e.partition, e.offset.offset, e.offset.leaderEpoch, e.offset.metadata, e.offset.commitTimestamp]),
    });
  }

  deleteOffsets(group: string, entries: { topic: string; partition: number }[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.write({ v: 1, deletes: entries.map((e) => [group, e.topic, e.partition]) });
  }

  deleteGroup(group: string): Promise<void> {
    return this.write({ v: 1, groups: [group] });
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(group)?.get(key(topic, partition));
  }

  /** Every committed offset of a group, as [topic, partition, offset]. */
  all(group: string): [string, number, CommittedOffset][] {
    const m = this.groups.get(group);
    if (!m) return [];
    return [...m.entries()].map(([k, o]) => {
      const i = k.lastIndexOf('\0');
      return [k.slice(0, i), Number(k.slice(i + 1)), o];
    });
  }

  hasGroup(group: string): boolean {
    return this.groups.has(group);
  }

  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  /** Newest commit time of a group's offsets, or -1. */
  lastCommit(group: string): number {
    let last = -1;
    for (const o of this.groups.get(group)?.values() ?? []) if (o.commitTimestamp > last) last = o.commitTimestamp;
    return last;
  }

  private maybeCompact(): void {
    if (this.compacting) return;
    let live = 0;
    for (const m of this.groups.values()) live += m.size;
    // A live entry takes roughly 100 bytes in a snapshot.
    if (this.bytesSinceSnapshot < Math.max(this.options.compactAfterBytes, live * 400)) return;
    this.compacting = this.compact().finally(() => (this.compacting = null));
    this.compacting.catch(() => undefined);
  }

  /**
   * Writes every live offset at the tail, then drops the log before the snapshot. The snapshot
   * includes the changes still in flight: their records lie before it, so it must cover them.
   * It is queued behind them, so it is stored only if they are (a failed write fails what was
   * queued after it), and nothing is dropped unless the snapshot is stored.
   */
  async compact(): Promise<void> {
    const state = new Map([...this.groups].map(([g, m]) => [g, new Map(m)]));
    for (const c of this.inflight) applyChange(state, c);
    const entries: NonNullable<Change['commits']> = [];
    for (const [g, m] of state) {
      for (const [k, o] of m) {
        const i = k.lastIndexOf('\0');
        entries.push([g, k.slice(0, i), Number(k.slice(i + 1)), o.offset, o.leaderEpoch, o.metadata, o.commitTimestamp]);
      }
    }
    const start = this.log.logEndOffset;
    this.bytesSinceSnapshot = 0;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < entries.length; i += SNAPSHOT_CHUNK) {
      const batch = buildSingleRecordBatch(Buffer.from(JSON.stringify({ v: 1, commits: entries.slice(i, i + SNAPSHOT_CHUNK) })), Date.now());
      writes.push(this.log.append(batch).written);
    }
    await Promise.all(writes);
    await this.log.flush();
    await this.log.deleteRecordsBefore(start);
  }

  close(): Promise<void> {
    return (this.compacting ?? Promise.resolve()).then(() => this.log.close());
  }
}

function applyChange(groups: Map<string, Map<string, CommittedOffset>>, c: Change): void {
  for (const [g, t, p, offset, leaderEpoch, metadata, commitTimestamp] of c.commits ?? []) {
    let m = groups.get(g);
    if (!m) groups.set(g, (m = new Map()));
    m.set(key(t, p), { offset, leaderEpoch, metadata, commitTimestamp });
  }
  for (const [g, t, p] of c.deletes ?? []) {
    const m = groups.get(g);
    if (m) {
      m.delete(key(t, p));
      if (m.size === 0) groups.delete(g);
    }
  }
  for (const g of c.groups ?? []) groups.delete(g);
}

function key(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}
