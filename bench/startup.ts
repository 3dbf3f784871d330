// Time from process start to the first acknowledged produce on an empty data directory:
// spawn `rivulet start` on a free port while a probe (bench/first-ack.ts) knocks every
// 2 ms, auto-creates a topic through Metadata and produces one record with acks=all
// (fsync before the answer). Also reports when "broker ready" was logged and the idle RSS.
//
// The broker runs without NODE_EXTRA_CA_CERTS: Node 20 parses that CA bundle eagerly at
// boot (tens of ms), yet the broker opens no TLS connection and its container image sets
// no such variable. When the variable is set here, a second series runs with it, so both
// figures are printed.
//   npm run bench:startup [-- --runs 15]

import { spawn } from 'node:child_process';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { firstAck } from './first-ack.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'bin', 'rivulet.js');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

interface Run {
  readyMs: number;
  ackMs: number;
  rssMb: number;
}

async function once(env: NodeJS.ProcessEnv): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'rivulet-bench-'));
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, 'start', '--port', String(port), '--http-port', '0', '--data-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const exited = new Promise<never>((_, rej) => child.once('exit', (c) => rej(new Error(`broker exited with ${c}: ${out}`))));
  let out = '';
  let readyAt = NaN;
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
    if (Number.isNaN(readyAt) && out.includes('broker ready')) readyAt = performance.now();
  });
  try {
    const ack = await Promise.race([firstAck(port, 'first', 10_000), exited]);
    await new Promise((r) => setTimeout(r, 1000));
    return { readyMs: readyAt - t0, ackMs: ack.ackedAt - t0, rssMb: await rssMb(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await exited.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const median = (a: number[]) => sorted(a)[Math.floor(a.length / 2)]!;
const p90 = (a: number[]) => sorted(a)[Math.min(a.length - 1, Math.floor(a.length * 0.9))]!;
const line = (label: string, a: number[], unit: string, target: string) =>
  console.log(`${label.padEnd(72)} median ${median(a).toFixed(0)} ${unit}, p90 ${p90(a).toFixed(0)} ${unit}, min ${sorted(a)[0]!.toFixed(0)} ${unit} (${target})`);

const clean = { ...process.env };
delete clean.NODE_EXTRA_CA_CERTS;
const series: [string, NodeJS.ProcessEnv][] = [['', clean]];
if (process.env.NODE_EXTRA_CA_CERTS !== undefined) series.push([' (with NODE_EXTRA_CA_CERTS)', process.env]);

console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
console.log(`runs: ${runs} per series, empty data directory each time, fsync before acks=all answers`);
for (const [label, env] of series) {
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) results.push(await once(env));
  line(`process start -> "broker ready" logged${label}`, results.map((r) => r.readyMs), 'ms', 'no target');
  line(`process start -> first acknowledged produce${label}`, results.map((r) => r.ackMs), 'ms', 'target < 100 ms');
  line(`idle RSS 1 s after the first produce${label}`, results.map((r) => r.rssMb), 'MB', 'target < 80 MB');
}
