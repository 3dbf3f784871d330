// The Kafka runtime: runs a Topology as a member of the consumer group `<application>`
// (KIP-848 consumer protocol, src/client/group-member.ts).
//
// - Tasks: one per (sub-topology, partition) of the partitions assigned to this member.
// - Revocation: the member awaits onRevoke before acknowledging it; the runtime commits
//   there (flush, transaction, stores), then closes the revoked tasks and keeps their files.
// - Restore: a new task's stores are brought up to the end of their changelog partition
//   (read_committed, from the store's checkpoint) before the task processes anything.
// - Commit cycle, every commitIntervalMs, when the input is drained (commitOnDrain) and on
//   stop, and roll back: commit-cycle.ts.
// - Failure of a commit or a fetch, or the member fenced: the open transaction is aborted,
//   pending store writes dropped, and every task rebuilt from its stores' checkpoints and the
//   committed input offsets (fetched with require_stable, so a previous owner's open
//   transaction is waited for).
// - The group member's hooks run on its heartbeat loop; they hand their work to the
//   processing loop (a control queue run between fetches), so tasks change in one place.
//
// One transactional producer per process (or worker) serves all its tasks: KIP-447 fences a
// zombie by the group generation sent with the offsets, not by one transactional id per
// input partition, so `<application>-<instanceId>` is enough and one transaction per commit
// covers every task (one EndTxn instead of one per task).

import { Admin, Consumer, FetchIsolationLevels } from '@platformatic/kafka';
import { Registry } from 'prom-client';
import { baseClientOptions, closeQuietly } from '../../client/connection.js';
import { FencedError, findProtocolError, explainError } from '../../client/errors.js';
import { offsetsAt, EARLIEST, LATEST } from '../../client/admin.js';
import { commitOffsets, fetchCommittedOffsets } from '../../client/committed-offsets.js';
import { GroupMember, type TopicPartition } from '../../client/group-member.js';
import type { AnyClient } from '../../client/kafka-api.js';
import { StreamProducer, type ProducerRecord } from '../../client/stream-producer.js';
import { CommitCycle } from './commit-cycle.js';
import type { InputRecord, OutputRecord, RecordError, StoreFactory, Topology } from '../types.js';
import { resolveConfig, type ResolvedConfig, type RuntimeConfig } from './config.js';
import { Fetcher } from './fetcher.js';
import { LmdbStoreFactory } from '../state/lmdb-store.js';
import { RuntimeMetrics } from './metrics.js';
import type { ReadState } from './records.js';
import { bufferFetched, emptyBuffer, isEmpty, nextPartition, processedPosition, resetBuffer, take, type BufferedPartition } from './partition-group.js';
import { ChangeRecordingStore, Task, type TaskSink } from './task.js';

export interface RunningPipeline {
  /** Resolves once the tasks assigned at start are restored and processing. */
  ready: Promise<void>;
  isReady(): boolean;
  isLive(): boolean;
  /** Graceful: finishes in-flight records, commits, leaves the group. */
  stop(): Promise<void>;
  /** Settles when the pipeline has stopped: undefined after stop(), the error when it stopped by itself. */
  closed: Promise<Error | undefined>;
}

/** Back-off after a failure (broker unreachable, commit rejected) before the tasks are rebuilt. */
const RETRY_MS = 1000;
const STACK_HEADER_MAX = 2000;
/** A restore commits its store every this many changelog records. */
const RESTORE_COMMIT_RECORDS = 10_000;
/**
 * With no partitions the loop waits for wake() (work from the member's hooks, a rebuild, stop);
 * it also looks again this often, because the member's epoch moves without a hook (a member
 * that joined with nothing assigned is ready all the same, after one recheck).
 */
const IDLE_RECHECK_MS = 1000;

/**
 * A partition being read: where (`next`, the fetch position), for which task, and its fetched
 * records waiting for their turn (partition-group.ts): the task takes them in timestamp order
 * across its partitions.
 */
interface InputPartition extends ReadState, BufferedPartition {
  task: Task;
  /** The position committed (or restored from): processed records move processedPosition() past it. */
  committed: bigint;
}

