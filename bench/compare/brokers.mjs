// Shared by the scripts that run Rivulet beside Apache Kafka (bench/compare/run.mjs,
// bench/latency/run.mjs): child processes tracked by pid and stopped on exit or Ctrl-C,
// Apache Kafka's jars from Maven Central (bench/compare/kafka/pom.xml), both brokers started
// on free ports with a fresh data directory under the run's work directory, and the
// machine notes printed with results.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, totalmem, release, platform } from 'node:os';
import { join, resolve, dirname, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
const kafkaDir = join(here, 'kafka');
const lib = join(kafkaDir, 'lib');
export const cli = join(root, 'dist', 'bin', 'rivulet.js');
// The one place the peer's version is set; the jar check, the machine notes and the file names follow it.
export const KAFKA_VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(join(kafkaDir, 'pom.xml'), 'utf8'))[1];

const settings = { verbose: false, keep: false };
let work = null;

/** verbose: brokers' stderr and tool output shown; keep: the work directory is left in place. */
export function configure(o) {
  Object.assign(settings, o);
}

/** The directory every broker's data and temporary file of this run goes under; removed by cleanup(). */
export function setWork(dir) {
  work = dir;
}

export const live = new Map(); // pid -> ChildProcess

export function track(child) {
  live.set(child.pid, child);
  child.once('exit', () => live.delete(child.pid));
  return child;
}

export async function stop(child, graceMs = 8000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try { process.kill(child.pid, 'SIGTERM'); } catch { return; }
  const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, graceMs);
  await exited;
  clearTimeout(t);
}

export async function cleanup() {
  await Promise.all([...live.values()].map((c) => stop(c, 3000)));
  if (work && !settings.keep) rmSync(work, { recursive: true, force: true });
}

/** On Ctrl-C or SIGTERM: stop every process started here (by pid), remove the work directory, exit 130. */
export function stopAllOnSignals() {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, async () => {
      console.error(`\n${sig}: stopping ${live.size} process(es)`);
      await cleanup();
      process.exit(130);
    });
  }
}

export function log(...a) {
  console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
}

/** Runs a command to completion; resolves with stdout, rejects on non-zero exit or timeout. */
export function run(cmd, args, { timeoutMs = 300_000, onLine, cwd } = {}) {
  return new Promise((res, rej) => {
    const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd }));
    let out = '';
    let err = '';
    let buf = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (onLine) {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
    });
    child.stderr.on('data', (d) => { err += d; if (err.length > 200_000) err = err.slice(-100_000); });
    const t = setTimeout(() => { log(`timeout: ${args.slice(0, 6).join(' ')}`); stop(child, 2000); }, timeoutMs);
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      if (settings.verbose) log(`${cmd} ${args.slice(-8).join(' ')} -> ${code}\n${err.slice(-2000)}`);
      if (code === 0) res(out);
      else rej(new Error(`${cmd} ${args.slice(0, 10).join(' ')} exited ${code ?? sig}\n${err.slice(-3000)}\n${out.slice(-2000)}`));
    });
  });
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export function sampleRss(pid, everyMs = 200) {
  let peak = 0;
  const t = setInterval(() => { const r = rssMb(pid); if (r > peak) peak = r; }, everyMs);
  return () => { clearInterval(t); const r = rssMb(pid); return Math.max(peak, Number.isNaN(r) ? 0 : r); };
}

