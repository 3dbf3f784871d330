// Producer state of one partition, kept by its log (as Kafka's ProducerStateManager is):
// per producer the epoch, the last five batches' sequence ranges (Kafka keeps five, matching
// max.in.flight.requests.per.connection <= 5), the last timestamp and the first offset of its
// open transaction. The log applies every appended batch's header here in the turn of the
// append, so a retry arriving next is recognised; check() decides what to do with a new one.
//
// A batch that matches a cached one is a retry: it is answered with its first offset and not
// appended again. A batch that does not continue the sequence is refused.
//
// Snapshot file (`<base>.snapshot`, the state as of that offset): version int16 (1), count
// int32, then per producer: producerId int64, epoch int16, lastTimestamp int64, txnFirstOffset
// int64, batch count int8, then per batch: firstSeq int32, lastSeq int32, baseOffset int64,
// lastOffset int64; a CRC32C of everything before it ends the file.

import { ErrorCode } from '../protocol/errors.js';
import { crc32c } from '../protocol/crc32c.js';
import { ControlType, controlType, isControlBatch, isTransactionalBatch } from '../protocol/control-batch.js';
import {
  baseOffset as batchBaseOffset,
  baseSequence,
  lastOffsetDelta,
  maxTimestamp,
  producerEpoch,
  producerId as batchProducerId,
  readInt64,
  writeInt64,
} from '../protocol/record-batch.js';

const CACHED_BATCHES = 5;
const SEQ_WRAP = 2147483648;
const SNAPSHOT_VERSION = 1;
const PRODUCER_BYTES = 8 + 2 + 8 + 8 + 1;
const RANGE_BYTES = 4 + 4 + 8 + 8;

interface BatchRange {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  lastOffset: number;
}

interface ProducerEntry {
  id: number;
  epoch: number;
  batches: BatchRange[];
  lastTimestamp: number;
  /** First offset of the open transaction in this partition; -1 when none. */
  txnFirstOffset: number;
  /** The transaction the last marker closed (its first offset, the marker's offset), so a marker rolled back reopens it. */
  closedTxnFirstOffset: number;
  closedTxnMarker: number;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number }
  | { kind: 'error'; code: number; message: string };

/** A transaction a control batch ended: data from firstOffset, the marker at lastOffset. */
export interface ClosedTransaction {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  aborted: boolean;
}

export interface ProducerDescription {
  producerId: number;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: number;
  currentTxnStartOffset: number;
}

export interface OpenTransaction {
  producerId: number;
  producerEpoch: number;
  firstOffset: number;
  lastTimestamp: number;
}

const APPEND: SequenceCheck = { kind: 'append' };

export class ProducerStates {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Producers with an open transaction in the order they opened it, which is first-offset order. */
  private readonly open = new Map<number, ProducerEntry>();

