// `npm run bench:latency`: latency percentiles of Rivulet and Apache Kafka at fixed rates, at
// shares of each broker's own maximum and under fan-in (many partitions, many producer
// connections), with the floors that bound them. See HELP below.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KAFKA_VERSION, root, cli, configure, setWork, stopAllOnSignals, cleanup, log, run, track, stop, median,
  ensureKafka, withBroker, settleDisk, machine,
} from '../compare/brokers.mjs';
import { parseArgs } from '../args.mjs';
import { chartPanel, COLORS } from '../chart.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const HELP = `npm run bench:latency [-- options]

Latency of Rivulet and Apache Kafka ${KAFKA_VERSION} on this machine, measured so that it cannot
flatter either: an open-loop Go client (franz-go, bench/latency/main.go) sends 1 KiB records
with acks=all on an absolute schedule and counts every latency from the time a record was due
(no coordinated omission), into HDR histograms of publish (due -> ack) and end-to-end
(due -> consumed) latency. Each case runs on a fresh broker and data directory.

Cases, in each mode, for each broker:
  rates       the fixed --rates
  % of max    each broker's own maximum rate is measured first: the same client, open loop,
              raises the rate while produce and consume keep up (the records waiting grow
              by under a tenth of those due), then bisects to within 3% (about 40 s); the
              rate found must then hold for --duration (20% lower each time it does not);
              then each --max-fractions of it, so each broker runs at its own 50% and 80%
  fan-in      --fanin-rate with --many-partitions partitions, and with --many-producers
              producer clients (each its own connection); jitter grows with fan-in

In the same run, for scale:
  floor       the same Go client against a bare Node TCP echo server on loopback (1 KiB
              request, 8-byte reply) at each fixed rate: what no Node broker can beat here
  disk        the data directory's own append + fdatasync latency (fsync mode)
  Node client rivulet bench e2e (Node, @platformatic/kafka) beside the Go client at one
              rate, so the Node client's own pauses are visible

Options:
  --rates a,b,c        messages per second (default 1000,5000,20000; '' for none)
  --max-fractions f,g  fractions of each broker's measured maximum (default 0.5,0.8; '' for
                       none, which also skips measuring the maximum)
  --many-partitions N  partitions of the first fan-in case (default 1000; 0: no such case)
  --many-producers N   producer clients of the second fan-in case (default 200; 0: none)
  --fanin-rate R       rate of the fan-in cases (default 5000)
  --modes m,n          fsync (Kafka log.flush.interval.messages=1, Rivulet --fsync acks-all)
                       and/or nofsync (Kafka defaults, Rivulet --fsync never); default both
  --runs N             runs per case, medians reported (default 3; 1 with --quick); the
                       maximum is measured once per broker and mode
  --duration S         seconds of sending per case (default 12; 4 with --quick)
  --warmup S           first seconds of each case not counted (default 2; 1 with --quick)
  --partitions N       partitions of the topic in every other case (default 16)
  --node-rate R        rate of the Node client cases (default: the lowest of --rates; 0: none)
  --brokers a,b        kafka and/or rivulet (default both)
  --quick              a short smoke run of every case
  --keep               leave the work directory (broker data) in place
  --verbose            show the brokers' and tools' output
  -h, --help           this text

