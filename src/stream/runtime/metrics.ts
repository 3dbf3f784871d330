// The runtime's Prometheus metrics, registered once per registry. Labels: application, task,
// operator or topic where they apply; never a key. Workers of one process each register into
// their own registry (the CLI merges them), so names do not collide.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TaskMetrics } from '../types.js';

/**
 * Per registry, what flushes the counts the tasks keep between scrapes: the record counters
 * are bumped once per record, and a prom-client inc (label hashing, a value object) costs more
 * than the rest of a simple query's record; a task adds to plain numbers and the counters'
 * collect (run by every read of the registry) adds them in.
 */
const pendingCounts = new WeakMap<Registry, Set<RuntimeMetrics>>();

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class RuntimeMetrics {
  readonly recordsIn: Counter<'application' | 'task'>;
  readonly recordsOut: Counter<'application' | 'task' | 'topic'>;
  readonly processingLatency: Histogram<'application'>;
  readonly endToEndEventTime: Histogram<'application'>;
  readonly endToEndAppendTime: Histogram<'application'>;
  readonly watermark: Gauge<'application' | 'task'>;
  readonly watermarkLag: Gauge<'application' | 'task'>;
  readonly consumerLag: Gauge<'application' | 'topic' | 'partition'>;
  readonly commitLatency: Histogram<'application'>;
  readonly commits: Counter<'application'>;
  readonly aborts: Counter<'application'>;
  readonly stateSize: Gauge<'application' | 'task' | 'store'>;
  readonly restoreRecords: Counter<'application' | 'task' | 'store'>;
  readonly restoreRemaining: Gauge<'application' | 'task' | 'store'>;
  readonly lateRecords: Counter<'application' | 'task' | 'operator'>;
  readonly deadLetters: Counter<'application' | 'operator'>;

  /** The latest TaskMetrics of each task id, whose pending counts the collect adds in. */
  private readonly tasks = new Map<string, TaskMetricsImpl>();

  constructor(readonly registry: Registry, readonly application: string) {
    const r = [registry];
    const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
    let flushers = pendingCounts.get(registry);
    if (flushers === undefined) {
      flushers = new Set();
      pendingCounts.set(registry, flushers);
    }
    flushers.add(this);
    const collect = () => {
      for (const m of pendingCounts.get(registry) ?? []) m.flushCounts();
    };
    const pendingCounter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      existing<Counter<L>>(name) ?? new Counter<L>({ name, help, labelNames, registers: r, collect });
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      existing<Counter<L>>(name) ?? new Counter<L>({ name, help, labelNames, registers: r });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
      existing<Gauge<L>>(name) ?? new Gauge<L>({ name, help, labelNames, registers: r });
    const histogram = <L extends string>(name: string, help: string, labelNames: L[]) =>
      existing<Histogram<L>>(name) ?? new Histogram<L>({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: r });
    this.recordsIn = pendingCounter('rivulet_stream_records_in_total', 'Input records processed', ['application', 'task']);
    this.recordsOut = pendingCounter('rivulet_stream_records_out_total', 'Records sent to output and repartition topics', ['application', 'task', 'topic']);
    this.processingLatency = histogram('rivulet_stream_processing_latency_seconds', 'Time to process one fetched batch of a partition, per record', ['application']);
    this.endToEndEventTime = histogram('rivulet_stream_end_to_end_event_time_seconds', 'From an output\'s event time to its send', ['application']);
    this.endToEndAppendTime = histogram('rivulet_stream_end_to_end_append_time_seconds', 'From the broker append of the input to the output\'s send', ['application']);
    this.watermark = gauge('rivulet_stream_watermark_ms', 'Event-time watermark of the task', ['application', 'task']);
    this.watermarkLag = gauge('rivulet_stream_watermark_lag_ms', 'Wall clock minus watermark', ['application', 'task']);
    this.consumerLag = gauge('rivulet_stream_consumer_lag', 'Records between the position and the end of an input partition', ['application', 'topic', 'partition']);
    this.commitLatency = histogram('rivulet_stream_commit_latency_seconds', 'One commit cycle: flush, changelog, offsets, transaction commit, store commit', ['application']);
    this.commits = counter('rivulet_stream_commits_total', 'Commits that succeeded', ['application']);
    this.aborts = counter('rivulet_stream_aborts_total', 'Commits that failed and were rolled back (tasks rebuilt)', ['application']);
    this.stateSize = gauge('rivulet_stream_state_entries', 'Entries in a task\'s store (approximate)', ['application', 'task', 'store']);
    this.restoreRecords = counter('rivulet_stream_restore_records_total', 'Changelog records applied while restoring', ['application', 'task', 'store']);
    this.restoreRemaining = gauge('rivulet_stream_restore_remaining_records', 'Changelog offsets left to restore', ['application', 'task', 'store']);
    this.lateRecords = counter('rivulet_stream_late_records_total', 'Records behind the watermark past the grace period', ['application', 'task', 'operator']);
    this.deadLetters = counter('rivulet_stream_dead_letters_total', 'Poison records sent to the dead-letter topic', ['application', 'operator']);
  }

  /** The TaskMetrics one task's operators report to; label children are bound once. */
  forTask(taskId: string): TaskMetricsImpl {
    this.tasks.get(taskId)?.flushCounts();
    const t = new TaskMetricsImpl(this, taskId);
    this.tasks.set(taskId, t);
    return t;
  }

  /** Adds the records counted by the tasks since the last read into the counters. */
  flushCounts(): void {
    for (const t of this.tasks.values()) t.flushCounts();
  }
}

