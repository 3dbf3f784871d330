#!/usr/bin/env node
// The Nexmark benchmark (a script, not a test): `npm run bench:nexmark`. Rivulet Streams
// (src/nexmark/queries/qN.ts, `rivulet run`) against Apache Kafka Streams
// (bench/nexmark/kstreams) on q0-q8, both against one Rivulet broker started here. Per
// (query, guarantee, run, engine):
//   - throughput: the input topics are emptied (deleted, re-created) and the same seeded events
//     written before the engine starts (--events records of the topics the query reads, closing bids after
//     them so every window closes); from when the group's committed input offsets pass 10% of
//     the input until it has caught up (input and internal topics at their end, twice in a row),
//     input events per CPU-second of the engine's process (utime+stime from /proc, the JVM
//     included) and per second of wall time. So start-up (JVM, JIT warm-up of the first 10%)
//     counts for neither engine. Then the output is checked against the reference (check.ts).
//   - latency at a fixed rate: the engine caught up and still running, --rate events/s are
//     written for --seconds, event time = wall time; a read_committed reader takes each
//     output's latency as when it was read minus its record timestamp, after a warm-up second.
// Writes bench/results/<date>-nexmark[-quick].md and .svg.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from '../args.mjs';
import { summarize as summarizeProfiles } from '../profile/summary.mjs';
import { chartPanel, COLORS } from '../chart.mjs';
import { cleanup, cli, cpuSeconds, configure, log, machine, median, pct, root, setWork, startRivulet, stop, stopAllOnSignals, track } from '../compare/brokers.mjs';

const ALL = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8'];
const HELP = `npm run bench:nexmark -- [options]   (or: node bench/nexmark/run.mjs [options] after npm run build)

Nexmark q0-q8 in Rivulet Streams and in Apache Kafka Streams (bench/nexmark/kstreams, built
here with its build.sh), both against one Rivulet broker (fsync acks-all) on this machine:
throughput (events per CPU-second and per wall second, input written before the engine
starts), the output checked against the reference, and end-to-end latency at a fixed rate.

  --queries <list>      q0..q8                                                  [${ALL.join(',')}]
  --engines <list>      rivulet,kstreams                                        [rivulet,kstreams]
  --guarantees <list>   at_least_once,exactly_once (Kafka Streams: exactly_once_v2) [at_least_once,exactly_once]
  --runs <n>            runs per case; tables show the median                   [3]
  --events <n>          input records per query for the throughput measurement,
                        of the topics it reads (q3, q8: people and auctions)   [100000]
  --rate <n>            events per second for the latency measurement           [2000]
  --seconds <n>         length of the latency measurement                       [8]
  --partitions <n>      partitions of every input and output topic              [2]
  --quick               --runs 1 --seconds 5
  --verbose             show the engines' and the broker's logs
  --throughput-only     skip the latency measurement (events per CPU-second and the output check only)
  --profile <dir>       CPU-profile the Rivulet engine (node --cpu-prof, its worker threads
                        too) over the throughput measurement, skip the latency measurement,
                        write <dir>/<query>-<guarantee>-<run>/*.cpuprofile and print the top
                        self-time and total-time functions (bench/profile/summary.mjs)

Takes about 40 minutes with the defaults on a 2-core machine (108 cases of ~20 s each),
about 11 minutes with --quick. An engine that crashes, stalls (no commit for 60 s), does
not catch up in 200 s or writes a wrong output is named in the table; the others go on.
Writes bench/results/<date>-nexmark[-quick][-partial].md and .svg (-partial: not every query,
engine and guarantee).`;

const args = parseArgs(process.argv.slice(2), HELP);
const quick = args.flag('--quick');
const verbose = args.flag('--verbose');
const throughputOnly = args.flag('--throughput-only');
const o = {
  queries: args.oneOf('--queries', ALL.join(','), ALL),
  engines: args.oneOf('--engines', 'rivulet,kstreams', ['rivulet', 'kstreams']),
  guarantees: args.oneOf('--guarantees', 'at_least_once,exactly_once', ['at_least_once', 'exactly_once']),
  runs: args.num('--runs', quick ? 1 : 3, 1, { int: true }),
  events: args.num('--events', 100_000, 1000, { int: true }),
  rate: args.num('--rate', 2000, 1),
  seconds: args.num('--seconds', quick ? 5 : 8, 2),
  partitions: args.num('--partitions', 2, 1, { int: true }),
  profile: args.opt('--profile', ''),
};
args.done();
configure({ verbose });
if (!existsSync(cli)) {
  console.error('dist/ is missing: run npm run build first (npm run bench:nexmark does)');
  process.exit(1);
}