/** A poison record under onError 'stop': the pipeline stops with this, committing nothing more. */
export class PoisonRecordError extends Error {
  readonly code = 'RIV_ERR_STREAM_POISON_RECORD';
  constructor(readonly record: RecordError) {
    const i = record.input;
    super(
      `operator "${record.operator}" failed on the record at offset ${i.offset} of ${i.topic} partition ${i.partition}: ${errorMessage(record.error)}. ` +
        `The pipeline stopped (onError 'stop') without committing that record's offset; fix the record or the operator, or run with onError 'dead-letter' to send such records to the dead-letter topic.`,
      { cause: record.error },
    );
  }
}

export async function startPipeline(topology: Topology, config: RuntimeConfig): Promise<RunningPipeline> {
  const cfg = resolveConfig(topology.application, config);
  const p = new Pipeline(topology, cfg, config.storeFactory ?? new LmdbStoreFactory({ stateDir: cfg.stateDir, application: topology.application }), new RuntimeMetrics(config.metricsRegistry ?? new Registry(), topology.application));
  await p.start();
  return p.handle;
}

/** Exported for unit tests only; use startPipeline. */
export class Pipeline implements TaskSink {
  readonly handle: RunningPipeline;
  private readonly exactlyOnce: boolean;
  private readonly admin: Admin;
  /** Fetches, metadata and list-offsets only: it never joins the group (the GroupMember does). */
  private readonly consumer: Consumer;
  private readonly member: GroupMember;
  /** The producer, commits and roll backs. */
  private readonly cycle: CommitCycle;
  private readonly fetcher: Fetcher;
  private readonly log;
  private readonly tasks = new Map<string, Task>();
  private inputs: InputPartition[] = [];
  /** Work the group member's hooks hand to the loop, run between fetches. */
  private control: Array<() => Promise<void>> = [];
  /** Every task must be rebuilt from committed state before processing goes on. */
  private needsRebuild = false;
  private restoring = true;
  private stopping = false;
  private loopDone = false;
  private fatal: Error | undefined;
  private nextCommitAt = 0;
  /** commitOnDrain: the input is drained with work uncommitted, so the loop commits from then on (CommitCycle.drainCommitAt). */
  private drainCommitAt = Infinity;
  private lastTick = 0;
  private readonly partitionsOf = new Map<number, number>();
  /** Partition counts of the source and internal topics, from prepareTopics (TaskContext.partitions). */
  private readonly topicPartitions = new Map<string, number>();
  private readonly changelogOf = new Map<string, string>();
  private resolveReady!: () => void;
  private resolveClosed!: (e: Error | undefined) => void;
  private loop: Promise<void> | undefined;
  /** Ends the idle wait of a loop that has no partitions (see idle()). */
  private wakeIdle: (() => void) | undefined;
  private readonly ignore = (): void => undefined;
  /** RIVULET_STREAM_DEBUG=1 logs every fetch's positions and record counts. */
  private readonly debug = process.env.RIVULET_STREAM_DEBUG === '1';

