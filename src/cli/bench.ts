// `rivulet bench produce|consume|e2e|nexmark generate`: the command definitions. The work is in bench/
// (produce.ts, consume.ts, e2e.ts over the producer and consumer drivers), imported when a
// command runs so other commands (start) stay fast.
//
// Works against any Kafka-protocol cluster (through @platformatic/kafka). Progress goes
// to stderr; the summary to stdout, as a table or (--json) one JSON object whose shape
// is documented in JSON_HELP below and kept stable (its "schema" field names the version).

import { InvalidArgumentError, Option, type Command } from 'commander';
import { addClientOptions, intParser, runClientAction, usageExitCodes } from './client-common.js';
import { COMPRESSIONS } from './produce.js';
import type { BenchConsumeFlags, BenchE2eFlags, BenchProduceFlags, NexmarkGenerateFlags } from './bench/types.js';

/** "30s", "500ms", "2m", "1h", or a plain number of seconds; returns milliseconds. */
export function parseDuration(name: string): (v: string) => number {
  return (v: string) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
    const ms = m ? Number(m[1]) * unit[(m[2] ?? 's') as keyof typeof unit] : NaN;
    if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError(`${name} must be a positive duration such as 30s, 500ms or 2m, not "${v}".`);
    return ms;
  };
}

/** A number in [0, 1]. */
function fractionParser(name: string): (v: string) => number {
  return (v: string) => {
    const f = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(f) || f < 0 || f > 1) throw new InvalidArgumentError(`${name} must be a fraction between 0 and 1 such as 0.1, not "${v}".`);
    return f;
  };
}

const NEXMARK_HELP = `
Events follow the Nexmark model (src/nexmark/model.ts): per 50 events 1 person, 3 auctions and
46 bids, written to nexmark-person, nexmark-auction and nexmark-bid; key: the decimal id (a bid's
auction), value: the event as JSON, record timestamp: the event's dateTime. Event n's dateTime is
--first-event-time + n * 1000 / --rate ms, and the same --seed, --rate and --first-event-time
give the same events. By default events are sent when the wall clock reaches their event time
(so --rate is also the send rate); --max-speed sends as fast as the cluster takes them.

Examples:
  rivulet bench nexmark generate --events 1000000 --rate 50000 --partitions 4
  rivulet bench nexmark generate --duration 60s --rate 10000 --out-of-order-ms 2000 --delayed-fraction 0.05
  rivulet bench nexmark generate -n 100000 --max-speed --seed 7 --first-event-time 1700000000000
Exit codes: 0 done, 1 failure (unreachable cluster, events not acknowledged), 2 usage.`;

export const JSON_HELP = `
--json prints one JSON object on stdout (schema "rivulet.bench/1"; fields are only ever added):
  schema          "rivulet.bench/1"
  mode            "produce" | "consume" | "e2e"
  topic           topic name
  config          the settings used. produce, e2e: acks, compression, size, rate (null:
                  unlimited), partitions, batchSize, lingerMs, maxInFlight, keyCardinality
                  (null: no keys), durationMs (null: none); e2e adds idleTimeoutMs.
                  consume: fromBeginning, idleTimeoutMs
  requested       messages asked for (--messages), or null when bounded by --duration / the log end
  messages        produce: records acknowledged; consume: records read; e2e: records received
  produced        records acknowledged by the producer (produce, e2e), null for consume
  failed          records not acknowledged (produce, e2e), 0 for consume
  bytes           key + value bytes of the counted records
  durationMs      produce, e2e: first send to last ack; consume: first fetch (--from-beginning)
                  or first record (waiting for new ones) to last record
  msgsPerSec      messages / seconds
  mbPerSec        bytes / seconds / 1048576 (MB as Kafka's perf tools count it)
  latencyMs       produce: send to ack; e2e: send to receipt by the consumer; consume: null.
                  {count, min, mean, p50, p90, p99, p999, max} in milliseconds (HdrHistogram,
                  3 significant digits). At a fixed --rate, latency is measured from the
                  intended send time (no coordinated omission).
  sendLatencyMs   e2e only: the producer's send-to-ack latency, same shape; null otherwise
Exit codes: 0 done, 1 failure (unreachable cluster, unknown topic, unacknowledged or missing records), 2 usage.`;

function producerOptions(cmd: Command, defaults: { linger: number; rate: string }): Command {
  return cmd
    .option('--size <bytes>', 'value size of each record', intParser('--size', 0, 100 * 1024 * 1024), 1024)
    .option('--rate <msgs/s>', `fixed send rate, scheduled by absolute time [${defaults.rate}]`, intParser('--rate', 1, 100_000_000))
    .addOption(new Option('--acks <acks>', 'acknowledgements to wait for: -1 (all in-sync replicas), 1 (leader), 0 (none)').choices(['-1', '0', '1', 'all']).default('-1'))
    .addOption(new Option('--compression <codec>', 'batch compression').choices([...COMPRESSIONS]).default('none'))
    .option('--partitions <n>', 'create the topic with this many partitions if it does not exist', intParser('--partitions', 1, 1_000_000))
    .option('--key-cardinality <k>', 'use k distinct keys, cycled (partitioned by murmur2 as Kafka does) [no keys: one partition per batch]', intParser('--key-cardinality', 1))
    .option('--batch-size <n>', 'records per produce request at most (also capped at 900 KiB)', intParser('--batch-size', 1, 100_000), 1000)
    .option('--linger <ms>', 'how long a partial batch waits for more records', intParser('--linger', 0, 60_000), defaults.linger)
    .option('--max-in-flight <n>', 'produce requests awaiting an answer at once', intParser('--max-in-flight', 1, 1000), 5);
}

