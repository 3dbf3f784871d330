// `rivulet bench nexmark generate`: writes Nexmark events (src/nexmark/generator.ts) to the
// three input topics, creating them when missing. Loaded only when the command runs.

import { Producer } from '@platformatic/kafka';
import { CliError, clientOptions, explainError } from '../client-common.js';
import { parseAcks } from '../client-produce.js';
import { closeQuietly } from '../../client/connection.js';
import { NexmarkGenerator } from '../../nexmark/generator.js';
import { TOPICS } from '../../nexmark/model.js';
import { newWriteStats, writeEvents } from '../../nexmark/writer.js';
import { onInterrupt } from './interrupt.js';
import { ensureTopic } from './producer.js';
import { fmtNum, Progress } from './report.js';
import { MB } from './summary.js';
import type { NexmarkGenerateFlags } from './types.js';

export async function benchNexmarkGenerate(o: NexmarkGenerateFlags): Promise<number> {
  const events = o.events ?? (o.duration === undefined ? 100_000 : undefined);
  const acks = parseAcks(o.acks);
  if ((o.delayedFraction ?? 0) > 0 && (o.outOfOrderMs ?? 0) === 0) throw new CliError('--delayed-fraction needs --out-of-order-ms N: how late (ms of event time) a delayed event may come out.');
  const firstEventTime = o.firstEventTime ?? Date.now();
  const generator = new NexmarkGenerator({
    seed: o.seed,
    eventsPerSecond: o.rate,
    firstEventTime,
    outOfOrderMs: o.outOfOrderMs ?? 0,
    delayedFraction: o.outOfOrderMs ? (o.delayedFraction ?? 0.1) : 0,
  });
  // Not idempotent, as `bench produce`: @platformatic/kafka's idempotent producer numbers
  // concurrent sends wrongly (OUT_OF_ORDER_SEQUENCE_NUMBER with --max-in-flight > 1).
  const producer = new Producer({ ...clientOptions(o), acks, idempotent: false, autocreateTopics: false });
  const st = newWriteStats();
  const stop = onInterrupt();
  try {
    const partitions = { person: 0, auction: 0, bid: 0 };
    for (const kind of ['person', 'auction', 'bid'] as const) {
      partitions[kind] = (await ensureTopic(producer, { ...o, topic: TOPICS[kind] }, o.partitions)).partitionsCount;
    }
    const acked = () => st.acked.person + st.acked.auction + st.acked.bid;
    const progress = new Progress('nexmark', o.progress, () => ({
      count: acked(),
      bytes: st.bytesAcked,
      of: events,
      untilMs: o.duration,
      extra: `${fmtNum(st.bytesAcked / MB, 1)} MB`,
    }));
    const started = performance.now();
    progress.start();
    try {
      await writeEvents({ producer, generator, partitions, events, durationMs: o.duration, paced: !o.maxSpeed, acks, batchSize: o.batchSize, maxInFlight: o.maxInFlight, stopped: stop.stopped }, st);
    } catch (e) {
      throw new CliError(`${st.sent - acked()} of ${st.sent} event(s) sent were not acknowledged: ${explainError(e, o.bootstrapServer)}`);
    } finally {
      progress.stop();
    }
    const secs = (performance.now() - started) / 1000;
    const total = acked();
    const summary = {
      events: total,
      person: st.acked.person,
      auction: st.acked.auction,
      bid: st.acked.bid,
      bytes: st.bytesAcked,
      seed: o.seed,
      rate: o.rate,
      firstEventTime,
      lastEventTime: Number.isFinite(st.maxEventTime) ? st.maxEventTime : null,
      partitions,
      durationMs: Math.round(secs * 1000),
      eventsPerSec: secs > 0 ? Math.round(total / secs) : null,
    };
    if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        `wrote ${total} events (${st.acked.person} people, ${st.acked.auction} auctions, ${st.acked.bid} bids), ${fmtNum(st.bytesAcked / MB, 1)} MB in ${fmtNum(secs, 2)} s` +
          ` (${summary.eventsPerSec ?? '-'} events/s); event time ${new Date(firstEventTime).toISOString()} .. ${summary.lastEventTime === null ? '-' : new Date(summary.lastEventTime).toISOString()}\n`,
      );
    }
  } finally {
    stop.dispose();
    await closeQuietly(producer);
  }
  return 0;
}
