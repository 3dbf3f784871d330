// The work behind `rivulet consume <topic>` (see consume.ts): prints records of a topic
// through @platformatic/kafka. Loaded only when the command runs.
//
// Without --group no consumer group is used: the library's Consumer.consume() always joins
// a group, so the partitions are read with src/client's partition reader instead (fetch
// from each partition's leader). With --group the library's group consumer (classic
// protocol) is used and offsets are committed.
//
// By default reading stops at the end offsets seen at start; --follow keeps waiting.

import {
  Consumer,
  FetchIsolationLevels,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type ClusterTopicMetadata,
  type Message,
} from '@platformatic/kafka';
import { checkTopicName, CliError, clientOptions, usageError, type ClientFlags } from './client-common.js';
import { EARLIEST, LATEST, offsetsAt, requireTopic } from '../client/admin.js';
import { closeQuietly } from '../client/connection.js';
import { ClientError, ClientErrorCode } from '../client/errors.js';
import { readPartitions, type PartitionPosition, type ReadRecord } from '../client/partition-reader.js';

export type Format = 'value' | 'kv' | 'json';

export interface ConsumeFlags extends ClientFlags {
  fromBeginning?: boolean;
  offset?: number;
  timestamp?: string;
  partition?: number;
  follow?: boolean;
  maxMessages?: number;
  format: Format;
  separator: string;
  group?: string;
}

/** One record as printed. */
export interface OutRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[Buffer | null, Buffer | null]>;
}


const str = (b: Buffer | null | undefined): string | null => (b === null || b === undefined ? null : b.toString('utf8'));

function safeNumber(v: bigint): number | string {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v.toString();
}

/** Renders one record as one output line (without the newline). */
export function formatRecord(r: OutRecord, format: Format, separator: string): string {
  if (format === 'value') return str(r.value) ?? 'null';
  if (format === 'kv') return `${str(r.key) ?? 'null'}${separator}${str(r.value) ?? 'null'}`;
  // Header keys may repeat in Kafka; a repeated key becomes an array of its values.
  const headers: Record<string, string | null | Array<string | null>> = {};
  for (const [k, v] of r.headers) {
    const key = str(k) ?? '';
    const val = str(v);
    if (!(key in headers)) headers[key] = val;
    else {
      const prev = headers[key];
      headers[key] = Array.isArray(prev) ? [...prev, val] : [prev as string | null, val];
    }
  }
  return JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: safeNumber(r.offset),
    timestamp: safeNumber(r.timestamp),
    key: str(r.key),
    value: str(r.value),
    headers,
  });
}

/** --timestamp: epoch milliseconds or an ISO 8601 date. */
export function parseTimestamp(v: string): bigint {
  const s = v.trim();
  if (/^\d+$/.test(s)) return BigInt(s);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(s) ? Date.parse(s) : NaN;
  if (Number.isNaN(ms)) throw usageError(`--timestamp must be milliseconds since the epoch or an ISO date such as 2024-05-01T12:00:00Z, not "${v}".`);
  if (ms < 0) throw usageError(`--timestamp must not be before 1970, got "${v}".`);
  return BigInt(ms);
}

/** Writes lines to stdout, waiting when the pipe is full. */
async function writeLines(lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  if (!process.stdout.write(`${lines.join('\n')}\n`)) {
    await new Promise<void>((res) => {
      const done = (): void => {
        process.stdout.off('drain', done);
        process.stdout.off('close', done);
        res();
      };
      process.stdout.on('drain', done);
      process.stdout.on('close', done);
    });
  }
}

/** Stop controls shared by both paths: SIGINT, a closed stdout, --max-messages. */
class Run {
  count = 0;
  stopped = false;
  private wake: (() => void) | null = null;
  readonly stoppedPromise: Promise<void>;
  constructor(readonly max: number | undefined) {
    this.stoppedPromise = new Promise((res) => (this.wake = res));
  }
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
  }
  /** Counts a record; true if it should be printed. */
  take(): boolean {
    if (this.stopped) return false;
    if (this.max !== undefined && this.count >= this.max) {
      this.stop();
      return false;
    }
    this.count++;
    if (this.max !== undefined && this.count >= this.max) this.stop();
    return true;
  }
}

