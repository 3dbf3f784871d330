// Rivulet and Apache Kafka side by side on this machine, in one run, with the same clients.
//   npm run bench:compare [-- --quick] [--runs N] [--only w1,w2,w3,w4,w5,w6] [--modes fsync,nofsync]
//
// Apache Kafka 4.4.0 (KRaft, single combined node) comes from Maven Central through
// bench/compare/kafka/pom.xml (its kafka.version is the version run and reported); its jars
// are copied into bench/compare/kafka/lib on first use, and again when that version changes.
// Clients: Apache Kafka's own ProducerPerformance, ConsumerPerformance and EndToEndLatency,
// bench/compare/java/BenchTool.java (Java client: e2e latency at a fixed rate, keyed
// producer, grouped consumers, first acknowledged produce) and the Node driver
// bench/compare/node-driver.mjs (@platformatic/kafka). Workloads follow the OpenMessaging
// Benchmark; every case runs against a fresh broker process on a fresh data directory.
// The result table is printed and written to bench/results/<date>-compare-kafka-<version>[-quick].md.

import { existsSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  KAFKA_VERSION, root, cli, configure, setWork, stopAllOnSignals, cleanup, log, run, freePort, rssMb, sampleRss, median,
  ensureKafka, java, tool, starters, withBroker, createTopic, stop, settleDisk, machine,
} from './brokers.mjs';
import { parseArgs } from '../args.mjs';

const here = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const HELP = `npm run bench:compare [-- options]

Rivulet and Apache Kafka side by side on this machine, in one run, with the same clients
(Kafka's own perf tools, a Java client tool, a Node driver); every case on a fresh broker.

  --quick              small counts: a smoke run of a minute or two
  --runs N             runs per case; the table shows medians (default 1)
  --only w1,...,w6     workloads: w1 fixed-rate latency, w2 max throughput, w3 100 partitions
                       with 4 producers and 4 grouped consumers, w4 keyed small records,
                       w5 start to first acknowledged produce, w6 transactions (default all)
  --modes fsync,nofsync  fsync per batch (Kafka log.flush.interval.messages=1, Rivulet
                       --fsync acks-all) and/or none (Kafka defaults, Rivulet --fsync never)
  --keep               leave the work directory (broker data) in place
  --verbose            the tools' output as they run

Writes bench/results/<date>-compare-kafka-<version>[-quick].md and prints the table.
`;
const { flag, num, oneOf, done } = parseArgs(argv, HELP);
const quick = flag('--quick');
const runs = num('--runs', 1, 1, { int: true });
const only = oneOf('--only', 'w1,w2,w3,w4,w5,w6', ['w1', 'w2', 'w3', 'w4', 'w5', 'w6']);
const modes = oneOf('--modes', 'fsync,nofsync', ['fsync', 'nofsync']);
const verbose = flag('--verbose');
const keep = flag('--keep');
done();

// Message counts: the full run takes about 5 minutes on a 2-core machine (fsync cases dominate).
const N = quick
  ? { w1: 20_000, w1rt: 200, w2: 20_000, w3: 20_000, w4: 50_000, w4node: 20_000, w6: 100 }
  : { w1: 100_000, w1rt: 1_000, w2: 100_000, w3: 100_000, w4: 200_000, w4node: 100_000, w6: 1_000 };
/** Records per transaction in w6. */
const W6_PER_TXN = 100;
const W1_RATE = 50_000;
const W5_PROBES = 5;

configure({ verbose, keep });
stopAllOnSignals();

// ---------------------------------------------------------------- tool output parsers
function parsePP(out) {
  const re = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/;
  const m = re.exec(out);
  if (!m) throw new Error(`no ProducerPerformance summary in:\n${out.slice(-1000)}`);
  return { count: +m[1], msgPerSec: +m[2], mbPerSec: +m[3], avg: +m[4], max: +m[5], p50: +m[6], p95: +m[7], p99: +m[8], p999: +m[9] };
}

