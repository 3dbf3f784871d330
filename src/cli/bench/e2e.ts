// `rivulet bench e2e`: produce at a fixed rate and consume in the same process; report
// end-to-end latency percentiles. Each value starts with an 8-byte run id and the intended
// send time (float64 ms since the epoch), so records of other runs are ignored and the
// latency counts from when the record was due. Loaded only when the command runs.

import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { FetchIsolationLevels } from '@platformatic/kafka';
import { CliError, explainError, usageError } from '../client-common.js';
import { LATEST, offsetsAt } from '../../client/admin.js';
import { closeQuietly } from '../../client/connection.js';
import type { PartitionPosition, ReadOutcome } from '../../client/partition-reader.js';
import { prepareConsumer, readBench, type PreparedConsumer } from './consumer.js';
import { onInterrupt } from './interrupt.js';
import { newProduceStats, prepareProducer, runProducer } from './producer.js';
import { fmtInt, fmtNum, printResult, Progress } from './report.js';
import { newHistogram, recordMs, result, summarize } from './summary.js';
import type { BenchE2eFlags } from './types.js';

const E2E_HEADER = 16;

export async function benchE2e(o: BenchE2eFlags): Promise<number> {
  if (o.size < E2E_HEADER) throw usageError(`--size must be at least ${E2E_HEADER} for e2e: each value carries an 8-byte run id and the 8-byte send time.`);
  const rate = o.rate ?? 1000;
  const total = o.messages ?? (o.duration === undefined ? 10_000 : undefined);
  const prep = await prepareProducer(o, rate);
  let cons: PreparedConsumer;
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
  let outcome: ReadOutcome = 'done';
  let consumerError: unknown;
  try {
    // Read from the end offsets before the first send, so every record of this run is seen.
    const start = await offsetsAt(consumer, o.topic, partitions, LATEST, FetchIsolationLevels.READ_UNCOMMITTED);
    const positions: PartitionPosition[] = partitions.map((p) => ({ partition: p, next: start.get(p)!, end: -1n, done: false }));
    progress.start();
    const reading = readBench(cons, o.topic, positions, {
      // After sending: done once every acknowledged record arrived (acks=0: every sent one).
      done: () => consumerError !== undefined || (!producing && received >= (prep.acks === 0 ? st.sent : st.acked)) || (stop.stopped() && !producing),
      idle: { ms: o.idleTimeout, armed: () => !producing },
      onRecords: (_position, records) => {
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
