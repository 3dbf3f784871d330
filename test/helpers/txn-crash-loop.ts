// The consume-transform-produce loop of the transaction crash test (txn-crash.test.ts), as a
// process of its own (kafkajs):
//   node dist/test/helpers/txn-crash-loop.js BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID MODE OUT_PARTITIONS TXN_TIMEOUT_MS
// It consumes INPUT with read_committed in GROUP and, per batch, writes one record to OUTPUT
// per input record, "<input partition>:<input offset>|<tag>|<records in the transaction>",
// spread over OUT_PARTITIONS by input offset (tag: unique to the attempt).
//  - MODE txn: the output and the consumed offsets (sendOffsets) in one transaction
//    (transaction.timeout.ms TXN_TIMEOUT_MS), committed before the next batch;
//  - MODE plain: the same without transactions (an idempotent producer, then a normal offset
//    commit): what the crash test must catch losing or duplicating records.
// Any error in a batch ends the process (after an abort, when it can): the next process
// fences this one (InitProducerId) and resumes from the group's committed offsets, which is
// the only position an exactly-once loop may trust after a failure. The test restarts it.
// Prints JSON lines on stdout: {"ev":"ready"}, {"ev":"sent","n":12,"tag":"..."} once a batch's
// output is written (its transaction still open), {"ev":"committed","n":12,"tag":"..."},
// {"ev":"error","msg":"..."}, {"ev":"closed"}. Closes gracefully when stdin ends.

import { writeSync } from 'node:fs';
import { Kafka, logLevel, type Producer } from 'kafkajs';

const [bootstrap, input, output, group, transactionalId, mode, outPartitionsArg, timeoutArg] = process.argv.slice(2);
if (!bootstrap || !input || !output || !group || !transactionalId || (mode !== 'txn' && mode !== 'plain') || !outPartitionsArg || !timeoutArg) {
  process.stderr.write('usage: txn-crash-loop BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID txn|plain OUT_PARTITIONS TXN_TIMEOUT_MS\n');
  process.exit(2);
}
const outPartitions = Number(outPartitionsArg);
const transactionTimeout = Number(timeoutArg);

const print = (o: object) => writeSync(1, JSON.stringify(o) + '\n');

const kafka = new Kafka({
  clientId: `txn-crash-loop-${process.pid}`,
  brokers: [bootstrap],
  connectionTimeout: 1000,
  requestTimeout: 10_000,
  logLevel: logLevel.ERROR,
  logCreator: () => ({ namespace, level, log }) => {
    const { message, ...extra } = log;
    process.stderr.write(`[kafkajs ${level} ${namespace}] ${message} ${JSON.stringify(extra)}\n`);
  },
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
});

const producer: Producer = mode === 'txn'
  ? kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout })
  : kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const consumer = kafka.consumer({
  groupId: group,
  readUncommitted: false,
  sessionTimeout: 6000,
  rebalanceTimeout: 10_000,
  heartbeatInterval: 500,
  maxWaitTimeInMs: 100,
  maxBytesPerPartition: 256, // one or two of the input's 8-record batches per transaction
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
});

let closing = false;
async function close(code: number, why?: string): Promise<void> {
  if (closing) return;
  closing = true;
  if (why) print({ ev: 'error', msg: why });
  setTimeout(() => process.exit(code || 3), 5000).unref();
  await consumer.disconnect().catch(() => undefined);
  await producer.disconnect().catch(() => undefined);
  if (code === 0) print({ ev: 'closed' });
  process.exit(code);
}
process.stdin.on('end', () => void close(0));
process.stdin.on('error', () => void close(0));
process.stdin.resume();
process.on('SIGTERM', () => void close(0));

consumer.on(consumer.events.CRASH, (e) => {
  if (!e.payload.restart) void close(1, `consumer crashed: ${e.payload.error?.message}`);
});

let seq = 0;
try {
  await producer.connect(); // InitProducerId: fences an older process and ends its open transaction
  await consumer.connect();
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  print({ ev: 'ready' });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (closing || !isRunning() || isStale() || batch.messages.length === 0) return;
      const tag = `${process.pid}.${seq++}`;
      const n = batch.messages.length;
      const records = batch.messages.map((m) => ({
        partition: Number(m.offset) % outPartitions,
        value: `${batch.partition}:${m.offset}|${tag}|${n}`,
      }));
      const next = String(Number(batch.lastOffset()) + 1);
      const offsets = { topics: [{ topic: input, partitions: [{ partition: batch.partition, offset: next }] }] };
      try {
        if (mode === 'txn') {
          const tx = await producer.transaction();
          try {
            await tx.send({ topic: output, acks: -1, messages: records });
            print({ ev: 'sent', n, tag });
            await tx.sendOffsets({ consumerGroupId: group, ...offsets });
            await tx.commit();
          } catch (e) {
            await Promise.race([tx.abort().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
            throw e;
          }
        } else {
          await producer.send({ topic: output, acks: -1, messages: records });
          print({ ev: 'sent', n, tag });
          await consumer.commitOffsets(offsets.topics[0]!.partitions.map((p) => ({ topic: input, ...p })));
        }
      } catch (e) {
        // Not awaited: closing the consumer waits for this batch handler to return.
        void close(1, `batch ${batch.partition}@${batch.firstOffset()}: ${(e as Error).message}`);
        return;
      }
      print({ ev: 'committed', n, tag });
      resolveOffset(batch.lastOffset());
      await heartbeat().catch(() => undefined);
    },
  });
} catch (e) {
  await close(1, `start: ${(e as Error).message}`);
}
