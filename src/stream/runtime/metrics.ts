// The runtime's Prometheus metrics, registered once per registry. Labels: application, task,
// operator or topic where they apply; never a key. Workers of one process each register into
// their own registry (the CLI merges them), so names do not collide.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TaskMetrics } from '../types.js';

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

  constructor(readonly registry: Registry, readonly application: string) {
    const r = [registry];
    const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      existing<Counter<L>>(name) ?? new Counter<L>({ name, help, labelNames, registers: r });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
      existing<Gauge<L>>(name) ?? new Gauge<L>({ name, help, labelNames, registers: r });
    const histogram = <L extends string>(name: string, help: string, labelNames: L[]) =>
      existing<Histogram<L>>(name) ?? new Histogram<L>({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: r });
    this.recordsIn = counter('rivulet_stream_records_in_total', 'Input records processed', ['application', 'task']);
    this.recordsOut = counter('rivulet_stream_records_out_total', 'Records sent to output and repartition topics', ['application', 'task', 'topic']);
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
    return new TaskMetricsImpl(this, taskId);
  }
}

export class TaskMetricsImpl implements TaskMetrics {
  private readonly inCounter;
  private readonly outByTopic = new Map<string, ReturnType<Counter<'application' | 'task' | 'topic'>['labels']>>();
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
    this.inCounter.inc(n);
  }
  recordsOut(topic: string, n: number): void {
    let c = this.outByTopic.get(topic);
    if (!c) {
      c = this.m.recordsOut.labels(this.m.application, this.taskId, topic);
      this.outByTopic.set(topic, c);
    }
    c.inc(n);
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
