// One share group's state on one partition (KIP-932): which records are handed out, to whom,
// until when, and how often. Pure state: no I/O, no timers (the caller passes the clock and
// schedules lock expiry; see share-group.ts).
//
// The records between the share-partition start offset (SPSO, `startOffset`) and
// `endOffset` (one past the SPEO: the first offset never acquired) are "in flight". They are
// held as a sorted list of ranges that covers [startOffset, endOffset) without gaps, each
// range one state: AVAILABLE (may be acquired again), ACQUIRED (locked to a member until its
// lock expires), ACKNOWLEDGED or ARCHIVED (done). Ranges split when part of one changes and
// merge back when neighbours agree, so a consumer acknowledging whole batches keeps the list
// a few entries long. Records from endOffset on are available and not yet delivered.
// The SPSO moves past leading done ranges.
//
// Delivery counts: acquiring a record counts one delivery. A record released (by the member,
// by its lock expiring, or by its member leaving) with `maxDeliveries` deliveries already made
// is archived instead of made available again (group.share.delivery.count.limit).

import { ErrorCode } from '../../protocol/errors.js';

/** Record states, with Kafka's codes (DescribeShareGroupOffsets and the persisted state use them). */
export const RecordState = { AVAILABLE: 0, ACQUIRED: 1, ACKNOWLEDGED: 2, ARCHIVED: 4 } as const;
export type RecordState = (typeof RecordState)[keyof typeof RecordState];

/** Acknowledgement types of ShareFetch and ShareAcknowledge. */
export const AckType = { GAP: 0, ACCEPT: 1, RELEASE: 2, REJECT: 3, RENEW: 4 } as const;

interface Range {
  first: number;
  last: number;
  state: RecordState;
  deliveryCount: number;
  /** The member holding an ACQUIRED range, else null. */
  owner: string | null;
  /** When an ACQUIRED range's lock expires (ms, the caller's clock), else 0. */
  lockUntil: number;
}

export interface AcquiredRange {
  firstOffset: number;
  lastOffset: number;
  deliveryCount: number;
}

/** What survives a restart: the SPSO and the in-flight ranges, acquired ones as available again. */
export interface SharePartitionState {
  startOffset: number;
  /** [first, last, state, deliveryCount] */
  ranges: [number, number, number, number][];
}

export interface SharePartitionLimits {
  lockDurationMs: number;
  maxDeliveries: number;
  /** Records acquired at once, all members together (the batch that crosses it is still handed out whole). */
  maxLocks: number;
}

const done = (s: RecordState): boolean => s === RecordState.ACKNOWLEDGED || s === RecordState.ARCHIVED;

export class SharePartition {
  startOffset: number;
  endOffset: number;
  private ranges: Range[] = [];

  constructor(startOffset: number, readonly limits: SharePartitionLimits) {
    this.startOffset = startOffset;
    this.endOffset = startOffset;
  }

  static restore(state: SharePartitionState, limits: SharePartitionLimits): SharePartition {
    const sp = new SharePartition(state.startOffset, limits);
    for (const [first, last, s, deliveryCount] of state.ranges) {
      if (first !== sp.endOffset || last < first) continue; // not contiguous: not ours, ignore
      const st = s === RecordState.ACKNOWLEDGED || s === RecordState.ARCHIVED ? s : RecordState.AVAILABLE;
      sp.ranges.push({ first, last, state: st, deliveryCount, owner: null, lockUntil: 0 });
      sp.endOffset = last + 1;
    }
    sp.tidy();
    return sp;
  }

  /** The state to persist: acquired records are saved as available (a restart releases them). */
  state(): SharePartitionState {
    return {
      startOffset: this.startOffset,
      ranges: this.ranges.map((r) => [r.first, r.last, r.state === RecordState.ACQUIRED ? RecordState.AVAILABLE : r.state, r.deliveryCount]),
    };
  }

  /** In-flight ranges, for tests and describe: [first, last, state, deliveryCount, owner]. */
  inFlight(): [number, number, RecordState, number, string | null][] {
    return this.ranges.map((r) => [r.first, r.last, r.state, r.deliveryCount, r.owner]);
  }

  /** The first offset that could be acquired: the first available in-flight record, else endOffset. */
  nextAcquirable(): number {
    for (const r of this.ranges) if (r.state === RecordState.AVAILABLE) return r.first;
    return this.endOffset;
  }

