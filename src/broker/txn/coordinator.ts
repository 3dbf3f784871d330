// The transaction coordinator: one state machine per transactional id, as Kafka's.
//
//   Empty --AddPartitions/AddOffsets--> Ongoing --EndTxn--> PrepareCommit|PrepareAbort
//     --markers written to every partition, pending offsets settled--> CompleteCommit|CompleteAbort
//
// Every transition is stored in an internal log (`__transaction_state-0`) before it takes
// effect, so a restart finds each transaction where its last answer left it. Once
// PrepareCommit/PrepareAbort is stored the outcome is decided: the markers are written (and
// rewritten after a crash, on start) until every partition has one. A transaction left
// Ongoing past its timeout, and one a new instance of its producer replaces (InitProducerId),
// is aborted with the producer epoch bumped, which fences the old instance.
//
// Transaction version 2 (KIP-890): the producer adds partitions implicitly with Produce v12+,
// and every EndTxn v5+ bumps the epoch (the new one comes back in the answer), so a late
// write of a finished transaction can never join the next one.

import { ErrorCode } from '../../protocol/errors.js';
import type { Marker } from '../../protocol/control-batch.js';
import type { Log } from '../../storage/log.js';
import { ChangeLog, type ChangeLogOptions } from '../internal/change-log.js';
import type { OffsetStore } from '../groups/offset-store.js';
import type { Logger } from '../logger.js';

// The states stored. Kafka has one more, PrepareEpochFence; here a fencing abort is stored as
// PrepareAbort with the bumped epoch, so it never occurs (ListTransactions still takes the name).
export const TxnState = {
  Empty: 'Empty',
  Ongoing: 'Ongoing',
  PrepareCommit: 'PrepareCommit',
  PrepareAbort: 'PrepareAbort',
  CompleteCommit: 'CompleteCommit',
  CompleteAbort: 'CompleteAbort',
  Dead: 'Dead',
} as const;
export type TxnState = (typeof TxnState)[keyof typeof TxnState];

/** The largest epoch a producer id gets; past it the producer gets a new id (Kafka: Short.MaxValue - 1). */
export const MAX_EPOCH = 32766;

/** One transactional id's state, as stored (one JSON record per transition). */
export interface TxnRecord {
  id: string;
  producerId: number;
  producerEpoch: number;
  /** The id and epoch before the last bump, so a retried request that caused it is recognised. */
  lastProducerId: number;
  lastProducerEpoch: number;
  /** Set while a TV2 end runs out of epochs: the id the producer continues with, at epoch 0. */
  nextProducerId: number;
  timeoutMs: number;
  state: TxnState;
  /** Partitions of the ongoing (or ending) transaction, as [topic, partition]. */
  partitions: [string, number][];
  /** Groups whose offsets the transaction commits (AddOffsetsToTxn / TxnOffsetCommit). */
  groups: string[];
  /** When the transaction started (its first partition), or -1. */
  startMs: number;
  updateMs: number;
  /** The transaction ends the KIP-890 way (EndTxn v5+). */
  tv2: boolean;
}

interface Change {
  v: 1;
  txn?: TxnRecord;
  /** Transactional ids removed (expired). */
  removed?: string[];
}

export interface TxnSettings {
  maxTimeoutMs: number;
  /** transactional.id.expiration.ms: an idle id (no transaction open) is forgotten after this. */
  idExpirationMs: number;
  /** The transaction.version the broker announces: 2 lets clients use KIP-890. */
  version: number;
}

/** What the coordinator needs from the rest of the broker. */
export interface TxnServices {
  /** Writes a marker to a partition; resolves once it is stored as the fsync policy stores data. Resolves when the partition no longer exists. */
  writeMarker(topic: string, partition: number, marker: Marker): Promise<void>;
  partitionExists(topic: string, partition: number): boolean;
  allocateProducerId(): Promise<number>;
  offsets: OffsetStore;
}

/** A transaction that completed (its markers written, Complete* stored), as completion listeners see it. */
export interface CompletedTransaction {
  transactionalId: string;
  commit: boolean;
  /** When it started (its first partition or group joined) and when it completed, ms since the epoch. */
  startMs: number;
  endMs: number;
}

export interface InitResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