  /** Decides what to do with a batch run from `producerId` whose sequences span firstSeq..lastSeq. */
  check(producerId: number, epoch: number, firstSeq: number, lastSeq: number): SequenceCheck {
    const p = this.producers.get(producerId);
    if (p === undefined) return APPEND; // no state (a new producer, or one whose state expired): accept any sequence, as Kafka does for an unknown producer
    if (epoch < p.epoch) {
      return { kind: 'error', code: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer epoch ${epoch} is older than the current ${p.epoch}` };
    }
    if (epoch > p.epoch) {
      if (firstSeq !== 0) {
        return { kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `a new epoch ${epoch} must start at sequence 0, got ${firstSeq}` };
      }
      return APPEND;
    }
    for (const b of p.batches) {
      if (b.firstSeq === firstSeq && b.lastSeq === lastSeq) return { kind: 'duplicate', baseOffset: b.baseOffset };
    }
    const last = p.batches[p.batches.length - 1];
    const expected = last === undefined ? firstSeq : (last.lastSeq + 1) % SEQ_WRAP;
    if (firstSeq !== expected) {
      return { kind: 'error', code: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `expected sequence ${expected}, got ${firstSeq}` };
    }
    return APPEND;
  }

  /**
   * Applies the header of one appended batch (its base offset stamped) at `pos`, `size` bytes.
   * `sameRun`: the batch came in the same append as the one before it, so a contiguous range
   * of the same producer extends that range (check() sees a request's batches as one run).
   * Returns the transaction a control batch closed, else null.
   */
  apply(buf: Buffer, pos: number, size: number, sameRun: boolean): ClosedTransaction | null {
    const id = batchProducerId(buf, pos);
    if (id < 0) return null;
    const epoch = producerEpoch(buf, pos);
    const base = batchBaseOffset(buf, pos);
    const last = base + lastOffsetDelta(buf, pos);
    let p = this.producers.get(id);
    if (p === undefined) {
      p = { id, epoch, batches: [], lastTimestamp: -1, txnFirstOffset: -1, closedTxnFirstOffset: -1, closedTxnMarker: -1 };
      this.producers.set(id, p);
    } else if (epoch > p.epoch) {
      p.epoch = epoch;
      p.batches = [];
    }
    const ts = maxTimestamp(buf, pos);
    if (ts > p.lastTimestamp) p.lastTimestamp = ts;
    if (isControlBatch(buf, pos)) {
      const type = controlType(buf, pos, size);
      if (type < 0 || p.txnFirstOffset < 0) return null;
      const closed = { producerId: id, firstOffset: p.txnFirstOffset, lastOffset: base, aborted: type === ControlType.ABORT };
      p.closedTxnFirstOffset = p.txnFirstOffset;
      p.closedTxnMarker = base;
      p.txnFirstOffset = -1;
      this.open.delete(id);
      return closed;
    }
    const seq = baseSequence(buf, pos);
    if (seq >= 0) {
      const lastSeq = (seq + (last - base)) % SEQ_WRAP;
      const prev = p.batches[p.batches.length - 1];
      if (sameRun && prev !== undefined && prev.lastOffset + 1 === base && (prev.lastSeq + 1) % SEQ_WRAP === seq) {
        prev.lastSeq = lastSeq;
        prev.lastOffset = last;
      } else {
        p.batches.push({ firstSeq: seq, lastSeq, baseOffset: base, lastOffset: last });
        if (p.batches.length > CACHED_BATCHES) p.batches.shift();
      }
    }
    if (p.txnFirstOffset < 0 && isTransactionalBatch(buf, pos)) {
      p.txnFirstOffset = base;
      this.open.set(id, p);
    }
    return null;
  }

  /** Forgets what batches at or above `offset` did: their write failed and the log rolled back. */
  truncateFrom(offset: number): void {
    let reopened = false;
    for (const [id, p] of this.producers) {
      p.batches = p.batches.filter((b) => b.baseOffset < offset);
      if (p.txnFirstOffset >= offset) {
        p.txnFirstOffset = -1;
        this.open.delete(id);
      }
      if (p.closedTxnMarker >= offset) {
        // The marker is gone, so its transaction is open again (if its data is not gone too).
        if (p.txnFirstOffset < 0 && p.closedTxnFirstOffset < offset) {
          p.txnFirstOffset = p.closedTxnFirstOffset;
          reopened = true;
        }
        p.closedTxnMarker = -1;
        p.closedTxnFirstOffset = -1;
      }
      if (p.batches.length === 0 && p.txnFirstOffset < 0) this.producers.delete(id);
    }
    if (reopened) this.reindexOpen();
  }

  /** Drops producers whose last timestamp is more than `expirationMs` before `now`; never one with an open transaction. */
  expire(now: number, expirationMs: number): number {
    let n = 0;
    for (const [id, p] of this.producers) {
      if (p.txnFirstOffset < 0 && now - p.lastTimestamp > expirationMs) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }

  /** First offset of the oldest open transaction; -1 when none is open. */
  firstOpenOffset(): number {
    for (const p of this.open.values()) return p.txnFirstOffset;
    return -1;
  }

  describe(): ProducerDescription[] {
    const out: ProducerDescription[] = [];
    for (const p of this.producers.values()) {
      const last = p.batches[p.batches.length - 1];
      out.push({ producerId: p.id, producerEpoch: p.epoch, lastSequence: last === undefined ? -1 : last.lastSeq, lastTimestamp: p.lastTimestamp, currentTxnStartOffset: p.txnFirstOffset });
    }
    return out;
  }

  openTransactions(): OpenTransaction[] {
    const out: OpenTransaction[] = [];
    for (const p of this.open.values()) out.push({ producerId: p.id, producerEpoch: p.epoch, firstOffset: p.txnFirstOffset, lastTimestamp: p.lastTimestamp });
    return out;
  }

  get size(): number {
    return this.producers.size;
  }

  /** Takes over `other`'s state (recovery rebuilt it); this object stays the one the broker holds. */
  replaceWith(other: ProducerStates): void {
    this.producers.clear();
    for (const [id, p] of other.producers) this.producers.set(id, p);
    this.reindexOpen();
  }

  toSnapshot(): Buffer {
    let size = 2 + 4 + 4;
    for (const p of this.producers.values()) size += PRODUCER_BYTES + p.batches.length * RANGE_BYTES;
    const buf = Buffer.alloc(size);
    buf.writeInt16BE(SNAPSHOT_VERSION, 0);
    buf.writeInt32BE(this.producers.size, 2);
    let o = 6;
    for (const p of this.producers.values()) {
      writeInt64(buf, o, p.id);
      buf.writeInt16BE(p.epoch, o + 8);
      writeInt64(buf, o + 10, p.lastTimestamp);
      writeInt64(buf, o + 18, p.txnFirstOffset);
      buf.writeInt8(p.batches.length, o + 26);
      o += PRODUCER_BYTES;
      for (const b of p.batches) {
        buf.writeInt32BE(b.firstSeq, o);
        buf.writeInt32BE(b.lastSeq, o + 4);
        writeInt64(buf, o + 8, b.baseOffset);
        writeInt64(buf, o + 16, b.lastOffset);
        o += RANGE_BYTES;
      }
    }
    buf.writeUInt32BE(crc32c(buf.subarray(0, o)) >>> 0, o);
    return buf;
  }

  /** The state a snapshot file holds, or null when it is torn, garbled or of another version. */
  static fromSnapshot(buf: Buffer): ProducerStates | null {
    if (buf.length < 10 || buf.readInt16BE(0) !== SNAPSHOT_VERSION) return null;
    const end = buf.length - 4;
    if ((crc32c(buf.subarray(0, end)) >>> 0) !== buf.readUInt32BE(end)) return null;
    const s = new ProducerStates();
    const count = buf.readInt32BE(2);
    let o = 6;
    for (let i = 0; i < count; i++) {
      if (o + PRODUCER_BYTES > end) return null;
      const n = buf.readInt8(o + 26);
      if (n < 0 || n > CACHED_BATCHES || o + PRODUCER_BYTES + n * RANGE_BYTES > end) return null;
      const p: ProducerEntry = { id: readInt64(buf, o), epoch: buf.readInt16BE(o + 8), batches: [], lastTimestamp: readInt64(buf, o + 10), txnFirstOffset: readInt64(buf, o + 18), closedTxnFirstOffset: -1, closedTxnMarker: -1 };
      o += PRODUCER_BYTES;
      for (let k = 0; k < n; k++) {
        p.batches.push({ firstSeq: buf.readInt32BE(o), lastSeq: buf.readInt32BE(o + 4), baseOffset: readInt64(buf, o + 8), lastOffset: readInt64(buf, o + 16) });
        o += RANGE_BYTES;
      }
      s.producers.set(p.id, p);
    }
    if (o !== end) return null;
    s.reindexOpen();
    return s;
  }

  /** Rebuilds the open-transaction order (after a reopen or a restore). Rare, so a sort is fine. */
  private reindexOpen(): void {
    const open = [...this.producers.values()].filter((p) => p.txnFirstOffset >= 0).sort((a, b) => a.txnFirstOffset - b.txnFirstOffset);
    this.open.clear();
    for (const p of open) this.open.set(p.id, p);
  }
}