  /**
   * Acquires for `member` the available records in [from, upTo]: in-flight ones up to
   * `maxRecords` in all (and up to the partition's lock limit), then, while that is not reached, every record from endOffset to
   * upTo (the caller ends upTo at a batch boundary, so whole batches are handed out, as
   * Kafka's batch-optimized mode does), or, `strict` (the record-limit mode), only up to
   * maxRecords. Returns the acquired ranges in offset order.
   */
  acquire(member: string, from: number, upTo: number, maxRecords: number, now: number, strict = false): AcquiredRange[] {
    const out: AcquiredRange[] = [];
    let left = Math.min(Math.max(1, maxRecords), this.limits.maxLocks - this.acquiredCount());
    if (left <= 0) return out;
    const lockUntil = now + this.limits.lockDurationMs;
    const lo = Math.max(from, this.startOffset);
    for (let i = this.indexOf(lo); i >= 0 && i < this.ranges.length && left > 0; i++) {
      const r = this.ranges[i]!;
      if (r.first > upTo) break;
      if (r.state !== RecordState.AVAILABLE || r.last < lo) continue;
      const a = Math.max(r.first, lo);
      const b = Math.min(r.last, upTo, a + left - 1);
      const piece = this.isolate(a, b);
      for (const p of piece) {
        p.state = RecordState.ACQUIRED;
        p.owner = member;
        p.lockUntil = lockUntil;
        p.deliveryCount++;
        push(out, p.first, p.last, p.deliveryCount);
        left -= p.last - p.first + 1;
      }
      i = this.indexOf(b);
    }
    if (left > 0 && upTo >= this.endOffset && upTo >= lo) {
      const first = Math.max(this.endOffset, lo);
      if (strict) upTo = Math.min(upTo, first + left - 1);
      if (first > this.endOffset) {
        // Records skipped below `from` (never delivered): they stay available.
        this.ranges.push({ first: this.endOffset, last: first - 1, state: RecordState.AVAILABLE, deliveryCount: 0, owner: null, lockUntil: 0 });
      }
      this.ranges.push({ first, last: upTo, state: RecordState.ACQUIRED, deliveryCount: 1, owner: member, lockUntil });
      this.endOffset = upTo + 1;
      push(out, first, upTo, 1);
    }
    this.tidy();
    return out;
  }

  /**
   * Applies one acknowledgement batch of `member`: `types` holds one type for the whole range
   * or one per offset. Every record named must be acquired by the member (else
   * INVALID_RECORD_STATE and nothing changes). Returns an error code.
   */
  acknowledge(member: string, first: number, last: number, types: readonly number[], now: number): number {
    if (!(first <= last) || types.length === 0 || (types.length !== 1 && types.length !== last - first + 1)) return ErrorCode.INVALID_REQUEST;
    for (const t of types) if (t < AckType.GAP || t > AckType.RENEW) return ErrorCode.INVALID_REQUEST;
    if (first < this.startOffset || last >= this.endOffset) return ErrorCode.INVALID_RECORD_STATE;
    for (let i = this.indexOf(first); i < this.ranges.length && this.ranges[i]!.first <= last; i++) {
      const r = this.ranges[i]!;
      if (r.state !== RecordState.ACQUIRED || r.owner !== member) return ErrorCode.INVALID_RECORD_STATE;
    }
    if (types.length === 1) this.settle(first, last, types[0]!, now);
    else {
      let runStart = 0;
      for (let k = 1; k <= types.length; k++) {
        if (k === types.length || types[k] !== types[runStart]) {
          this.settle(first + runStart, first + k - 1, types[runStart]!, now);
          runStart = k;
        }
      }
    }
    this.tidy();
    return ErrorCode.NONE;
  }

  /** Releases the records whose lock has expired; true when any changed. */
  expireLocks(now: number): boolean {
    let changed = false;
    for (const r of this.ranges) {
      if (r.state === RecordState.ACQUIRED && r.lockUntil <= now) {
        this.release(r);
        changed = true;
      }
    }
    if (changed) this.tidy();
    return changed;
  }

  /** Releases every record `member` holds (it left, or closed its share session); true when any changed. */
  releaseMember(member: string): boolean {
    let changed = false;
    for (const r of this.ranges) {
      if (r.state === RecordState.ACQUIRED && r.owner === member) {
        this.release(r);
        changed = true;
      }
    }
    if (changed) this.tidy();
    return changed;
  }

  /** The earliest lock expiry, or Infinity when nothing is acquired. */
  nextExpiry(): number {
    let t = Infinity;
    for (const r of this.ranges) if (r.state === RecordState.ACQUIRED && r.lockUntil < t) t = r.lockUntil;
    return t;
  }

