// The harness of the "under fire" tests of Rivulet Streams (test/integration/stream-fire*.test.ts,
// test/interop/stream-kafka.test.ts): the pipeline under test is a windowed count per key
// (test/fixtures/stream/windowed-count.mts), run by `rivulet run`.
//  - generateInput: a seeded, deterministic input (keys, event times spread over many windows,
//    some out of order, never later than the grace period allows);
//  - expectedCounts: the reference, computed plainly here from the same input, independent of
//    the library's window code;
//  - checkWindowCounts: compares the read_committed output with the reference, under
//    exactly-once (equal: nothing missing, nothing twice) or at-least-once (nothing lost;
//    duplicates counted);
//  - produceInput / readOutput: the input through an idempotent acks=all producer (kafkajs),
//    the output read on the wire with read_committed (test/helpers/txn-wire.ts);
//  - PipelineProcess: one `rivulet run` process, killed and restarted by its pid.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { cliPath, repoRoot } from './paths.js';
import { IsolationLevel, readIsolated } from './txn-wire.js';

/** The fixture's window size and grace (test/fixtures/stream/windowed-count.mts says the same). */
export const WINDOW_MS = 1000;
export const GRACE_MS = 500;
/** How far a record's event time may lag the latest one before it: well within the grace. */
export const MAX_DISORDER_MS = 200;
/** Event times start here (2026-01-01T00:00:00Z), not at the wall clock, so runs are alike. */
export const EPOCH_MS = Date.UTC(2026, 0, 1);
/** Keys of the records that close the last windows; the checker does not expect windows of theirs. */
export const CLOSE_KEY_PREFIX = 'close-';

export const fixturePath = join(repoRoot, 'test', 'fixtures', 'stream', 'windowed-count.mts');

/** A small deterministic generator (mulberry32), so a run can be replayed from its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface InputRecord {
  key: string;
  /** Event time, ms: the record's timestamp. */
  ts: number;
}

export interface InputSpec {
  seed: number;
  records: number;
  keys: number;
  /** How many windows the event times span. */
  windows: number;
}

/**
 * `records` records over `keys` keys, event times rising evenly over `windows` windows from
 * EPOCH_MS, each lowered by up to MAX_DISORDER_MS (so some arrive out of order, none late).
 */
export function generateInput(spec: InputSpec): InputRecord[] {
  const next = rng(spec.seed);
  const step = (spec.windows * WINDOW_MS) / spec.records;
  const out: InputRecord[] = [];
  for (let i = 0; i < spec.records; i++) {
    const key = `k${String(Math.floor(next() * spec.keys)).padStart(3, '0')}`;
    const ideal = EPOCH_MS + Math.floor(i * step);
    out.push({ key, ts: Math.max(EPOCH_MS, ideal - Math.floor(next() * MAX_DISORDER_MS)) });
  }
  return out;
}

/** The event time of the records that close every window of the input: past the last window's end plus grace. */
export function closingTime(input: InputRecord[]): number {
  const last = input.reduce((m, r) => Math.max(m, r.ts), 0);
  return (Math.floor(last / WINDOW_MS) + 1) * WINDOW_MS + GRACE_MS + 5 * WINDOW_MS;
}