  constructor(
    private readonly topology: Topology,
    private readonly cfg: ResolvedConfig,
    private readonly storeFactory: StoreFactory,
    private readonly metrics: RuntimeMetrics,
  ) {
    this.exactlyOnce = cfg.guarantee === 'exactly_once';
    this.log = cfg.logger;
    this.admin = new Admin(this.clientOptions('admin'));
    this.consumer = new Consumer({
      ...this.clientOptions('fetcher'),
      groupId: topology.application,
      autocommit: false,
      isolationLevel: this.exactlyOnce ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED,
    });
    for (const c of [this.admin, this.consumer]) this.logErrors(c);
    this.member = new GroupMember({
      client: this.admin as unknown as AnyClient,
      groupId: topology.application,
      topics: this.sourceTopics(),
      ...(this.cfg.staticMembership ? { instanceId: this.cfg.instanceId } : {}),
      rebalanceTimeoutMs: 60_000,
      // Partition p of every co-partitioned source on one member (a task needs all its inputs):
      // the range assignor gives members the same partition numbers of topics of equal size;
      // the default (uniform) balances topic-partitions one by one and may split a task.
      serverAssignor: 'range',
      // Revoked partitions: commit their work before the coordinator hands them on.
      onRevoke: (tps) => this.onLoop(() => this.revoke(tps, true)).catch((e: unknown) => this.rebuildAfter('giving partitions up', e)),
      // Not awaited: a restore can take longer than a heartbeat interval.
      onAssign: (tps) => {
        this.restoring = true;
        // A failed assign leaves tasks half-built (no inputs, stores open): rebuild them all.
        void this.onLoop(() => this.assign(tps)).catch((e: unknown) => this.rebuildAfter('taking partitions', e));
      },
      // Fenced: nothing of these partitions can commit any more.
      onLost: (tps) => this.onLoop(() => this.revoke(tps, false)).catch((e: unknown) => this.rebuildAfter('dropping lost partitions', e)),
      onError: (e) => this.log.warn(`rivulet stream ${topology.application}: group member: ${this.explain(e)}`),
      // The member stopped for good (refused, or another process took its instance id): with no
      // member nothing can commit, so the pipeline stops too, and its process exits for a restart.
      onFatal: (e) => {
        this.fatal ??= new Error(`the group member stopped: ${this.explain(e)}`, { cause: e });
        this.wake();
      },
      log: (line) => this.log.info(`rivulet stream ${topology.application}: ${line}`),
    });
    this.cycle = new CommitCycle({
      application: topology.application,
      exactlyOnce: this.exactlyOnce,
      newProducer: () => this.newProducer(),
      member: this.member,
      commitOffsets: (m, offsets) => commitOffsets(this.admin as unknown as AnyClient, m, offsets),
      stopped: () => this.fatal !== undefined,
      drainSpacingMs: cfg.commitOnDrain ? cfg.commitOnDrainSpacingMs : undefined,
      metrics,
      log: this.log,
      explain: (e) => this.explain(e),
    });
    this.fetcher = new Fetcher(this.consumer, this.exactlyOnce ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED, this.exactlyOnce);
    const ready = new Promise<void>((res) => (this.resolveReady = res));
    const closed = new Promise<Error | undefined>((res) => (this.resolveClosed = res));
    this.handle = {
      ready,
      closed,
      isReady: () => !this.restoring && !this.loopDone,
      isLive: () => !this.loopDone,
      stop: () => this.stop(),
    };
  }

  private clientOptions(role: string) {
    return { ...baseClientOptions({ bootstrap: this.cfg.bootstrap, security: this.cfg.security, clientId: `${this.topology.application}-${this.cfg.instanceId}-${role}` }), retries: 5, retryDelay: 500 };
  }

  /**
   * One producer per process or worker for all its tasks: transactional id
   * `<application>-<instanceId>` under exactly-once (KIP-447 fences zombies through the
   * member epoch sent with the offsets, so no transactional id per input partition is needed).
   */
  private newProducer(): StreamProducer {
    return new StreamProducer({
      client: this.clientOptions('producer'),
      ...(this.exactlyOnce ? { transactionalId: `${this.app}-${this.cfg.instanceId}` } : {}),
      log: (line) => this.log.info(`rivulet stream ${this.app}: ${line}`),
    });
  }

  /** The library reports background failures as 'error' events; the loop notices their effect, so they are logged only. */
  private logErrors(c: { on(ev: 'error', fn: (e: Error) => void): unknown }): void {
    c.on('error', (e: Error) => this.log.warn(`rivulet stream ${this.app}: client error: ${this.explain(e)}`));
  }

  private explain(e: unknown): string {
    return explainError(e, this.cfg.bootstrap);
  }

  private get app(): string {
    return this.topology.application;
  }

  async start(): Promise<void> {
    try {
      await this.prepareTopics();
      await this.cycle.init();
      this.loop = this.run();
      // No wake() here: the assignment comes through onAssign a moment later, and `ready` is
      // for the tasks assigned at start (a member given nothing is ready at the next recheck).
      await this.member.start();
    } catch (e) {
      this.stopping = true;
      this.wake();
      if (this.loop) await this.loop;
      else await this.closeClients();
      throw new Error(`pipeline ${this.app} could not start against ${this.cfg.bootstrap}: ${this.explain(e)}`, { cause: e });
    }
    this.log.info(`rivulet stream ${this.app}: joined group as ${this.member.memberId} (${this.cfg.guarantee}, commit every ${this.cfg.commitIntervalMs} ms${this.cfg.commitOnDrain ? ' and when the input is drained' : ''})`);
  }