  /** In-flight records already acknowledged or archived (past the SPSO, so not yet forgotten). */
  doneCount(): number {
    let n = 0;
    for (const r of this.ranges) if (done(r.state)) n += r.last - r.first + 1;
    return n;
  }

  /** Records acquired by anyone. */
  acquiredCount(): number {
    let n = 0;
    for (const r of this.ranges) if (r.state === RecordState.ACQUIRED) n += r.last - r.first + 1;
    return n;
  }

  /**
   * Moves the SPSO forward to `offset` (the log's start moved past it: retention,
   * DeleteRecords; or an admin reset): records before it are forgotten.
   */
  moveStartTo(offset: number): void {
    if (offset <= this.startOffset) return;
    this.startOffset = offset;
    while (this.ranges.length > 0 && this.ranges[0]!.last < offset) this.ranges.shift();
    if (this.ranges.length > 0 && this.ranges[0]!.first < offset) this.ranges[0]!.first = offset;
    if (this.endOffset < offset) this.endOffset = offset;
  }

  private settle(first: number, last: number, type: number, now: number): void {
    for (const r of this.isolate(first, last)) {
      switch (type) {
        case AckType.ACCEPT:
          r.state = RecordState.ACKNOWLEDGED;
          break;
        case AckType.RELEASE:
          this.release(r);
          break;
        case AckType.RENEW:
          r.lockUntil = now + this.limits.lockDurationMs;
          continue;
        default: // REJECT, and GAP (no record at that offset): never delivered again
          r.state = RecordState.ARCHIVED;
          break;
      }
      r.owner = null;
      r.lockUntil = 0;
    }
  }

  private release(r: Range): void {
    r.state = r.deliveryCount >= this.limits.maxDeliveries ? RecordState.ARCHIVED : RecordState.AVAILABLE;
    r.owner = null;
    r.lockUntil = 0;
  }

  /** Index of the range holding `offset` (the first one when it lies before them, -1 when there are none). */
  private indexOf(offset: number): number {
    const rs = this.ranges;
    if (rs.length === 0) return -1;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rs[mid]!.last < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Splits ranges so that [first, last] (inside [startOffset, endOffset)) is covered by whole ranges; returns them. */
  private isolate(first: number, last: number): Range[] {
    this.splitBefore(first);
    this.splitBefore(last + 1);
    const out: Range[] = [];
    for (let i = this.indexOf(first); i >= 0 && i < this.ranges.length && this.ranges[i]!.first <= last; i++) out.push(this.ranges[i]!);
    return out;
  }

  /** Makes `offset` the first offset of a range, when it falls inside one. */
  private splitBefore(offset: number): void {
    const i = this.indexOf(offset);
    if (i < 0) return;
    const r = this.ranges[i]!;
    if (offset <= r.first || offset > r.last) return;
    this.ranges.splice(i + 1, 0, { ...r, first: offset });
    r.last = offset - 1;
  }

  /** Moves the SPSO past leading done ranges and merges neighbours in the same state. */
  private tidy(): void {
    let drop = 0;
    while (drop < this.ranges.length && done(this.ranges[drop]!.state)) drop++;
    if (drop > 0) {
      this.startOffset = this.ranges[drop - 1]!.last + 1;
      this.ranges.splice(0, drop);
    }
    if (this.ranges.length === 0) this.startOffset = this.endOffset;
    let n = 0;
    for (let i = 0; i < this.ranges.length; i++) {
      const r = this.ranges[i]!;
      const prev = n > 0 ? this.ranges[n - 1]! : null;
      if (prev !== null && prev.state === r.state && prev.last + 1 === r.first && (done(r.state) || (prev.deliveryCount === r.deliveryCount && prev.owner === r.owner && prev.lockUntil === r.lockUntil))) {
        prev.last = r.last;
        if (done(r.state)) prev.deliveryCount = Math.max(prev.deliveryCount, r.deliveryCount);
        continue;
      }
      this.ranges[n++] = r;
    }
    this.ranges.length = n;
  }
}

function push(out: AcquiredRange[], first: number, last: number, deliveryCount: number): void {
  const prev = out[out.length - 1];
  if (prev !== undefined && prev.lastOffset + 1 === first && prev.deliveryCount === deliveryCount) prev.lastOffset = last;
  else out.push({ firstOffset: first, lastOffset: last, deliveryCount });
}
