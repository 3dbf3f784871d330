// The work behind `rivulet bench produce|consume|e2e` (see bench.ts), through
// @platformatic/kafka against any Kafka-protocol cluster. Loaded only when a command runs.
//
// Producing: batches of up to --batch-size records (sticky partition per batch without
// keys, murmur2 by key with --key-cardinality), at most --max-in-flight requests awaiting
// an answer. At a fixed --rate, record i is due at t0 + i/rate (absolute schedule, no
// drift) and its latency is measured from that intended time, so time spent blocked
// behind a slow broker counts (coordinated omission). Latencies go into HdrHistograms in
// microseconds.
//
// Consuming: no consumer group; metadata + listOffsets + fetch from each partition's
// leader, as `rivulet consume` does without --group.

import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import hdr from 'hdr-histogram-js';
import {
  Admin,
  Consumer,
  FetchIsolationLevels,
  Producer,
  type ClusterTopicMetadata,
  type CompressionAlgorithmValue,
  type MessageToProduce,
} from '@platformatic/kafka';
import {
  baseClientOptions,
  checkTopicName,
  CliError,
  closeQuietly,
  explainError,
  findProtocolError,
  isUnknownTopic,
  usageError,
  type ClientFlags,
} from './client-common.js';
import { parseAcks, parseCompression, partitionForKey } from './client-produce.js';
import { listOffsetsAt } from './client-consume.js';

type Histogram = ReturnType<typeof hdr.build>;

interface CommonFlags extends ClientFlags {
  topic: string;
  json?: boolean;
  progress: boolean;
}

export interface ProducerFlags extends CommonFlags {
  messages?: number;
  duration?: number;
  size: number;
  rate?: number;
  acks: string;
  compression: string;
  partitions?: number;
  keyCardinality?: number;
  batchSize: number;
  linger: number;
  maxInFlight: number;
}

export type BenchProduceFlags = ProducerFlags;

export interface BenchE2eFlags extends ProducerFlags {
  idleTimeout: number;
}

export interface BenchConsumeFlags extends CommonFlags {
  messages?: number;
  fromBeginning?: boolean;
  idleTimeout: number;
}

/** The percentiles reported, in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** What --json prints (documented in bench.ts, JSON_HELP). */
export interface BenchResult {
  schema: 'rivulet.bench/1';
  mode: 'produce' | 'consume' | 'e2e';
  topic: string;
  config: Record<string, string | number | boolean | null>;
  requested: number | null;
  messages: number;
  produced: number | null;
  failed: number;
  bytes: number;
  durationMs: number;
  msgsPerSec: number;
  mbPerSec: number;
  latencyMs: LatencySummary | null;
  sendLatencyMs: LatencySummary | null;
}

const MAX_BATCH_BYTES = 900 * 1024;
const PARTITION_MAX_BYTES = 1024 * 1024;
const FETCH_MAX_BYTES = 50 * 1024 * 1024;
const EARLIEST = -2n;
const LATEST = -1n;
const IS_CONTROL = 0x20;
const MB = 1024 * 1024;
const E2E_HEADER = 16;

// ---- small helpers ----

function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records a latency given in milliseconds (kept in microseconds). */
function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.max(1, Math.round(ms * 1000)));
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

export function summarize(h: Histogram): LatencySummary | null {
  if (h.totalCount === 0) return null;
  // A percentile is reported as the highest value equivalent to it; keep p <= max.
  const max = round3(h.maxValue / 1000);
  const at = (p: number): number => Math.min(max, round3(h.getValueAtPercentile(p) / 1000));
  return { count: h.totalCount, min: Math.min(max, round3(h.minNonZeroValue / 1000)), mean: round3(h.mean / 1000), p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max };
}


const sleep = (ms: number): Promise<void> => new Promise((res) => (ms >= 1 ? setTimeout(res, ms) : setImmediate(res)));

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtNum = (n: number, digits = 2): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---- progress on stderr ----