function common(cmd: Command): Command {
  return usageExitCodes(addClientOptions(cmd, 'rivulet-bench'))
    .requiredOption('-t, --topic <topic>', 'topic to use')
    .option('--json', 'print the result as one JSON object (see below)')
    .option('--no-progress', 'no progress line on stderr');
}

export function registerBenchCommands(program: Command): void {
  const bench = usageExitCodes(program.command('bench').description('measure throughput and latency against any Kafka-protocol cluster'));

  producerOptions(common(bench.command('produce')), { linger: 5, rate: 'unlimited' })
    .description('send records as fast as possible (or at --rate) and report throughput and send-to-ack latency percentiles')
    .option('-n, --messages <n>', 'records to send [100000 unless --duration is given]', intParser('--messages', 1))
    .option('-d, --duration <time>', 'send for this long, e.g. 30s (with --messages: whichever ends first)', parseDuration('--duration'))
    .addHelpText('after', JSON_HELP)
    .action((o: BenchProduceFlags) => runClientAction(o.bootstrapServer, async () => (await import('./bench/produce.js')).benchProduce(o)));

  common(bench.command('consume'))
    .description('read records without a consumer group and report throughput')
    .option('-n, --messages <n>', 'records to read [with --from-beginning: all up to the end offsets at start]', intParser('--messages', 1))
    .option('--from-beginning', 'start at the earliest offsets [the end offsets: wait for --messages new records]')
    .option('--idle-timeout <time>', 'give up when no record arrives for this long', parseDuration('--idle-timeout'), 10_000)
    .addHelpText('after', JSON_HELP)
    .action((o: BenchConsumeFlags) => runClientAction(o.bootstrapServer, async () => (await import('./bench/consume.js')).benchConsume(o)));

  producerOptions(common(bench.command('e2e')), { linger: 0, rate: '1000' })
    .description('produce at a fixed rate and consume in the same process; report end-to-end latency percentiles (value carries the send time)')
    .option('-n, --messages <n>', 'records to send [10000 unless --duration is given]', intParser('--messages', 1))
    .option('-d, --duration <time>', 'send for this long, e.g. 30s (with --messages: whichever ends first)', parseDuration('--duration'))
    .option('--idle-timeout <time>', 'after sending, give up when no record arrives for this long', parseDuration('--idle-timeout'), 10_000)
    .addHelpText('after', `\nEach value starts with an 8-byte run id and the intended send time (float64 ms since the epoch), so --size is at least 16.\n${JSON_HELP}`)
    .action((o: BenchE2eFlags) => runClientAction(o.bootstrapServer, async () => (await import('./bench/e2e.js')).benchE2e(o)));

  const nexmark = usageExitCodes(bench.command('nexmark').description('the Nexmark benchmark (online auctions): generate its input'));
  usageExitCodes(addClientOptions(nexmark.command('generate'), 'rivulet-nexmark'))
    .description('write Nexmark events (people, auctions, bids) to its three input topics, at a fixed rate or as fast as possible')
    .option('-n, --events <n>', 'events to write [100000 unless --duration is given]', intParser('--events', 1))
    .option('-d, --duration <time>', 'write for this long, e.g. 60s (of event time, i.e. wall time unless --max-speed)', parseDuration('--duration'))
    .option('--rate <events/s>', 'events per second of event time (and of sending, unless --max-speed)', intParser('--rate', 1, 100_000_000), 10_000)
    .option('--max-speed', 'send as fast as possible instead of pacing by event time')
    .option('--seed <n>', 'seed of the generator: the same seed gives the same events', intParser('--seed', 0, 0xffffffff), 1)
    .option('--partitions <n>', 'partitions of each topic it creates (existing topics are kept as they are)', intParser('--partitions', 1, 1_000_000), 3)
    .option('--first-event-time <ms>', 'dateTime of the first event, epoch milliseconds [now]', intParser('--first-event-time', 0))
    .option('--out-of-order-ms <ms>', 'delayed events come out up to this much event time late (keeping their dateTime) [0: in order]', intParser('--out-of-order-ms', 0, 86_400_000))
    .option('--delayed-fraction <f>', 'fraction of events delayed, with --out-of-order-ms [0.1]', fractionParser('--delayed-fraction'))
    .addOption(new Option('--acks <acks>', 'acknowledgements to wait for: -1 (all in-sync replicas), 1 (leader), 0 (none)').choices(['-1', '0', '1', 'all']).default('-1'))
    .option('--batch-size <n>', 'records per produce request at most (also capped at 900 KiB)', intParser('--batch-size', 1, 100_000), 1000)
    .option('--max-in-flight <n>', 'produce requests awaiting an answer at once', intParser('--max-in-flight', 1, 1000), 5)
    .option('--json', 'print the summary as one JSON object: events, person, auction, bid, bytes, seed, rate, firstEventTime, lastEventTime, partitions, durationMs, eventsPerSec')
    .option('--no-progress', 'no progress line on stderr')
    .addHelpText('after', NEXMARK_HELP)
    .action((o: NexmarkGenerateFlags) => runClientAction(o.bootstrapServer, async () => (await import('./bench/nexmark.js')).benchNexmarkGenerate(o)));
}