function parseCP(out) {
  const lines = out.trim().split('\n');
  const h = lines.findIndex((l) => l.startsWith('start.time'));
  if (h < 0 || !lines[h + 1]) throw new Error(`no ConsumerPerformance summary in:\n${out.slice(-1000)}`);
  const keys = lines[h].split(',').map((s) => s.trim());
  const vals = lines[h + 1].split(',').map((s) => s.trim());
  return Object.fromEntries(keys.map((k, i) => [k, vals[i]]));
}

function parseE2E(out) {
  const a = /Avg latency: ([\d.]+) ms/.exec(out);
  const p = /50th = (\d+), 99th = (\d+), 99\.9th = (\d+)/.exec(out);
  if (!p) throw new Error(`no EndToEndLatency summary in:\n${out.slice(-1000)}`);
  return { avg: a ? +a[1] : NaN, p50: +p[1], p99: +p[2], p999: +p[3] };
}

const lastJson = (out) => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop());

// --bootstrap-server and --command-property: Kafka 4.4 deprecates --producer-props.
const pp = (b, topic, n, rate, size = 1024) => java('org.apache.kafka.tools.ProducerPerformance', [
  '--bootstrap-server', b.bootstrap, '--topic', topic, '--num-records', String(n), '--record-size', String(size),
  '--throughput', String(rate), '--command-property', 'acks=all'], { timeoutMs: 600_000 }).then(parsePP);

// ---------------------------------------------------------------- workloads
// each returns { metricKey: value }; metric descriptions live in METRICS
const workloads = {
  async w1(b) {
    await createTopic(b, 'w1', 16);
    let ready;
    const isReady = new Promise((r) => { ready = r; });
    const cons = tool(['consume', b.bootstrap, 'w1', '-', String(N.w1), '10000'], { timeoutMs: 600_000, onLine: (l) => l === 'READY' && ready() });
    await Promise.race([isReady, cons]);
    const p = await pp(b, 'w1', N.w1, W1_RATE);
    const c = lastJson(await cons);
    const rt = parseE2E(await java('org.apache.kafka.tools.EndToEndLatency', [b.bootstrap, 'w1', String(N.w1rt), 'all', '1024'], { timeoutMs: 300_000 }));
    return {
      'w1.rate': p.msgPerSec, 'w1.pub.p50': p.p50, 'w1.pub.p99': p.p99, 'w1.pub.p999': p.p999, 'w1.pub.max': p.max,
      'w1.e2e.p50': c.p50, 'w1.e2e.p99': c.p99, 'w1.e2e.p999': c.p999, 'w1.e2e.max': c.max, 'w1.e2e.lost': N.w1 - c.count,
      'w1.rt.p50': rt.p50, 'w1.rt.p99': rt.p99, 'w1.rt.p999': rt.p999,
    };
  },

  async w2(b) {
    await createTopic(b, 'w2', 16);
    const rss = sampleRss(b.pid);
    const p = await pp(b, 'w2', N.w2, -1);
    const c = parseCP(await java('org.apache.kafka.tools.ConsumerPerformance', [
      '--bootstrap-server', b.bootstrap, '--topic', 'w2', '--num-records', String(N.w2), '--timeout', '20000', '--group', 'w2-perf'], { timeoutMs: 600_000 }));
    const peak = rss();
    return {
      'w2.in': p.mbPerSec, 'w2.in.p99': p.p99, 'w2.out': +c['fetch.MB.sec'], 'w2.out.msgs': +c['data.consumed.in.nMsg'], 'w2.rss': peak,
    };
  },

  async w3(b) {
    await createTopic(b, 'w3', 100);
    const per = Math.floor(N.w3 / 4);
    const consumers = [0, 1, 2, 3].map(() => tool(['consume', b.bootstrap, 'w3', 'w3-group', '0', '6000'], { timeoutMs: 600_000 }));
    const producers = [0, 1, 2, 3].map(() => pp(b, 'w3', per, -1));
    const ps = await Promise.all(producers);
    const cs = (await Promise.all(consumers)).map(lastJson);
    const bytes = cs.reduce((s, c) => s + c.bytes, 0);
    const got = cs.filter((c) => c.count > 0);
    const span = (Math.max(...got.map((c) => c.lastMs)) - Math.min(...got.map((c) => c.firstMs))) / 1000;
    return {
      'w3.in': ps.reduce((s, p) => s + p.mbPerSec, 0),
      'w3.out': span > 0 ? bytes / 1048576 / span : NaN,
      'w3.consumed': cs.reduce((s, c) => s + c.count, 0) / (per * 4),
    };
  },

  async w4(b) {
    await createTopic(b, 'w4', 16);
    const j = lastJson(await tool(['produce', b.bootstrap, 'w4', String(N.w4), '100', 'all', '10000'], { timeoutMs: 600_000 }));
    const r = { 'w4.java.msgs': j.msgPerSec, 'w4.java.mb': j.mbPerSec, 'w4.java.errors': j.errors };
    const nd = lastJson(await run(process.execPath, [join(here, 'node-driver.mjs'), 'produce', b.bootstrap, 'w4', String(N.w4node), '100', '10000'], { timeoutMs: 600_000 }));
    r['w4.node.msgs'] = nd.msgPerSec;
    r['w4.node.p99'] = nd.p99;
    return r;
  },

  async w6(b) {
    await createTopic(b, 'w6', 16);
    const j = lastJson(await tool(['txn', b.bootstrap, 'w6', String(N.w6), String(W6_PER_TXN), '100'], { timeoutMs: 600_000 }));
    return { 'w6.txns': j.txnPerSec, 'w6.msgs': j.msgPerSec, 'w6.commit.p50': j.commitP50, 'w6.commit.p99': j.commitP99, 'w6.unseen': j.count - j.seen };
  },
};


