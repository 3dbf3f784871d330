#!/usr/bin/env node
// The Rivulet Streams benchmark (a script, not a test): `npm run bench:stream`.
// For a stateless and a windowed pipeline, under exactly-once and at-least-once, it starts
// a broker and `rivulet run` of the pipeline as its own process, and measures:
//   - throughput: a generator writes --records events as fast as it can, then the pipeline
//     starts and reads them all; events per second of wall time, and per CPU-second of the
//     pipeline process (utime+stime from /proc/<pid>/stat), from "pipeline ready" until the
//     group's committed offsets reach the end of the input;
//   - latency at a fixed rate: the generator writes --rate events/s for --seconds while a
//     read_committed consumer of the output computes each output's end-to-end latency
//     (when it was read minus its record timestamp, which is the event time of the input
//     behind it), p50 and p99, after a warm-up second.
// Each case runs --runs times (fresh topics and group each time); the tables show medians.
// Writes bench/results/<date>-stream[-quick].md.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../args.mjs';
import { cleanup, cli, cpuSeconds, log, machine, median, pct, root, setWork, startRivulet, stop, stopAllOnSignals, track } from '../compare/brokers.mjs';

const HELP = `npm run bench:stream -- [options]   (or: node bench/stream/run.mjs [options] after npm run build)

  --pipelines <list>    stateless (bench/stream/stateless.ts), windowed (windowed.mts) [stateless,windowed]
  --guarantees <list>   exactly_once,at_least_once                              [exactly_once,at_least_once]
  --runs <n>            runs per case; tables show the median                   [3]
  --records <n>         events for the throughput measurement                   [200000]
  --rate <n>            events per second for the latency measurement           [2000]
  --seconds <n>         length of the latency measurement                       [15]
  --partitions <n>      partitions of the input and output topics               [4]
  --workers <n>         rivulet run --workers                                   [1]
  --quick               --runs 1 --records 50000 --seconds 8
  --verbose             show the processes' logs

Writes bench/results/<date>-stream[-quick].md.`;

const args = parseArgs(process.argv.slice(2), HELP);
const quick = args.flag('--quick');
const verbose = args.flag('--verbose');
const o = {
  pipelines: args.oneOf('--pipelines', 'stateless,windowed', ['stateless', 'windowed']),
  guarantees: args.oneOf('--guarantees', 'exactly_once,at_least_once', ['exactly_once', 'at_least_once']),
  runs: args.num('--runs', quick ? 1 : 3, 1, { int: true }),
  records: args.num('--records', quick ? 50_000 : 200_000, 1, { int: true }),
  rate: args.num('--rate', 2000, 1),
  seconds: args.num('--seconds', quick ? 8 : 15, 2),
  partitions: args.num('--partitions', 4, 1, { int: true }),
  workers: args.num('--workers', 1, 1, { int: true }),
};
args.done();


const { Consumer, FetchIsolationLevels } = await import('@platformatic/kafka');
const { readPartitions } = await import(join(root, 'dist', 'src', 'client', 'partition-reader.js'));
const { requireTopic, offsetsAt, LATEST } = await import(join(root, 'dist', 'src', 'client', 'admin.js'));

