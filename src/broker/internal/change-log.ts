// An internal log of changes (committed offsets, transaction state): each change is one
// record batch holding one JSON record, appended to a Log like any partition's (so torn
// writes are cut at recovery just the same) and replayed on start. A store writes a change,
// then applies it in memory once it is stored. Compaction writes the live state at the
// tail as changes and then drops everything before it.

import type { Log } from '../../storage/log.js';
import { buildSingleRecordBatch, singleRecordValue } from './records.js';

export interface ChangeLogOptions {
  /** Bytes appended since the last snapshot that trigger compaction (at least this, and 400 bytes per live entry). */
  compactAfterBytes: number;
  /** Wait for fsync before a change counts as stored. */
  fsync: boolean;
}

export class ChangeLog<C> {
  private bytesSinceSnapshot = 0;
  private compacting: Promise<void> | null = null;
  /** Changes appended and not yet stored (nor applied), in append order: a snapshot must cover them. */
  readonly inflight = new Set<C>();

  constructor(
    readonly log: Log,
    private readonly options: ChangeLogOptions,
  ) {}

  /** Replays every stored change, in order. */
  async replay(apply: (change: C) => void): Promise<void> {
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
            if (value !== null) apply(JSON.parse(value.toString('utf8')) as C);
            offset = base + batch.readInt32BE(23) + 1;
          }
          pos += size;
        }
      }
    }
  }

  /**
   * Stores a change: resolves once it is in the log (and fsynced when asked). The log
   * resolves writes and flushes in append order, so callers that apply on resolution apply
   * changes in the order they were stored. A change the caller is told failed is never
   * applied, before or after a restart (the log cuts it at recovery or never wrote it).
   */
  async write(change: C): Promise<void> {
    const batch = buildSingleRecordBatch(Buffer.from(JSON.stringify(change)), Date.now());
    this.bytesSinceSnapshot += batch.length;
    this.inflight.add(change);
    try {
      await this.log.append(batch).written;
      if (this.options.fsync) await this.log.flush();
    } finally {
      this.inflight.delete(change);
    }
  }

  /**
   * Compacts in the background when enough was written since the last snapshot. `snapshot`
   * returns the live state (including the changes in flight) as changes to write.
   */
  maybeCompact(liveEntries: number, snapshot: () => C[]): void {
    if (this.compacting) return;
    if (this.bytesSinceSnapshot < Math.max(this.options.compactAfterBytes, liveEntries * 400)) return;
    this.compacting = this.compact(snapshot()).finally(() => (this.compacting = null));
    this.compacting.catch(() => undefined);
  }

  /**
   * Writes the snapshot at the tail, then drops the log before it. The snapshot is queued
   * behind the changes in flight, so it is stored only if they are (a failed write fails
   * what was queued after it), and nothing is dropped unless the snapshot is stored.
   */
  async compact(changes: C[]): Promise<void> {
    const start = this.log.logEndOffset;
    this.bytesSinceSnapshot = 0;
    const writes = changes.map((c) => this.log.append(buildSingleRecordBatch(Buffer.from(JSON.stringify(c)), Date.now())).written);
    await Promise.all(writes);
    await this.log.flush();
    await this.log.deleteRecordsBefore(start);
  }

  close(): Promise<void> {
    return (this.compacting ?? Promise.resolve()).then(() => this.log.close());
  }
}
