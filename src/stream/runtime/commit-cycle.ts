// Commit and roll back for the Kafka runtime (pipeline.ts): the one producer of the process
// (or worker), what was sent since the last commit, and the two ways a cycle ends.
//
// - Commit (src/stream/README.md): flush every task, send changelog records, then under
//   exactly-once the input offsets in the same transaction with the group member's id and
//   epoch (KIP-447), then commit; only after that `store.commit(checkpoint)`, so local state is
//   never ahead of the changelog. Under at-least-once: idempotent sends, then OffsetCommit,
//   then the stores.
// - Any send that failed since the last commit or roll back fails the commit: a transaction
//   (or an offset commit) never goes out missing a record.
// - Roll back: the processors are stopped first (a late async result must not reach the next
//   transaction), then the open transaction is aborted and pending store writes dropped. After
//   a failed send the producer is replaced (a new epoch, sequences from 0).
// - An offset commit refused because the member epoch moved on meanwhile is sent once more
//   with the current epoch while the member still owns the partitions (withCurrentEpoch).
// - When: every commitIntervalMs (the loop's deadline), and with commitOnDrain also as soon as
//   the input is drained with work uncommitted (drainCommitAt): a read_committed reader then
//   sees an output after about one commit round trip instead of up to a whole interval.
//   Drained means caught up, not merely "processed this fetch": under load the fetch position
//   stays behind the partition's end and the interval alone paces the transactions. A trickle
//   is batched by the commit itself (records arriving during one wait for the next) and by
//   commitOnDrainSpacingMs between the starts of two commits. The next transaction's records
//   are not processed while a commit is in flight: the one producer may send them only after
//   EndTxn completes, so there is nothing safe to overlap but the fetch.

import { closeQuietly } from '../../client/connection.js';
import { FencedError } from '../../client/errors.js';
import type { TopicPartition } from '../../client/group-member.js';
import type { GroupMembership, OffsetToCommit, ProducerRecord } from '../../client/stream-producer.js';
import type { RuntimeLogger } from './config.js';
import type { RuntimeMetrics } from './metrics.js';
import { isEmpty, processedPosition, type BufferedPartition } from './partition-group.js';
import type { ChangeRecordingStore, Task } from './task.js';