// w5 needs the broker's port before the client starts, so it picks the ports itself.
// Two probes, each on its own fresh broker: the Java client (its reconnect and metadata
// back-off included) and bench/first-ack.ts, a wire-level probe retrying every 2 ms.
async function w5(name, mode) {
  const java = await w5java(name, mode);
  const { firstAck } = await import(pathToFileURL(join(root, 'dist', 'bench', 'first-ack.js')).href);
  // The probe is cheap, so each run takes the median of W5_PROBES cold starts.
  const probes = [];
  for (let i = 0; i < W5_PROBES; i++) {
    const port = await freePort();
    settleDisk();
    await new Promise((r) => setTimeout(r, 500)); // let the previous process's exit settle: a cold start on an idle machine
    const probe = firstAck(port, 'w5', 60_000);
    probe.catch(() => undefined); // awaited below; this only keeps a failed start from leaving it unhandled
    const b = await starters[name](mode, port);
    try {
      probes.push((await probe).ackedAt - b.spawnedAt); // one monotonic clock: Date.now() drifts from it by ms per minute
    } finally {
      await stop(b.child);
      rmSync(b.dir, { recursive: true, force: true });
    }
  }
  probes.sort((x, y) => x - y);
  return { ...java, 'w5.probe': probes[probes.length >> 1] };
}