const RETRY_MARKERS_MS = 1000;
const noop = (): void => undefined;

function fresh(id: string, producerId: number, timeoutMs: number, now: number): TxnRecord {
  return { id, producerId, producerEpoch: -1, lastProducerId: -1, lastProducerEpoch: -1, nextProducerId: -1, timeoutMs, state: TxnState.Empty, partitions: [], groups: [], startMs: -1, updateMs: now, tv2: false };
}

const tp = (topic: string, partition: number): string => `${topic}\0${partition}`;

export class TransactionCoordinator {
  readonly txns = new Map<string, TxnRecord>();
  /** Transactional id by the producer id it currently holds (Produce and TxnOffsetCommit checks). */
  private readonly byProducerId = new Map<number, string>();
  /** Per transactional id, the operation in progress: operations on one id run one after another. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Ends in progress (markers being written), by transactional id; resolved after the first attempt. */
  private readonly completing = new Map<string, Promise<void>>();
  private readonly changes: ChangeLog<Change>;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /**
   * Called in the turn each transaction completes (the broker's metrics listen). Ends with no
   * transaction open (a TV2 abort that only moves the epoch on) are not reported. A listener
   * that throws is logged and changes nothing.
   */
  readonly completionListeners = new Set<(c: CompletedTransaction) => void>();

  constructor(
    log: Log,
    options: ChangeLogOptions,
    readonly settings: TxnSettings,
    private readonly services: TxnServices,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.changes = new ChangeLog(log, options);
  }

  /** Replays the stored state, then finishes every transaction a crash left between prepare and complete. */
  async load(): Promise<void> {
    await this.changes.replay((c) => this.apply(c));
    for (const t of this.txns.values()) {
      if (t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort) this.startCompletion(t);
    }
  }

  /** Checks timeouts and idle ids every `intervalMs`. */
  startTimer(intervalMs: number): void {
    this.timer = setInterval(() => void this.expire(), intervalMs);
    this.timer.unref();
  }

  private apply(c: Change): void {
    if (c.txn) this.set(c.txn);
    for (const id of c.removed ?? []) {
      const t = this.txns.get(id);
      if (t && this.byProducerId.get(t.producerId) === id) this.byProducerId.delete(t.producerId);
      this.txns.delete(id);
    }
  }

  private set(t: TxnRecord): void {
    const old = this.txns.get(t.id);
    if (old && old.producerId !== t.producerId && this.byProducerId.get(old.producerId) === t.id) this.byProducerId.delete(old.producerId);
    this.txns.set(t.id, t);
    this.byProducerId.set(t.producerId, t.id);
  }

  /** Stores a transition, then applies it. */
  private async store(t: TxnRecord): Promise<void> {
    const change: Change = { v: 1, txn: t };
    await this.changes.write(change);
    this.set(t);
    this.changes.maybeCompact(this.txns.size, () => this.snapshot());
  }

  private snapshot(): Change[] {
    const state = new Map(this.txns);
    for (const c of this.changes.inflight) {
      if (c.txn) state.set(c.txn.id, c.txn);
      for (const id of c.removed ?? []) state.delete(id);
    }
    return [...state.values()].map((txn) => ({ v: 1, txn }));
  }

  /** Runs `fn` once every earlier operation on `id` is done. */
  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    // The entry goes before the caller resumes, so a caller never sees its own operation as pending.
    const run = prev.then(fn, fn).finally(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    const tail = run.then(noop, noop);
    this.locks.set(id, tail);
    return run;
  }

  transactionalIdOf(producerId: number): string | undefined {
    return this.byProducerId.get(producerId);
  }

  // ------------------------------------------------------------ InitProducerId