const { Admin, Consumer, Producer, FetchIsolationLevels } = await import('@platformatic/kafka');
const { readPartitions } = await import(join(root, 'dist', 'src', 'client', 'partition-reader.js'));
const { requireTopic, offsetsAt, LATEST } = await import(join(root, 'dist', 'src', 'client', 'admin.js'));
const { partitionForKey } = await import(join(root, 'dist', 'src', 'client', 'stream-producer.js'));
const { NexmarkGenerator, encodeEvent, eventTime } = await import(join(root, 'dist', 'src', 'nexmark', 'generator.js'));
const { PROPORTIONS } = await import(join(root, 'dist', 'src', 'nexmark', 'generator.js'));
const { writeEvents, closingBids } = await import(join(root, 'dist', 'src', 'nexmark', 'writer.js'));
const { TOPICS, outputTopic } = await import(join(root, 'dist', 'src', 'nexmark', 'model.js'));
const { checkQuery } = await import(join(root, 'dist', 'src', 'nexmark', 'check.js'));
const { CHECKS } = await import(join(root, 'dist', 'src', 'nexmark', 'reference', 'index.js'));

const ENGINE_NAME = { rivulet: 'Rivulet', kstreams: 'Kafka Streams' };
/** The input topics each query reads (both engines), whose committed offsets measure its progress. */
const READS = {
  q0: ['bid'], q1: ['bid'], q2: ['bid'], q3: ['person', 'auction'], q4: ['auction', 'bid'],
  q5: ['bid'], q6: ['auction', 'bid'], q7: ['bid'], q8: ['person', 'auction'],
};
/** q8 windows are fed through a repartition topic out of event-time order: both engines get the grace the integration tests give it. */
const GRACE_MS = { q8: 60_000 };
/** The Flink 1.13 single-core figures the issue quotes (generator inside the job, no Kafka), events/s. */
const FLINK = { q0: 155_000, q1: 158_000, q2: 175_000, q5: 22_000, q7: 12_000, q8: 146_000 };
const SEED = 2026;
/** A case fails when the group commits nothing new for this long before it has caught up. */
const STALL_MS = 60_000;

// ---------------------------------------------------------------- processes