class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly tty = process.stderr.isTTY === true;
  private lastCount = 0;
  private lastAt = performance.now();
  private readonly startedAt = performance.now();
  private written = false;

  constructor(
    private readonly label: string,
    private readonly enabled: boolean,
    private readonly total: () => { count: number; bytes: number; of?: number; untilMs?: number; extra?: string },
  ) {}

  start(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => this.tick(), this.tty ? 250 : 5000);
    this.timer.unref();
  }

  private tick(): void {
    const now = performance.now();
    const s = this.total();
    const secs = (now - this.lastAt) / 1000;
    const rate = secs > 0 ? (s.count - this.lastCount) / secs : 0;
    this.lastCount = s.count;
    this.lastAt = now;
    let frac: number | undefined;
    if (s.of !== undefined) frac = s.count / s.of;
    if (s.untilMs !== undefined) frac = Math.max(frac ?? 0, (now - this.startedAt) / s.untilMs);
    let bar = '';
    if (frac !== undefined) {
      const f = Math.min(1, Math.max(0, frac));
      const width = 24;
      const filled = Math.round(f * width);
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}% `;
    }
    const of = s.of !== undefined ? `/${fmtInt(s.of)}` : '';
    const line = `${this.label} ${bar}${fmtInt(s.count)}${of} msgs  ${fmtInt(rate)} msg/s${s.extra ? `  ${s.extra}` : ''}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K`);
    else process.stderr.write(`${line}\n`);
    this.written = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.written) process.stderr.write('\r\x1b[K');
  }
}

// ---- output ----

function printResult(r: BenchResult, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const cfg = Object.entries(r.config)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const lines = [`bench ${r.mode}  topic=${r.topic}  ${cfg}`, ''];
  const head = ['messages', 'MB', 'seconds', 'msgs/s', 'MB/s'];
  const row = [fmtInt(r.messages), fmtNum(r.bytes / MB), fmtNum(r.durationMs / 1000, 3), fmtInt(r.msgsPerSec), fmtNum(r.mbPerSec)];
  if (r.failed > 0) {
    head.push('failed');
    row.push(fmtInt(r.failed));
  }
  lines.push(...table([head, row]), '');
  const lat: Array<[string, LatencySummary | null]> = [];
  if (r.mode === 'produce') lat.push(['send → ack', r.latencyMs]);
  if (r.mode === 'e2e') lat.push(['end to end', r.latencyMs], ['send → ack', r.sendLatencyMs]);
  const withData = lat.filter(([, l]) => l !== null) as Array<[string, LatencySummary]>;
  if (withData.length > 0) {
    const rows = [['latency (ms)', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean']];
    for (const [name, l] of withData) rows.push([name, ...[l.p50, l.p90, l.p99, l.p999, l.max, l.mean].map((v) => fmtNum(v, 3))]);
    lines.push(...table(rows), '');
  }
  process.stdout.write(lines.join('\n'));
}

/** Left-aligned first column, right-aligned numbers. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 && r.length > 5 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

function result(mode: BenchResult['mode'], topic: string, config: BenchResult['config'], f: Omit<BenchResult, 'schema' | 'mode' | 'topic' | 'config' | 'msgsPerSec' | 'mbPerSec'>): BenchResult {
  const secs = f.durationMs / 1000;
  return {
    schema: 'rivulet.bench/1',
    mode,
    topic,
    config,
    ...f,
    durationMs: round3(f.durationMs),
    msgsPerSec: secs > 0 ? round3(f.messages / secs) : 0,
    mbPerSec: secs > 0 ? round3(f.bytes / MB / secs) : 0,
  };
}

// ---- topic lookup / creation ----

async function findTopic(client: Producer | Consumer, topic: string): Promise<ClusterTopicMetadata | undefined> {
  try {
    const md = await client.metadata({ topics: [topic], autocreateTopics: false, forceUpdate: true });
    return md.topics.get(topic);
  } catch (e) {
    if (isUnknownTopic(e)) return undefined;
    throw e;
  }
}

/** The topic's metadata, creating it with `partitions` when missing and asked to. */
async function ensureTopic(client: Producer | Consumer, o: ClientFlags & { topic: string }, partitions: number | undefined): Promise<ClusterTopicMetadata> {
  let t = await findTopic(client, o.topic);
  if (!t) {
    if (partitions === undefined) {
      throw new CliError(`topic "${o.topic}" does not exist; add --partitions N to create it, or create it with: rivulet topic create ${o.topic}`);
    }
    const admin = new Admin(baseClientOptions(o));
    try {
      await admin.createTopics({ topics: [o.topic], partitions, replicas: -1 });
      process.stderr.write(`created topic "${o.topic}" with ${partitions} partition(s)\n`);
    } catch (e) {
      if (!findProtocolError(e, 'TOPIC_ALREADY_EXISTS')) throw e;
    } finally {
      await closeQuietly(admin);
    }
    // Leaders may take a moment to appear in metadata.
    for (let i = 0; i < 40; i++) {
      t = await findTopic(client, o.topic);
      if (t && t.partitionsCount > 0 && t.partitions.every((p) => p.leader >= 0)) break;
      await sleep(100);
    }
    if (!t) throw new CliError(`topic "${o.topic}" was created but does not appear in the cluster's metadata.`);
  } else if (partitions !== undefined && t.partitionsCount !== partitions) {
    process.stderr.write(`rivulet: note: topic "${o.topic}" already exists with ${t.partitionsCount} partition(s); --partitions ${partitions} is ignored\n`);
  }
  if (t.partitionsCount === 0) throw new CliError(`topic "${o.topic}" has no partitions.`);
  return t;
}