/** What the cycle needs of StreamProducer (a fake in unit tests). */
export interface CycleProducer {
  readonly needsNewEpoch: boolean;
  init(): Promise<void>;
  begin(): Promise<void>;
  send(record: ProducerRecord): Promise<bigint>;
  /** send() without a promise: `onError` hears of a record that is not written. */
  queueRecord(record: ProducerRecord, onError: (e: unknown) => void): void;
  flush(): Promise<void>;
  sendOffsets(member: GroupMembership, offsets: OffsetToCommit[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  close(): Promise<void>;
}

/** What the cycle needs of the GroupMember. */
export interface CycleMember {
  readonly memberId: string;
  readonly memberEpoch: number;
  assignment(): TopicPartition[];
}

/** What a commit needs of an input partition (pipeline.ts's InputPartition). */
export interface CommittedInput extends BufferedPartition {
  topic: string;
  partition: number;
  /** The position committed (or restored from): processed records move processedPosition() past it. */
  committed: bigint;
}

/** The answers to an offset commit whose member epoch is no longer the member's. */
const EPOCH_MOVED = ['STALE_MEMBER_EPOCH', 'ILLEGAL_GENERATION'];

export interface CommitCycleOptions {
  application: string;
  exactlyOnce: boolean;
  newProducer: () => CycleProducer;
  member: CycleMember;
  /** At-least-once: OffsetCommit for the member. */
  commitOffsets: (member: GroupMembership, offsets: OffsetToCommit[]) => Promise<void>;
  /** A poison record under onError 'stop': nothing more is committed. */
  stopped: () => boolean;
  /** commitOnDrain: the least time (ms) from the start of one commit to a commit on drain; undefined: no commit on drain. */
  drainSpacingMs?: number | undefined;
  metrics: RuntimeMetrics;
  log: RuntimeLogger;
  explain: (e: unknown) => string;
}

export class CommitCycle {
  producer: CycleProducer;
  /** The first failed send since the last commit or roll back: the next commit must not go out. */
  private sendFailure: unknown = undefined;
  /** Bumped by each roll back: the rejections of sends it dropped are not failures of the next cycle. */
  private generation = 0;
  private onSendFailure: ((e: unknown) => void) | undefined = undefined;
  private onSendFailureGeneration = -1;
  /** Outputs or dead letters sent since the last commit. */
  private sentSinceCommit = false;
  /** Per changelog partition of each store: the offset of its last record sent in the open transaction. */
  private readonly lastChangelogOffset = new Map<ChangeRecordingStore, Promise<bigint>>();
  /** When the last commit began (Date.now()): commits on drain keep drainSpacingMs from it. */
  private lastCommitAt = -Infinity;

  constructor(private readonly o: CommitCycleOptions) {
    this.producer = o.newProducer();
  }

  /** Exactly-once: takes over the transactional id and begins the first transaction. */
  async init(): Promise<void> {
    if (this.o.exactlyOnce) await this.producer.init();
  }

  /** Queues a record of the open cycle; a failure makes the next commit fail. */
  send(record: ProducerRecord): void {
    this.sentSinceCommit = true;
    this.producer.queueRecord(record, this.sendFailed());
  }

  /** What notes a failed send of the current generation (one function per generation, not per record). */
  private sendFailed(): (e: unknown) => void {
    if (this.onSendFailure === undefined || this.onSendFailureGeneration !== this.generation) {
      const generation = this.generation;
      this.onSendFailureGeneration = generation;
      this.onSendFailure = (e: unknown) => {
        if (generation === this.generation) this.sendFailure ??= e;
      };
    }
    return this.onSendFailure;
  }

  async close(): Promise<void> {
    await closeQuietly(this.producer);
  }

  /**
   * commitOnDrain: the time (Date.now()) from which the loop commits without waiting for the
   * interval, because every input partition is drained (its fetched records processed and its
   * fetch position at its end as of its last fetch) while work is uncommitted (records
   * processed, or outputs and store writes since the last commit); Infinity otherwise.
   */
  drainCommitAt(tasks: Iterable<Task>, inputs: readonly CommittedInput[]): number {
    const spacing = this.o.drainSpacingMs;
    if (spacing === undefined || inputs.length === 0) return Infinity;
    let work = this.sentSinceCommit;
    for (const s of inputs) {
      if (!isEmpty(s) || s.end < 0n || s.next < s.end) return Infinity;
      if (s.next !== s.committed) work = true;
    }
    if (!work) {
      for (const t of tasks) {
        if (t.dirty) work = true;
        else for (const st of t.stores.values()) if (st.changes.length > 0) work = true;
        if (work) break;
      }
    }
    return work ? this.lastCommitAt + spacing : Infinity;
  }

  /** Commits what the running tasks did since the last commit (see the top of this file). */
  async commit(tasks: Task[], inputs: CommittedInput[]): Promise<void> {
    this.lastCommitAt = Date.now();
    const running = tasks.filter((t) => t.running);
    for (const t of running) await t.processor!.flush();
    if (this.o.stopped()) return;
    const dirtyInputs = inputs.filter((s) => processedPosition(s) !== s.committed);
    // Changelog records for every store write since the last commit; the last one's offset makes the checkpoint.
    for (const t of running) {
      for (const s of t.stores.values()) {
        const changes = s.changes;
        if (changes.length === 0) continue;
        s.changes = [];
        let last: Promise<bigint> | undefined;
        for (const c of changes) last = this.track(this.producer.send({ topic: s.changelogTopic!, partition: t.partition, key: c.key, value: c.value }));
        this.lastChangelogOffset.set(s, last!);
      }
    }
    if (dirtyInputs.length === 0 && this.lastChangelogOffset.size === 0 && !this.sentSinceCommit) return;
    const started = performance.now();
    // Buffered records not yet processed are not committed (processedPosition, not the fetch position).
    const offsets = dirtyInputs.map((s) => ({ topic: s.topic, partition: s.partition, offset: processedPosition(s) }));
    await this.producer.flush();
    this.throwIfSendFailed();
    if (this.o.exactlyOnce) {
      await this.withCurrentEpoch(offsets, (m) => this.producer.sendOffsets(m, offsets));
      this.throwIfSendFailed();
      await this.producer.commit();
    } else {
      await this.withCurrentEpoch(offsets, (m) => this.o.commitOffsets(m, offsets));
    }
    for (let i = 0; i < dirtyInputs.length; i++) dirtyInputs[i]!.committed = offsets[i]!.offset;
    this.sentSinceCommit = false;
    // The Kafka side is committed: now the stores, each at the offset after its last changelog record.
    const checkpoints = this.lastChangelogOffset;
    for (const t of running) {
      for (const s of t.stores.values()) {
        const last = checkpoints.get(s);
        if (last !== undefined) await s.inner.commit((await last) + 1n);
        else if (s.changelogTopic === undefined) await s.inner.commit(0n);
        else continue;
        this.o.metrics.stateSize.labels(this.o.application, t.taskId, s.name).set(s.inner.approximateSize());
      }
      t.dirty = false;
    }
    checkpoints.clear();
    if (this.o.exactlyOnce) await this.producer.begin();
    this.o.metrics.commits.labels(this.o.application).inc();
    this.o.metrics.commitLatency.labels(this.o.application).observe((performance.now() - started) / 1000);
  }

  /**
   * Drops everything since the last commit: the processors of `tasks` (which the caller then
   * closes or rebuilds), the open transaction, pending store writes. `final`: the pipeline is
   * stopping, so no next transaction is begun and no new producer made (a new one's
   * InitProducerId would fence whoever owns this transactional id now).
   */
  async rollBack(tasks: Iterable<Task>, final = false): Promise<void> {
    const all = [...tasks];
    // First: an async operator's late result must find its task stopped, not the next transaction open.
    for (const t of all) t.abandon();
    const failedSend = this.sendFailure;
    // Sends dropped from here on (the abort rejects what is queued) belong to the cycle rolled back.
    this.generation++;
    this.sendFailure = undefined;
    this.lastChangelogOffset.clear();
    this.sentSinceCommit = false;
    for (const t of all) {
      for (const s of t.stores.values()) {
        s.inner.abort();
        s.changes = [];
      }
    }
    const sendFailed = failedSend === undefined ? undefined : `a send failed (${this.o.explain(failedSend)})`;
    const app = this.o.application;
    if (final) {
      if (this.o.exactlyOnce) await this.producer.abort().catch(() => undefined);
      return;
    }
    if (this.o.exactlyOnce) {
      let renew: string | undefined;
      try {
        await this.producer.abort();
        // A failed produce may have been written (its answer lost): this producer's sequence
        // numbers may lag the broker's, and the same epoch would then be refused
        // (OUT_OF_ORDER_SEQUENCE_NUMBER) or have a batch taken for a duplicate of the lost one.
        if (this.producer.needsNewEpoch) renew = 'a produce request failed, so its sequence numbers may lag the broker\'s';
        else if (sendFailed !== undefined) renew = sendFailed;
        else await this.producer.begin();
      } catch (e) {
        // A fenced or broken producer cannot abort; a new one (InitProducerId) aborts what the old one left open.
        renew = `the open transaction could not be aborted (${this.o.explain(e)})`;
      }
      if (renew !== undefined) {
        this.o.log.warn(`rivulet stream ${app}: ${renew}; starting a new transactional producer (new epoch)`);
        await this.replaceProducer();
        await this.producer.init();
      }
    } else {
      await this.producer.flush().catch(() => undefined);
      // The same for the idempotent producer: a new one gets a new producer id, sequences from 0.
      const renew = this.producer.needsNewEpoch ? 'a produce request failed, so its sequence numbers may lag the broker\'s' : sendFailed;
      if (renew !== undefined) {
        this.o.log.warn(`rivulet stream ${app}: ${renew}; starting a new idempotent producer`);
        await this.replaceProducer();
      }
    }
  }

  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = this.o.newProducer();
    await closeQuietly(old);
  }

  /** Handles a send's promise: its failure, if of this cycle, fails the next commit. */
  private track(p: Promise<bigint>): Promise<bigint> {
    const generation = this.generation;
    p.catch((e: unknown) => {
      if (generation === this.generation) this.sendFailure ??= e;
    });
    return p;
  }

  private throwIfSendFailed(): void {
    const e = this.sendFailure;
    if (e === undefined) return;
    throw new Error(`a record of this commit was not sent (${this.o.explain(e)}); the commit is abandoned and its input will be processed again`, { cause: e });
  }

  /**
   * Sends the offsets with the member's id and epoch. KIP-848 moves the member epoch on while
   * the member keeps its partitions (another member joined, say): a commit that raced such a
   * bump is answered STALE_MEMBER_EPOCH (OffsetCommit) or ILLEGAL_GENERATION (TxnOffsetCommit,
   * as Kafka answers transactional clients), and is sent once more with the current epoch when
   * every one of its partitions is still assigned, instead of aborting the whole cycle. Still
   * owned means no other member has them: a partition moves only after this member's revoke
   * hook, which runs on the same loop as this commit.
   */
  private async withCurrentEpoch(offsets: OffsetToCommit[], send: (m: GroupMembership) => Promise<void>): Promise<void> {
    const first = this.membership();
    try {
      await send(first);
    } catch (e) {
      if (!(e instanceof FencedError && EPOCH_MOVED.includes(e.reason))) throw e;
      const now = this.membership();
      const owned = new Set(this.o.member.assignment().map((tp) => `${tp.topic}\u0000${tp.partition}`));
      if (now.memberId !== first.memberId || now.memberEpoch === first.memberEpoch || !offsets.every((o) => owned.has(`${o.topic}\u0000${o.partition}`))) throw e;
      this.o.log.info(`rivulet stream ${this.o.application}: the member epoch moved from ${first.memberEpoch} to ${now.memberEpoch} during the commit and its partitions are still assigned; committing the offsets again with the new epoch`);
      await send(now);
    }
  }

  private membership(): GroupMembership {
    return { groupId: this.o.application, memberId: this.o.member.memberId, memberEpoch: this.o.member.memberEpoch };
  }
}