  private sourceTopics(): string[] {
    return [...new Set(this.topology.subtopologies.flatMap((s) => s.sources))];
  }

  /**
   * Checks that each sub-topology's sources are co-partitioned and creates the internal
   * topics that are missing: repartition topics, changelogs (compacted), the dead-letter topic.
   */
  private async prepareTopics(): Promise<void> {
    const internal = new Map(this.topology.internalTopics.map((t) => [t.name, t]));
    const userSources = this.sourceTopics().filter((t) => !internal.has(t));
    const counts = new Map<string, number>();
    if (userSources.length > 0) {
      const meta = await this.admin.metadata({ topics: userSources, autocreateTopics: false, forceUpdate: true }).catch((e: unknown) => {
        if (findProtocolError(e, 'UNKNOWN_TOPIC_OR_PARTITION')) throw new Error(`a source topic of ${this.app} does not exist (${userSources.join(', ')}): create it first`, { cause: e });
        throw e;
      });
      for (const t of userSources) {
        const m = meta.topics.get(t);
        if (!m) throw new Error(`source topic "${t}" of ${this.app} does not exist: create it first (e.g. rivulet topic create ${t})`);
        counts.set(t, m.partitionsCount);
      }
    }
    const userMax = Math.max(1, ...counts.values());
    const existing = new Set(await this.admin.listTopics({ includeInternals: false }));
    const create = async (name: string, partitions: number, configs: Record<string, string>) => {
      if (existing.has(name)) return;
      try {
        await this.admin.createTopics({ topics: [name], partitions, replicas: -1, configs: Object.entries(configs).map(([name, value]) => ({ name, value })) });
        this.log.info(`rivulet stream ${this.app}: created topic ${name} (${partitions} partitions)`);
      } catch (e) {
        if (!findProtocolError(e, 'TOPIC_ALREADY_EXISTS')) throw e;
      }
      existing.add(name);
    };
    for (const t of internal.values()) {
      const partitions = t.partitions ?? userMax;
      await create(t.name, partitions, t.config ?? {});
      const actual = (await this.admin.metadata({ topics: [t.name], forceUpdate: true })).topics.get(t.name)?.partitionsCount ?? partitions;
      counts.set(t.name, actual);
    }
    for (const sub of this.topology.subtopologies) {
      const sizes = sub.sources.map((t) => [t, counts.get(t)] as const);
      const n = sizes[0]?.[1];
      if (n === undefined) throw new Error(`sub-topology ${sub.id} of ${this.app} has no source topic`);
      if (sizes.some(([, c]) => c !== n)) {
        throw new Error(
          `the sources of sub-topology ${sub.id} of ${this.app} must have the same number of partitions (they are joined partition by partition), but they have: ${sizes.map(([t, c]) => `${t}=${c}`).join(', ')}. ` +
            'Repartition one of them (keyBy) or recreate the topics with equal partition counts.',
        );
      }
      this.partitionsOf.set(sub.id, n);
    }
    for (const [t, c] of counts) this.topicPartitions.set(t, c);
    for (const s of this.topology.stores) {
      if (s.changelog === false) continue;
      const name = `${this.app}-${s.name}-changelog`;
      this.changelogOf.set(s.name, name);
      await create(name, this.partitionsOf.get(s.subtopology) ?? userMax, { 'cleanup.policy': 'compact' });
    }
    if (this.cfg.onError === 'dead-letter') await create(this.cfg.deadLetterTopic, 1, {});
  }

  // ---- the loop ---------------------------------------------------------------------------

  /** Runs fn on the processing loop (between fetches); settles with it. */
  private onLoop(fn: () => Promise<void>): Promise<void> {
    if (this.loopDone) return Promise.resolve();
    const done = new Promise<void>((res, rej) => this.control.push(() => fn().then(res, rej)));
    this.wake();
    return done;
  }

