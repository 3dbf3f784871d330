// `rivulet bench consume`: read records without a consumer group and report throughput.
// Loaded only when the command runs.

import { performance } from 'node:perf_hooks';
import { FetchIsolationLevels } from '@platformatic/kafka';
import { checkTopicName, CliError, usageError } from '../client-common.js';
import { EARLIEST, LATEST, offsetsAt } from '../../client/admin.js';
import { closeQuietly } from '../../client/connection.js';
import type { PartitionPosition, ReadOutcome } from '../../client/partition-reader.js';
import { prepareConsumer, readBench } from './consumer.js';
import { onInterrupt } from './interrupt.js';
import { fmtNum, printResult, Progress } from './report.js';
import { MB, result } from './summary.js';
import type { BenchConsumeFlags } from './types.js';

export async function benchConsume(o: BenchConsumeFlags): Promise<number> {
  checkTopicName(o.topic);
  if (!o.fromBeginning && o.messages === undefined) {
    throw usageError('nothing to wait for: reading starts at the end of the topic, so give --messages N (records to wait for) or --from-beginning.');
  }
  const prepared = await prepareConsumer(o);
  const { consumer, partitions } = prepared;
  const stop = onInterrupt();
  let count = 0;
  let bytes = 0;
  let firstAt = 0;
  let lastAt = 0;
  let target = o.messages;
  const progress = new Progress('consume', o.progress, () => ({ count, bytes, of: target, extra: `${fmtNum(bytes / MB, 1)} MB` }));
  let outcome: ReadOutcome;
  try {
    const latest = await offsetsAt(consumer, o.topic, partitions, LATEST, FetchIsolationLevels.READ_UNCOMMITTED);
    const start = o.fromBeginning ? await offsetsAt(consumer, o.topic, partitions, EARLIEST, FetchIsolationLevels.READ_UNCOMMITTED) : latest;
    // --from-beginning without --messages: everything up to the end offsets seen now.
    const bounded = o.fromBeginning === true && o.messages === undefined;
    if (bounded) target = partitions.reduce((n, p) => n + Number(latest.get(p)! - start.get(p)!), 0);
    const positions: PartitionPosition[] = partitions.map((p) => ({ partition: p, next: start.get(p)!, end: bounded ? latest.get(p)! : -1n, done: false }));
    progress.start();
    const t0 = performance.now();
    outcome = await readBench(prepared, o.topic, positions, {
      done: () => stop.stopped() || (target !== undefined && count >= target),
      idle: { ms: o.idleTimeout, armed: () => true },
      onRecords: (_position, records, now) => {
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