const kDir = join(root, 'bench', 'nexmark', 'kstreams');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts one engine on a query; resolves once it is running ("pipeline ready" / "STATE RUNNING"). */
function startEngine(engine, query, b, id, guarantee, stateDir, profileDir) {
  const grace = GRACE_MS[query] ?? 0;
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = engine === 'rivulet'
    ? spawn(process.execPath, [...prof, cli, 'run', join(root, 'dist', 'src', 'nexmark', 'queries', `${query}.js`), '-b', b.bootstrap, '--application-id', id,
      '--guarantee', guarantee, '--state-dir', stateDir, '--instance-id', id, '--http-port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RIVULET_BOOTSTRAP: '', RIVULET_NEXMARK_GRACE_MS: String(grace) } })
    : spawn('java', ['-Xmx512m', '-cp', `${join(kDir, 'classes')}:${join(kDir, 'lib', '*')}`, 'dev.rivulet.nexmark.kstreams.NexmarkKStreams', '--query', query,
      '--bootstrap', b.bootstrap, '--guarantee', guarantee === 'exactly_once' ? 'exactly_once_v2' : 'at_least_once', '--application-id', id,
      '--state-dir', stateDir, '--grace-ms', String(grace)], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let tail = '';
  const ready = engine === 'rivulet' ? /pipeline ready/ : /STATE RUNNING/;
  child.tail = () => tail.slice(-3000);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${ENGINE_NAME[engine]} was not running after 90 s; its last output:\n${child.tail()}`)), 90_000);
    const onData = (d) => {
      tail = (tail + d).slice(-20_000);
      if (verbose) process.stderr.write(d);
      if (ready.test(tail) && !child.ready) {
        child.ready = true;
        clearTimeout(t);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, sig) => {
      child.exited = `${code ?? sig}`;
      clearTimeout(t);
      reject(new Error(`${ENGINE_NAME[engine]} exited (${code ?? sig}) before it was running; its last output:\n${child.tail()}`));
    });
  });
}

function alive(engine, child) {
  if (child.exited !== undefined) throw new Error(`${ENGINE_NAME[engine]} exited (${child.exited}) during the case; its last output:\n${child.tail()}`);
}

// ---------------------------------------------------------------- topics and data
let admin;
async function recreate(topics) {
  const existing = new Set(await admin.listTopics());
  const gone = topics.filter((t) => existing.has(t));
  if (gone.length) await admin.deleteTopics({ topics: gone });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await admin.createTopics({ topics, partitions: o.partitions, replicas: 1 });
      return;
    } catch (e) {
      // A deleted topic's name may be taken for a moment; anything else is a real failure.
      if (Date.now() > deadline || !/exist|deletion|TOPIC_ALREADY_EXISTS/i.test(`${e.message} ${JSON.stringify(e.errors ?? e.cause ?? '')}`)) throw e;
      for (const t of topics) await admin.deleteTopics({ topics: [t] }).catch(() => undefined);
      await sleep(200);
    }
  }
}

/** Topics an application left behind (changelogs, repartition topics): deleted after its case, so the broker's disk stays small. */
async function dropInternal(id) {
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${id}-`));
  if (mine.length) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
}

// The throughput data: the same seeded events every case, an hour in the past (clear of the
// broker's limit on future timestamps). Only the topics a query reads are written, --events
// records of them (q3 and q8 read people and auctions, 8% of the events, so the generator runs
// longer for them); the event-time spacing keeps it within 40 s of event time. Bids end with
// one closing bid per bid partition a minute after the rest, which closes every window.
const firstEventTime = Math.floor((Date.now() - 3600_000) / 60_000) * 60_000;
const inputs = new Map();
function inputFor(query) {
  const kinds = READS[query];
  const key = kinds.join(',');
  if (inputs.has(key)) return inputs.get(key);
  const share = kinds.reduce((t, k) => t + PROPORTIONS[k], 0) / (PROPORTIONS.person + PROPORTIONS.auction + PROPORTIONS.bid);
  const generated = Math.ceil(o.events / share);
  const spacing = Math.max(5_000, Math.ceil(generated / 40));
  const gen = new NexmarkGenerator({ seed: SEED, eventsPerSecond: spacing, firstEventTime });
  const events = [];
  let last = firstEventTime;
  for (let n = 0; n < generated; n++) {
    const e = gen.next();
    last = Math.max(last, eventTime(e));
    if (kinds.includes(e.type)) events.push(e);
  }
  const closeAt = last + 60_000;
  if (kinds.includes('bid')) events.push(...closingBids(closeAt, o.partitions));
  const messages = events.map(encodeEvent).map((r) => ({ topic: r.topic, key: r.key, value: r.value, timestamp: BigInt(r.timestamp), partition: partitionForKey(r.key, o.partitions) }));
  const input = { events, messages, closeAt, spacing, generated, counts: Object.fromEntries(kinds.map((k) => [k, events.filter((e) => e.type === k).length])) };
  inputs.set(key, input);
  return input;
}

async function writeInput(b, input) {
  await recreate(Object.values(TOPICS));
  const producer = new Producer({ clientId: 'bench-nexmark-writer', bootstrapBrokers: [b.bootstrap], acks: -1 });
  try {
    const inFlight = new Set();
    for (let i = 0; i < input.messages.length; i += 1000) {
      const p = producer.send({ messages: input.messages.slice(i, i + 1000), acks: -1 }).finally(() => inFlight.delete(p));
      inFlight.add(p);
      while (inFlight.size >= 5) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await producer.close();
  }
}

// ---------------------------------------------------------------- progress of a group
/** The group's committed offsets and the end offsets of the topics it commits, with what they mean. */
async function groupState(id, query, eos) {
  const groups = await admin.listConsumerGroupOffsets({ groups: [id] });
  const committed = new Map(); // topic -> Map(partition -> offset)
  for (const g of groups) for (const t of g.topics) for (const p of t.partitions) {
    if (p.committedOffset < 0n) continue;
    if (!committed.has(t.name)) committed.set(t.name, new Map());
    committed.get(t.name).set(p.partitionIndex, p.committedOffset);
  }
  const inputs = READS[query].map((k) => TOPICS[k]);
  let done = 0;
  let total = 0;
  let atEnd = true;
  for (const topic of new Set([...inputs, ...committed.keys()])) {
    const parts = inputs.includes(topic) ? Array.from({ length: o.partitions }, (_, i) => i) : [...committed.get(topic).keys()];
    const ends = await offsetsAt(admin, topic, parts, LATEST);
    for (const p of parts) {
      const end = Number(ends.get(p));
      const c = Number(committed.get(topic)?.get(p) ?? 0n);
      if (inputs.includes(topic)) {
        done += c;
        total += end;
        if (c < end) atEnd = false;
      } else if (c < end - (eos ? 1 : 0)) {
        // Under exactly-once the last transaction's marker follows the last record of an
        // internal topic; an engine that read nothing after it may commit the offset before it.
        atEnd = false;
      }
    }
  }
  const snapshot = JSON.stringify([...committed].map(([t, m]) => [t, [...m]]), (_, v) => (typeof v === 'bigint' ? String(v) : v));
  return { done, total, atEnd, snapshot };
}

/**
 * Polls the group: `mark` is the first poll with 10% of the input committed (its committed
 * events, CPU and time), `end` the first of two polls in a row at the end with the same offsets.
 */
async function measureCatchUp(engine, child, id, query, eos, { fromMark, timeoutMs }) {
  const deadline = Date.now() + timeoutMs;
  let mark = fromMark ?? null;
  let prev = null;
  let last = null;
  let progressAt = Date.now();
  for (;;) {
    alive(engine, child);
    const cpu = cpuSeconds(child.pid);
    const at = performance.now();
    const mono = Number(process.hrtime.bigint() / 1000n);
    const s = await groupState(id, query, eos);
    last = s;
    if (!mark && s.total > 0 && s.done >= 0.1 * s.total) mark = { done: s.done, cpu, at, mono };
    if (s.atEnd && prev?.atEnd && prev.snapshot === s.snapshot && mark) return { mark, end: prev, total: s.total };
    if (!prev || prev.snapshot !== s.snapshot) progressAt = Date.now();
    if (Date.now() - progressAt > STALL_MS) {
      throw new Error(`${ENGINE_NAME[engine]} stalled: no offset committed for ${STALL_MS / 1000} s, ${s.done} of ${s.total} input records committed${s.done >= s.total ? ', internal topics behind' : ''}; its last output:\n${child.tail()}`);
    }
    prev = { ...s, cpu, at, mono };
    if (Date.now() > deadline) {
      throw new Error(`${ENGINE_NAME[engine]} did not catch up in ${Math.round(timeoutMs / 1000)} s: ${last.done} of ${last.total} input records committed${last.done >= last.total ? ', internal topics behind' : ''}; its last output:\n${child.tail()}`);
    }
    // Often: the mark's committed offsets trail what the engine has processed by the time since its last commit.
    await sleep(50);
  }
}

// ---------------------------------------------------------------- output
async function newReader(b) {
  return new Consumer({ clientId: 'bench-nexmark-reader', groupId: 'bench-nexmark-no-group', bootstrapBrokers: [b.bootstrap], isolationLevel: FetchIsolationLevels.READ_COMMITTED });
}

/** The committed output of a query, whole: results for check.ts and each record's timestamp. */
async function readOutput(b, query) {
  const consumer = await newReader(b);
  try {
    const topic = outputTopic(query);
    const meta = await requireTopic(consumer, topic);
    const partitions = Array.from({ length: meta.partitionsCount }, (_, i) => i);
    const end = await offsetsAt(consumer, topic, partitions, LATEST);
    const results = [];
    const stamps = [];
    const positions = partitions.map((p) => ({ partition: p, next: 0n, end: end.get(p), done: end.get(p) === 0n }));
    if (positions.some((p) => !p.done)) {
      await readPartitions(consumer, {
        topic, metadata: meta, positions, maxWaitMs: 100,
        onRecords: (_s, records) => {
          for (const r of records) {
            const value = JSON.parse(r.value.toString());
            results.push({ key: r.key?.toString() ?? '', value });
            stamps.push([Number(r.timestamp), value]);
          }
        },
      });
    }
    return { results, stamps };
  } finally {
    await consumer.close().catch(() => undefined);
  }
}

/** What an output record's timestamp is, in terms of its value or the input. */
function stampKind(ts, v, input) {
  if (v.windowEnd !== undefined) {
    if (ts === v.windowEnd - 1) return 'window end - 1 ms';
    if (ts === v.windowEnd) return 'window end';
    if (ts >= v.windowStart && ts < v.windowEnd) return 'an event time in the window';
    if (ts > v.windowEnd && ts <= input.closeAt) return "an event time after the window's end (the one that closed it)";
  }
  if (v.dateTime !== undefined && ts === v.dateTime) return "the bid's dateTime";
  if (ts >= firstEventTime && ts <= input.closeAt) return 'an input event time';
  return `not an input event time (${new Date(ts).toISOString()})`;
}

function summarizeStamps(stamps, input) {
  const kinds = new Map();
  for (const [ts, v] of stamps) {
    const k = stampKind(ts, v, input);
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  return [...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => (kinds.size > 1 ? `${k} (${n})` : k)).join(', ') || 'no output';
}

/** Reads the output (read_committed) from its current end; latencies of records whose timestamp is from `from` on. */
async function latencyReader(b, topic) {
  const consumer = await newReader(b);
  const meta = await requireTopic(consumer, topic);
  const partitions = Array.from({ length: meta.partitionsCount }, (_, i) => i);
  const end = await offsetsAt(consumer, topic, partitions, LATEST);
  const latencies = [];
  let from = Infinity;
  let stopResolve;
  const stopped = new Promise((r) => (stopResolve = r));
  const done = readPartitions(consumer, {
    topic, metadata: meta, stopped, maxWaitMs: 100,
    positions: partitions.map((p) => ({ partition: p, next: end.get(p), end: -1n, done: false })),
    onRecords: (_s, records, now) => {
      const wall = performance.timeOrigin + now;
      for (const r of records) {
        const ts = Number(r.timestamp);
        if (ts >= from) latencies.push(wall - ts);
      }
    },
  });
  return {
    measureFrom: (t) => (from = t),
    async close() {
      stopResolve();
      await done.catch(() => undefined);
      void consumer.close().catch(() => undefined);
      return latencies.sort((x, y) => x - y);
    },
  };
}

const DIST_P = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 99, 99.5, 99.7, 99.9, 99.95, 99.99];

// ---------------------------------------------------------------- one case
const options = (query, input) => (query === 'q5' || query === 'q7' ? { watermark: input.closeAt } : undefined);

async function oneCase(b, work, query, guarantee, run, engine) {
  const eos = guarantee === 'exactly_once';
  const id = `nexmark-${query}-${engine}-${eos ? 'eos' : 'alo'}-${run}-${Date.now().toString(36)}`;
  const input = inputFor(query);
  await writeInput(b, input);
  await recreate([outputTopic(query)]);
  const stateDir = mkdtempSync(join(work, 'state-'));
  let child;
  try {
    const profileDir = o.profile && engine === 'rivulet' ? resolve(o.profile, `${query}-${guarantee}-${run}`) : undefined;
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    child = await startEngine(engine, query, b, id, guarantee, stateDir, profileDir);
    // Throughput over the input written before the start.
    const t = await measureCatchUp(engine, child, id, query, eos, { timeoutMs: Math.max(180_000, o.events * 2) });
    const span = t.total - t.mark.done;
    const cpu = t.end.cpu - t.mark.cpu;
    const wall = (t.end.at - t.mark.at) / 1000;
    // A span of less than half the input (the first commit came late) is too short to time.
    const timed = span >= 0.5 * t.total && cpu > 0 && wall > 0;
    const r = { ok: true, span, perCpu: timed ? span / cpu : NaN, wallRate: timed ? span / wall : NaN };
    if (!timed) r.note = `throughput not timed: ${Math.round((100 * span) / t.total)}% of the input came after the first commit past 10%; use more --events`;
    else if (wall < 1) r.note = `timed over ${wall.toFixed(2)} s only, so the commit interval weighs on it: use more --events for a steadier figure`;
    if (verbose) log(`  timed ${span} of ${t.total} input records: ${cpu.toFixed(2)} CPU-s, ${wall.toFixed(2)} s`);
    // The output, read_committed, against the reference.
    const out = await readOutput(b, query);
    const outcome = checkQuery(CHECKS[query], input.events, out.results, options(query, input));
    // At-least-once may write a result twice (a retried send); anything else is wrong.
    const onlyDuplicates = !eos && outcome.missing.length === 0 && outcome.unexpected.length === 0 && outcome.different.length === 0;
    r.checkOk = outcome.ok || onlyDuplicates;
    r.check = outcome.ok ? 'OK' : onlyDuplicates ? `OK, ${outcome.actual - outcome.expected} duplicate(s), as at-least-once allows` : outcome.summary;
    r.stamps = summarizeStamps(out.stamps, input);
    if (throughputOnly && !profileDir) return r;
    if (profileDir) {
      await stop(child, 20_000);
      // Samples of the timed span only (V8 profile times and hrtime are both the monotonic clock, in µs).
      log(`${query} ${guarantee} run ${run}: ${fmt(r.perCpu)} events/CPU-s (under the profiler); profile in ${profileDir}, the timed span:\n${summarizeProfiles([profileDir], 25, { from: t.mark.mono, to: t.end.mono })}`);
      return r;
    }
    // Latency at a fixed rate, the engine caught up and running.
    const reader = await latencyReader(b, outputTopic(query));
    const cpuL0 = cpuSeconds(child.pid);
    const start = Date.now();
    reader.measureFrom(start + 1000);
    const n = Math.round(o.rate * o.seconds);
    const producer = new Producer({ clientId: 'bench-nexmark-paced', bootstrapBrokers: [b.bootstrap], acks: -1 });
    try {
      const parts = { person: o.partitions, auction: o.partitions, bid: o.partitions };
      await writeEvents({ producer, generator: new NexmarkGenerator({ seed: SEED + 1 + run, eventsPerSecond: o.rate, firstEventTime: start }), partitions: parts, events: n, paced: true, batchSize: 200 });
    } finally {
      await producer.close();
    }
    await measureCatchUp(engine, child, id, query, eos, { fromMark: { done: 0, cpu: 0, at: 0 }, timeoutMs: 120_000 });
    await sleep(300);
    const cpuL = cpuSeconds(child.pid) - cpuL0;
    const lat = await reader.close();
    Object.assign(r, {
      cpuPerEventUs: (cpuL / n) * 1e6,
      p50: pct(lat, 50), p99: pct(lat, 99), p999: pct(lat, 99.9), outputs: lat.length,
      dist: lat.length ? DIST_P.map((p) => [p, pct(lat, p)]) : [],
    });
    return r;
  } catch (e) {
    return { ok: false, error: e.message };
  } finally {
    if (child) await stop(child, 20_000);
    rmSync(stateDir, { recursive: true, force: true });
    await dropInternal(id).catch(() => undefined);
  }
}

// ---------------------------------------------------------------- formatting
const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const ms = (x) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US')) : 'n/a');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Medians over the runs that worked; what went wrong in the others. */
function summarize(runs) {
  const good = runs.filter((r) => r.ok);
  const m = (k) => median(good.map((r) => r[k]));
  const errors = runs.filter((r) => !r.ok).map((r) => r.error.split('\n')[0].replace(/;? its last output:$/, ''));
  const wrong = good.filter((r) => !r.checkOk).map((r) => r.check);
  const dup = good.map((r) => r.check).find((c) => c.startsWith('OK, '));
  let check = good.length && !wrong.length ? `${dup ?? 'OK'}${good.length < runs.length ? ` (${good.length}/${runs.length} runs)` : ''}` : '';
  if (wrong.length) check = `WRONG: ${wrong[0].slice(0, 300)}`;
  if (errors.length) check += `${check ? '; ' : ''}FAILED ${errors.length}/${runs.length}: ${errors[0].slice(0, 300)}`;
  // The latency curve of the run with the median p99.
  const byP99 = good.filter((r) => r.dist?.length).sort((x, y) => x.p99 - y.p99);
  return {
    perCpu: m('perCpu'), wallRate: m('wallRate'), outputs: m('outputs'), p50: m('p50'), p99: m('p99'), p999: m('p999'), cpuPerEventUs: m('cpuPerEventUs'),
    check, stamps: good[0]?.stamps, notes: good.map((r) => r.note).filter(Boolean)[0],
    dist: byP99.length ? byP99[(byP99.length - 1) >> 1].dist : [],
  };
}

function tableFor(guarantee, results) {
  const has = (e) => o.engines.includes(e);
  const lines = [];
  const head = ['query'];
  if (has('rivulet')) head.push('Rivulet events/CPU-s');
  if (has('kstreams')) head.push('Kafka Streams events/CPU-s');
  if (has('rivulet') && has('kstreams')) head.push('ratio R/K');
  for (const e of o.engines) head.push(`${ENGINE_NAME[e]} events/s (wall)`);
  for (const e of o.engines) head.push(`${ENGINE_NAME[e]} p50 / p99 / p99.9 ms (outputs)`);
  if (has('rivulet') && has('kstreams')) head.push('p99 ratio R/K');
  for (const e of o.engines) head.push(`${ENGINE_NAME[e]} CPU µs/event at ${o.rate}/s`);
  for (const e of o.engines) head.push(`${ENGINE_NAME[e]} output`);
  lines.push(`| ${head.join(' | ')} |`, `| --- |${' ---: |'.repeat(head.length - 1 - o.engines.length)}${' --- |'.repeat(o.engines.length)}`);
  for (const q of o.queries) {
    const s = Object.fromEntries(o.engines.map((e) => [e, results[q]?.[guarantee]?.[e]]));
    const row = [q];
    if (has('rivulet')) row.push(fmt(s.rivulet?.perCpu));
    if (has('kstreams')) row.push(fmt(s.kstreams?.perCpu));
    if (has('rivulet') && has('kstreams')) row.push(ratio(s.rivulet?.perCpu, s.kstreams?.perCpu));
    for (const e of o.engines) row.push(fmt(s[e]?.wallRate));
    for (const e of o.engines) row.push(`${ms(s[e]?.p50)} / ${ms(s[e]?.p99)} / ${ms(s[e]?.p999)} (${fmt(s[e]?.outputs)})`);
    if (has('rivulet') && has('kstreams')) row.push(ratio(s.rivulet?.p99, s.kstreams?.p99));
    for (const e of o.engines) row.push(Number.isFinite(s[e]?.cpuPerEventUs) ? s[e].cpuPerEventUs.toFixed(1) : 'n/a');
    for (const e of o.engines) row.push(cell(`${s[e]?.check ?? 'not run'}${s[e]?.notes ? `; ${s[e].notes}` : ''}`));
    lines.push(`| ${row.join(' | ')} |`);
  }
  return lines.join('\n');
}

function eosCost(results) {
  if (!(o.guarantees.includes('exactly_once') && o.guarantees.includes('at_least_once'))) return '';
  return o.engines.map((e) => {
    const per = o.queries.map((q) => [q, results[q]?.exactly_once?.[e]?.perCpu / results[q]?.at_least_once?.[e]?.perCpu]).filter(([, x]) => Number.isFinite(x));
    if (!per.length) return `- ${ENGINE_NAME[e]}: n/a`;
    return `- ${ENGINE_NAME[e]}: exactly-once throughput (events/CPU-s) at **${median(per.map(([, x]) => x)).toFixed(2)}x** of at-least-once (median over queries; ${per.map(([q, x]) => `${q} ${x.toFixed(2)}x`).join(', ')})`;
  }).join('\n');
}

function flinkTable(results) {
  const g = o.guarantees.includes('at_least_once') ? 'at_least_once' : o.guarantees[0];
  const qs = o.queries.filter((q) => FLINK[q]);
  if (!qs.length) return '';
  return [
    `| query | Flink 1.13, 1 core (events/s) | ${o.engines.map((e) => `${ENGINE_NAME[e]} events/CPU-s (${g})`).join(' | ')} |`,
    `| --- | ---: |${' ---: |'.repeat(o.engines.length)}`,
    ...qs.map((q) => `| ${q} | ${fmt(FLINK[q])} | ${o.engines.map((e) => fmt(results[q]?.[g]?.[e]?.perCpu)).join(' | ')} |`),
  ].join('\n');
}

function stampsTable(results) {
  return [
    `| query | ${o.engines.map((e) => `${ENGINE_NAME[e]} output timestamp`).join(' | ')} |`,
    `| --- |${' --- |'.repeat(o.engines.length)}`,
    ...o.queries.map((q) => `| ${q} | ${o.engines.map((e) => cell(o.guarantees.map((g) => results[q]?.[g]?.[e]?.stamps).find(Boolean) ?? 'n/a')).join(' | ')} |`),
  ].join('\n');
}

function chart(results) {
  const w = 420;
  const h = 260;
  const panelW = w + 110;
  const panelH = h + 90;
  const cols = 3;
  const panels = o.queries.map((q) => {
    const series = [];
    o.guarantees.forEach((g, gi) => {
      for (const e of o.engines) {
        const s = results[q]?.[g]?.[e];
        if (s?.dist?.length) series.push({ label: `${ENGINE_NAME[e]} ${g}`, dist: s.dist, color: COLORS[gi % COLORS.length], dash: e === 'kstreams' ? '6 4' : '' });
      }
    });
    return [q, series];
  }).filter(([, s]) => s.length);
  let body = '';
  panels.forEach(([q, series], i) => {
    body += chartPanel(`${q}: end-to-end at ${o.rate}/s`, series, 80 + (i % cols) * panelW, 50 + Math.floor(i / cols) * panelH, w, h);
  });
  const W = 80 + Math.min(cols, Math.max(1, panels.length)) * panelW;
  const H = 50 + Math.ceil(Math.max(1, panels.length) / cols) * panelH;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n`
    + `<text x="${W / 2}" y="16" text-anchor="middle">Nexmark: solid Rivulet Streams, dashed Kafka Streams; latency = read time minus the output's record timestamp</text>\n${body}</svg>\n`;
}

// ---------------------------------------------------------------- main
stopAllOnSignals();
const work = mkdtempSync(join(tmpdir(), 'rivulet-bench-nexmark-'));
setWork(work);
const results = {}; // query -> guarantee -> engine -> summary
const cases = o.queries.length * o.guarantees.length * o.runs * o.engines.length;
const started = Date.now();
let done = 0;
try {
  if (o.engines.includes('kstreams')) {
    log('building the Kafka Streams queries (bench/nexmark/kstreams/build.sh)');
    const r = spawnSync('bash', [join(kDir, 'build.sh')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bench/nexmark/kstreams/build.sh failed:\n${r.stdout}${r.stderr}`);
  }
  const b = await startRivulet('fsync');
  admin = new Admin({ clientId: 'bench-nexmark-admin', bootstrapBrokers: [b.bootstrap] });
  await waitForBroker();
  for (const q of o.queries) {
    results[q] = {};
    const input = inputFor(q);
    const expected = CHECKS[q].reference(input.events, options(q, input)).length;
    log(`${q}: input ${READS[q].map((k) => `${input.counts[k].toLocaleString('en-US')} ${k}s`).join(', ')} (of ${input.generated.toLocaleString('en-US')} generated events, ${input.spacing.toLocaleString('en-US')} events/s of event time); ${expected.toLocaleString('en-US')} results expected`);
    for (const g of o.guarantees) {
      const runs = Object.fromEntries(o.engines.map((e) => [e, []]));
      for (let run = 0; run < o.runs; run++) {
        // The engines alternate within a run, so a slow spell of the machine hits both.
        for (const e of o.engines) {
          const left = done ? ((Date.now() - started) / done) * (cases - done) : NaN;
          log(`case ${done + 1}/${cases}: ${q} ${g} run ${run + 1} ${ENGINE_NAME[e]}${Number.isFinite(left) ? ` (about ${Math.ceil(left / 60_000)} min left)` : ''}`);
          const r = await oneCase(b, work, q, g, run, e);
          done++;
          runs[e].push(r);
          log(r.ok
            ? `  ${fmt(r.perCpu)} events/CPU-s, ${fmt(r.wallRate)} events/s, p50 ${ms(r.p50)} ms, p99 ${ms(r.p99)} ms, p99.9 ${ms(r.p999)} ms (${r.outputs} outputs), ${r.cpuPerEventUs?.toFixed(1) ?? 'n/a'} µs CPU/event; output ${r.check}${r.note ? `; ${r.note}` : ''}`
            : `  FAILED: ${r.error}`);
        }
      }
      results[q][g] = Object.fromEntries(o.engines.map((e) => [e, summarize(runs[e])]));
    }
  }
  await admin.close().catch(() => undefined);
  await stop(b.child);
} finally {
  await cleanup();
}

const cmd = `npm run bench:nexmark${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const tables = o.guarantees.map((g) => `## ${g}\n\n${tableFor(g, results)}`).join('\n\n');
const md = `# Nexmark: Rivulet Streams and Kafka Streams${quick ? ' (quick)' : ''}

\`${cmd}\`: medians of ${o.runs} run(s); ${o.events.toLocaleString('en-US')} input records per query for throughput (seed ${SEED}; only the topics the query reads; at most 40 s of event time), ${o.rate}/s for ${o.seconds} s for latency; ${o.partitions} partitions per topic; one Rivulet broker (fsync acks-all) on the same machine for both engines; commit interval 100 ms in both (Rivulet under exactly-once also commits as soon as its input is drained, its default \`--commit-on-drain\`; Kafka Streams has no such option); q8 with a grace of 60 s in both, the other queries 0.

${tables}

Exactly-once cost:
${eosCost(results) || '- (needs both guarantees)'}

Flink 1.13 single-core anchors (from the issue; the generator inside the job, no Kafka) beside ours:

${flinkTable(results) || '(none of the queries run)'}

Output timestamps (what latency is measured from), as read from each engine's output in the throughput phase:

${stampsTable(results)}

- events/CPU-s: records of the input topics the query reads (q0-q2, q5, q7: bids; q3, q8: people and auctions; q4, q6: auctions and bids) committed between the poll that saw 10% of them committed and the first of two polls in a row that found the group at the end of its input and internal topics with unchanged offsets, divided by the engine process's CPU time (user + system, all threads; the JVM's JIT and GC included) in that span. Start-up and the first 10% count for neither engine. events/s (wall): the same over wall time. Committed offsets trail what an engine has processed by up to a commit interval (100 ms) plus the commit, so a span of about a second or less overstates a fast engine's figure by up to a tenth or so (such a case says so beside its output check): more --events make it steadier. Flink's figures count every generated event of a query with the generator in the same process, so they are anchors, not a like-for-like comparison.
- output: the committed (read_committed) output of the throughput phase against the reference (src/nexmark/check.ts; q5 and q7 limited to the windows the closing bids close); under at-least-once an output that differs only by duplicates passes, and says how many. A wrong or failed case is named there, and its figures are left out of the medians.
- latency: at ${o.rate} events/s with event time = wall time, the engine caught up; a read_committed reader's read time minus the output record's timestamp, for outputs stamped from the end of the first second on (the number of outputs measured in brackets: q5 and q7 give one or a few per window, so their percentiles rest on few samples, none when no window closes within --seconds); under exactly-once an output is visible once its transaction commits. For q5 and q7 (see the table above) Rivulet stamps a result with its window's end - 1 ms and Kafka Streams (its combining stage) mostly with the event time that closed the window, at or after the end: the window's own length counts for neither, and Kafka Streams' latency there starts from a later time; q4 and q6 emit updates (Kafka Streams through its record cache, flushed on commit). CPU µs/event: the engine's CPU time during that phase divided by the events written.
- Kafka Streams: ${o.engines.includes('kstreams') ? 'bench/nexmark/kstreams (one stream thread, java -Xmx512m, producer linger.ms 100, record cache on; q4 and q6 order an auction before bids of its own timestamp, as Rivulet breaks such ties: settings of both in bench/nexmark/kstreams/README.md)' : 'not run'}; Rivulet Streams: \`rivulet run dist/src/nexmark/queries/qN.js\` (one worker).

Machine:
${machine().split('\n').filter((l) => !l.includes('Apache Kafka')).join('\n')}
- Kafka Streams ${/<kafka\.version>([^<]+)</.exec(readFileSync(join(kDir, 'pom.xml'), 'utf8'))?.[1] ?? '?'} (bench/nexmark/kstreams/pom.xml, Maven Central), one stream thread, java -Xmx512m
`;
const outDir = join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
// A run of part of the cases does not overwrite the full run's file.
const partial = o.queries.length < ALL.length || o.engines.length < 2 || o.guarantees.length < 2;
const base = join(outDir, `${new Date().toISOString().slice(0, 10)}-nexmark${quick ? '-quick' : ''}${partial ? '-partial' : ''}`);
if (o.profile || throughputOnly) {
  // Profiled runs skip the latency measurement and run slower: they write no results file.
  console.log(`\n${tables}\n\n(${o.profile ? 'profiled' : 'throughput only'}: no results file written)`);
} else {
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.svg`, chart(results));
  console.log(`\n${tables}\n\n${eosCost(results)}\n\nwritten ${base.slice(root.length + 1)}.md and .svg`);
}

async function waitForBroker() {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await admin.listTopics();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`the broker did not answer in 30 s: ${e.message}`);
      await sleep(200);
    }
  }
}
