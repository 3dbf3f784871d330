// A bounded set of open sealed-segment files, shared by every log of a broker. Sealed segments
// are read only by consumers catching up, so their files are opened on demand and the least
// recently used are closed once more than `limit` are open: a topic with many small segments
// cannot use up the process's descriptors. A file a read is using (Segment.readers > 0) is
// never closed; the set may run over the limit while reads hold files, and shrinks as they end.
// The active segment of each log stays open (the writer's handle) and is not counted here.

import type { Segment } from './segment.js';

export const DEFAULT_OPEN_SEGMENTS_MAX = 256;

export class OpenSegments {
  limit: number;
  /** Open sealed segments, least recently used first (a Set keeps insertion order). */
  private readonly lru: Set<Segment>;

  constructor(limit: number = DEFAULT_OPEN_SEGMENTS_MAX) {
    this.limit = limit;
    this.lru = new Set();
  }

  get size(): number {
    return this.lru.size;
  }

  /** A sealed segment's file was opened or used: now the most recently used; closes idle ones over the limit. */
  use(seg: Segment): void {
    this.lru.delete(seg);
    this.lru.add(seg);
    if (this.lru.size > this.limit) this.trim();
  }

  /** The segment's file was closed by its log (deleted, log closed): no longer counted. */
  forget(seg: Segment): void {
    this.lru.delete(seg);
  }

  /** Closes least recently used files no read is using until the set is within the limit. */
  trim(): void {
    for (const seg of this.lru) {
      if (this.lru.size <= this.limit) return;
      if (seg.readers > 0) continue;
      this.lru.delete(seg);
      const file = seg.file;
      seg.file = null;
      if (file !== null) file.close().catch(() => undefined);
    }
  }
}

/** Shared by logs opened without their own set (tests, tools). */
export const sharedOpenSegments = new OpenSegments();
