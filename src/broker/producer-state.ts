// Idempotent produce: per producer and partition, the epoch and the last five batches'
// sequence ranges (Kafka keeps five, matching max.in.flight.requests.per.connection <= 5).
// A batch that matches a cached one is a retry: it is answered with its first offset
// and not appended again. A batch that does not continue the sequence is refused.

import { ErrorCode } from '../protocol/errors.js';

const CACHED_BATCHES = 5;
const SEQ_WRAP = 2147483648;

interface BatchRange {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
}

interface ProducerEntry {
  epoch: number;
  batches: BatchRange[];
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number }
  | { kind: 'error'; code: number; message: string };

/** One producer as DescribeProducers reports it (the shape the storage layer's producer state will describe). */
export interface ProducerDescription {
  producerId: number;
  producerEpoch: number;
  lastSequence: number;
  /** -1: this state does not keep timestamps. */
  lastTimestamp: number;
  /** -1: this state does not track transactions (the log will, with the storage layer's producer state). */
  currentTxnStartOffset: number;
}

const APPEND: SequenceCheck = { kind: 'append' };

export class ProducerStates {
  private readonly producers = new Map<number, ProducerEntry>();

  /** Decides what to do with a batch run from `producerId` whose sequences span firstSeq..lastSeq. */
  check(producerId: number, epoch: number, firstSeq: number, lastSeq: number): SequenceCheck {
    const p = this.producers.get(producerId);
    if (p === undefined) return APPEND; // no state (a new producer, or one whose batches recovery did not find in the last segment): accept any sequence, as Kafka does for an unknown producer
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

  /** Records an appended batch run; call in the same turn as check() and append(). */
  record(producerId: number, epoch: number, firstSeq: number, lastSeq: number, baseOffset: number): void {
    let p = this.producers.get(producerId);
    if (p === undefined || epoch > p.epoch) {
      p = { epoch, batches: [] };
      this.producers.set(producerId, p);
    }
    p.batches.push({ firstSeq, lastSeq, baseOffset });
    if (p.batches.length > CACHED_BATCHES) p.batches.shift();
  }

  /** Forgets batches at or above `offset`: their write failed and the log rolled back. */
  truncateFrom(offset: number): void {
    for (const [id, p] of this.producers) {
      p.batches = p.batches.filter((b) => b.baseOffset < offset);
      if (p.batches.length === 0) this.producers.delete(id);
    }
  }

  /** The producers known here, for DescribeProducers: their epoch and last sequence (no timestamps, no open transactions). */
  describe(): ProducerDescription[] {
    const out: ProducerDescription[] = [];
    for (const [producerId, p] of this.producers) {
      const last = p.batches[p.batches.length - 1];
      out.push({ producerId, producerEpoch: p.epoch, lastSequence: last === undefined ? -1 : last.lastSeq, lastTimestamp: -1, currentTxnStartOffset: -1 });
    }
    return out;
  }

  get size(): number {
    return this.producers.size;
  }
}