export const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** p-th percentile of an ascending array (NaN when empty). */
export const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
/** CPU seconds (user + system, every thread) a process has used so far, from /proc/<pid>/stat (fields 14 and 15). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

// ---------------------------------------------------------------- Java side
const JAVA_LOG = ['-Dorg.slf4j.simpleLogger.defaultLogLevel=error', '-Dlog4j2.level=error'];
let cp = '';

export function ensureKafka({ benchTool = true } = {}) {
  const have = existsSync(lib) && readdirSync(lib).includes(`kafka_2.13-${KAFKA_VERSION}.jar`);
  if (!have) {
    // Jars of an earlier version would share the classpath with the new ones: start empty.
    rmSync(lib, { recursive: true, force: true });
    log(`copying Apache Kafka ${KAFKA_VERSION} jars from Maven Central into bench/compare/kafka/lib`);
    const r = spawnSync('mvn', ['-q', '-f', join(kafkaDir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('mvn dependency:copy-dependencies failed');
  }
  if (!benchTool) {
    cp = `${lib}/*`;
    return;
  }
  const classes = join(work, 'classes');
  mkdirSync(classes, { recursive: true });
  const r = spawnSync('javac', ['-nowarn', '-cp', `${lib}/*`, '-d', classes, join(here, 'java', 'BenchTool.java')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('javac BenchTool.java failed');
  cp = `${lib}/*${delimiter}${classes}`;
}

export const java = (main, args, o) => run('java', ['-Xmx512m', ...JAVA_LOG, '-cp', cp, main, ...args], o);
export const tool = (args, o) => java('BenchTool', args, o);

// ---------------------------------------------------------------- brokers
export async function startKafka(mode, port) {
  const dir = mkdtempSync(join(work, 'kafka-'));
  port ??= await freePort();
  const cport = await freePort();
  const props = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${cport}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${join(dir, 'logs')}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'group.initial.rebalance.delay.ms=0',
    ...(mode === 'fsync' ? ['log.flush.interval.messages=1'] : []),
  ];
  const conf = join(dir, 'server.properties');
  writeFileSync(conf, props.join('\n') + '\n');
  let id;
  do id = randomBytes(16).toString('base64url'); while (id.startsWith('-'));
  await java('kafka.tools.StorageTool', ['format', '-t', id, '-c', conf], { timeoutMs: 60_000 });
  // heap and GC flags as kafka-server-start.sh / kafka-run-class.sh set them
  const args = ['-Xmx1g', '-Xms1g', '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent', '-Djava.awt.headless=true', ...JAVA_LOG, '-cp', cp, 'kafka.Kafka', conf];
  const t0 = Date.now();
  const spawnedAt = performance.now();
  const child = spawnBroker('java', args);
  return { name: 'kafka', child, pid: child.pid, bootstrap: `127.0.0.1:${port}`, t0, spawnedAt, dir };
}

export async function startRivulet(mode, port) {
  const dir = mkdtempSync(join(work, 'rivulet-'));
  port ??= await freePort();
  const http = await freePort();
  // The Node flags the image, the chart and npm start use (DESIGN.md, "Latency rules").
  const args = ['--initial-old-space-size=64', cli, 'start', '--port', String(port), '--http-port', String(http), '--data-dir', dir,
    '--fsync', mode === 'fsync' ? 'acks-all' : 'never', '--log-level', 'warn'];
  // Without NODE_EXTRA_CA_CERTS, as in its container image: Node 20 parses that bundle at
  // boot (tens of ms of w5) and the broker opens no TLS connection.
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const t0 = Date.now();
  const spawnedAt = performance.now();
  const child = spawnBroker(process.execPath, args, env);
  return { name: 'rivulet', child, pid: child.pid, bootstrap: `127.0.0.1:${port}`, t0, spawnedAt, dir };
}

/**
 * Starts a broker process. Its stderr is always read (and shown with --verbose); the last few
 * KiB are kept as child.stderrTail, so a broker that dies mid-case is reported with its reason.
 */
function spawnBroker(cmd, args, env = process.env) {
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env }));
  child.stderrTail = '';
  child.stderr.on('data', (d) => {
    if (settings.verbose) process.stderr.write(d);
    child.stderrTail = (child.stderrTail + d).slice(-4096);
  });
  return child;
}

/** Rejects if the broker exits before `stop` ends it: the case then fails at once, with the broker's own last words. */
function exitedEarly(b) {
  return new Promise((_, rej) => {
    b.child.once('exit', (code, sig) => {
      if (b.stopping) return;
      rej(new Error(`${b.name} broker exited during the case (${code ?? sig}); its last output:\n${b.child.stderrTail || '(none)'}`));
    });
  });
}

export const starters = { kafka: startKafka, rivulet: startRivulet };

export async function withBroker(name, mode, fn) {
  const b = await starters[name](mode);
  try {
    return await Promise.race([fn(b), exitedEarly(b)]);
  } finally {
    b.stopping = true;
    await stop(b.child);
    rmSync(b.dir, { recursive: true, force: true });
  }
}

export const createTopic = (b, topic, partitions) => tool(['create', b.bootstrap, topic, String(partitions), '60000'], { timeoutMs: 90_000 });


// The first fsync of a start would otherwise wait for the write-back of whatever the
// previous case left dirty (ext4 commits one journal for all files); neither broker should
// pay for the other's data.
export function settleDisk() {
  spawnSync('sync');
}

// ---------------------------------------------------------------- machine
export function machine() {
  const javaV = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0];
  const c = cpus();
  return [
    `- CPU: ${c[0]?.model ?? '?'}, ${c.length} cores`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- kernel: ${platform()} ${release()}`,
    `- Node.js ${process.version}; ${javaV}`,
    `- Apache Kafka ${KAFKA_VERSION} (Maven Central, KRaft combined broker+controller, -Xmx1g -Xms1g G1)`,
    `- Rivulet ${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version} (dist/bin/rivulet.js, built by npm run build; started without NODE_EXTRA_CA_CERTS, which Node 20 would parse at boot)`,
  ].join('\n');
}
