// The Kafka runtime: runs a Topology as a member of the consumer group `<application>`.
//
// - Tasks: one per (sub-topology, partition) of the partitions assigned to this member.
// - Restore: a new task's stores are brought up to the end of their changelog partition
//   (read_committed, from the store's checkpoint) before the task processes anything.
// - Commit cycle, every commitIntervalMs and on stop (src/stream/README.md): flush every task,
//   send outputs, dead letters and changelog records, then under exactly-once the input
//   offsets in the same transaction with the group's generation and member id (KIP-447), then
//   commit; only after that `store.commit(checkpoint)`, so local state is never ahead of the
//   changelog. Under at-least-once: idempotent sends, then OffsetCommit, then the stores.
// - Failure of a commit, a fetch or a rebalance: the open transaction is aborted, pending
//   store writes dropped, and every task rebuilt from its stores' checkpoints and the
//   committed input offsets (fetched with require_stable, so a previous owner's open
//   transaction is waited for).
//
// One transactional producer per process (or worker) serves all its tasks: KIP-447 fences a
// zombie by the group generation sent with the offsets, not by one transactional id per
// input partition, so `<application>-<instanceId>` is enough and one transaction per commit
// covers every task (one EndTxn instead of one per task).

import { Admin, Consumer, FetchIsolationLevels, Producer, type MessageToProduce } from '@platformatic/kafka';
import { Registry } from 'prom-client';
import { baseClientOptions, closeQuietly } from '../../client/connection.js';
import { findProtocolError, explainError } from '../../client/errors.js';
import { offsetsAt, EARLIEST, LATEST } from '../../client/admin.js';
import type { InputRecord, OutputRecord, RecordError, StoreFactory, SubTopology, Topology } from '../types.js';
import { resolveConfig, type ResolvedConfig, type RuntimeConfig } from './config.js';
import { Fetcher } from './fetcher.js';
import { LmdbStoreFactory } from '../state/lmdb-store.js';
import { RuntimeMetrics } from './metrics.js';
import type { ReadState } from './records.js';
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

/** How many output records are buffered before they are sent ahead of the commit. */
const SEND_AHEAD = 1000;
/** Back-off after a failure (broker unreachable, commit rejected) before the tasks are rebuilt. */
const RETRY_MS = 1000;
const STACK_HEADER_MAX = 2000;

/** A partition being read: where, and for which task. */
interface InputPartition extends ReadState {
  task: Task;
  /** The position committed (or restored from): processed records move `next` past it. */
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

class Pipeline implements TaskSink {
  readonly handle: RunningPipeline;
  private readonly exactlyOnce: boolean;
  private readonly admin: Admin;
  private readonly consumer: Consumer;
  private producer: Producer;
  private readonly fetcher: Fetcher;
  private readonly log;
  private readonly tasks = new Map<string, Task>();
  private inputs: InputPartition[] = [];
  /** Outputs and dead letters not yet sent. */
  private outBuffer: MessageToProduce[] = [];
  /** Sends under way since the last commit (awaited by the commit). */
  private inFlight: Promise<unknown>[] = [];
  /** The group generation the tasks were built for; -2 forces a rebuild. */
  private generation = -2;
  private assignmentKey = '';
  private restoring = true;
  private stopping = false;
  private loopDone = false;
  private fatal: Error | undefined;
  private nextCommitAt = 0;
  private lastTick = 0;
  private partitionsOf = new Map<number, number>();
  private readonly changelogOf = new Map<string, string>();
  private resolveReady!: () => void;
  private resolveClosed!: (e: Error | undefined) => void;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly topology: Topology,
    private readonly cfg: ResolvedConfig,
    private readonly storeFactory: StoreFactory,
    private readonly metrics: RuntimeMetrics,
  ) {
    this.exactlyOnce = cfg.guarantee === 'exactly_once';
    this.log = cfg.logger;
    const conn = { bootstrap: cfg.bootstrap, security: cfg.security };
    const base = (role: string) => ({ ...baseClientOptions({ ...conn, clientId: `${topology.application}-${cfg.instanceId}-${role}` }), retries: 5, retryDelay: 500 });
    this.admin = new Admin(base('admin'));
    this.consumer = new Consumer({
      ...base('consumer'),
      groupId: topology.application,
      autocommit: false,
      isolationLevel: this.exactlyOnce ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED,
      sessionTimeout: cfg.sessionTimeoutMs,
      rebalanceTimeout: cfg.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(cfg.sessionTimeoutMs / 10)),
    });
    this.producer = this.newProducer();
    for (const c of [this.admin, this.consumer]) this.logErrors(c);
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