  /**
   * InitProducerId with a transactional id: a new id gets a producer id at epoch 0; a known one
   * gets its epoch bumped, which fences every older instance, after its open transaction (if
   * any) is aborted. v3+ producers recovering from an error send their current id and epoch.
   */
  initProducerId(id: string, timeoutMs: number, expectedProducerId: number, expectedEpoch: number): Promise<InitResult> {
    const fail = (errorCode: number): InitResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if (timeoutMs <= 0 || timeoutMs > this.settings.maxTimeoutMs) return Promise.resolve(fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT));
    return this.locked(id, async () => {
      let t = this.txns.get(id);
      if (t === undefined) {
        const created = { ...fresh(id, await this.services.allocateProducerId(), timeoutMs, this.now()), producerEpoch: 0 };
        await this.store(created);
        return { errorCode: ErrorCode.NONE, producerId: created.producerId, producerEpoch: 0 };
      }
      if (expectedProducerId >= 0) {
        // A retry of the call that made the current epoch: answer it again.
        if (t.lastProducerId === expectedProducerId && t.lastProducerEpoch === expectedEpoch && (t.state === TxnState.Empty || isComplete(t.state))) {
          return { errorCode: ErrorCode.NONE, producerId: t.producerId, producerEpoch: t.producerEpoch };
        }
        if (t.producerId !== expectedProducerId || t.producerEpoch !== expectedEpoch) return fail(ErrorCode.PRODUCER_FENCED);
      }
      if (t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      if (t.state === TxnState.Ongoing) {
        // A new instance replaces the old: abort what it left open, fencing it with a new epoch.
        await this.prepareEnd(t, false, 'fence');
        await this.completing.get(id);
        t = this.txns.get(id)!;
        if (!isComplete(t.state)) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      const next = await this.bumped(t);
      await this.store({ ...next, state: TxnState.Empty, partitions: [], groups: [], startMs: -1, timeoutMs, updateMs: this.now(), tv2: false });
      return { errorCode: ErrorCode.NONE, producerId: next.producerId, producerEpoch: next.producerEpoch };
    });
  }

  /** The record with the epoch bumped (a new producer id at epoch 0 once the epochs run out). */
  private async bumped(t: TxnRecord): Promise<TxnRecord> {
    if (t.producerEpoch >= MAX_EPOCH) {
      return { ...t, lastProducerId: t.producerId, lastProducerEpoch: t.producerEpoch, producerId: await this.services.allocateProducerId(), producerEpoch: 0 };
    }
    return { ...t, lastProducerId: t.producerId, lastProducerEpoch: t.producerEpoch, producerEpoch: t.producerEpoch + 1 };
  }

  // ------------------------------------------------------------ adding partitions and groups

  /** Why a producer may not act on this transaction now, or NONE. */
  private producerCheck(t: TxnRecord | undefined, producerId: number, epoch: number): number {
    if (t === undefined || t.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (t.producerEpoch !== epoch) return ErrorCode.PRODUCER_FENCED;
    if (t.state === TxnState.PrepareCommit || t.state === TxnState.PrepareAbort) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (t.state === TxnState.Dead) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    return ErrorCode.NONE;
  }

  /**
   * AddPartitionsToTxn (and the implicit add of Produce v12+): adds partitions to the transaction,
   * starting it if none is open. Answers one error code for all (each partition gets it) or,
   * for partitions that do not exist, UNKNOWN_TOPIC_OR_PARTITION with the others OPERATION_NOT_ATTEMPTED.
   */
  addPartitions(id: string, producerId: number, epoch: number, partitions: [string, number][]): Promise<Map<string, number>> {
    return this.locked(id, async () => {
      const answer = new Map<string, number>();
      const all = (code: number): Map<string, number> => {
        for (const [topic, p] of partitions) answer.set(tp(topic, p), code);
        return answer;
      };
      const t = this.txns.get(id);
      const code = this.producerCheck(t, producerId, epoch);
      if (code !== ErrorCode.NONE) return all(code);
      const missing = partitions.filter(([topic, p]) => !this.services.partitionExists(topic, p));
      if (missing.length > 0) {
        all(ErrorCode.OPERATION_NOT_ATTEMPTED);
        for (const [topic, p] of missing) answer.set(tp(topic, p), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        return answer;
      }
      const have = new Set(t!.state === TxnState.Ongoing ? t!.partitions.map(([topic, p]) => tp(topic, p)) : []);
      const added = partitions.filter(([topic, p]) => !have.has(tp(topic, p)));
      if (added.length > 0 || t!.state !== TxnState.Ongoing) {
        const unique = new Map(added.map((x) => [tp(x[0], x[1]), x] as const));
        await this.store(this.ongoing(t!, [...unique.values()], []));
      }
      return all(ErrorCode.NONE);
    });
  }

  /** The record with the transaction open (started now if it was not) and these partitions and groups added. */
  private ongoing(t: TxnRecord, partitions: [string, number][], groups: string[]): TxnRecord {
    const starting = t.state !== TxnState.Ongoing;
    const now = this.now();
    return {
      ...t,
      state: TxnState.Ongoing,
      partitions: starting ? partitions : [...t.partitions, ...partitions],
      groups: starting ? groups : [...new Set([...t.groups, ...groups])],
      startMs: starting ? now : t.startMs,
      updateMs: now,
      tv2: false,
    };
  }

  /** AddPartitionsToTxn v4+ verifyOnly: whether each partition is in the open transaction (nothing changes). */
  verifyPartitions(id: string, producerId: number, epoch: number, partitions: [string, number][]): Map<string, number> {
    const t = this.txns.get(id);
    const code = this.producerCheck(t, producerId, epoch);
    const answer = new Map<string, number>();
    const have = new Set(t?.state === TxnState.Ongoing ? t.partitions.map(([topic, p]) => tp(topic, p)) : []);
    for (const [topic, p] of partitions) {
      answer.set(tp(topic, p), code !== ErrorCode.NONE ? code : have.has(tp(topic, p)) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE);
    }
    return answer;
  }

  /** AddOffsetsToTxn, and the implicit add of TxnOffsetCommit v5+ (TV2): the group's offsets join the transaction. */
  addGroup(id: string, producerId: number, epoch: number, group: string): Promise<number> {
    return this.locked(id, async () => {
      const t = this.txns.get(id);
      const code = this.producerCheck(t, producerId, epoch);
      if (code !== ErrorCode.NONE) return code;
      if (t!.state !== TxnState.Ongoing || !t!.groups.includes(group)) await this.store(this.ongoing(t!, [], [group]));
      return ErrorCode.NONE;
    });
  }

  /**
   * Produce of a transactional batch: the producer must hold the current epoch of an open
   * transaction that includes the partition. With `implicitAdd` (Produce v12+, TV2) the
   * partition is added (and the transaction started) here instead. The transaction is the one
   * of `transactionalId` (the Produce request's), and the producer id must be the one it holds:
   * a producer id alone never picks a transaction, so no producer can write into another's
   * (INVALID_PRODUCER_ID_MAPPING, as Kafka's coordinator answers a mismatch).
   */
  async checkProduce(transactionalId: string, producerId: number, epoch: number, topic: string, partition: number, implicitAdd: boolean): Promise<{ code: number; message: string }> {
    const t = this.txns.get(transactionalId);
    if (t === undefined) return { code: ErrorCode.INVALID_PRODUCER_ID_MAPPING, message: `transactional id ${transactionalId} has no producer on this broker; call InitProducerId first` };
    if (t.producerId !== producerId) return { code: ErrorCode.INVALID_PRODUCER_ID_MAPPING, message: `producer id ${producerId} is not the producer of transactional id ${transactionalId}` };
    if (epoch < t.producerEpoch) return { code: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer epoch ${epoch} is older than the current ${t.producerEpoch}: a newer instance of ${t.id} took over` };
    if (epoch > t.producerEpoch) return { code: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer epoch ${epoch} is newer than the coordinator's ${t.producerEpoch}` };
    if (t.state === TxnState.Ongoing && t.partitions.some(([n, p]) => n === topic && p === partition)) return { code: ErrorCode.NONE, message: '' };
    if (!implicitAdd) return { code: ErrorCode.INVALID_TXN_STATE, message: `partition ${topic}-${partition} was not added to the transaction of ${t.id} (AddPartitionsToTxn first)` };
    const code = (await this.addPartitions(t.id, producerId, epoch, [[topic, partition]])).get(tp(topic, partition)) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    return { code, message: code === ErrorCode.NONE ? '' : `the partition could not join the transaction of ${t.id}` };
  }

  /**
   * TxnOffsetCommit: stores the group's offsets as pending in the producer's transaction, while
   * no other operation on the transaction runs (an end cannot settle offsets half-written).
   * With `implicitAdd` (v5+, TV2) the group joins the transaction here. Returns NONE, or why not.
   */
  commitOffsets(id: string, producerId: number, epoch: number, group: string, implicitAdd: boolean, write: () => Promise<void>): Promise<number> {
    return this.locked(id, async () => {
      let t = this.txns.get(id);
      const code = this.producerCheck(t, producerId, epoch);
      if (code !== ErrorCode.NONE) return code;
      if (implicitAdd && (t!.state !== TxnState.Ongoing || !t!.groups.includes(group))) {
        await this.store(this.ongoing(t!, [], [group]));
        t = this.txns.get(id)!;
      }
      if (t!.state !== TxnState.Ongoing || !t!.groups.includes(group)) return ErrorCode.INVALID_TXN_STATE;
      await write();
      return ErrorCode.NONE;
    });
  }

  // ------------------------------------------------------------ EndTxn

  /**
   * EndTxn: decides the transaction (PrepareCommit/PrepareAbort, stored), then writes the
   * markers and settles the offsets. Answers once the decision is stored and the markers were
   * tried once; markers that failed are retried until written. `tv2` (EndTxn v5+) bumps the
   * epoch and returns the producer id and epoch to continue with.
   */
  endTxn(id: string, producerId: number, epoch: number, commit: boolean, tv2: boolean): Promise<InitResult> {
    return this.locked(id, async () => {
      const t = this.txns.get(id);
      const answer = (errorCode: number): InitResult => {
        const cur = this.txns.get(id);
        return { errorCode, producerId: cur?.producerId ?? -1, producerEpoch: cur?.producerEpoch ?? -1 };
      };
      if (t === undefined || (t.producerId !== producerId && t.lastProducerId !== producerId)) return answer(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      // A retry of an end that already happened (TV2 bumped the epoch, maybe the id).
      const retried = t.lastProducerId === producerId && t.lastProducerEpoch === epoch && t.tv2 && (t.producerId !== producerId || t.producerEpoch !== epoch);
      if (retried) {
        const done = commit ? t.state === TxnState.CompleteCommit || t.state === TxnState.PrepareCommit : t.state === TxnState.CompleteAbort || t.state === TxnState.PrepareAbort;
        return answer(done ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE);
      }
      if (t.producerId !== producerId || t.producerEpoch !== epoch) return answer(ErrorCode.PRODUCER_FENCED);
      switch (t.state) {
        case TxnState.Ongoing:
          break;
        case TxnState.Empty:
        case TxnState.CompleteCommit:
        case TxnState.CompleteAbort:
          // TV2 may abort with no transaction open (a producer moving its epoch on).
          if (tv2 && !commit) break;
          // TV1: a retry of the end that completed it.
          if (t.state === TxnState.CompleteCommit && commit && !t.tv2) return answer(ErrorCode.NONE);
          if (t.state === TxnState.CompleteAbort && !commit && !t.tv2) return answer(ErrorCode.NONE);
          return answer(ErrorCode.INVALID_TXN_STATE);
        case TxnState.PrepareCommit:
          return answer(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
        case TxnState.PrepareAbort:
          return answer(!commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
        default:
          return answer(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      await this.prepareEnd(t, commit, tv2 ? 'tv2' : 'tv1');
      await this.completing.get(id);
      return answer(ErrorCode.NONE);
    });
  }

  /**
   * Stores the decision and starts writing markers. A TV2 end and a fencing abort (timeout, new
   * instance) raise the epoch first, so the markers carry the new epoch and fence every write
   * of the old one; only a TV2 end lets its producer retry with the old epoch.
   */
  private async prepareEnd(t: TxnRecord, commit: boolean, how: 'tv1' | 'tv2' | 'fence'): Promise<void> {
    let next: TxnRecord = { ...t, state: commit ? TxnState.PrepareCommit : TxnState.PrepareAbort, updateMs: this.now(), tv2: how === 'tv2' };
    if (how !== 'tv1') {
      if (t.producerEpoch >= MAX_EPOCH) {
        // Out of epochs: the markers use the last epoch, and the producer continues with a new id.
        next = { ...next, lastProducerId: t.producerId, lastProducerEpoch: t.producerEpoch, nextProducerId: await this.services.allocateProducerId() };
      } else {
        next = { ...next, lastProducerId: t.producerId, lastProducerEpoch: t.producerEpoch, producerEpoch: t.producerEpoch + 1 };
      }
    }
    await this.store(next);
    this.logger.debug('transaction ending', { transactionalId: t.id, commit, partitions: t.partitions.length, producerId: next.producerId, producerEpoch: next.producerEpoch });
    this.startCompletion(next);
  }

  /** Writes the markers and settles the offsets, retrying until done, then stores Complete*. */
  private startCompletion(t: TxnRecord): void {
    const commit = t.state === TxnState.PrepareCommit;
    let firstAttempt!: () => void;
    this.completing.set(t.id, new Promise<void>((resolve) => (firstAttempt = resolve)));
    const attempt = async (): Promise<void> => {
      try {
        const marker: Marker = { producerId: t.producerId, producerEpoch: t.producerEpoch, commit, coordinatorEpoch: 0, timestamp: this.now() };
        await Promise.all(t.partitions.filter(([topic, p]) => this.services.partitionExists(topic, p)).map(([topic, p]) => this.services.writeMarker(topic, p, marker)));
        await this.services.offsets.endTransaction(t.producerId, commit);
        const done: TxnRecord = { ...t, state: commit ? TxnState.CompleteCommit : TxnState.CompleteAbort, partitions: [], groups: [], startMs: -1, updateMs: this.now() };
        if (t.nextProducerId >= 0) Object.assign(done, { producerId: t.nextProducerId, producerEpoch: 0, nextProducerId: -1 });
        await this.store(done);
        this.completing.delete(t.id);
        if (t.startMs >= 0) this.completed({ transactionalId: t.id, commit, startMs: t.startMs, endMs: done.updateMs });
        firstAttempt();
      } catch (e) {
        firstAttempt();
        if (this.closed) return;
        this.logger.warn('transaction markers could not be written; retrying', { transactionalId: t.id, commit, error: e });
        setTimeout(() => void attempt(), RETRY_MARKERS_MS).unref();
      }
    };
    void attempt();
  }

  private completed(c: CompletedTransaction): void {
    for (const listener of this.completionListeners) {
      try {
        listener(c);
      } catch (e) {
        this.logger.warn('a transaction completion listener failed', { transactionalId: c.transactionalId, error: e });
      }
    }
  }

  /** Transactions open now: started and not yet completed (Ongoing, or deciding and writing markers). */
  openCount(): number {
    let n = 0;
    for (const t of this.txns.values()) if (isOpen(t.state)) n++;
    return n;
  }

  // ------------------------------------------------------------ timeouts and expiry

  /** Aborts transactions open past their timeout (fencing their producer) and forgets idle ids. */
  async expire(): Promise<void> {
    const now = this.now();
    const removed: string[] = [];
    for (const t of [...this.txns.values()]) {
      if (t.state === TxnState.Ongoing && now - t.startMs > t.timeoutMs) {
        await this.locked(t.id, async () => {
          const cur = this.txns.get(t.id);
          if (cur?.state !== TxnState.Ongoing || now - cur.startMs <= cur.timeoutMs) return;
          this.logger.warn('transaction timed out; aborting it', { transactionalId: t.id, openMs: now - cur.startMs, timeoutMs: cur.timeoutMs });
          await this.prepareEnd(cur, false, 'fence');
        }).catch((e: unknown) => this.logger.warn('timed-out transaction could not be aborted', { transactionalId: t.id, error: e }));
      } else if ((t.state === TxnState.Empty || isComplete(t.state)) && now - t.updateMs > this.settings.idExpirationMs && !this.locks.has(t.id)) {
        removed.push(t.id);
      }
    }
    if (removed.length > 0) {
      const change: Change = { v: 1, removed };
      await this.changes.write(change).then(
        () => this.apply(change),
        (e: unknown) => this.logger.warn('expired transactional ids could not be removed', { error: e }),
      );
    }
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    return this.changes.close();
  }
}

function isOpen(s: TxnState): boolean {
  return s === TxnState.Ongoing || s === TxnState.PrepareCommit || s === TxnState.PrepareAbort;
}

function isComplete(s: TxnState): boolean {
  return s === TxnState.CompleteCommit || s === TxnState.CompleteAbort;
}