// ---- the producing engine (produce, e2e) ----

interface ProduceStats {
  sent: number;
  acked: number;
  failed: number;
  bytesAcked: number;
  firstError: unknown;
  firstSendAt: number;
  lastAckAt: number;
  hist: Histogram;
}

interface ProducePlan {
  topic: string;
  partitions: number;
  total: number | undefined;
  durationMs: number | undefined;
  rate: number | undefined;
  keys: Buffer[] | undefined;
  /** Passed on every send: the client takes acks from the send options, not from the producer's. */
  acks: -1 | 0 | 1;
  batchSize: number;
  lingerMs: number;
  maxInFlight: number;
  /** The value of record i, intended to be sent at `intendedEpochMs`. */
  value: (i: number, intendedEpochMs: number) => Buffer;
  stopped: () => boolean;
}

async function runProducer(producer: Producer, plan: ProducePlan, st: ProduceStats): Promise<void> {
  const t0 = performance.now();
  const origin = performance.timeOrigin;
  const deadline = plan.durationMs !== undefined ? t0 + plan.durationMs : Infinity;
  const total = plan.total ?? Infinity;
  const interval = plan.rate !== undefined ? 1000 / plan.rate : 0;
  st.firstSendAt = t0;
  let sticky = Math.floor(Math.random() * plan.partitions);
  let batch: MessageToProduce[] = [];
  let times: number[] = [];
  let batchBytes = 0;
  let batchStart = 0;
  const inFlight = new Set<Promise<void>>();
  let failed = false;

  const dispatch = (): void => {
    if (batch.length === 0) return;
    const messages = batch;
    const intended = times;
    const bytes = batchBytes;
    batch = [];
    times = [];
    batchBytes = 0;
    sticky = (sticky + 1) % plan.partitions;
    st.sent += messages.length;
    const p = producer
      .send({ messages, acks: plan.acks })
      .then(() => {
        const now = performance.now();
        for (const t of intended) recordMs(st.hist, now - t);
        st.acked += messages.length;
        st.bytesAcked += bytes;
        st.lastAckAt = now;
      })
      .catch((e: unknown) => {
        st.failed += messages.length;
        st.firstError ??= e;
        failed = true;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const add = (i: number, intended: number): void => {
    const key = plan.keys ? plan.keys[i % plan.keys.length]! : undefined;
    const value = plan.value(i, origin + intended);
    const msg: MessageToProduce = { topic: plan.topic, value, partition: key ? partitionForKey(key, plan.partitions) : sticky };
    if (key) msg.key = key;
    if (batch.length === 0) batchStart = performance.now();
    batch.push(msg);
    times.push(intended);
    batchBytes += value.length + (key?.length ?? 0);
  };

  let i = 0;
  while (!failed && !plan.stopped() && i < total) {
    const now = performance.now();
    if (now >= deadline) break;
    if (plan.rate === undefined) {
      // As fast as the in-flight window allows: fill a batch, send it.
      while (i < total && batch.length < plan.batchSize && batchBytes < MAX_BATCH_BYTES) add(i++, performance.now());
      dispatch();
      while (inFlight.size >= plan.maxInFlight) await Promise.race(inFlight);
      continue;
    }
    // Fixed rate: every record whose intended time has come, from the absolute schedule.
    const due = Math.min(total, Math.floor((now - t0) / interval) + 1);
    let blocked = false;
    while (i < due && t0 + i * interval < deadline) {
      add(i, t0 + i * interval);
      i++;
      if (batch.length >= plan.batchSize || batchBytes >= MAX_BATCH_BYTES) {
        dispatch();
        if (inFlight.size >= plan.maxInFlight) {
          blocked = true;
          break;
        }
      }
    }
    if (batch.length > 0 && (plan.lingerMs === 0 || performance.now() - batchStart >= plan.lingerMs) && inFlight.size < plan.maxInFlight) dispatch();
    if (blocked || (batch.length > 0 && inFlight.size >= plan.maxInFlight)) {
      await Promise.race(inFlight);
      continue;
    }
    if (i >= total || t0 + i * interval >= deadline) break;
    let wake = t0 + i * interval;
    if (batch.length > 0) wake = Math.min(wake, batchStart + plan.lingerMs);
    await sleep(wake - performance.now());
  }
  if (!failed) dispatch();
  while (inFlight.size > 0) await Promise.race(inFlight);
  if (st.lastAckAt === 0) st.lastAckAt = performance.now();
}

interface PreparedProducer {
  producer: Producer;
  meta: ClusterTopicMetadata;
  acks: -1 | 0 | 1;
  compression: CompressionAlgorithmValue;
  keys: Buffer[] | undefined;
  config: BenchResult['config'];
}

async function prepareProducer(o: ProducerFlags, rate: number | undefined): Promise<PreparedProducer> {
  checkTopicName(o.topic);
  const acks = parseAcks(o.acks);
  const compression = parseCompression(o.compression);
  const producer = new Producer({ ...baseClientOptions(o), acks, compression, idempotent: false, autocreateTopics: false });
  try {
    const meta = await ensureTopic(producer, o, o.partitions);
    const keys = o.keyCardinality !== undefined ? Array.from({ length: o.keyCardinality }, (_, k) => Buffer.from(`key-${k}`)) : undefined;
    const config = {
      acks,
      compression,
      size: o.size,
      rate: rate ?? null,
      partitions: meta.partitionsCount,
      batchSize: o.batchSize,
      lingerMs: o.linger,
      maxInFlight: o.maxInFlight,
      keyCardinality: o.keyCardinality ?? null,
      durationMs: o.duration ?? null,
    };
    return { producer, meta, acks, compression, keys, config };
  } catch (e) {
    await closeQuietly(producer);
    throw e;
  }
}

function newProduceStats(): ProduceStats {
  return { sent: 0, acked: 0, failed: 0, bytesAcked: 0, firstError: undefined, firstSendAt: 0, lastAckAt: 0, hist: newHistogram() };
}

/** Ctrl-C stops sending; what was sent is still awaited and reported. */
function onInterrupt(): { stopped: () => boolean; dispose: () => void } {
  let stopped = false;
  const handler = (): void => {
    if (stopped) process.exit(130);
    stopped = true;
  };
  process.on('SIGINT', handler);
  return { stopped: () => stopped, dispose: () => process.removeListener('SIGINT', handler) };
}

// ---- bench produce ----

export async function benchProduce(o: BenchProduceFlags): Promise<number> {
  const total = o.messages ?? (o.duration === undefined ? 100_000 : undefined);
  const prep = await prepareProducer(o, o.rate);
  const st = newProduceStats();
  const stop = onInterrupt();
  const payload = randomBytes(o.size);
  const progress = new Progress('produce', o.progress, () => {
    const l = st.hist.totalCount > 0 ? `  p99 ${fmtNum(st.hist.getValueAtPercentile(99) / 1000, 1)} ms` : '';
    return { count: st.acked, bytes: st.bytesAcked, of: total, untilMs: o.duration, extra: `${fmtNum(st.bytesAcked / MB, 1)} MB${l}` };
  });
  try {
    progress.start();
    await runProducer(
      prep.producer,
      { topic: o.topic, partitions: prep.meta.partitionsCount, total, durationMs: o.duration, rate: o.rate, keys: prep.keys, acks: prep.acks, batchSize: o.batchSize, lingerMs: o.linger, maxInFlight: o.maxInFlight, value: () => payload, stopped: stop.stopped },
      st,
    );
  } finally {
    progress.stop();
    stop.dispose();
    await closeQuietly(prep.producer);
  }
  printResult(
    result('produce', o.topic, prep.config, {
      requested: o.messages ?? (o.duration === undefined ? total! : null),
      messages: st.acked,
      produced: st.acked,
      failed: st.failed,
      bytes: st.bytesAcked,
      durationMs: st.lastAckAt - st.firstSendAt,
      latencyMs: summarize(st.hist),
      sendLatencyMs: null,
    }),
    o.json,
  );
  if (st.firstError !== undefined) {
    throw new CliError(`${st.failed} of ${st.sent} record(s) sent were not acknowledged: ${explainError(st.firstError, o.bootstrapServer)}`);
  }
  return 0;
}

// ---- the fetching engine (consume, e2e) ----

interface PartitionState {
  partition: number;
  next: bigint;
  /** Stop before this offset (consume --from-beginning without --messages); -1n: no limit. */
  end: bigint;
  done: boolean;
}

interface FetchRecord {
  key: Buffer | null;
  value: Buffer | null;
}

/**
 * Fetches from every partition's leader until `done()` says so or no record arrives for
 * `idleMs` after `idleArmed()` becomes true. Calls `onRecords(records, nowMs)` per partition response.
 */
async function fetchLoop(
  consumer: Consumer,
  topic: string,
  initialMeta: ClusterTopicMetadata,
  states: PartitionState[],
  opts: { done: () => boolean; idleMs: number; idleArmed: () => boolean; onRecords: (records: FetchRecord[], now: number) => void },
): Promise<'done' | 'idle'> {
  let meta = initialMeta;
  const byIndex = new Map(states.map((s) => [s.partition, s]));
  let staleRetries = 0;
  let lastRecordAt = performance.now();
  while (!opts.done()) {
    const active = states.filter((s) => !s.done);
    if (active.length === 0) return 'done';
    if (opts.idleArmed() && performance.now() - lastRecordAt > opts.idleMs) return 'idle';
    const byLeader = new Map<number, PartitionState[]>();
    for (const s of active) {
      const leader = meta.partitions[s.partition]?.leader ?? -1;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), s]);
    }
    let responses;
    try {
      if (byLeader.has(-1)) throw new CliError('no leader', { code: 'RIV_ERR_NO_LEADER' });
      responses = await Promise.all(
        [...byLeader].map(([node, ss]) =>
          consumer.fetch({
            node,
            maxWaitTime: 200,
            minBytes: 1,
            maxBytes: FETCH_MAX_BYTES,
            isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
            topics: [{ topicId: meta.id, partitions: ss.map((s) => ({ partition: s.partition, currentLeaderEpoch: -1, fetchOffset: s.next, lastFetchedEpoch: -1, partitionMaxBytes: PARTITION_MAX_BYTES })) }],
          }),
        ),
      );
      staleRetries = 0;
    } catch (e) {
      if (findProtocolError(e, 'OFFSET_OUT_OF_RANGE')) {
        throw new CliError(`the offsets being read are no longer (or not yet) in the log of "${topic}"; retention may have removed them.`, { cause: e });
      }
      const stale = (e instanceof CliError && e.code === 'RIV_ERR_NO_LEADER') || findProtocolError(e, 'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID', 'FENCED_LEADER_EPOCH');
      if (stale && staleRetries < 20) {
        staleRetries++;
        await sleep(250);
        meta = (await findTopic(consumer, topic)) ?? meta;
        continue;
      }
      throw e;
    }
    const now = performance.now();
    for (const resp of responses) {
      for (const t of resp.responses) {
        for (const pr of t.partitions) {
          const s = byIndex.get(pr.partitionIndex);
          if (!s || s.done) continue;
          const got: FetchRecord[] = [];
          for (const b of pr.records ?? []) {
            const batchEnd = b.firstOffset + BigInt(b.lastOffsetDelta) + 1n;
            if (batchEnd <= s.next) continue;
            if ((b.attributes & IS_CONTROL) === 0) {
              for (const r of b.records) {
                const offset = b.firstOffset + BigInt(r.offsetDelta);
                if (offset < s.next) continue;
                if (s.end >= 0n && offset >= s.end) break;
                got.push(r);
              }
            }
            s.next = s.end >= 0n && batchEnd > s.end ? s.end : batchEnd;
            if (s.end >= 0n && s.next >= s.end) {
              s.done = true;
              break;
            }
          }
          if (got.length > 0) {
            lastRecordAt = now;
            opts.onRecords(got, now);
          }
        }
      }
    }
  }
  return 'done';
}