  private newProducer(): Producer {
    const p = new Producer({
      ...baseClientOptions({ bootstrap: this.cfg.bootstrap, security: this.cfg.security, clientId: `${this.app}-${this.cfg.instanceId}-producer` }),
      retries: 5,
      retryDelay: 500,
      idempotent: true,
      acks: -1,
      // InitProducerId with no producer id (-1), as a new producer: the library's default (0, 0)
      // is refused as fenced once the transactional id has a history.
      producerId: -1n,
      producerEpoch: -1,
      ...(this.exactlyOnce ? { transactionalId: `${this.app}-${this.cfg.instanceId}` } : {}),
    });
    this.logErrors(p);
    return p;
  }

  /** The library reports background failures (heartbeats, rejoins) as 'error' events; the loop
   * notices their effect (a new generation, failing fetches), so they are logged only. */
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
      this.consumer.topics.trackAll(...this.sourceTopics());
      await this.consumer.joinGroup({});
    } catch (e) {
      await this.closeClients();
      throw new Error(`pipeline ${this.app} could not start against ${this.cfg.bootstrap}: ${this.explain(e)}`, { cause: e });
    }
    this.log.info(`rivulet stream ${this.app}: joined group as ${this.consumer.memberId} (${this.cfg.guarantee}, commit every ${this.cfg.commitIntervalMs} ms)`);
    this.loop = this.run();
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
    for (const s of this.topology.stores) {
      if (s.changelog === false) continue;
      const name = `${this.app}-${s.name}-changelog`;
      this.changelogOf.set(s.name, name);
      await create(name, this.partitionsOf.get(s.subtopology) ?? userMax, { 'cleanup.policy': 'compact' });
    }
    if (this.cfg.onError === 'dead-letter') await create(this.cfg.deadLetterTopic, 1, {});
  }

  // ---- the loop ---------------------------------------------------------------------------

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping && !this.fatal) {
      try {
        if (this.consumer.generationId !== this.generation || this.currentAssignmentKey() !== this.assignmentKey) {
          await this.rebuild();
        }
        await this.step();
        if (this.fatal) break;
        if (Date.now() >= this.nextCommitAt) await this.commit();
        failures = 0;
      } catch (e) {
        if (this.fatal || this.stopping) break;
        failures++;
        this.metrics.aborts.labels(this.app).inc();
        this.log.warn(`rivulet stream ${this.app}: ${this.explain(e)}; rolling back to the last commit and retrying in ${RETRY_MS} ms (attempt ${failures})`);
        await this.rollBack();
        this.generation = -2; // rebuild the tasks from the committed state
        await sleep(RETRY_MS);
      }
    }
    const fatal = this.fatal;
    try {
      if (fatal) {
        this.log.error(`rivulet stream ${this.app}: stopping: ${fatal.message}`);
        await this.rollBack();
      } else if (this.generation === this.consumer.generationId && !this.restoring) {
        await this.commit();
      } else {
        await this.rollBack();
      }
    } catch (e) {
      this.log.warn(`rivulet stream ${this.app}: the last commit failed (${this.explain(e)}); the next owner resumes from the previous one`);
      await this.rollBack();
    }
    await this.closeTasks();
    await this.closeClients();
    this.loopDone = true;
    this.resolveClosed(fatal);
  }

  private currentAssignmentKey(): string {
    const a = this.consumer.assignments ?? [];
    return a.map((t) => `${t.topic}:${[...t.partitions].sort((x, y) => x - y).join(',')}`).sort().join(';');
  }

  /** One fetch for every input partition, and the records fed to their tasks in offset order. */
  private async step(): Promise<void> {
    const now = Date.now();
    if (this.inputs.length === 0) {
      await sleep(Math.min(100, this.cfg.commitIntervalMs));
      return;
    }
    const wait = Math.max(1, Math.min(500, this.nextCommitAt - now));
    const fetched = await this.fetcher.fetch(this.inputs, wait);
    for (const f of fetched) {
      const s = f.state;
      if (f.outOfRange) {
        const earliest = (await offsetsAt(this.consumer, s.topic, [s.partition], EARLIEST)).get(s.partition)!;
        this.log.warn(`rivulet stream ${this.app}: offset ${s.next} of ${s.topic} partition ${s.partition} is no longer in the log; resuming at its earliest offset ${earliest}`);
        s.next = earliest;
        continue;
      }
      const records = f.records;
      if (records.length > 0) {
        const task = s.task;
        const started = performance.now();
        for (let i = 0; i < records.length; i++) {
          const w = task.process(records[i]!);
          if (w) await w;
          if (this.fatal) return;
        }
        task.metrics.recordsIn(records.length);
        this.metrics.processingLatency.labels(this.app).observe((performance.now() - started) / 1000 / records.length);
      }
      if (f.end >= 0n) this.metrics.consumerLag.labels(this.app, s.topic, String(s.partition)).set(Number(f.end - s.next));
    }
    const t = Date.now();
    if (t - this.lastTick >= this.cfg.commitIntervalMs) {
      this.lastTick = t;
      for (const task of this.tasks.values()) if (task.running) task.processor!.tick(t);
    }
  }

  // ---- what tasks hand over ---------------------------------------------------------------

  send(task: Task, r: OutputRecord): void {
    this.outBuffer.push({ topic: r.topic, partition: r.partition, key: r.key ?? undefined, value: r.value ?? undefined, timestamp: BigInt(r.timestamp), headers: r.headers ? headerMap(r.headers) : undefined });
    task.metrics.recordsOut(r.topic, 1);
    if (this.outBuffer.length >= SEND_AHEAD) this.sendAhead();
  }

  recordError(task: Task, e: RecordError): void {
    if (this.cfg.onError === 'stop') {
      if (!this.fatal) this.fatal = new PoisonRecordError(e);
      return;
    }
    const i = e.input;
    const err = e.error instanceof Error ? e.error : new Error(String(e.error));
    const headers = headerMap(i.headers);
    headers.set(Buffer.from('rivulet.error.operator'), Buffer.from(e.operator));
    headers.set(Buffer.from('rivulet.error.message'), Buffer.from(err.message));
    headers.set(Buffer.from('rivulet.error.stack'), Buffer.from((err.stack ?? '').slice(0, STACK_HEADER_MAX)));
    headers.set(Buffer.from('rivulet.error.topic'), Buffer.from(i.topic));
    headers.set(Buffer.from('rivulet.error.partition'), Buffer.from(String(i.partition)));
    headers.set(Buffer.from('rivulet.error.offset'), Buffer.from(String(i.offset)));
    this.outBuffer.push({ topic: this.cfg.deadLetterTopic, key: i.key ?? undefined, value: i.value ?? undefined, timestamp: BigInt(i.timestamp), headers });
    this.metrics.deadLetters.labels(this.app, e.operator).inc();
    this.log.warn(`rivulet stream ${this.app}: task ${task.taskId}: operator "${e.operator}" failed on ${i.topic} partition ${i.partition} offset ${i.offset} (${err.message}); sent to ${this.cfg.deadLetterTopic}`);
  }

  /** Sends buffered outputs now (inside the open transaction under exactly-once); the commit awaits them. */
  private sendAhead(): void {
    const messages = this.outBuffer;
    if (messages.length === 0) return;
    this.outBuffer = [];
    const p = this.exactlyOnce ? this.txn().then((tx) => tx.send({ messages })) : this.producer.send({ messages });
    p.catch(() => undefined); // awaited (and reported) by the commit
    this.inFlight.push(p);
  }

  private txnPromise: Promise<Awaited<ReturnType<Producer['beginTransaction']>>> | undefined;
  private txn(): Promise<Awaited<ReturnType<Producer['beginTransaction']>>> {
    if (!this.txnPromise) {
      this.txnPromise = this.producer.beginTransaction();
      this.txnPromise.catch(() => undefined);
    }
    return this.txnPromise;
  }

  // ---- commit and roll back ---------------------------------------------------------------

  private async commit(): Promise<void> {
    this.nextCommitAt = Date.now() + this.cfg.commitIntervalMs;
    const running = [...this.tasks.values()].filter((t) => t.running);
    for (const t of running) await t.processor!.flush();
    if (this.fatal) return; // a poison record under onError 'stop': nothing more is committed
    const dirtyInputs = this.inputs.filter((s) => s.next !== s.committed);
    const changelog: MessageToProduce[] = [];
    /** Per changelog partition: how many records this commit writes (for the checkpoint). */
    const written = new Map<ChangeRecordingStore, number>();
    for (const t of running) {
      for (const s of t.stores.values()) {
        if (s.changes.length === 0) continue;
        for (const c of s.changes) changelog.push({ topic: s.changelogTopic!, partition: t.partition, key: c.key, value: c.value ?? undefined });
        written.set(s, s.changes.length);
      }
    }
    if (dirtyInputs.length === 0 && changelog.length === 0 && this.outBuffer.length === 0 && this.inFlight.length === 0) return;
    const started = performance.now();
    this.sendAhead();
    let changelogOffsets: Map<string, bigint> | undefined;
    if (this.exactlyOnce) {
      const tx = await this.txn();
      await Promise.all(this.inFlight);
      if (changelog.length > 0) changelogOffsets = baseOffsets(await tx.send({ messages: changelog }));
      if (dirtyInputs.length > 0) {
        await tx.addConsumer(this.consumer);
        const group = { groupId: this.app, generationId: this.generation, memberId: this.consumer.memberId!, coordinatorId: this.consumer.coordinatorId! };
        // The library sends one TxnOffsetCommit per call (offset + 1 is committed).
        for (const s of dirtyInputs) {
          await tx.addOffset({ topic: s.topic, partition: s.partition, offset: s.next - 1n, metadata: { consumer: group } } as unknown as Parameters<typeof tx.addOffset>[0]);
        }
      }
      await tx.commit();
      this.txnPromise = undefined;
    } else {
      await Promise.all(this.inFlight);
      if (changelog.length > 0) changelogOffsets = baseOffsets(await this.producer.send({ messages: changelog }));
      if (dirtyInputs.length > 0) {
        await this.consumer.commit({ offsets: dirtyInputs.map((s) => ({ topic: s.topic, partition: s.partition, offset: s.next, leaderEpoch: -1 })) });
      }
    }
    this.inFlight = [];
    for (const s of dirtyInputs) s.committed = s.next;
    // The Kafka side is committed: now the stores, each at the offset after its last changelog record.
    for (const t of running) {
      for (const s of t.stores.values()) {
        const n = written.get(s);
        s.changes = [];
        if (n === undefined) {
          if (s.changelogTopic === undefined) await s.inner.commit(0n);
          continue;
        }
        const base = changelogOffsets?.get(`${s.changelogTopic}:${t.partition}`);
        if (base === undefined) throw new Error(`the broker did not report the offset of the changelog records of ${t.taskId}/${s.name}`);
        await s.inner.commit(base + BigInt(n));
        this.metrics.stateSize.labels(this.app, t.taskId, s.name).set(s.inner.approximateSize());
      }
      t.dirty = false;
    }
    this.metrics.commits.labels(this.app).inc();
    this.metrics.commitLatency.labels(this.app).observe((performance.now() - started) / 1000);
  }

  /** Drops everything since the last commit: the open transaction, buffered sends, pending store writes. */
  private async rollBack(): Promise<void> {
    this.outBuffer = [];
    const inFlight = this.inFlight;
    this.inFlight = [];
    await Promise.allSettled(inFlight);
    const txp = this.txnPromise;
    this.txnPromise = undefined;
    if (txp) {
      const tx = await txp.catch(() => undefined);
      const aborted = tx === undefined || tx.completed || (await tx.abort().then(() => true, () => false));
      if (!aborted) {
        // A fenced or broken producer cannot abort; a new one (InitProducerId) aborts what the old one left open.
        this.log.warn(`rivulet stream ${this.app}: the open transaction could not be aborted; starting a new transactional producer`);
        const old = this.producer;
        this.producer = this.newProducer();
        await closeQuietly(old);
      }
    }
    for (const t of this.tasks.values()) {
      for (const s of t.stores.values()) {
        s.inner.abort();
        s.changes = [];
      }
    }
  }

  private async closeTasks(): Promise<void> {
    for (const t of this.tasks.values()) await t.close();
    this.tasks.clear();
    this.inputs = [];
  }

  // ---- assignment, restore ----------------------------------------------------------------

  /**
   * Rebuilds the tasks for the member's current assignment: uncommitted work is dropped (the
   * group moved on, so its offsets could not be committed anyway), every assigned task's
   * stores are restored from their checkpoint to the end of the changelog, and reading
   * resumes from the committed offsets.
   */
  private async rebuild(): Promise<void> {
    this.restoring = true;
    await this.rollBack();
    await this.closeTasks();
    if (!this.consumer.memberId || !this.consumer.isActive()) {
      this.log.info(`rivulet stream ${this.app}: (re)joining the group`);
      await this.consumer.joinGroup({});
    }
    const generation = this.consumer.generationId;
    const key = this.currentAssignmentKey();
    const assigned = new Map<string, number[]>();
    for (const a of this.consumer.assignments ?? []) assigned.set(a.topic, [...a.partitions]);
    const wanted = new Map<string, { sub: SubTopology; partition: number }>();
    for (const sub of this.topology.subtopologies) {
      for (const topic of sub.sources) for (const p of assigned.get(topic) ?? []) wanted.set(`${sub.id}_${p}`, { sub, partition: p });
    }
    for (const [id, { sub, partition }] of wanted) {
      const stores = new Map<string, ChangeRecordingStore>();
      for (const spec of this.topology.stores) {
        if (spec.subtopology !== sub.id) continue;
        stores.set(spec.name, new ChangeRecordingStore(spec.name, await this.storeFactory.open(id, spec.name), this.changelogOf.get(spec.name)));
      }
      this.tasks.set(id, new Task(sub, partition, this.app, stores, this.metrics.forTask(id), this));
    }
    for (const t of this.tasks.values()) {
      for (const s of t.stores.values()) if (s.changelogTopic !== undefined) await this.restore(t, s);
    }
    // Inputs from the committed offsets; a previous owner's open transaction is waited for.
    const inputs: InputPartition[] = [];
    const committed = await this.committedOffsets(assigned);
    for (const t of this.tasks.values()) {
      for (const topic of t.sub.sources) {
        if (!(assigned.get(topic) ?? []).includes(t.partition)) continue;
        let next = committed.get(`${topic}:${t.partition}`);
        if (next === undefined || next < 0n) next = (await offsetsAt(this.consumer, topic, [t.partition], EARLIEST)).get(t.partition)!;
        inputs.push({ topic, partition: t.partition, next, committed: next, aborted: new Set(), task: t });
      }
      t.start();
    }
    this.inputs = inputs;
    this.generation = generation;
    this.assignmentKey = key;
    this.restoring = false;
    this.nextCommitAt = Date.now() + this.cfg.commitIntervalMs;
    this.log.info(`rivulet stream ${this.app}: generation ${generation}: ${this.tasks.size} tasks (${[...this.tasks.keys()].join(', ') || 'none'})`);
    this.resolveReady();
  }

  private async committedOffsets(assigned: Map<string, number[]>): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    const topics = [...assigned].filter(([, ps]) => ps.length > 0).map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
    if (topics.length === 0) return out;
    for (let attempt = 0; ; attempt++) {
      try {
        const groups = await this.admin.listConsumerGroupOffsets({ groups: [{ groupId: this.app, topics }], requireStable: true });
        for (const g of groups) for (const t of g.topics) for (const p of t.partitions) out.set(`${t.name}:${p.partitionIndex}`, p.committedOffset);
        return out;
      } catch (e) {
        // A previous owner's transaction is still open: its offsets are not stable yet.
        if (!findProtocolError(e, 'UNSTABLE_OFFSET_COMMIT') || attempt >= 100) throw e;
        await sleep(100);
      }
    }
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
    this.stopping = true;
    if (this.loop) await this.loop;
    else {
      await this.closeClients();
      this.loopDone = true;
      this.resolveClosed(undefined);
    }
  }

  private async closeClients(): Promise<void> {
    try {
      if (this.consumer.memberId) await this.consumer.leaveGroup();
    } catch {
      // The session timeout ends the membership anyway.
    }
    await closeQuietly(this.consumer);
    await closeQuietly(this.producer);
    await closeQuietly(this.admin);
  }
}

function headerMap(h: ReadonlyArray<readonly [string, Buffer]>): Map<Buffer, Buffer> {
  const m = new Map<Buffer, Buffer>();
  for (const [k, v] of h) m.set(Buffer.from(k), v);
  return m;
}

/** "topic:partition" -> the base offset of what one send wrote there (one batch per partition per send). */
function baseOffsets(result: { offsets?: Array<{ topic: string; partition: number; offset: bigint }> }): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const o of result.offsets ?? []) m.set(`${o.topic}:${o.partition}`, o.offset);
  return m;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

export type { InputRecord };
