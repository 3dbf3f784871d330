// `rivulet bench produce`: send records as fast as possible (or at --rate) and report
// throughput and send-to-ack latency percentiles. Loaded only when the command runs.

import { randomBytes } from 'node:crypto';
import { CliError, explainError } from '../client-common.js';
import { closeQuietly } from '../../client/connection.js';
import { onInterrupt } from './interrupt.js';
import { newProduceStats, prepareProducer, runProducer } from './producer.js';
import { fmtNum, printResult, Progress } from './report.js';
import { MB, result, summarize } from './summary.js';
import type { BenchProduceFlags } from './types.js';

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