async function prepareConsumer(o: CommonFlags): Promise<{ consumer: Consumer; meta: ClusterTopicMetadata; partitions: number[] }> {
  const consumer = new Consumer({ ...baseClientOptions(o), groupId: `${o.clientId}-no-group`, isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED });
  try {
    const meta = await findTopic(consumer, o.topic);
    if (!meta) throw new CliError(`topic "${o.topic}" does not exist (list topics with: rivulet topic list).`);
    return { consumer, meta, partitions: Array.from({ length: meta.partitionsCount }, (_, i) => i) };
  } catch (e) {
    await closeQuietly(consumer);
    throw e;
  }
}

// ---- bench consume ----

export async function benchConsume(o: BenchConsumeFlags): Promise<number> {
  checkTopicName(o.topic);
  if (!o.fromBeginning && o.messages === undefined) {
    throw usageError('nothing to wait for: reading starts at the end of the topic, so give --messages N (records to wait for) or --from-beginning.');
  }
  const { consumer, meta, partitions } = await prepareConsumer(o);
  const stop = onInterrupt();
  let count = 0;
  let bytes = 0;
  let firstAt = 0;
  let lastAt = 0;
  let target = o.messages;
  const progress = new Progress('consume', o.progress, () => ({ count, bytes, of: target, extra: `${fmtNum(bytes / MB, 1)} MB` }));
  let outcome: 'done' | 'idle';
  try {
    const latest = await listOffsetsAt(consumer, o.topic, partitions, LATEST, FetchIsolationLevels.READ_UNCOMMITTED);
    const start = o.fromBeginning ? await listOffsetsAt(consumer, o.topic, partitions, EARLIEST, FetchIsolationLevels.READ_UNCOMMITTED) : latest;
    // --from-beginning without --messages: everything up to the end offsets seen now.
    const bounded = o.fromBeginning === true && o.messages === undefined;
    if (bounded) target = partitions.reduce((n, p) => n + Number(latest.get(p)! - start.get(p)!), 0);
    const states: PartitionState[] = partitions.map((p) => ({
      partition: p,
      next: start.get(p)!,
      end: bounded ? latest.get(p)! : -1n,
      done: bounded && start.get(p)! >= latest.get(p)!,
    }));
    progress.start();
    const t0 = performance.now();
    outcome = await fetchLoop(consumer, o.topic, meta, states, {
      done: () => stop.stopped() || (target !== undefined && count >= target),
      idleMs: o.idleTimeout,
      idleArmed: () => true,
      onRecords: (records, now) => {
        // From the beginning: the whole read counts; waiting for new records: from the first one.
        if (firstAt === 0) firstAt = o.fromBeginning ? t0 : now;
        for (const r of records) {
          if (target !== undefined && count >= target) break;
          count++;
          bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0);
        }
        lastAt = now;
      },
    });
  } finally {
    progress.stop();
    stop.dispose();
    await closeQuietly(consumer);
  }
  printResult(
    result('consume', o.topic, { fromBeginning: o.fromBeginning === true, idleTimeoutMs: o.idleTimeout }, {
      requested: o.messages ?? null,
      messages: count,
      produced: null,
      failed: 0,
      bytes,
      durationMs: firstAt === 0 ? 0 : lastAt - firstAt,
      latencyMs: null,
      sendLatencyMs: null,
    }),
    o.json,
  );
  if (outcome === 'idle' && target !== undefined && count < target) {
    throw new CliError(`only ${count} of ${target} record(s) arrived: none for ${o.idleTimeout / 1000} s (--idle-timeout).`);
  }
  return 0;
}

