// The work behind `rivulet produce <topic>` (see produce.ts): one record per line of stdin,
// sent in batches with a few requests in flight, through @platformatic/kafka's Producer
// (any Kafka-protocol cluster). Loaded only when the command runs.

import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { compressionsAlgorithms, murmur2, Producer, type CompressionAlgorithmValue, type MessageToProduce } from '@platformatic/kafka';
import { checkTopicName, CliError, clientOptions, explainError, usageError, type ClientFlags } from './client-common.js';
import { closeQuietly } from '../client/connection.js';
import { isUnknownTopic } from '../client/errors.js';

export interface ProduceFlags extends ClientFlags {
  keySeparator?: string;
  header: Array<[string, string]>;
  partition?: number;
  acks: string;
  compression: string;
  batchSize: number;
  linger: number;
}

import { COMPRESSIONS } from './produce.js';

/** Requests in flight at once: enough to overlap network and fsync, few enough to bound memory. */
const MAX_IN_FLIGHT = 4;
/** A request stays below the usual 1 MiB limits (max.request.size, message.max.bytes). */
const MAX_BATCH_BYTES = 900 * 1024;

/** Java-compatible key partitioning (murmur2, positive), so keys land where Kafka's own clients put them. */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key, false) & 0x7fffffff) % partitions;
}

export function parseAcks(v: string): -1 | 0 | 1 {
  if (v === 'all' || v === '-1') return -1;
  if (v === '0') return 0;
  if (v === '1') return 1;
  throw usageError(`--acks must be -1 (all), 0 or 1, not "${v}".`);
}

export function parseCompression(v: string): CompressionAlgorithmValue {
  if (!(COMPRESSIONS as readonly string[]).includes(v)) throw usageError(`--compression must be one of ${COMPRESSIONS.join(', ')}, not "${v}".`);
  const algo = compressionsAlgorithms[v as CompressionAlgorithmValue] as { available?: boolean };
  if (algo.available === false) {
    throw new CliError(`--compression ${v} is not available in this Node.js (${process.version}); zstd needs Node.js 22.15 or later. Use gzip, snappy or lz4.`);
  }
  return v as CompressionAlgorithmValue;
}

export async function produce(topic: string, o: ProduceFlags): Promise<number> {
  checkTopicName(topic);
  const acks = parseAcks(o.acks);
  const compression = parseCompression(o.compression);
  if (o.keySeparator === '') throw usageError('--key-separator must not be empty.');
  const headers = o.header.length > 0 ? new Map(o.header.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer])) : undefined;

  const producer = new Producer({ ...clientOptions(o), acks, compression, idempotent: false });
  try {
    // Metadata first: the partition count for keys, and a clear error for a wrong partition.
    // Auto-creation is requested as Kafka's own console producer does; the broker decides.
    let md;
    try {
      md = await producer.metadata({ topics: [topic], autocreateTopics: true });
    } catch (e) {
      if (!isUnknownTopic(e)) throw e;
      throw new CliError(`topic "${topic}" does not exist and the cluster does not create topics on first use; create it with: rivulet topic create ${topic}`);
    }
    const partitions = md.topics.get(topic)?.partitionsCount ?? 0;
    if (partitions === 0) throw new CliError(`topic "${topic}" has no partitions.`);
    if (o.partition !== undefined && o.partition >= partitions) {
      throw new CliError(`partition ${o.partition} does not exist: topic "${topic}" has ${partitions} partition(s), numbered 0 to ${partitions - 1}.`);
    }

    const started = performance.now();
    let read = 0;
    let delivered = 0;
        let firstError: unknown;
    let inputError: CliError | undefined;
    let sticky = Math.floor(Math.random() * partitions);
    let batch: MessageToProduce[] = [];
    let batchBytes = 0;
    const inFlight = new Set<Promise<void>>();
    let stop = false;
    const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });

    const dispatch = (): void => {
      if (batch.length === 0) return;
      const messages = batch;
      batch = [];
      batchBytes = 0;
      // Records without a key go to one partition per request (sticky), which keeps batches large.
      sticky = (sticky + 1) % partitions;
      const p = producer
        // acks goes with each send: the client ignores the producer-level option for it.
        .send({ messages, acks })
        .then(() => void (delivered += messages.length))
        .catch((e: unknown) => {
          firstError ??= e;
          stop = true;
          rl.close();
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };

    let linger: NodeJS.Timeout | undefined;
    const onSigint = (): void => {
      // Stop reading; what was read is still delivered and reported.
      stop = true;
      rl.close();
    };
    process.once('SIGINT', onSigint);

    try {
      for await (const line of rl) {
        if (stop) break;
        read++;
        let key: Buffer | undefined;
        let value: string = line;
        if (o.keySeparator !== undefined) {
          const i = line.indexOf(o.keySeparator);
          if (i < 0) {
            inputError = new CliError(`line ${read} has no key separator ${JSON.stringify(o.keySeparator)}; with -k every line must be key${o.keySeparator}value.`);
            read--;
            break;
          }
          key = Buffer.from(line.slice(0, i));
          value = line.slice(i + o.keySeparator.length);
        }
        const valueBuf = Buffer.from(value);
        const partition = o.partition ?? (key ? partitionForKey(key, partitions) : sticky);
        const msg: MessageToProduce = { topic, value: valueBuf, partition };
        if (key) msg.key = key;
        if (headers) msg.headers = headers;
        batch.push(msg);
        batchBytes += valueBuf.length + (key?.length ?? 0) + 32;
        if (batch.length >= o.batchSize || batchBytes >= MAX_BATCH_BYTES) {
          if (linger) clearTimeout(linger);
          linger = undefined;
          dispatch();
          while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
        } else if (!linger) {
          // Interactive input: send what was typed soon, without waiting for a full batch.
          linger = setTimeout(() => {
            linger = undefined;
            dispatch();
          }, o.linger);
        }
      }
    } finally {
      if (linger) clearTimeout(linger);
      process.removeListener('SIGINT', onSigint);
      rl.close();
    }
    if (!stop || firstError === undefined) dispatch();
    while (inFlight.size > 0) await Promise.race(inFlight);

    const secs = (performance.now() - started) / 1000;
    const rate = secs > 0 ? Math.round(delivered / secs) : delivered;
    const verb = acks === 0 ? 'sent (acks=0, not confirmed)' : 'produced';
    process.stderr.write(`${verb} ${delivered} record(s) to "${topic}" in ${secs.toFixed(3)} s (${rate} records/s)\n`);
    if (firstError !== undefined) {
      throw new CliError(`delivery failed: ${read - delivered} of ${read} record(s) read were not acknowledged: ${explainError(firstError, o.bootstrapServer)}`);
    }
    if (inputError) throw inputError;
    return 0;
  } finally {
    await closeQuietly(producer);
  }
}
