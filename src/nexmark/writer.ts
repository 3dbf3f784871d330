// Writes generated Nexmark events to the three input topics (model.ts TOPICS) through one
// @platformatic/kafka producer: batches of up to `batchSize` records across the three topics,
// at most `maxInFlight` produce requests awaiting an answer. Keys are partitioned with Kafka's
// murmur2 partitioner, so any engine's consumer finds an id where Kafka would put it.
//
// Paced (`paced: true`): an event goes out when the wall clock since the start reaches its
// emission time since the first event's (the generator's event time is the schedule, so the
// rate is the generator's eventsPerSecond); between events the writer sleeps on a timer.
// Otherwise as fast as the in-flight window allows.

import { performance } from 'node:perf_hooks';
import type { MessageToProduce, Producer } from '@platformatic/kafka';
import { partitionForKey } from '../client/stream-producer.js';
import { TOPICS, type NexmarkEvent } from './model.js';
import { encodeEvent, type NexmarkGenerator } from './generator.js';

/** A request stays below the usual 1 MiB limits (max.request.size, message.max.bytes). */
const MAX_BATCH_BYTES = 900 * 1024;

export interface WriteOptions {
  producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  generator: NexmarkGenerator;
  /** Partitions of each input topic, as they exist in the cluster. */
  partitions: { person: number; auction: number; bid: number };
  /** Events to write (default: unbounded, then `durationMs` must be given). */
  events?: number;
  /** Stop after this long: of wall time, or when paced, of event time after the first event. */
  durationMs?: number;
  paced?: boolean;
  acks?: -1 | 0 | 1;
  batchSize?: number;
  maxInFlight?: number;
  stopped?: () => boolean;
  /** The wall clock pacing reads (default: performance.now and a timer); tests give their own. */
  clock?: { now(): number; sleep(ms: number): Promise<void> };
}

export interface WriteStats {
  /** Events handed to the producer. */
  sent: number;
  /** Events acknowledged, by type. */
  acked: { person: number; auction: number; bid: number };
  bytesAcked: number;
  /** Largest dateTime of any event sent. */
  maxEventTime: number;
  firstError: unknown;
}

export function newWriteStats(): WriteStats {
  return { sent: 0, acked: { person: 0, auction: 0, bid: 0 }, bytesAcked: 0, maxEventTime: -Infinity, firstError: undefined };
}

const REAL_CLOCK = { now: () => performance.now(), sleep: (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms)) };

type Kind = 'person' | 'auction' | 'bid';
const KIND_OF_TOPIC: Record<string, Kind> = { [TOPICS.person]: 'person', [TOPICS.auction]: 'auction', [TOPICS.bid]: 'bid' };

/** Writes events until `events` are sent, `durationMs` passed or `stopped()`; resolves when every send is answered. Throws the first send failure. */
export async function writeEvents(o: WriteOptions, st: WriteStats = newWriteStats()): Promise<WriteStats> {
  if (o.events === undefined && o.durationMs === undefined) throw new Error('writeEvents needs a number of events or a duration');
  const total = o.events ?? Infinity;
  const batchSize = o.batchSize ?? 1000;
  const maxInFlight = o.maxInFlight ?? 5;
  const acks = o.acks ?? -1;
  const gen = o.generator;
  const clock = o.clock ?? REAL_CLOCK;
  const t0 = gen.timestampOf(0);
  const w0 = clock.now();
  const eventDeadline = o.paced && o.durationMs !== undefined ? t0 + o.durationMs : Infinity;
  const wallDeadline = !o.paced && o.durationMs !== undefined ? w0 + o.durationMs : Infinity;
  const inFlight = new Set<Promise<void>>();
  let batch: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[] = [];
  let batchBytes = 0;
  let failed = false;

  const dispatch = (): void => {
    if (batch.length === 0) return;
    const messages = batch;
    const bytes = batchBytes;
    batch = [];
    batchBytes = 0;
    const p = o.producer
      .send({ messages, acks })
      .then(() => {
        for (const m of messages) st.acked[KIND_OF_TOPIC[m.topic]!]++;
        st.bytesAcked += bytes;
      })
      .catch((e: unknown) => {
        st.firstError ??= e;
        failed = true;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  let i = 0;
  while (!failed && i < total && !(o.stopped?.() ?? false)) {
    if (clock.now() >= wallDeadline) break;
    const { event, emitAt } = gen.nextTimed();
    if (emitAt >= eventDeadline) break;
    if (o.paced) {
      const wait = w0 + (emitAt - t0) - clock.now();
      // Due within a millisecond counts as due: no timer finer than the clock's.
      if (wait > 1) {
        dispatch();
        await clock.sleep(wait);
      }
    }
    const r = encodeEvent(event);
    const partitions = o.partitions[KIND_OF_TOPIC[r.topic]!];
    batch.push({ topic: r.topic, key: r.key, value: r.value, timestamp: BigInt(r.timestamp), partition: partitionForKey(r.key, partitions) });
    batchBytes += r.key.length + r.value.length;
    if (r.timestamp > st.maxEventTime) st.maxEventTime = r.timestamp;
    st.sent++;
    i++;
    if (batch.length >= batchSize || batchBytes >= MAX_BATCH_BYTES) {
      dispatch();
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    }
  }
  if (!failed) dispatch();
  while (inFlight.size > 0) await Promise.race(inFlight);
  if (st.firstError !== undefined) throw st.firstError;
  return st;
}

/**
 * Bids at `time`, one on each of the `partitions` partitions of nexmark-bid (auction ids from
 * 10^9, chosen by Kafka's partitioner), that move every partition's watermark to `time`: written
 * after a finite data set, they close every window that ends by then (their own windows stay
 * open, so they appear in no windowed result). Compare windowed queries with the reference
 * limited to `{ watermark: time }`.
 */
export function closingBids(time: number, partitions: number): NexmarkEvent[] {
  const out: NexmarkEvent[] = [];
  const seen = new Set<number>();
  for (let auction = 1_000_000_000; seen.size < partitions; auction++) {
    const p = partitionForKey(Buffer.from(String(auction)), partitions);
    if (seen.has(p)) continue;
    seen.add(p);
    out.push({ type: 'bid', bid: { auction, bidder: 1000, price: 1, channel: 'closing', url: '', dateTime: time, extra: '' } });
  }
  return out;
}