// ---- bench e2e ----

export async function benchE2e(o: BenchE2eFlags): Promise<number> {
  if (o.size < E2E_HEADER) throw usageError(`--size must be at least ${E2E_HEADER} for e2e: each value carries an 8-byte run id and the 8-byte send time.`);
  const rate = o.rate ?? 1000;
  const total = o.messages ?? (o.duration === undefined ? 10_000 : undefined);
  const prep = await prepareProducer(o, rate);
  let cons: Awaited<ReturnType<typeof prepareConsumer>>;
  try {
    cons = await prepareConsumer(o);
  } catch (e) {
    await closeQuietly(prep.producer);
    throw e;
  }
  const { consumer, meta, partitions } = cons;
  const st = newProduceStats();
  const e2e = newHistogram();
  const stop = onInterrupt();
  const runId = randomBytes(8);
  const payload = randomBytes(o.size);
  runId.copy(payload, 0);
  let received = 0;
  let receivedBytes = 0;
  let producing = true;
  const progress = new Progress('e2e', o.progress, () => {
    const l = e2e.totalCount > 0 ? `  e2e p99 ${fmtNum(e2e.getValueAtPercentile(99) / 1000, 1)} ms` : '';
    return { count: received, bytes: receivedBytes, of: total, untilMs: o.duration, extra: `sent ${fmtInt(st.acked)}${l}` };
  });
  let outcome: 'done' | 'idle' = 'done';
  let consumerError: unknown;
  try {
    // Read from the end offsets before the first send, so every record of this run is seen.
    const start = await listOffsetsAt(consumer, o.topic, partitions, LATEST, FetchIsolationLevels.READ_UNCOMMITTED);
    const states: PartitionState[] = partitions.map((p) => ({ partition: p, next: start.get(p)!, end: -1n, done: false }));
    progress.start();
    const reading = fetchLoop(consumer, o.topic, meta, states, {
      // After sending: done once every acknowledged record arrived (acks=0: every sent one).
      done: () => consumerError !== undefined || (!producing && received >= (prep.acks === 0 ? st.sent : st.acked)) || (stop.stopped() && !producing),
      idleMs: o.idleTimeout,
      idleArmed: () => !producing,
      onRecords: (records) => {
        const now = performance.timeOrigin + performance.now();
        for (const r of records) {
          const v = r.value;
          if (!v || v.length < E2E_HEADER || v.compare(runId, 0, 8, 0, 8) !== 0) continue;
          recordMs(e2e, now - v.readDoubleBE(8));
          received++;
          receivedBytes += v.length + (r.key?.length ?? 0);
        }
      },
    }).catch((e: unknown) => {
      consumerError = e;
      return 'done' as const;
    });
    await runProducer(
      prep.producer,
      {
        topic: o.topic,
        partitions: meta.partitionsCount,
        total,
        durationMs: o.duration,
        rate,
        keys: prep.keys,
        acks: prep.acks,
        batchSize: o.batchSize,
        lingerMs: o.linger,
        maxInFlight: o.maxInFlight,
        value: (_i, intendedEpochMs) => {
          const v = Buffer.allocUnsafe(o.size);
          payload.copy(v);
          v.writeDoubleBE(intendedEpochMs, 8);
          return v;
        },
        stopped: () => stop.stopped() || consumerError !== undefined,
      },
      st,
    );
    producing = false;
    outcome = await reading;
  } finally {
    producing = false;
    progress.stop();
    stop.dispose();
    await closeQuietly(prep.producer);
    await closeQuietly(consumer);
  }
  printResult(
    result('e2e', o.topic, { ...prep.config, idleTimeoutMs: o.idleTimeout }, {
      requested: o.messages ?? (o.duration === undefined ? total! : null),
      messages: received,
      produced: st.acked,
      failed: st.failed,
      bytes: receivedBytes,
      durationMs: st.lastAckAt - st.firstSendAt,
      latencyMs: summarize(e2e),
      sendLatencyMs: summarize(st.hist),
    }),
    o.json,
  );
  if (consumerError !== undefined) throw consumerError;
  if (st.firstError !== undefined) {
    throw new CliError(`${st.failed} of ${st.sent} record(s) sent were not acknowledged: ${explainError(st.firstError, o.bootstrapServer)}`);
  }
  const expected = prep.acks === 0 ? st.sent : st.acked;
  if (outcome === 'idle' && received < expected) {
    throw new CliError(`only ${received} of ${expected} record(s) sent arrived at the consumer: none for ${o.idleTimeout / 1000} s (--idle-timeout).`);
  }
  return 0;
}