interface PendingCount {
  counter: ReturnType<Counter<'application' | 'task' | 'topic'>['labels']>;
  n: number;
}

export class TaskMetricsImpl implements TaskMetrics {
  private readonly inCounter;
  /** Records in and out since the last flushCounts (RuntimeMetrics: the counters' collect). */
  private pendingIn = 0;
  private readonly outByTopic = new Map<string, PendingCount>();
  private readonly e2eEvent;
  private readonly e2eAppend;
  private readonly wm;
  private readonly wmLag;
  constructor(private readonly m: RuntimeMetrics, private readonly taskId: string) {
    this.inCounter = m.recordsIn.labels(m.application, taskId);
    this.e2eEvent = m.endToEndEventTime.labels(m.application);
    this.e2eAppend = m.endToEndAppendTime.labels(m.application);
    this.wm = m.watermark.labels(m.application, taskId);
    this.wmLag = m.watermarkLag.labels(m.application, taskId);
  }
  recordsIn(n: number): void {
    this.pendingIn += n;
  }
  recordsOut(topic: string, n: number): void {
    let c = this.outByTopic.get(topic);
    if (!c) {
      c = { counter: this.m.recordsOut.labels(this.m.application, this.taskId, topic), n: 0 };
      this.outByTopic.set(topic, c);
    }
    c.n += n;
  }
  flushCounts(): void {
    if (this.pendingIn > 0) {
      this.inCounter.inc(this.pendingIn);
      this.pendingIn = 0;
    }
    for (const c of this.outByTopic.values()) {
      if (c.n === 0) continue;
      c.counter.inc(c.n);
      c.n = 0;
    }
  }
  lateRecords(operator: string, n: number): void {
    this.m.lateRecords.labels(this.m.application, this.taskId, operator).inc(n);
  }
  watermark(watermark: number): void {
    this.wm.set(watermark);
    this.wmLag.set(Date.now() - watermark);
  }
  endToEnd(fromEventTimeMs: number, fromAppendTimeMs: number | undefined): void {
    this.e2eEvent.observe(fromEventTimeMs / 1000);
    if (fromAppendTimeMs !== undefined) this.e2eAppend.observe(fromAppendTimeMs / 1000);
  }
}
