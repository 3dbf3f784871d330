// Turns one partition's Fetch answer into input records, read_committed as the Java consumer
// does: a transactional batch of a producer listed in the answer's aborted transactions is
// dropped from that transaction's first offset until the producer's ABORT marker, whichever
// answer carries the marker (the library's own filter loses track across answers, see
// test/integration/txn-platformatic.test.ts). Control batches are skipped; the position
// moves past every batch, markers and compacted gaps included.

import type { fetchV17, RecordsBatch } from '@platformatic/kafka';
import type { Headers, InputRecord } from '../types.js';

const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;
const LOG_APPEND_TIME = 0x08;
const NO_HEADERS: Headers = [];

/** What a partition being read remembers between Fetch answers. */
export interface ReadState {
  topic: string;
  partition: number;
  /** The next offset to read. */
  next: bigint;
  /** Producers whose open aborted transaction we are inside (read_committed). */
  aborted: Set<bigint>;
}

/**
 * Appends to `out` each record at or after `state.next` that read_committed keeps (every
 * data record when `committedOnly` is false), in offset order, and moves `state.next` past
 * every batch. Returns the count appended.
 */
export function readBatches(
  state: ReadState,
  batches: RecordsBatch[] | undefined,
  abortedTxns: fetchV17.FetchResponsePartitionAbortedTransaction[] | undefined,
  committedOnly: boolean,
  out: InputRecord[],
): number {
  if (!batches) return 0;
  let pendingAborts = committedOnly && abortedTxns && abortedTxns.length > 0 ? [...abortedTxns].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1)) : undefined;
  let delivered = 0;
  for (const b of batches) {
    const lastOffset = b.firstOffset + BigInt(b.lastOffsetDelta);
    if (lastOffset < state.next) continue;
    if (pendingAborts) {
      while (pendingAborts.length > 0 && pendingAborts[0]!.firstOffset <= lastOffset) state.aborted.add(pendingAborts.shift()!.producerId);
      if (pendingAborts.length === 0) pendingAborts = undefined;
    }
    const attrs = b.attributes;
    if ((attrs & IS_CONTROL) !== 0) {
      // A marker ends the producer's transaction either way (type 0 = ABORT, 1 = COMMIT).
      state.aborted.delete(b.producerId);
    } else if (!(committedOnly && (attrs & IS_TRANSACTIONAL) !== 0 && state.aborted.has(b.producerId))) {
      const appendTime = (attrs & LOG_APPEND_TIME) !== 0 ? Number(b.maxTimestamp) : undefined;
      const first = Number(b.firstTimestamp);
      for (const r of b.records) {
        const offset = b.firstOffset + BigInt(r.offsetDelta);
        if (offset < state.next) continue;
        out.push({
          topic: state.topic,
          partition: state.partition,
          offset,
          key: r.key,
          value: r.value,
          timestamp: appendTime ?? first + Number(r.timestampDelta),
          headers: r.headers.length === 0 ? NO_HEADERS : r.headers.map(([hk, hv]) => [hk ? hk.toString() : '', hv ?? Buffer.alloc(0)] as const),
          appendTime,
        });
        delivered++;
      }
    }
    state.next = lastOffset + 1n;
  }
  return delivered;
}