const rivulet = (argv) => {
  const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', env: { ...process.env, RIVULET_BOOTSTRAP: '' } });
  if (r.status !== 0) throw new Error(`rivulet ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
};

function generate(bootstrap, topic, count, rate) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, [join(root, 'bench', 'stream', 'generate.mjs'), bootstrap, topic, String(count), String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] }));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`generator exited ${code}`))));
  });
}

/** Starts `rivulet run`; resolves once it logs "pipeline ready" (all workers restored and processing). */
function startPipeline(pipeline, b, id, guarantee, stateDir) {
  const file = join(root, 'bench', 'stream', pipeline === 'windowed' ? 'windowed.mts' : `${pipeline}.ts`);
  const argv = [cli, 'run', file, '-b', b.bootstrap, '--application-id', id, '--guarantee', guarantee, '--http-port', '0', '--state-dir', stateDir,
    '--instance-id', id, '--workers', String(o.workers), ...(pipeline === 'stateless' ? ['--input', `${id}-in`, '--output', `${id}-out`] : [])];
  const env = { ...process.env, BENCH_INPUT: `${id}-in`, BENCH_OUTPUT: `${id}-out` };
  const child = track(spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], env }));
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-20_000);
      if (verbose) process.stderr.write(d);
      if (/pipeline ready/.test(err) && !child.readyAt) {
        child.readyAt = performance.now();
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`rivulet run exited ${code} before it was ready:\n${err.slice(-3000)}`)));
    child.stderrTail = () => err;
  });
}

/** Polls the group's committed offsets until its lag on the input topic is 0. */
async function waitCaughtUp(b, id, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let parts = [];
    try {
      // Fails with "does not exist" until the group has committed offsets.
      parts = (JSON.parse(rivulet(['group', 'describe', id, '-b', b.bootstrap, '--json'])).partitions ?? []).filter((p) => p.topic === `${id}-in`);
    } catch (e) {
      if (!/does not exist/.test(e.message)) throw e;
    }
    if (parts.length === o.partitions && parts.every((p) => Number(p.lag) === 0)) return;
    if (Date.now() > deadline) throw new Error(`the pipeline did not catch up in ${timeoutMs} ms: ${JSON.stringify(parts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads the output topic (read_committed) from its current end; collects end-to-end latencies of records whose event time is after `from`. */
async function latencyReader(b, topic) {
  const consumer = new Consumer({ clientId: 'bench-reader', groupId: 'bench-reader-no-group', bootstrapBrokers: [b.bootstrap], isolationLevel: FetchIsolationLevels.READ_COMMITTED });
  const meta = await requireTopic(consumer, topic);
  const partitions = Array.from({ length: meta.partitionsCount }, (_, i) => i);
  const end = await offsetsAt(consumer, topic, partitions, LATEST);
  const latencies = [];
  let count = 0;
  let from = Infinity;
  let stopResolve;
  const stopped = new Promise((r) => (stopResolve = r));
  const done = readPartitions(consumer, {
    topic,
    metadata: meta,
    positions: partitions.map((p) => ({ partition: p, next: end.get(p), end: -1n, done: false })),
    maxWaitMs: 100,
    stopped,
    onRecords: (_s, records, now) => {
      const wall = performance.timeOrigin + now;
      for (const r of records) {
        count++;
        const ts = Number(r.timestamp);
        if (ts >= from) latencies.push(wall - ts);
      }
    },
  });
  return {
    measureFrom: (t) => (from = t),
    count: () => count,
    async close() {
      if (verbose) log(`reader: ${count} records read, ${latencies.length} measured (event time from ${new Date(from).toISOString()})`);
      stopResolve();
      await done.catch(() => undefined);
      void consumer.close().catch(() => undefined);
      return latencies.sort((a, b) => a - b);
    },
  };
}


async function oneRun(b, pipeline, guarantee, run, stateDir) {
  const id = `bench-${pipeline}-${guarantee === 'exactly_once' ? 'eos' : 'alo'}-${run}-${Date.now().toString(36)}`;
  for (const t of [`${id}-in`, `${id}-out`]) rivulet(['topic', 'create', t, '-b', b.bootstrap, '--partitions', String(o.partitions)]);
  // Throughput: the input is written first, so the generator never limits the pipeline.
  await generate(b.bootstrap, `${id}-in`, o.records, 0);
  const p = await startPipeline(pipeline, b, id, guarantee, stateDir);
  const cpu0 = cpuSeconds(p.pid);
  await waitCaughtUp(b, id, 600_000);
  const wall = (performance.now() - p.readyAt) / 1000;
  const cpu = cpuSeconds(p.pid) - cpu0;
  // Latency at a fixed rate, the pipeline caught up and idle.
  const reader = await latencyReader(b, `${id}-out`);
  const cpuL0 = cpuSeconds(p.pid);
  reader.measureFrom(Date.now() + 1000);
  const n = Math.round(o.rate * o.seconds);
  await generate(b.bootstrap, `${id}-in`, n, o.rate);
  await waitCaughtUp(b, id, 120_000);
  await new Promise((r) => setTimeout(r, 500));
  const cpuL = cpuSeconds(p.pid) - cpuL0;
  const latencies = await reader.close();
  p.stopping = true;
  const exited = new Promise((r) => p.once('exit', (code) => r(code)));
  p.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) log(`warning: rivulet run exited ${code} after SIGTERM:\n${p.stderrTail().slice(-2000)}`);
  const r = {
    throughput: o.records / wall,
    perCpu: o.records / cpu,
    cpuPerEventUs: (cpuL / n) * 1e6,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    outputs: latencies.length,
  };
  log(`${pipeline} ${guarantee} run ${run + 1}: ${fmt(r.perCpu)} events/CPU-s, ${fmt(r.throughput)} events/s, p50 ${r.p50?.toFixed(1)} ms, p99 ${r.p99?.toFixed(1)} ms (${r.outputs} outputs), ${r.cpuPerEventUs.toFixed(1)} µs CPU/event at ${o.rate}/s`);
  return r;
}

const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

stopAllOnSignals();
const work = mkdtempSync(join(tmpdir(), 'rivulet-bench-stream-'));
setWork(work);
const rows = [];
try {
  const b = await startRivulet('fsync');
  await waitForBroker(b);
  for (const pipeline of o.pipelines) {
    for (const guarantee of o.guarantees) {
      const runs = [];
      for (let run = 0; run < o.runs; run++) runs.push(await oneRun(b, pipeline, guarantee, run, join(work, 'state')));
      const m = (k) => median(runs.map((r) => r[k]));
      rows.push({ pipeline, guarantee, perCpu: m('perCpu'), throughput: m('throughput'), p50: m('p50'), p99: m('p99'), cpuPerEventUs: m('cpuPerEventUs') });
    }
  }
  await stop(b.child);
} finally {
  await cleanup();
}

const table = [
  `| pipeline | guarantee | events / CPU-second | events / s (wall) | end-to-end p50 ms | end-to-end p99 ms | CPU µs / event at ${o.rate}/s |`,
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.pipeline} | ${r.guarantee} | ${fmt(r.perCpu)} | ${fmt(r.throughput)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.cpuPerEventUs.toFixed(1)} |`),
].join('\n');
const md = `# Rivulet Streams benchmark${quick ? ' (quick)' : ''}

\`npm run bench:stream${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\`: medians of ${o.runs} run(s); ${o.records.toLocaleString('en-US')} events for throughput, ${o.rate}/s for ${o.seconds} s for latency; ${o.partitions} partitions; rivulet run --workers ${o.workers}; one broker (fsync acks-all) on the same machine.

${table}

- events / CPU-second: input events divided by the CPU time (user + system) of the \`rivulet run\` process while it processed them (from "pipeline ready" to committed offsets at the end of the input).
- end-to-end: when a read_committed consumer read the output minus the record's timestamp (the event time of the input behind it), at a fixed rate, after a warm-up second. Under exactly-once an output is visible only once its transaction commits (--commit-interval-ms 100).
- stateless: the function form (bench/stream/stateless.ts: JSON decode, drop one in ten, JSON encode). windowed: a count per key (1,000 keys) in 1 s tumbling event-time windows in an LMDB store with a changelog, every change emitted (bench/stream/windowed.mts); its end-to-end latency is taken from the output's record timestamp as the window operator sets it.

Machine:
${machine().split('\n').filter((l) => !l.includes('Apache Kafka')).join('\n')}
`;
const outDir = join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${new Date().toISOString().slice(0, 10)}-stream${quick ? '-quick' : ''}.md`);
writeFileSync(file, md);
console.log(`\n${table}\n\nwritten ${file.slice(root.length + 1)}`);

async function waitForBroker(b) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = spawnSync(process.execPath, [cli, 'topic', 'list', '-b', b.bootstrap], { encoding: 'utf8' });
    if (r.status === 0) return;
    if (Date.now() > deadline) throw new Error(`broker not ready: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

