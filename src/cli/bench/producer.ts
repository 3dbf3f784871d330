// The producer driver of `rivulet bench produce` and `e2e`: batches of up to --batch-size
// records (sticky partition per batch without keys, murmur2 by key with --key-cardinality),
// at most --max-in-flight requests awaiting an answer. At a fixed --rate, record i is due
// at t0 + i/rate (absolute schedule, no drift) and its latency is measured from that
// intended time, so time spent blocked behind a slow broker counts (coordinated omission).

import { performance } from 'node:perf_hooks';
import { Producer, type ClusterTopicMetadata, type CompressionAlgorithmValue, type MessageToProduce } from '@platformatic/kafka';
import { checkTopicName, CliError, clientOptions, connection, type ClientFlags } from '../client-common.js';
import { parseAcks, parseCompression, partitionForKey } from '../client-produce.js';
import { findTopic, withAdmin, type MetadataClient } from '../../client/admin.js';
import { closeQuietly } from '../../client/connection.js';
import { findProtocolError } from '../../client/errors.js';
import { newHistogram, recordMs, type Histogram } from './summary.js';
import type { BenchResult, ProducerFlags } from './types.js';

/** A request stays below the usual 1 MiB limits (max.request.size, message.max.bytes). */
const MAX_BATCH_BYTES = 900 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((res) => (ms >= 1 ? setTimeout(res, ms) : setImmediate(res)));

/** The topic's metadata, creating it with `partitions` when missing and asked to. */
export async function ensureTopic(client: MetadataClient, o: ClientFlags & { topic: string }, partitions: number | undefined): Promise<ClusterTopicMetadata> {
  let t = await findTopic(client, o.topic);
  if (!t) {
    if (partitions === undefined) {
      throw new CliError(`topic "${o.topic}" does not exist; add --partitions N to create it, or create it with: rivulet topic create ${o.topic}`);
    }
    try {
      await withAdmin(connection(o), (admin) => admin.createTopics({ topics: [o.topic], partitions, replicas: -1 }));
      process.stderr.write(`created topic "${o.topic}" with ${partitions} partition(s)\n`);
    } catch (e) {
      if (!findProtocolError(e, 'TOPIC_ALREADY_EXISTS')) throw e;
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

export interface ProduceStats {
  sent: number;
  acked: number;
  failed: number;
  bytesAcked: number;
  firstError: unknown;
  firstSendAt: number;
  lastAckAt: number;
  hist: Histogram;
}

export interface ProducePlan {
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

export async function runProducer(producer: Producer, plan: ProducePlan, st: ProduceStats): Promise<void> {
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

export interface PreparedProducer {
  producer: Producer;
  meta: ClusterTopicMetadata;
  acks: -1 | 0 | 1;
  compression: CompressionAlgorithmValue;
  keys: Buffer[] | undefined;
  config: BenchResult['config'];
}

export async function prepareProducer(o: ProducerFlags, rate: number | undefined): Promise<PreparedProducer> {
  checkTopicName(o.topic);
  const acks = parseAcks(o.acks);
  const compression = parseCompression(o.compression);
  const producer = new Producer({ ...clientOptions(o), acks, compression, idempotent: false, autocreateTopics: false });
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

export function newProduceStats(): ProduceStats {
  return { sent: 0, acked: 0, failed: 0, bytesAcked: 0, firstError: undefined, firstSendAt: 0, lastAckAt: 0, hist: newHistogram() };
}