Needs Go 1.26 or newer on PATH, as franz-go v1.22 does (https://go.dev/doc/install), Java 17+,
and Maven for Apache Kafka's jars (bench/compare/kafka/pom.xml) unless bench/compare/kafka/lib
already holds them.
Writes bench/results/<date>-latency[-quick].md (tables) and .svg (percentile charts).`;

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const { flag, num, nums, oneOf, fail, done } = parseArgs(argv, HELP);
const quick = flag('--quick');
const rates = nums('--rates', '1000,5000,20000', 1, { int: true });
const fractions = nums('--max-fractions', '0.5,0.8', 0, { above: true });
const manyPartitions = num('--many-partitions', 1000, 0, { int: true });
const manyProducers = num('--many-producers', 200, 0, { int: true });
const faninRate = num('--fanin-rate', 5000, 1, { int: true });
const modes = oneOf('--modes', 'fsync,nofsync', ['fsync', 'nofsync']);
const runs = num('--runs', quick ? 1 : 3, 1, { int: true });
const duration = num('--duration', quick ? 4 : 12, 0, { above: true });
const warmup = num('--warmup', quick ? 1 : 2, 0);
const partitions = num('--partitions', 16, 1, { int: true });
const nodeRate = num('--node-rate', rates.length ? Math.min(...rates) : 0, 0, { int: true });
const brokers = oneOf('--brokers', 'kafka,rivulet', ['kafka', 'rivulet']);
const verbose = flag('--verbose');
const keep = flag('--keep');
done();
if (!(warmup < duration)) fail('--warmup must be less than --duration');
if (fractions.some((f) => f > 1)) fail('--max-fractions are fractions of the maximum: at most 1');

const int = (x) => Math.round(x).toLocaleString('en-US');
const pct = (f) => `${+(f * 100).toFixed(1)}%`;
// The search for each broker's maximum starts here and takes about 40 s (its steps are 2-3 s),
// then its result must hold for --duration; past MAX_SECONDS it stops at the last rate tried.
const MAX_FROM = 5000;
const MAX_SECONDS = 60 + 4 * duration;

// The cases of each mode; rate(max) is the rate a case runs at given that broker's measured maximum.
const CASES = [
  ...rates.map((r) => ({ id: `rate-${r}`, group: 'rates', title: `${int(r)} msg/s`, short: `${int(r)}/s`, rate: () => r, partitions, producers: 1 })),
  ...fractions.map((f) => ({
    id: `max-${f}`, group: 'max', title: `${pct(f)} of each broker's maximum`, short: `${pct(f)} of max`, rate: (max) => Math.max(1, Math.round(f * max)), partitions, producers: 1,
  })),
  ...(manyPartitions ? [{
    id: 'partitions', group: 'fanin', title: `${int(manyPartitions)} partitions, ${int(faninRate)} msg/s`, short: `${int(manyPartitions)} partitions`, rate: () => faninRate, partitions: manyPartitions, producers: 1,
  }] : []),
  ...(manyProducers ? [{
    id: 'producers', group: 'fanin', title: `${int(manyProducers)} producer connections, ${int(faninRate)} msg/s, ${partitions} partitions`, short: `${int(manyProducers)} producers`, rate: () => faninRate, partitions, producers: manyProducers,
  }] : []),
];
if (!CASES.length) fail('every case is turned off');

configure({ verbose, keep });
stopAllOnSignals();

// ---------------------------------------------------------------- the Go client
const bin = join(here, 'bin', 'latency-client');

function buildClient() {
  const v = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) {
    throw new Error('Go is needed to build the load client (bench/latency/main.go) and was not found on PATH.\n'
      + 'Install Go 1.26 or newer (https://go.dev/doc/install), then run this again.');
  }
  log(`building the load client with ${v.stdout.trim()}`);
  const r = spawnSync('go', ['build', '-o', bin, '.'], { cwd: here, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('go build failed in bench/latency');
}

const lastJson = (out) => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop());
// Setup is inside the client's time: Kafka takes a while to create 1,000 partitions.
const timeoutMs = () => (duration + 420) * 1000;

async function goKafka(b, c, rate, topic) {
  return lastJson(await run(bin, ['-mode', 'kafka', '-brokers', b.bootstrap, '-topic', topic, '-partitions', String(c.partitions),
    '-producers', String(c.producers), '-rate', String(rate), '-duration', `${duration}s`, '-warmup', `${warmup}s`, '-size', '1024'], { timeoutMs: timeoutMs() }));
}

/** The highest rate the same client keeps up with, searched from MAX_FROM msg/s (main.go findMax). */
async function goMax(b, topic) {
  const j = lastJson(await run(bin, ['-mode', 'max', '-brokers', b.bootstrap, '-topic', topic, '-partitions', String(partitions),
    '-rate', String(MAX_FROM), '-hold', `${duration}s`, '-duration', `${MAX_SECONDS}s`, '-warmup', '0s', '-size', '1024'], { timeoutMs: (MAX_SECONDS + 240) * 1000 }));
  if (!(j.maxRate > 0)) throw new Error(`no rate kept up, from ${MAX_FROM} msg/s down: ${JSON.stringify(j.steps)}`);
  return { rate: j.maxRate, held: !!j.held, steps: j.steps ?? [], holds: j.holds ?? [] };
}