/** "key@windowStart" -> count: what an emit-final tumbling count must output, each exactly once. */
export function expectedCounts(input: InputRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of input) {
    const start = r.ts - (r.ts % WINDOW_MS);
    const id = `${r.key}@${start}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** One output record of the pipeline: the fixture writes JSON {key, start, end, count}. */
export interface WindowResult {
  key: string;
  start: number;
  count: number;
  /** Where it was read, for diagnostics ("partition@offset"). */
  at: string;
}

export type Guarantee = 'exactly_once' | 'at_least_once';

export interface CheckResult {
  ok: boolean;
  expectedWindows: number;
  outputRecords: number;
  /** Expected windows that never came out. */
  missing: string[];
  /** exactly_once: windows output with another count or more than once; at_least_once: never with their full count. */
  wrong: string[];
  /** Extra copies of windows (output more than once). */
  duplicates: number;
  /** At-least-once only: windows output with a higher count (records processed twice after a crash). */
  overCounted: string[];
  /** At-least-once only: windows also output with a lower count beside a full one (a replay after a crash that began the window again). */
  partial: string[];
  /** Windows the reference has no such key or window for. */
  unexpected: string[];
  /** Output records of the closing keys (never expected: their windows stay open). */
  closing: number;
  /** What a person reads first when the check fails. */
  summary: string;
}

/**
 * Compares the output with the reference. exactly_once: every expected window exactly once
 * with its count, nothing else. at_least_once: every expected window at least once with at
 * least its count (a lower best count is a record lost); extra copies are counted as
 * duplicates, and copies with a higher count (a record processed twice, which at-least-once
 * allows) or a partial one beside a full one (a replay that began the window again) are
 * counted and listed, not failed.
 */
export function checkWindowCounts(expected: Map<string, number>, output: WindowResult[], guarantee: Guarantee): CheckResult {
  const seen = new Map<string, WindowResult[]>();
  let closing = 0;
  const unexpected: string[] = [];
  for (const r of output) {
    if (r.key.startsWith(CLOSE_KEY_PREFIX)) {
      closing++;
      continue;
    }
    const id = `${r.key}@${r.start}`;
    if (!expected.has(id)) {
      unexpected.push(`${id} count ${r.count} at ${r.at}`);
      continue;
    }
    const list = seen.get(id) ?? [];
    list.push(r);
    seen.set(id, list);
  }
  const missing: string[] = [];
  const wrong: string[] = [];
  const overCounted: string[] = [];
  const partial: string[] = [];
  let duplicates = 0;
  for (const [id, want] of expected) {
    const got = seen.get(id);
    if (!got) {
      missing.push(`${id} (expected count ${want})`);
      continue;
    }
    const describe = () => `${id}: expected ${want}, got ${got.map((g) => `${g.count} at ${g.at}`).join(', ')}`;
    duplicates += got.length - 1;
    const best = Math.max(...got.map((g) => g.count));
    if (guarantee === 'exactly_once') {
      if (got.length > 1 || got[0]!.count !== want) wrong.push(describe());
    } else if (best < want) {
      wrong.push(describe());
    } else {
      if (best > want) overCounted.push(describe());
      if (got.some((g) => g.count < want)) partial.push(describe());
    }
  }
  const ok = missing.length === 0 && wrong.length === 0 && unexpected.length === 0;
  const first = (what: string, xs: string[]) => (xs.length === 0 ? [] : [`${xs.length} ${what}, the first: ${xs.slice(0, 5).join('; ')}`]);
  const lines = [
    `${guarantee}: ${expected.size} windows expected, ${output.length} output records (${closing} of closing keys), ${duplicates} duplicates` +
      (guarantee === 'at_least_once' ? `, ${overCounted.length} windows over-counted (records processed twice)` : ''),
    ...first('windows missing', missing),
    ...first(guarantee === 'exactly_once' ? 'windows wrong or output more than once' : 'windows never output with their full count (records lost)', wrong),
    ...first('windows the reference does not have', unexpected),
    ...(guarantee === 'at_least_once' ? [...first('windows over-counted', overCounted), ...first('windows also output with a partial count', partial)] : []),
  ];
  return { ok, expectedWindows: expected.size, outputRecords: output.length, missing, wrong, duplicates, overCounted, partial, unexpected, closing, summary: lines.join('\n') };
}

/** Parses one output record; throws with the record's place and bytes when it is not the fixture's JSON. */
export function parseResult(key: Buffer | null, value: Buffer | null, at: string): WindowResult {
  let v: { key?: unknown; start?: unknown; count?: unknown };
  try {
    v = JSON.parse(value?.toString() ?? 'null') as typeof v;
  } catch {
    throw new Error(`output record at ${at} is not JSON: ${value?.toString().slice(0, 200)}`);
  }
  if (v === null || typeof v.key !== 'string' || typeof v.start !== 'number' || typeof v.count !== 'number') {
    throw new Error(`output record at ${at} (key ${key?.toString()}) is not {key, start, end, count}: ${value?.toString().slice(0, 200)}`);
  }
  return { key: v.key, start: v.start, count: v.count, at };
}

/** Every committed output record, read with read_committed on the wire up to each partition's last stable offset. */
export async function readOutput(port: number, topic: string, partitions: number): Promise<{ results: WindowResult[]; stable: boolean; describe: string }> {
  const results: WindowResult[] = [];
  let stable = true;
  const parts: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const read = await readIsolated(port, topic, p, IsolationLevel.READ_COMMITTED);
    for (const r of read.records) results.push(parseResult(r.key, r.value, `${p}@${r.offset}`));
    if (read.lastStableOffset < read.highWatermark) stable = false;
    parts.push(`${p}: ${read.records.length} records, ${read.dropped.length} aborted, LSO ${read.lastStableOffset}, HW ${read.highWatermark}`);
  }
  return { results, stable, describe: parts.join('; ') };
}

export function kafkaClient(bootstrap: string, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000 },
  });
}

export async function createTopics(bootstrap: string, topics: Array<{ topic: string; numPartitions: number }>): Promise<void> {
  const admin = kafkaClient(bootstrap, 'stream-fire-admin').admin();
  await admin.connect();
  try {
    // Event times start at EPOCH_MS, long before now: time-based retention (Kafka's default 7 days)
    // would delete input and output from under the test.
    await admin.createTopics({ topics: topics.map((t) => ({ ...t, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Produces `input` (keys partitioned by kafkajs's default, Kafka's murmur2) in batches of
 * `batch`, each acknowledged (acks=all, idempotent) before the next; `pause` runs between
 * batches (to spread the input over the fire). Then, once `beforeClose` has settled, one
 * closing record per partition: until then the last windows cannot close.
 */
export async function produceInput(bootstrap: string, topic: string, partitions: number, input: InputRecord[], opts: { batch?: number; pause?: () => Promise<void>; onProgress?: (n: number) => void; beforeClose?: () => Promise<void> } = {}): Promise<void> {
  const producer: Producer = kafkaClient(bootstrap, 'stream-fire-input').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const size = opts.batch ?? 1000;
    for (let i = 0; i < input.length; i += size) {
      const chunk = input.slice(i, i + size);
      await producer.send({ topic, acks: -1, messages: chunk.map((r) => ({ key: r.key, value: String(r.ts), timestamp: String(r.ts) })) });
      opts.onProgress?.(i + chunk.length);
      if (opts.pause) await opts.pause();
    }
    await opts.beforeClose?.();
    const close = closingTime(input);
    const closers = Array.from({ length: partitions }, (_, p) => ({ partition: p, key: `${CLOSE_KEY_PREFIX}${p}`, value: String(close), timestamp: String(close) }));
    await producer.send({ topic, acks: -1, messages: closers });
  } finally {
    await producer.disconnect();
  }
}

/** The input topic's end offsets summed: every record acknowledged must be there, once. */
export async function inputCount(bootstrap: string, topic: string): Promise<number> {
  const admin = kafkaClient(bootstrap, 'stream-fire-admin').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export interface PipelineOptions {
  bootstrap: string;
  application: string;
  input: string;
  output: string;
  guarantee: Guarantee;
  stateDir: string;
  instanceId: string;
  /** 'cli': `rivulet run` of the fixture; 'direct': the fixture on startPipeline through stream-fire-runner.ts. */
  runner?: 'cli' | 'direct';
}

/**
 * By default the fixture runs with `rivulet run`; FIRE_RUNNER=direct runs it through
 * stream-fire-runner.ts, which loads it the same way and calls the runtime's startPipeline
 * (to tell a CLI bug from a runtime one).
 */
export const defaultRunner: 'cli' | 'direct' = process.env.FIRE_RUNNER === 'direct' ? 'direct' : 'cli';
const directRunner = join(repoRoot, 'dist', 'test', 'helpers', 'stream-fire-runner.js');

/** One `rivulet run` process of the fixture; kill and restart act on the pid this started. */
export class PipelineProcess {
  child: ChildProcess | null = null;
  starts = 0;
  /** When the last start was (Date.now()). */
  startedAt = 0;
  /** Exits nobody asked for: code or signal, and the last lines the process wrote. */
  readonly unexpectedExits: string[] = [];
  private tail = '';
  private stopping = false;
  /** Between a kill and the restart the fire does itself. */
  killing = false;

  constructor(readonly name: string, private readonly opts: PipelineOptions) {}

  start(): void {
    const o = this.opts;
    const args = (o.runner ?? defaultRunner) === 'direct'
      ? [directRunner, o.bootstrap, o.application, o.input, o.output, o.guarantee, o.stateDir, o.instanceId]
      : [cliPath, 'run', fixturePath, '--bootstrap-server', o.bootstrap, '--application-id', o.application,
        '--guarantee', o.guarantee, '--state-dir', o.stateDir, '--instance-id', o.instanceId, '--http-port', '0', '--log-level', 'warn'];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FIRE_APPLICATION: o.application, FIRE_INPUT: o.input, FIRE_OUTPUT: o.output },
    });
    this.child = child;
    this.starts++;
    this.startedAt = Date.now();
    this.stopping = false;
    const keep = (d: Buffer) => {
      this.tail = (this.tail + d.toString()).slice(-4000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (!this.stopping && signal !== 'SIGKILL') {
        const why = `${this.name} exited on its own (${signal ?? `code ${code}`}): ${this.tail.trim().split('\n').slice(-8).join('\n  ')}`;
        this.unexpectedExits.push(why);
        console.log(`[fire] ${why}`);
      }
    });
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** SIGKILL by pid, then waits for the exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (a graceful stop: commit, leave the group); SIGKILL after `graceMs`. Resolves with the exit code, or the signal's name. */
  async stop(graceMs = 30_000): Promise<number | string | null> {
    const child = this.child;
    if (!child) return 'not running';
    this.stopping = true;
    const exited = new Promise<number | string | null>((r) => child.once('exit', (code, signal) => r(code ?? signal)));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(t);
    return code;
  }

  output(): string {
    return this.tail;
  }
}
