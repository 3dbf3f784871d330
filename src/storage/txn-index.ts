// Aborted-transaction index of one segment: one entry per ABORT marker in the segment that
// closed a transaction, in marker order. read_committed fetches carry the entries covering
// what they return, and clients drop those producers' records in those ranges.
//
// `<base>.txnindex` (Kafka's name and entry layout) holds 34-byte big-endian entries: version
// int16 (0), producerId int64, firstOffset int64, lastOffset int64 (the marker), lastStableOffset
// int64; then a CRC32C of the entries, so a torn or garbled file is found at open and rebuilt.

import { crc32c } from '../protocol/crc32c.js';
import { readInt64, writeInt64 } from '../protocol/record-batch.js';
import type { AbortedTransaction } from './log.js';
import type { ClosedTransaction, ProducerStates } from './producer-state.js';

const ENTRY_SIZE = 34;
const ENTRY_VERSION = 0;

export interface AbortedTxnEntry {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  /** The first offset of the oldest transaction still open once the marker was applied, else the marker's offset + 1. */
  lastStableOffset: number;
}

/** The index entry of a closed transaction, taken right after the marker was applied to `producers`. */
export function abortedEntry(t: ClosedTransaction, producers: ProducerStates): AbortedTxnEntry {
  const open = producers.firstOpenOffset();
  return { producerId: t.producerId, firstOffset: t.firstOffset, lastOffset: t.lastOffset, lastStableOffset: open >= 0 ? open : t.lastOffset + 1 };
}

export function txnIndexToBuffer(entries: readonly AbortedTxnEntry[]): Buffer {
  const end = entries.length * ENTRY_SIZE;
  const buf = Buffer.alloc(end + 4);
  let o = 0;
  for (const e of entries) {
    buf.writeInt16BE(ENTRY_VERSION, o);
    writeInt64(buf, o + 2, e.producerId);
    writeInt64(buf, o + 10, e.firstOffset);
    writeInt64(buf, o + 18, e.lastOffset);
    writeInt64(buf, o + 26, e.lastStableOffset);
    o += ENTRY_SIZE;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(0, end)) >>> 0, end);
  return buf;
}

/** The entries of a `.txnindex` file of the segment [base, nextBase), or null when it is torn, garbled or does not fit the segment. */
export function parseTxnIndex(buf: Buffer, base: number, nextBase: number): AbortedTxnEntry[] | null {
  const end = buf.length - 4;
  if (end < 0 || end % ENTRY_SIZE !== 0) return null;
  if ((crc32c(buf.subarray(0, end)) >>> 0) !== buf.readUInt32BE(end)) return null;
  const out: AbortedTxnEntry[] = [];
  for (let o = 0; o < end; o += ENTRY_SIZE) {
    const e = { producerId: readInt64(buf, o + 2), firstOffset: readInt64(buf, o + 10), lastOffset: readInt64(buf, o + 18), lastStableOffset: readInt64(buf, o + 26) };
    if (buf.readInt16BE(o) !== ENTRY_VERSION || e.lastOffset < base || e.lastOffset >= nextBase || e.firstOffset > e.lastOffset) return null;
    out.push(e);
  }
  return out;
}

/**
 * Aborted transactions with data in [from, upTo), ordered by first offset, from indexes in
 * marker order (Kafka's collectAbortedTransactions walks the segments from the one holding
 * `from`; a transaction's marker may lie in any later one, so every later index is read).
 */
export function collectAborted(indexes: Iterable<readonly AbortedTxnEntry[]>, from: number, upTo: number): AbortedTransaction[] {
  const out: AbortedTransaction[] = [];
  for (const entries of indexes) {
    for (const e of entries) {
      if (e.lastOffset >= from && e.firstOffset < upTo) out.push({ producerId: e.producerId, firstOffset: e.firstOffset, lastOffset: e.lastOffset });
    }
  }
  return out.sort((a, b) => a.firstOffset - b.firstOffset);
}
