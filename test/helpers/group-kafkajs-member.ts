// A kafkajs consumer-group member as a process, for the group acceptance tests (see
// group-harness.ts for the stdout contract).
//   node dist/test/helpers/group-kafkajs-member.js BOOTSTRAP TOPIC GROUP NAME [SESSION_TIMEOUT_MS]
// Auto commit every 300 ms; offsets are resolved only after the record was printed. Closes
// the consumer (LeaveGroup) when stdin ends.

import { writeSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, topic, group, name, sessionTimeoutArg] = process.argv.slice(2);
if (!bootstrap || !topic || !group || !name) {
  process.stderr.write('usage: group-kafkajs-member BOOTSTRAP TOPIC GROUP NAME [SESSION_TIMEOUT_MS]\n');
  process.exit(2);
}
const sessionTimeout = Number(sessionTimeoutArg ?? 6000);

// Written with writeSync, retried on EAGAIN: a record must be in the pipe before its offset
// is resolved (and then committed), or a SIGKILL could lose a record that was committed.
const pause = new Int32Array(new SharedArrayBuffer(4));
function writeOut(text: string): void {
  let buf = Buffer.from(text, 'utf8');
  while (buf.length > 0) {
    try {
      const n = writeSync(1, buf);
      buf = buf.subarray(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}
const print = (o: object) => writeOut(JSON.stringify(o) + '\n');

const kafka = new Kafka({
  clientId: `kafkajs-${name}`,
  brokers: [bootstrap],
  logLevel: logLevel.ERROR,
  logCreator: () => ({ namespace, level, log }) => {
    const { message, ...extra } = log;
    process.stderr.write(`[kafkajs ${level} ${namespace}] ${message} ${JSON.stringify(extra)}\n`);
  },
  retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 2000 },
});

const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout,
  heartbeatInterval: 1000,
  rebalanceTimeout: Math.max(10_000, sessionTimeout),
  maxWaitTimeInMs: 200,
  retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 2000 },
});

consumer.on(consumer.events.GROUP_JOIN, (e) => {
  const parts = ((e.payload.memberAssignment as Record<string, number[]>)[topic] ?? []).slice().sort((a, b) => a - b);
  print({ ev: 'assigned', partitions: parts, member: e.payload.memberId, leader: e.payload.isLeader, protocol: e.payload.groupProtocol });
});
consumer.on(consumer.events.REBALANCING, () => print({ ev: 'rebalancing' }));
consumer.on(consumer.events.CRASH, (e) => print({ ev: 'error', msg: `crash: ${e.payload.error?.message} (restart=${e.payload.restart})` }));

let closing = false;
async function close(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  const t = setTimeout(() => process.exit(code || 3), 15_000);
  try {
    await consumer.disconnect();
    print({ ev: 'closed' });
  } catch (e) {
    print({ ev: 'error', msg: `disconnect: ${(e as Error).message}` });
  }
  clearTimeout(t);
  process.exit(code);
}

process.stdin.on('end', () => void close(0));
process.stdin.on('error', () => void close(0));
process.stdin.resume();
process.on('SIGTERM', () => void close(0));

try {
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: 300,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale()) return;
      const lines = batch.messages.map((m) => JSON.stringify({ ev: 'rec', p: batch.partition, o: Number(m.offset), v: m.value?.toString('utf8') ?? null }));
      if (lines.length === 0) return;
      writeOut(lines.join('\n') + '\n');
      resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
      await heartbeat();
    },
  });
} catch (e) {
  print({ ev: 'error', msg: `run: ${(e as Error).message}` });
  await close(1);
}