/** Start offsets per partition for the chosen position, clamped into what the log holds. */
async function startOffsets(consumer: Consumer, topic: string, partitions: number[], o: ConsumeFlags, end: Map<number, bigint>): Promise<Map<number, bigint>> {
  if (o.fromBeginning) return offsetsAt(consumer, topic, partitions, EARLIEST);
  if (o.timestamp !== undefined) {
    const found = await offsetsAt(consumer, topic, partitions, parseTimestamp(o.timestamp));
    // -1: no record at or after that time, so start at the end.
    return new Map([...found].map(([p, off]) => [p, off < 0n ? end.get(p)! : off]));
  }
  if (o.offset !== undefined) {
    const earliest = await offsetsAt(consumer, topic, partitions, EARLIEST);
    const out = new Map<number, bigint>();
    for (const p of partitions) {
      const want = BigInt(o.offset);
      const lo = earliest.get(p)!;
      const hi = end.get(p)!;
      const at = want < lo ? lo : want > hi ? hi : want;
      if (at !== want) process.stderr.write(`rivulet: note: partition ${p} holds offsets ${lo} to ${hi - 1n}; starting at ${at} instead of ${want}\n`);
      out.set(p, at);
    }
    return out;
  }
  return new Map(end);
}

// ---- without a group: metadata + listOffsets + fetch ----