async function w5java(name, mode) {
  let ready;
  const isReady = new Promise((r) => { ready = r; });
  const port = await freePort();
  const fa = tool(['firstack', `127.0.0.1:${port}`, 'w5', '60000'], { timeoutMs: 90_000, onLine: (l) => l === 'READY' && ready() });
  await Promise.race([isReady, fa]);
  settleDisk();
  await new Promise((r) => setTimeout(r, 500)); // the client's JVM has started; let the machine settle
  const b = await starters[name](mode, port);
  try {
    const j = lastJson(await fa);
    await new Promise((r) => setTimeout(r, 1000));
    return { 'w5.first': j.ackMs - b.t0, 'w5.rss': rssMb(b.pid) };
  } finally {
    await stop(b.child);
    rmSync(b.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- metric catalogue
// better: 'higher' or 'lower'
const METRICS = [
  ['w1', 'w1.rate', 'produce rate reached (msg/s, target 50,000)', 'higher'],
  ['w1', 'w1.pub.p50', 'publish latency p50 (ms)', 'lower'],
  ['w1', 'w1.pub.p99', 'publish latency p99 (ms)', 'lower'],
  ['w1', 'w1.pub.p999', 'publish latency p99.9 (ms)', 'lower'],
  ['w1', 'w1.pub.max', 'publish latency max (ms)', 'lower'],
  ['w1', 'w1.e2e.p50', 'end-to-end latency p50 (ms)', 'lower'],
  ['w1', 'w1.e2e.p99', 'end-to-end latency p99 (ms)', 'lower'],
  ['w1', 'w1.e2e.p999', 'end-to-end latency p99.9 (ms)', 'lower'],
  ['w1', 'w1.e2e.max', 'end-to-end latency max (ms)', 'lower'],
  ['w1', 'w1.e2e.lost', 'records not seen by the e2e consumer', 'lower'],
  ['w1', 'w1.rt.p50', 'round trip, 1 in flight (EndToEndLatency) p50 (ms)', 'lower'],
  ['w1', 'w1.rt.p99', 'round trip, 1 in flight p99 (ms)', 'lower'],
  ['w1', 'w1.rt.p999', 'round trip, 1 in flight p99.9 (ms)', 'lower'],
  ['w2', 'w2.in', 'MB/s in (ProducerPerformance, max rate)', 'higher'],
  ['w2', 'w2.in.p99', 'publish latency p99 at max rate (ms)', 'lower'],
  ['w2', 'w2.out', 'MB/s out (ConsumerPerformance fetch.MB.sec)', 'higher'],
  ['w2', 'w2.rss', 'broker peak RSS during w2 (MB)', 'lower'],
  ['w3', 'w3.in', 'MB/s in, sum of 4 producers', 'higher'],
  ['w3', 'w3.out', 'MB/s out, 4 consumers in one group', 'higher'],
  ['w3', 'w3.consumed', 'fraction of records consumed', 'higher'],
  ['w4', 'w4.java.msgs', 'keyed 100 B, Java client: msg/s', 'higher'],
  ['w4', 'w4.java.mb', 'keyed 100 B, Java client: MB/s (values)', 'higher'],
  ['w4', 'w4.node.msgs', 'keyed 100 B, Node driver: msg/s', 'higher'],
  ['w4', 'w4.node.p99', 'keyed 100 B, Node driver: publish p99 (ms)', 'lower'],
  ['w6', 'w6.txns', `transactions of ${W6_PER_TXN} keyed 100 B records, Java client, one after another: transactions/s`, 'higher'],
  ['w6', 'w6.msgs', 'the same: records/s', 'higher'],
  ['w6', 'w6.commit.p50', 'commitTransaction latency p50 (ms)', 'lower'],
  ['w6', 'w6.commit.p99', 'commitTransaction latency p99 (ms)', 'lower'],
  ['w6', 'w6.unseen', 'committed records a read_committed consumer did not see', 'lower'],
  ['w5', 'w5.first', 'process start to first acknowledged produce, Java client (ms)', 'lower'],
  ['w5', 'w5.probe', `process start to first acknowledged produce, 2 ms retry probe, median of ${W5_PROBES} starts (ms)`, 'lower'],
  ['w5', 'w5.rss', 'idle RSS 1 s after first produce (MB)', 'lower'],
];

// ---------------------------------------------------------------- main
const fmt = (x) => {
  if (typeof x !== 'number' || !Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2).replace(/\.?0+$/, '') || '0';
};

async function main() {
  if (!existsSync(cli)) throw new Error('dist/ is missing: run npm run build first');
  setWork(mkdtempSync(join(tmpdir(), 'rivulet-compare-')));
  ensureKafka();
  const started = Date.now();
  const results = {}; // mode -> broker -> metric -> [values]
  const errors = [];
  for (const mode of modes) {
    results[mode] = { kafka: {}, rivulet: {} };
    for (const w of only) {
      for (let r = 0; r < runs; r++) {
        for (const name of ['kafka', 'rivulet']) {
          const t = Date.now();
          try {
            const m = w === 'w5' ? await w5(name, mode) : await withBroker(name, mode, async (b) => workloads[w](b));
            for (const [k, v] of Object.entries(m)) (results[mode][name][k] ??= []).push(v);
            log(`${mode} ${w} run ${r + 1}/${runs} ${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`, JSON.stringify(m));
          } catch (e) {
            errors.push(`${mode} ${w} ${name}: ${String(e.message).split('\n')[0]}`);
            log(`${mode} ${w} ${name} FAILED: ${e.message}`);
          }
        }
      }
    }
  }
  const total = ((Date.now() - started) / 1000).toFixed(0);

  const date = new Date().toISOString().slice(0, 10);
  const title = { fsync: 'fsync per batch (Kafka log.flush.interval.messages=1, Rivulet --fsync acks-all, producers acks=all)', nofsync: 'no fsync (Kafka defaults, Rivulet --fsync never, producers acks=all)' };
  let md = `# Rivulet vs Apache Kafka — ${date}${quick ? ' (--quick smoke run, tiny counts)' : ''}\n\n`;
  md += `Command: \`npm run bench:compare${argv.length ? ' -- ' + argv.join(' ') : ''}\`; ${runs} run(s) per case, median shown; every case on a fresh broker process and data directory; wall time ${total} s.\n\n`;
  md += `Counts: w1 ${N.w1.toLocaleString('en-US')} × 1 KiB at ${W1_RATE.toLocaleString('en-US')} msg/s to 16 partitions (+ ${N.w1rt.toLocaleString('en-US')} EndToEndLatency round trips); `
    + `w2 ${N.w2.toLocaleString('en-US')} × 1 KiB, 16 partitions; w3 ${N.w3.toLocaleString('en-US')} × 1 KiB, 100 partitions, 4 ProducerPerformance + 4 grouped consumers concurrently; `
    + `w4 ${N.w4.toLocaleString('en-US')} (Java) / ${N.w4node.toLocaleString('en-US')} (Node) × 100 B keyed over 10,000 keys, 16 partitions; `
    + `w6 ${N.w6.toLocaleString('en-US')} transactions × ${W6_PER_TXN} records of 100 B, 16 partitions.\n\n`;
  md += 'Ratio = Rivulet / Kafka; the "better" column says which direction wins. End-to-end latency is now − CreateTime at the consumer (ms resolution).\n\n';
  for (const mode of modes) {
    md += `## ${title[mode] ?? mode}\n\n| workload | metric | better | Kafka | Rivulet | Rivulet/Kafka |\n|---|---|---|---:|---:|---:|\n`;
    for (const [w, key, label, better] of METRICS) {
      if (!only.includes(w)) continue;
      const k = median(results[mode].kafka[key] ?? []);
      const rv = median(results[mode].rivulet[key] ?? []);
      const ratio = k > 0 && Number.isFinite(rv) ? `${(rv / k).toFixed(2)}x` : 'n/a';
      md += `| ${w} | ${label} | ${better} | ${fmt(k)} | ${fmt(rv)} | ${ratio} |\n`;
    }
    md += '\n';
  }
  md += `## Machine\n\n${machine()}\n\n`;
  md += 'The machine is noisy: its 2 cores are shared by the broker under test and all load generators (several JVMs and Node processes at once in w3), so absolute figures are low and run-to-run variance is high; compare the two brokers within a run, and prefer `--runs 3` medians.\n';
  if (errors.length) md += `\n## Failures\n\n${errors.map((e) => `- ${e}`).join('\n')}\n`;

  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${date}-compare-kafka-${KAFKA_VERSION}${quick ? '-quick' : ''}.md`);
  writeFileSync(file, md);
  console.log(md);
  log(`written ${file.slice(root.length + 1)}`);
  return errors.length;
}

let code = 1;
try {
  code = (await main()) ? 1 : 0;
} catch (e) {
  console.error(e);
} finally {
  await cleanup();
}
process.exit(code);
