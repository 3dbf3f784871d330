// The order in which a task reads its input partitions (Kafka Streams' PartitionGroup): each
// partition's fetched records wait in a buffer, and the buffered head with the lowest
// timestamp goes next, across the task's partitions (ties: the partition listed first, then
// offset order within a partition). A stream-table join thus sees the table records that are
// older than a stream record before that record, however the fetches fell.
//
// An empty partition holds the task back while it may still have earlier records:
// - its end (high watermark, or last stable offset under read_committed) is unknown, or its
//   fetch position is below it: the records are on the broker, the next fetch brings them;
// - it is caught up: only for `maxTaskIdleMs` (0 by default: not at all, as in Kafka Streams;
//   -1: never wait, not even for records known to be on the broker).
// The clock is a parameter (`now`), so tests drive the idle time.

import type { InputRecord } from '../types.js';

/** `maxTaskIdleMs` value that never waits for an empty partition (Kafka Streams' -1). */
export const MAX_TASK_IDLE_DISABLED = -1;

const NO_RECORDS: InputRecord[] = [];

/** What the group keeps for one input partition of a task (fields of the runtime's input partition). */
export interface BufferedPartition {
  /** The fetch position: the next offset to fetch (past every fetched batch). */
  next: bigint;
  /** Fetched, not yet processed records, in offset order; `buffer[head]` goes next. */
  buffer: InputRecord[];
  head: number;
  /** The partition's end as of its last fetch (high watermark or LSO); -1n when unknown. */
  end: bigint;
  /** Wall-clock ms until which a caught-up empty partition holds the task back; -1 when not idling. */
  idleDeadline: number;
}

/** The fields a BufferedPartition starts with: nothing buffered, end unknown. */
export function emptyBuffer(): Pick<BufferedPartition, 'buffer' | 'head' | 'end' | 'idleDeadline'> {
  return { buffer: NO_RECORDS, head: 0, end: -1n, idleDeadline: -1 };
}

/** Takes a fetch's records for `p` (whose buffer is empty: only empty partitions are fetched). */
export function bufferFetched(p: BufferedPartition, records: InputRecord[], end: bigint): void {
  if (p.head < p.buffer.length) throw new Error('a partition was fetched while records of it were still buffered: fetch only partitions whose buffer is empty');
  p.buffer = records.length > 0 ? records : NO_RECORDS;
  p.head = 0;
  p.end = end;
}

/** Forgets what is buffered and what is known of the end (the fetch position was reset). */
export function resetBuffer(p: BufferedPartition): void {
  p.buffer = NO_RECORDS;
  p.head = 0;
  p.end = -1n;
  p.idleDeadline = -1;
}

export function isEmpty(p: BufferedPartition): boolean {
  return p.head >= p.buffer.length;
}

/**
 * The offset to commit for `p`: the first buffered record's offset, or the fetch position when
 * nothing is buffered. Records buffered but not processed are never committed.
 */
export function processedPosition(p: BufferedPartition): bigint {
  return p.head < p.buffer.length ? p.buffer[p.head]!.offset : p.next;
}

/** Removes and returns the head record of `p` (which must not be empty). */
export function take(p: BufferedPartition): InputRecord {
  const r = p.buffer[p.head++]!;
  // Drop the fetched array as soon as it is consumed, so its records can be collected.
  if (p.head >= p.buffer.length) {
    p.buffer = NO_RECORDS;
    p.head = 0;
  }
  return r;
}

/**
 * The partition of a task whose head record goes next, or undefined: nothing buffered, or an
 * empty partition may still have earlier records (see the top of this file). A linear scan:
 * a task has a few input partitions.
 */
export function nextPartition<P extends BufferedPartition>(parts: readonly P[], now: number, maxTaskIdleMs: number): P | undefined {
  let best: P | undefined;
  let bestTs = 0;
  let wait = false;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.head < p.buffer.length) {
      p.idleDeadline = -1;
      const ts = p.buffer[p.head]!.timestamp;
      // Strictly lower: on equal timestamps the partition listed first wins.
      if (best === undefined || ts < bestTs) {
        best = p;
        bestTs = ts;
      }
      continue;
    }
    if (maxTaskIdleMs === MAX_TASK_IDLE_DISABLED) continue;
    if (p.end < 0n || p.next < p.end) {
      // Records are on the broker (or nothing is known yet): wait for the next fetch.
      p.idleDeadline = -1;
      wait = true;
      continue;
    }
    if (p.idleDeadline < 0) p.idleDeadline = now + maxTaskIdleMs;
    if (now < p.idleDeadline) wait = true;
  }
  return wait ? undefined : best;
}