async function consumeDirect(topic: string, o: ConsumeFlags, run: Run): Promise<void> {
  const consumer = new Consumer({
    ...clientOptions(o),
    // The library requires a group id; this path never joins, commits or looks up a coordinator.
    groupId: `${o.clientId}-no-group`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  // Set when a long poll is left unanswered (Ctrl-C): closing would wait for it, and a
  // consumer without a group has nothing to clean up on the server.
  let abandoned = false;
  try {
    const meta = await requireTopic(consumer, topic);
    const partitions = selectPartitions(topic, meta, o.partition);
    const end = await offsetsAt(consumer, topic, partitions, LATEST);
    const start = await startOffsets(consumer, topic, partitions, o, end);
    // Without --follow, reading stops at the end offsets seen at start.
    const positions: PartitionPosition[] = partitions.map((p) => ({ partition: p, next: start.get(p)!, end: o.follow ? -1n : end.get(p)!, done: false }));
    const outcome = await readPartitions(consumer, {
      topic,
      metadata: meta,
      positions,
      maxWaitMs: o.follow ? 1000 : 500,
      done: () => run.stopped,
      // SIGINT should not wait for a long poll to end.
      stopped: run.stoppedPromise,
      onRecords: (s, records) => writeLines(formatRecords(topic, s, records, o, run)),
    }).catch((e: unknown) => {
      if (e instanceof ClientError && e.code === ClientErrorCode.offsetOutOfRange) {
        throw new CliError(`the requested offset is no longer (or not yet) in the log of "${topic}"; retention may have removed it. Try --from-beginning.`, { cause: e.cause });
      }
      throw e;
    });
    abandoned = outcome === 'stopped';
  } finally {
    if (abandoned) void closeQuietly(consumer);
    else await closeQuietly(consumer);
  }
}

function selectPartitions(topic: string, meta: ClusterTopicMetadata, partition: number | undefined): number[] {
  if (partition === undefined) return Array.from({ length: meta.partitionsCount }, (_, i) => i);
  if (partition >= meta.partitionsCount) {
    throw new CliError(`partition ${partition} does not exist: topic "${topic}" has ${meta.partitionsCount} partition(s), numbered 0 to ${meta.partitionsCount - 1}.`);
  }
  return [partition];
}

/** The lines of the records `run` still takes (--max-messages). */
function formatRecords(topic: string, s: PartitionPosition, records: ReadRecord[], o: ConsumeFlags, run: Run): string[] {
  const lines: string[] = [];
  for (const r of records) {
    if (!run.take()) break;
    lines.push(formatRecord({ topic, partition: s.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers }, o.format, o.separator));
  }
  return lines;
}

// ---- with a group: the library's group consumer ----

async function consumeWithGroup(topic: string, o: ConsumeFlags, run: Run): Promise<void> {
  const consumer = new Consumer({ ...clientOptions(o), groupId: o.group!, isolationLevel: FetchIsolationLevels.READ_COMMITTED });
  try {
    const meta = await requireTopic(consumer, topic);
    const partitions = selectPartitions(topic, meta, undefined);
    const end = await offsetsAt(consumer, topic, partitions, LATEST);
    const explicit = o.offset !== undefined || o.timestamp !== undefined;
    const start = explicit ? await startOffsets(consumer, topic, partitions, o, end) : undefined;
    const stream = await consumer.consume({
      topics: [topic],
      autocommit: true,
      maxWaitTime: 1000,
      // Like Kafka's consumers: committed offsets win; --from-beginning is the reset policy.
      mode: start ? MessagesStreamModes.MANUAL : MessagesStreamModes.COMMITTED,
      fallbackMode: o.fromBeginning ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
      ...(start ? { offsets: [...start].map(([partition, offset]) => ({ topic, partition, offset })) } : {}),
    });
    // Caught up once every assigned partition was fetched up to the end offsets seen at start
    // and nothing fetched is still waiting in the stream: the stream advances its fetch
    // positions when a response arrives, before its records are read from it.
    const caughtUp = (): boolean => {
      if (stream.readableLength > 0) return false;
      const assigned = (consumer.assignments ?? []).filter((a) => a.topic === topic).flatMap((a) => a.partitions);
      if (assigned.length === 0) return false;
      return assigned.every((p) => {
        const pos = stream.offsetsToFetch.get(`${topic}:${p}`);
        return pos !== undefined && pos >= (end.get(p) ?? 0n);
      });
    };
    const timer = o.follow ? undefined : setInterval(() => caughtUp() && run.stop(), 200);
    try {
      const iter = stream[Symbol.asyncIterator]();
      while (!run.stopped) {
        const next = await Promise.race([iter.next(), run.stoppedPromise.then(() => null)]);
        if (next === null || next.done) break;
        const m = next.value as Message;
        if (!o.follow && m.offset >= (end.get(m.partition) ?? 0n)) continue;
        if (!run.take()) break;
        const headers: Array<[Buffer | null, Buffer | null]> = [...m.headers];
        await writeLines([formatRecord({ topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp, key: m.key ?? null, value: m.value ?? null, headers }, o.format, o.separator)]);
        if (!o.follow && caughtUp()) run.stop();
      }
    } finally {
      if (timer) clearInterval(timer);
      await stream.close().catch(() => undefined);
    }
  } finally {
    await closeQuietly(consumer);
  }
}

export async function consume(topic: string, o: ConsumeFlags): Promise<number> {
  checkTopicName(topic);
  const starts = [o.fromBeginning ? '--from-beginning' : null, o.offset !== undefined ? '--offset' : null, o.timestamp !== undefined ? '--timestamp' : null].filter((x) => x !== null);
  if (starts.length > 1) throw usageError(`choose one start position, not ${starts.join(' and ')}.`);
  if (o.timestamp !== undefined) parseTimestamp(o.timestamp);
  if (o.group !== undefined && o.partition !== undefined) throw usageError('--partition cannot be used with --group: the group assigns partitions.');
  if (o.group === '') throw usageError('--group must not be empty.');

  const run = new Run(o.maxMessages);
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    run.stop();
  };
  const onStdoutError = (e: NodeJS.ErrnoException): void => {
    // A closed pipe (| head) ends the run quietly.
    if (e.code === 'EPIPE') run.stop();
  };
  process.on('SIGINT', onSigint);
  process.stdout.on('error', onStdoutError);
  try {
    if (o.maxMessages === 0) return 0;
    if (o.group !== undefined) await consumeWithGroup(topic, o, run);
    else await consumeDirect(topic, o, run);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  process.stderr.write(`consumed ${run.count} record(s)${interrupted ? ' (interrupted)' : ''}\n`);
  if (run.count === 0 && !o.follow && !o.fromBeginning && o.offset === undefined && o.timestamp === undefined && o.group === undefined) {
    process.stderr.write('rivulet: note: reading started at the end of the topic; use --from-beginning for existing records or --follow to wait for new ones\n');
  }
  return 0;
}