  /** Waits while there is nothing to read, until wake() or IDLE_RECHECK_MS. */
  private idle(): Promise<void> {
    if (this.control.length > 0 || this.needsRebuild || this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wakeIdle = undefined;
        resolve();
      };
      timer = setTimeout(done, IDLE_RECHECK_MS);
      this.wakeIdle = done;
    });
  }

  private wake(): void {
    this.wakeIdle?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping && !this.fatal) {
      try {
        while (this.control.length > 0 && !this.fatal) await this.control.shift()!();
        if (this.needsRebuild) await this.rebuildAll();
        if (!this.restoring || this.member.memberEpoch > 0) this.markReady();
        await this.step();
        if (this.fatal) break;
        this.drainCommitAt = this.cycle.drainCommitAt(this.tasks.values(), this.inputs);
        if (Date.now() >= Math.min(this.nextCommitAt, this.drainCommitAt)) await this.commit();
        failures = 0;
      } catch (e) {
        if (this.fatal || this.stopping) break;
        failures++;
        this.metrics.aborts.labels(this.app).inc();
        this.log.warn(`rivulet stream ${this.app}: ${this.explain(e)}; rolling back to the last commit and retrying in ${RETRY_MS} ms (attempt ${failures})`);
        await this.rollBack().catch((x: unknown) => this.log.warn(`rivulet stream ${this.app}: roll back failed: ${this.explain(x)}`));
        this.needsRebuild = true;
        await sleep(RETRY_MS);
      }
    }
    const fatal = this.fatal;
    try {
      if (fatal) {
        this.log.error(`rivulet stream ${this.app}: stopping: ${fatal.message}`);
        await this.rollBack(true);
      } else if (!this.needsRebuild) {
        await this.commit();
      } else {
        await this.rollBack(true);
      }
    } catch (e) {
      this.log.warn(`rivulet stream ${this.app}: the last commit failed (${this.explain(e)}); the next owner resumes from the previous one`);
      await this.rollBack(true).catch(this.ignore);
    }
    // A task that fails to close must not keep the pipeline from closing its clients and settling `closed`.
    await this.closeTasks().catch((e: unknown) => this.log.warn(`rivulet stream ${this.app}: closing the tasks failed (${this.explain(e)})`));
    this.loopDone = true;
    // Hooks that arrive from now on have nothing to do.
    for (const c of this.control.splice(0)) await c().catch(this.ignore);
    await this.closeClients();
    this.resolveClosed(fatal);
  }

  private markReady(): void {
    if (this.control.length > 0) return;
    this.restoring = false;
    this.resolveReady();
  }

  /**
   * One fetch for every input partition with nothing buffered, then each task takes its
   * buffered records in timestamp order across its partitions (partition-group.ts), as far as
   * it can without waiting for a partition that may still have earlier records.
   */
  private async step(): Promise<void> {
    const now = Date.now();
    if (this.inputs.length === 0) {
      await this.idle();
      return;
    }
    const empty = this.inputs.filter(isEmpty);
    if (empty.length > 0) {
      let wait = Math.max(1, Math.min(200, this.nextCommitAt - now, this.drainCommitAt - now));
      // A task idling for a caught-up partition (maxTaskIdleMs) looks again at its deadline.
      for (const s of empty) if (s.idleDeadline > now) wait = Math.max(1, Math.min(wait, s.idleDeadline - now));
      const fetched = await this.fetcher.fetch(empty, wait);
      if (this.debug) this.log.info(`fetched ${fetched.map((f) => `${f.state.topic}:${f.state.partition}@${f.state.next}+${f.records.length}`).join(' ')}`);
      for (const f of fetched) {
        const s = f.state;
        if (f.outOfRange) {
          const earliest = (await offsetsAt(this.consumer, s.topic, [s.partition], EARLIEST)).get(s.partition)!;
          this.log.warn(`rivulet stream ${this.app}: offset ${s.next} of ${s.topic} partition ${s.partition} is no longer in the log; resuming at its earliest offset ${earliest}`);
          s.next = earliest;
          // Transactions seen aborted so far say nothing about the records from there.
          s.aborted.clear();
          resetBuffer(s);
          continue;
        }
        bufferFetched(s, f.records, f.end);
      }
    }
    for (const [task, parts] of this.taskInputs()) {
      const started = performance.now();
      const maxIdle = this.cfg.maxTaskIdleMs;
      const clock = Date.now();
      let n = 0;
      for (let p = nextPartition(parts, clock, maxIdle); p !== undefined; p = nextPartition(parts, clock, maxIdle)) {
        const w = task.process(take(p));
        n++;
        if (w) await w;
        if (this.fatal) return;
      }
      if (n > 0) {
        task.metrics.recordsIn(n);
        this.metrics.processingLatency.labels(this.app).observe((performance.now() - started) / 1000 / n);
      }
      for (const s of parts) if (s.end >= 0n) this.metrics.consumerLag.labels(this.app, s.topic, String(s.partition)).set(Number(s.end - processedPosition(s)));
    }
    const t = Date.now();
    if (t - this.lastTick >= this.cfg.commitIntervalMs) {
      this.lastTick = t;
      for (const task of this.tasks.values()) if (task.running) task.processor!.tick(t);
    }
  }

  /** Each task's input partitions, in the order of its sub-topology's sources (which wins a timestamp tie). */
  private taskInputs(): Map<Task, InputPartition[]> {
    const byTask = new Map<Task, InputPartition[]>();
    for (const s of this.inputs) {
      const parts = byTask.get(s.task);
      if (parts) parts.push(s);
      else byTask.set(s.task, [s]);
    }
    for (const [task, parts] of byTask) if (parts.length > 1) parts.sort((a, b) => task.sub.sources.indexOf(a.topic) - task.sub.sources.indexOf(b.topic));
    return byTask;
  }

  // ---- what tasks hand over ---------------------------------------------------------------

  send(task: Task, r: OutputRecord): void {
    // A failed send fails the next commit.
    this.cycle.send(r as ProducerRecord);
    task.metrics.recordsOut(r.topic, 1);
  }

  recordError(task: Task, e: RecordError): void {
    if (this.cfg.onError === 'stop') {
      if (!this.fatal) this.fatal = new PoisonRecordError(e);
      return;
    }
    const i = e.input;
    const err = e.error instanceof Error ? e.error : new Error(String(e.error));
    const headers: Array<readonly [string, Buffer]> = [...i.headers];
    headers.push(['rivulet.error.operator', Buffer.from(e.operator)]);
    headers.push(['rivulet.error.message', Buffer.from(err.message)]);
    headers.push(['rivulet.error.stack', Buffer.from((err.stack ?? '').slice(0, STACK_HEADER_MAX))]);
    headers.push(['rivulet.error.topic', Buffer.from(i.topic)]);
    headers.push(['rivulet.error.partition', Buffer.from(String(i.partition))]);
    headers.push(['rivulet.error.offset', Buffer.from(String(i.offset))]);
    this.cycle.send({ topic: this.cfg.deadLetterTopic, key: i.key, value: i.value, timestamp: i.timestamp, headers });
    this.metrics.deadLetters.labels(this.app, e.operator).inc();
    this.log.warn(`rivulet stream ${this.app}: task ${task.taskId}: operator "${e.operator}" failed on ${i.topic} partition ${i.partition} offset ${i.offset} (${err.message}); sent to ${this.cfg.deadLetterTopic}`);
  }

  // ---- commit and roll back ---------------------------------------------------------------

  private async commit(): Promise<void> {
    this.nextCommitAt = Date.now() + this.cfg.commitIntervalMs;
    this.drainCommitAt = Infinity;
    await this.cycle.commit([...this.tasks.values()], this.inputs);
  }

  /** Drops everything since the last commit: every task's processor, the open transaction, pending store writes. */
  /** A hook's work failed half-way (tasks half-built, or kept ones not re-opened): rebuild every task. */
  private rebuildAfter(what: string, e: unknown): void {
    this.log.warn(`rivulet stream ${this.app}: ${what} failed (${this.explain(e)}); rebuilding the tasks`);
    this.needsRebuild = true;
    this.wake();
  }

  private async rollBack(final = false): Promise<void> {
    await this.cycle.rollBack(this.tasks.values(), final);
  }

  private async closeTasks(): Promise<void> {
    await this.closeRevoked(new Set(this.tasks.values()));
    this.inputs = [];
  }

  // ---- assignment, revocation, restore -----------------------------------------------------

  /** Rolls back and rebuilds every task of the current assignment from committed state. */
  private async rebuildAll(): Promise<void> {
    this.restoring = true;
    try {
      await this.rollBack();
    } finally {
      // Even when the roll back failed: no task may go on with work that was not committed.
      await this.closeTasks();
    }
    this.needsRebuild = false;
    await this.assign(this.member.assignment());
  }

  /**
   * Revoked (commit first, then close) or lost (roll back: nothing can commit) partitions. The
   * tasks of those partitions close with their local files kept; other tasks go on, except
   * after a roll back, which drops their uncommitted work too, so they are rebuilt.
   */
  private async revoke(tps: TopicPartition[], commitFirst: boolean): Promise<void> {
    if (commitFirst && !this.needsRebuild) {
      try {
        await this.commit();
      } catch (e) {
        this.log.warn(`rivulet stream ${this.app}: the commit before a revocation failed (${this.explain(e)}); the next owner resumes from the previous commit`);
        commitFirst = false;
      }
    }
    const gone = new Set(tps.map((tp) => `${tp.topic}:${tp.partition}`));
    const closing = new Set<Task>();
    for (const s of this.inputs) if (gone.has(`${s.topic}:${s.partition}`)) closing.add(s.task);
    try {
      if (!commitFirst) {
        this.needsRebuild = true;
        await this.rollBack();
      }
    } finally {
      // Even when the roll back failed: the partitions are gone, their tasks must not run on.
      await this.closeRevoked(closing);
    }
    // A task keeps running only when all its inputs stay; re-open the ones that lost one source of several.
    const keep = tps.length > 0 ? this.member.assignment().filter((tp) => !gone.has(`${tp.topic}:${tp.partition}`)) : [];
    const reopen = keep.filter((tp) => [...closing].some((t) => t.partition === tp.partition && t.sub.sources.includes(tp.topic)));
    if (reopen.length > 0 && !this.needsRebuild) await this.assign(reopen);
    this.log.info(`rivulet stream ${this.app}: ${commitFirst ? 'revoked' : 'lost'} ${tps.length} partitions; closed tasks ${[...closing].map((t) => t.taskId).join(', ') || 'none'}`);
  }

  /** Closes these tasks and stops reading their inputs; a task that fails to close is still dropped (the first failure is thrown after). */
  private async closeRevoked(closing: Set<Task>): Promise<void> {
    this.inputs = this.inputs.filter((s) => !closing.has(s.task));
    for (const t of closing) this.tasks.delete(t.taskId);
    let failure: unknown;
    for (const t of closing) {
      try {
        await t.close();
      } catch (e) {
        failure ??= e;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** New partitions: their tasks are created, restored, and read from the committed offsets. */
  private async assign(tps: TopicPartition[]): Promise<void> {
    if (tps.length === 0) return;
    this.restoring = true;
    const fresh: Task[] = [];
    const newInputs: Array<{ task: Task; tp: TopicPartition }> = [];
    for (const tp of tps) {
      for (const sub of this.topology.subtopologies) {
        if (!sub.sources.includes(tp.topic)) continue;
        const id = `${sub.id}_${tp.partition}`;
        let task = this.tasks.get(id);
        if (!task) {
          const stores = new Map<string, ChangeRecordingStore>();
          for (const spec of this.topology.stores) {
            if (spec.subtopology !== sub.id) continue;
            stores.set(spec.name, new ChangeRecordingStore(spec.name, await this.storeFactory.open(id, spec.name), this.changelogOf.get(spec.name)));
          }
          task = new Task(sub, tp.partition, this.app, stores, this.metrics.forTask(id), this, this.topicPartitions);
          this.tasks.set(id, task);
          fresh.push(task);
        }
        if (!this.inputs.some((s) => s.task === task && s.topic === tp.topic)) newInputs.push({ task, tp });
      }
    }
    // From the committed offsets; a previous owner's open transaction is waited for (require_stable).
    // Before the restore: that transaction also holds the previous owner's last changelog writes,
    // which a restore to the changelog's end (its LSO) would miss while the transaction is open.
    const committed = await fetchCommittedOffsets(this.admin as unknown as AnyClient, this.app, newInputs.map((x) => x.tp), {
      member: { memberId: this.member.memberId, memberEpoch: this.member.memberEpoch },
    }).catch(async (e: unknown) => {
      // Kafka checks the epoch on OffsetFetch v9+; it may have moved on meanwhile: ask as an admin would.
      if (!(e instanceof FencedError && (e.reason === 'STALE_MEMBER_EPOCH' || e.reason === 'UNKNOWN_MEMBER_ID'))) throw e;
      return fetchCommittedOffsets(this.admin as unknown as AnyClient, this.app, newInputs.map((x) => x.tp));
    });
    for (const t of fresh) {
      for (const s of t.stores.values()) if (s.changelogTopic !== undefined) await this.restore(t, s);
    }
    for (const { task, tp } of newInputs) {
      let next = committed.get(`${tp.topic}:${tp.partition}`);
      if (next === undefined || next < 0n) next = (await offsetsAt(this.consumer, tp.topic, [tp.partition], EARLIEST)).get(tp.partition)!;
      this.inputs.push({ topic: tp.topic, partition: tp.partition, next, committed: next, aborted: new Set(), task, ...emptyBuffer() });
    }
    for (const t of fresh) t.start();
    this.nextCommitAt = Math.min(this.nextCommitAt, Date.now() + this.cfg.commitIntervalMs);
    this.log.info(`rivulet stream ${this.app}: tasks ${[...this.tasks.keys()].join(', ') || 'none'} (new: ${fresh.map((t) => t.taskId).join(', ') || 'none'})`);
  }

  /** Applies the changelog partition from the store's checkpoint to its end (read_committed), then commits the store there. */
  private async restore(t: Task, s: ChangeRecordingStore): Promise<void> {
    const topic = s.changelogTopic!;
    const p = t.partition;
    const end = (await offsetsAt(this.consumer, topic, [p], LATEST, FetchIsolationLevels.READ_COMMITTED)).get(p)!;
    const earliest = (await offsetsAt(this.consumer, topic, [p], EARLIEST)).get(p)!;
    const checkpoint = s.inner.checkpoint();
    let from = checkpoint ?? earliest;
    if (from < earliest) from = earliest;
    const remaining = this.metrics.restoreRemaining.labels(this.app, t.taskId, s.name);
    const restored = this.metrics.restoreRecords.labels(this.app, t.taskId, s.name);
    remaining.set(Number(end - from));
    if (from < end) {
      const fetcher = new Fetcher(this.consumer, FetchIsolationLevels.READ_COMMITTED, true);
      const state: ReadState = { topic, partition: p, next: from, aborted: new Set() };
      let applied = 0;
      let pending = 0;
      while (state.next < end) {
        const [f] = await fetcher.fetch([state], 500);
        if (!f) continue;
        if (f.outOfRange) {
          state.next = f.logStart >= 0n ? f.logStart : earliest;
          continue;
        }
        for (const r of f.records) {
          if (r.offset >= end) break;
          if (r.key === null) continue;
          if (r.value === null) s.inner.delete(r.key);
          else s.inner.put(r.key, r.value);
          applied++;
          // A long changelog is committed as it goes: pending writes stay bounded, and a crash
          // mid-restore resumes from here (everything below `end` is committed in Kafka).
          if (++pending === RESTORE_COMMIT_RECORDS) {
            await s.inner.commit(r.offset + 1n);
            pending = 0;
          }
        }
        restored.inc(f.records.length);
        remaining.set(Number(end > state.next ? end - state.next : 0n));
      }
      this.log.info(`rivulet stream ${this.app}: task ${t.taskId}: restored ${applied} records of ${topic} partition ${p} (offsets ${from} to ${end}${checkpoint === undefined ? ', no local checkpoint' : ', from the local checkpoint'})`);
    }
    remaining.set(0);
    await s.inner.commit(end);
  }

  // ---- stop -------------------------------------------------------------------------------

  private async stop(): Promise<void> {
    if (this.loopDone) return;
    // Leaving the group revokes every partition: onRevoke commits them on the loop.
    await this.member.close().catch((e: unknown) => this.log.warn(`rivulet stream ${this.app}: leaving the group failed (${this.explain(e)})`));
    this.stopping = true;
    this.wake();
    if (this.loop) await this.loop;
  }

  private async closeClients(): Promise<void> {
    await this.member.close().catch(this.ignore);
    await this.cycle.close();
    await closeQuietly(this.consumer);
    await closeQuietly(this.admin);
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

export type { InputRecord };