// rivulet bench e2e measures from the intended send time too; it reports no p99.99.
async function nodeE2e(b, rate, topic) {
  const j = lastJson(await run(process.execPath, [cli, 'bench', 'e2e', '-b', b.bootstrap, '-t', topic, '--partitions', String(partitions),
    '--rate', String(rate), '--duration', `${duration}s`, '--size', '1024', '--acks', 'all', '--json', '--no-progress'], { timeoutMs: timeoutMs() }));
  const s = (l) => l && { count: l.count, p50: l.p50, p90: l.p90, p99: l.p99, p999: l.p999, p9999: NaN, max: l.max };
  return { client: 'node', rate, sent: j.produced + j.failed, acked: j.produced, failed: j.failed, received: j.messages, publish: s(j.sendLatencyMs), e2e: s(j.latencyMs) };
}

// ---------------------------------------------------------------- floors
async function floor(rate) {
  const server = track(spawn(process.execPath, [join(here, 'echo-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] }));
  try {
    const port = await new Promise((res, rej) => {
      server.stdout.once('data', (d) => res(String(d).trim()));
      server.once('exit', (c) => rej(new Error(`echo server exited ${c}`)));
    });
    return lastJson(await run(bin, ['-mode', 'echo', '-brokers', `127.0.0.1:${port}`, '-rate', String(rate),
      '-duration', `${duration}s`, '-warmup', `${warmup}s`, '-size', '1024'], { timeoutMs: timeoutMs() }));
  } finally {
    await stop(server);
  }
}

/** Append 1 KiB + fdatasync in a loop in the work directory (where the brokers' data goes). */
function diskFsync(work) {
  const file = join(work, 'fsync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1024, 7);
  const xs = [];
  const until = performance.now() + Math.min(duration, 5) * 1000;
  try {
    while (performance.now() < until && xs.length < 100_000) {
      const t = performance.now();
      writeSync(fd, block);
      fdatasyncSync(fd);
      xs.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
  }
  xs.sort((a, b) => a - b);
  const q = (p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  return { count: xs.length, p50: q(50), p90: q(90), p99: q(99), p999: q(99.9), p9999: q(99.99), max: xs[xs.length - 1] };
}

// ---------------------------------------------------------------- report
const PCTS = [['p50', 'p50'], ['p90', 'p90'], ['p99', 'p99'], ['p999', 'p99.9'], ['p9999', 'p99.99'], ['max', 'max']];
const fmt = (x) => {
  if (typeof x !== 'number' || !Number.isFinite(x)) return 'n/a';
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
};
const ratio = (r, k) => (k > 0 && Number.isFinite(r) ? `${r / k < 0.1 ? (r / k).toPrecision(2) : (r / k).toFixed(2)}x` : 'n/a');

/** Median of each percentile over runs; the chart uses the run whose p99 is the median. */
function combine(results, key) {
  const ok = results.filter((r) => r && r[key]);
  if (!ok.length) return null;
  const s = {};
  for (const [k] of PCTS) s[k] = median(ok.map((r) => r[key][k]));
  const byP99 = [...ok].sort((a, b) => a[key].p99 - b[key].p99);
  s.dist = byP99[(byP99.length - 1) >> 1][key].dist ?? [];
  s.behind = median(ok.map((r) => r.maxBehindMs ?? NaN));
  s.delay99 = median(ok.map((r) => r.sendDelay?.p99 ?? NaN));
  s.delay50 = median(ok.map((r) => r.sendDelay?.p50 ?? NaN));
  s.lost = Math.max(...ok.map((r) => (r.acked ?? 0) - (r.received ?? 0)));
  s.failed = Math.max(...ok.map((r) => r.failed ?? 0));
  s.unacked = Math.max(...ok.map((r) => (r.sent ?? 0) - (r.acked ?? 0) - (r.failed ?? 0)));
  s.runs = ok.length;
  return s;
}

function row(label, s, extra = '') {
  return `| ${label} | ${PCTS.map(([k]) => fmt(s?.[k])).join(' | ')} | ${extra} |\n`;
}

function ratioRow(label, r, k) {
  return `| ${label} | ${PCTS.map(([p]) => ratio(r?.[p], k?.[p])).join(' | ')} | |\n`;
}

function notes(s) {
  if (!s) return 'failed';
  const n = Number.isFinite(s.behind) ? [`send delay p50 ${fmt(s.delay50)}, p99 ${fmt(s.delay99)}, max ${fmt(s.behind)} ms`] : [];
  if (s.lost > 0) n.push(`**${s.lost} acked not consumed**`);
  if (s.failed > 0) n.push(`**${s.failed} failed**`);
  if (s.unacked > 0) n.push(`**${s.unacked} never acknowledged** (not in the figures)`);
  return n.join(', ');
}

function caseHeader(c, data) {
  if (c.group !== 'max') return `**${c.title}**`;
  const at = brokers.map((b) => `${b === 'kafka' ? 'Kafka' : 'Rivulet'} ${int(data.go[b]?.[c.id]?.rate ?? NaN)}`).join(', ');
  return `**${c.title}** (${at} msg/s)`;
}

function table(mode, data) {
  let md = `| case (ms) | ${PCTS.map(([, l]) => l).join(' | ')} | notes |\n|---|${PCTS.map(() => '---:').join('|')}|---|\n`;
  if (data.disk) md += row('disk: 1 KiB append + fdatasync', data.disk, `${data.disk.count.toLocaleString('en-US')} fsyncs`);
  for (const c of CASES) {
    const R = data.go.rivulet?.[c.id] ?? {};
    const K = data.go.kafka?.[c.id] ?? {};
    md += `| ${caseHeader(c, data)} | | | | | | | |\n`;
    const f = c.group === 'rates' && data.floor[c.rate()];
    if (f) md += row('floor: Node echo round trip', f, notes(f));
    for (const key of ['publish', 'e2e']) {
      const name = key === 'publish' ? 'publish (due → ack)' : 'end-to-end (due → consumed)';
      if (K[key]) md += row(`Kafka ${name}`, K[key], notes(K[key]));
      if (R[key]) md += row(`Rivulet ${name}`, R[key], notes(R[key]));
      if (K[key] && R[key]) md += ratioRow(`Rivulet/Kafka ${key}`, R[key], K[key]);
    }
    if (c.id === `rate-${nodeRate}`) {
      for (const b of brokers) {
        const n = data.node[b];
        if (n?.e2e) md += row(`${b === 'kafka' ? 'Kafka' : 'Rivulet'} end-to-end, Node client`, n.e2e, notes(n.e2e));
      }
    }
  }
  return md;
}

function maxLine(data) {
  if (!fractions.length) return '';
  const one = (b) => {
    const m = data.max[b];
    const name = b === 'kafka' ? 'Kafka' : 'Rivulet';
    return m ? `${name} **${int(m.rate)} msg/s** (${int(m.rate / 1024)} MiB/s${m.held ? '' : `; **did not hold ${duration} s** before the search's time ran out`})` : `${name} failed`;
  };
  const k = data.max.kafka?.rate;
  const r = data.max.rivulet?.rate;
  return `Measured maximum: ${brokers.map(one).join('; ')}${k && r ? `; Rivulet/Kafka ${(r / k).toFixed(2)}x` : ''}.\n\n`;
}

// ---------------------------------------------------------------- chart
/** One row of panels per mode: the fixed rates with their floors, then the other cases. */
function chart(all) {
  const w = 640;
  const h = 380;
  const panelW = w + 130;
  const panelH = h + 90;
  const label = (b) => (b === 'kafka' ? 'Kafka' : 'Rivulet');
  let body = '';
  let cols = 1;
  modes.forEach((mode, m) => {
    const data = all[mode];
    const fixed = [];
    const other = [];
    CASES.forEach((c, i) => {
      const color = COLORS[i % COLORS.length];
      const into = c.group === 'rates' ? fixed : other;
      for (const b of brokers) {
        const s = data.go[b]?.[c.id];
        if (s?.e2e?.dist?.length) into.push({ label: `${label(b)} ${c.short}${c.group === 'max' ? ` (${int(s.rate)}/s)` : ''}`, dist: s.e2e.dist, color, dash: b === 'kafka' ? '6 4' : '' });
      }
      const f = c.group === 'rates' && data.floor[c.rate()];
      if (f?.dist?.length) fixed.push({ label: `floor ${c.short}`, dist: f.dist, color, dash: '1 3', width: 1.5 });
    });
    const name = mode === 'fsync' ? 'fsync per batch' : 'no fsync';
    const y = 40 + m * panelH;
    const panels = [
      [fixed, `end-to-end, ${name}, fixed rates (dotted: Node echo floor)`],
      [other, `end-to-end, ${name}, % of max and fan-in`],
    ].filter(([series]) => series.length);
    panels.forEach(([series, title], i) => { body += chartPanel(title, series, 90 + i * panelW, y, w, h); });
    cols = Math.max(cols, panels.length);
  });
  const W = 90 + cols * panelW;
  const H = 40 + modes.length * panelH;
  const note = `solid Rivulet, dashed Kafka ${KAFKA_VERSION}; latency from the time each record was due`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 10}" font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n`
    + `<text x="${W / 2}" y="16" text-anchor="middle">${note}</text>\n${body}</svg>\n`;
}

// ---------------------------------------------------------------- main
/** Counts the jobs and estimates the time left from the seconds each is expected to take. */
function progress(jobs) {
  const total = jobs.reduce((t, j) => t + j, 0);
  const started = Date.now();
  let n = 0;
  let done = 0;
  return (cost) => {
    n++;
    done += cost;
    const left = ((Date.now() - started) / done) * (total - done) / 1000;
    return `[${n}/${jobs.length}, ETA ${Math.floor(left / 60)} min ${Math.round(left % 60)} s]`;
  };
}

async function main() {
  if (!existsSync(cli)) throw new Error('dist/ is missing: run npm run build first');
  buildClient();
  const work = mkdtempSync(join(tmpdir(), 'rivulet-latency-'));
  setWork(work);
  if (brokers.includes('kafka')) ensureKafka({ benchTool: false });
  const started = Date.now();
  const errors = [];

  // Seconds each job is expected to take, for the ETA: a broker start costs more for Kafka.
  const startCost = { kafka: 12, rivulet: 4 };
  const jobCost = (b) => duration + startCost[b];
  const maxCost = (b) => 50 + 2 * duration + startCost[b];
  const plan = rates.flatMap(() => Array(runs).fill(duration + 1));
  for (const _ of modes) {
    if (fractions.length) plan.push(...brokers.map(maxCost));
    for (const c of CASES) for (let r = 0; r < runs; r++) plan.push(...brokers.map((b) => jobCost(b) + (c.id === `rate-${nodeRate}` ? duration + 3 : 0)));
  }
  const step = progress(plan);

  // The floor does not depend on the mode: measured once per rate.
  const floors = {};
  for (const rate of rates) {
    try {
      const rs = [];
      for (let r = 0; r < runs; r++) {
        rs.push(await floor(rate));
        log(`${step(duration + 1)} floor ${rate}/s run ${r + 1}/${runs}`);
      }
      floors[rate] = combine(rs, 'roundTrip');
      log(`floor ${rate}/s: p50 ${fmt(floors[rate].p50)} p99 ${fmt(floors[rate].p99)} p99.9 ${fmt(floors[rate].p999)} max ${fmt(floors[rate].max)} ms`);
    } catch (e) {
      errors.push(`floor ${rate}/s: ${String(e.message).split('\n')[0]}`);
      log(`floor ${rate}/s FAILED: ${e.message}`);
    }
  }

  const all = {};
  for (const mode of modes) {
    const data = { disk: null, floor: floors, go: {}, node: {}, max: {} };
    all[mode] = data;
    if (mode === 'fsync') {
      settleDisk();
      data.disk = diskFsync(work);
      log(`disk fsync: p50 ${fmt(data.disk.p50)} p99 ${fmt(data.disk.p99)} max ${fmt(data.disk.max)} ms over ${data.disk.count} fsyncs`);
    }
    // Each broker's maximum first: the fraction cases run at their share of it.
    if (fractions.length) {
      for (const name of brokers) {
        const t = Date.now();
        settleDisk();
        try {
          data.max[name] = await withBroker(name, mode, (b) => goMax(b, 'latency-max'));
          const m = data.max[name];
          const steps = (xs) => xs.map(([r, ok]) => `${int(r)}${ok ? '' : '✗'}`).join(' ');
          log(`${step(maxCost(name))} ${mode} maximum ${name}: ${int(m.rate)} msg/s${m.held ? '' : ' (did not hold)'}; steps ${steps(m.steps)}; held ${duration} s: ${steps(m.holds)} (${((Date.now() - t) / 1000).toFixed(0)} s)`);
        } catch (e) {
          step(maxCost(name));
          errors.push(`${mode} maximum ${name}: ${String(e.message).split('\n')[0]}`);
          log(`${mode} maximum ${name} FAILED: ${e.message}`);
        }
      }
    }
    const raw = {}; // broker -> case id -> [result]
    const rawNode = {};
    for (const c of CASES) {
      for (let r = 0; r < runs; r++) {
        for (const name of brokers) {
          const t = Date.now();
          const cost = jobCost(name) + (c.id === `rate-${nodeRate}` ? duration + 3 : 0);
          const rate = c.group === 'max' ? (data.max[name] ? c.rate(data.max[name].rate) : null) : c.rate();
          if (rate === null) {
            step(cost);
            if (r === 0) errors.push(`${mode} ${c.title} ${name}: no measured maximum`);
            continue;
          }
          settleDisk();
          let counted = false;
          const tick = () => { counted = true; return step(cost); };
          try {
            await withBroker(name, mode, async (b) => {
              const res = await goKafka(b, c, rate, 'latency');
              ((raw[name] ??= {})[c.id] ??= []).push(res);
              log(`${tick()} ${mode} ${c.title}${c.group === 'max' ? ` (${int(rate)}/s)` : ''} run ${r + 1}/${runs} ${name}: e2e p50 ${fmt(res.e2e.p50)} p99 ${fmt(res.e2e.p99)} p99.9 ${fmt(res.e2e.p999)} max ${fmt(res.e2e.max)} ms, `
                + `publish p99 ${fmt(res.publish.p99)} ms, ${res.received}/${res.sent} consumed (${((Date.now() - t) / 1000).toFixed(0)} s)`);
              if (c.id === `rate-${nodeRate}`) {
                const nd = await nodeE2e(b, rate, 'latency-node');
                (rawNode[name] ??= []).push(nd);
                log(`    Node client ${name}: e2e p50 ${fmt(nd.e2e?.p50)} p99 ${fmt(nd.e2e?.p99)} p99.9 ${fmt(nd.e2e?.p999)} max ${fmt(nd.e2e?.max)} ms`);
              }
            });
          } catch (e) {
            errors.push(`${mode} ${c.title} ${name}: ${String(e.message).split('\n')[0]}`);
            log(`${counted ? '' : `${tick()} `}${mode} ${c.title} run ${r + 1}/${runs} ${name} FAILED: ${e.message}`);
          }
        }
      }
    }
    for (const name of brokers) {
      data.go[name] = {};
      for (const c of CASES) {
        const rs = raw[name]?.[c.id] ?? [];
        data.go[name][c.id] = { rate: rs[0]?.rate, publish: combine(rs, 'publish'), e2e: combine(rs, 'e2e') };
      }
      data.node[name] = { e2e: combine(rawNode[name] ?? [], 'e2e') };
    }
  }
  const total = ((Date.now() - started) / 1000).toFixed(0);

  const date = new Date().toISOString().slice(0, 10);
  const base = `${date}-latency${quick ? '-quick' : ''}`;
  const title = { fsync: 'fsync per batch (Kafka log.flush.interval.messages=1, Rivulet --fsync acks-all)', nofsync: 'no fsync (Kafka defaults, Rivulet --fsync never)' };
  let md = `# Latency: Rivulet vs Apache Kafka ${KAFKA_VERSION} — ${date}${quick ? ' (--quick smoke run)' : ''}\n\n`;
  md += `Command: \`npm run bench:latency${argv.length ? ' -- ' + argv.join(' ') : ''}\`; wall time ${total} s.\n\n`;
  md += `Client: bench/latency/main.go (franz-go, one process producing and consuming), 1 KiB records, acks=all, ${partitions} partitions round-robin, `
    + `open loop at a fixed rate for ${duration} s per case (the first ${warmup} s not counted); every latency counts from the time the record was due, `
    + `so a stall anywhere (client, broker, disk) shows up rather than slowing the schedule. ${runs} run(s) per case, each on a fresh broker and data directory; `
    + 'the median of each percentile is shown. Ratio = Rivulet / Kafka (below 1 is better for Rivulet). '
    + '"send delay" is how late the Go client handed records to franz-go against their due time (timer wake-up, its own pauses; already inside every latency figure of its row; for the floor, the sender\'s). '
    + (nodeRate && rates.includes(nodeRate) ? `The Node client row is \`rivulet bench e2e\` at ${int(nodeRate)} msg/s on the same broker after the Go case (it reports no p99.99). ` : '')
    + 'The floor is the same Go client against a bare Node TCP echo server (1 KiB request, 8-byte reply): loopback plus one event loop, no protocol and no disk.\n\n';
  md += 'Cases: ' + [
    rates.length && `fixed rates (${rates.map(int).join(', ')} msg/s)`,
    fractions.length && `${fractions.map(pct).join(' and ')} of each broker's own maximum, so each runs equally loaded relative to what it can do `
      + '(the two brokers then run at different rates: their ratio compares latency at the same relative load). The maximum is measured first, once per broker and mode, '
      + `on a broker of its own, by the same client open loop, as the OpenMessaging Benchmark finds its maximum sustainable rate: from ${int(MAX_FROM)} msg/s the rate rises by half every 2 s `
      + 'while the records due but not yet consumed grow by less than a tenth of those due over the second half of the step (and stay under a second\'s worth), then the range up to the first rate that fell behind is bisected with 3 s steps to within 3%; '
      + `the rate found must then hold for ${duration} s by the same test (short steps flatter: the page cache takes the first gigabytes at memory speed), 20% lower each time it does not. `
      + 'A closed loop would overstate it: with thousands of records in flight its batches are far larger than an open loop sends, and it reached twice the rate the open loop keeps up with',
    manyPartitions && `fan-in over partitions: ${int(manyPartitions)} partitions at ${int(faninRate)} msg/s (a few records per partition per second; `
      + 'before the clock starts, as in every case, 8 KiB warm-up records go to every partition until Kafka has created each one\'s index files, a one-time stall of seconds at this count)',
    manyProducers && `fan-in over connections: ${int(manyProducers)} producer clients, each its own TCP connection, fed round-robin from the one schedule, at ${int(faninRate)} msg/s over ${partitions} partitions`,
  ].filter(Boolean).join('; ') + '.\n\n';
  for (const mode of modes) md += `## ${title[mode]}\n\n${maxLine(all[mode])}${table(mode, all[mode])}\n`;
  md += `Chart: [${base}.svg](${base}.svg), end-to-end latency by percentile.\n\n`;
  md += `## Machine\n\n${machine()}\n- Go client: ${spawnSync('go', ['version'], { encoding: 'utf8' }).stdout.trim()}, franz-go v1.22.3\n\n`;
  md += 'Everything shares this machine\'s cores: broker, load client and (for Kafka) the JVM\'s own threads; compare within a run.\n';
  if (errors.length) md += `\n## Failures\n\n${errors.map((e) => `- ${e}`).join('\n')}\n`;

  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${base}.md`), md);
  writeFileSync(join(outDir, `${base}.svg`), chart(all));
  console.log(md);
  log(`written bench/results/${base}.md and .svg`);
  return errors.length;
}

let code = 1;
try {
  code = (await main()) ? 1 : 0;
} catch (e) {
  console.error(e.message ?? e);
} finally {
  await cleanup();
}
process.exit(code);
