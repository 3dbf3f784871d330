// Time from process start to ready on an empty data directory: spawn `rivulet start`,
// then poll nothing — the clock stops when a Kafka ApiVersions request is answered.
//   npm run bench:startup [-- --runs 15]

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;

function apiVersions(port: number): Promise<void> {
  return new Promise((res, rej) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      const f = Buffer.alloc(14);
      f.writeInt32BE(10, 0);
      f.writeInt16BE(18, 4);
      f.writeInt16BE(0, 6);
      f.writeInt32BE(1, 8);
      f.writeInt16BE(-1, 12);
      s.write(f);
    });
    s.once('data', () => {
      s.destroy();
      res();
    });
    s.once('error', rej);
  });
}

async function once(): Promise<{ readyMs: number; answeredMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'rivulet-bench-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', '--http-port', '0', '--data-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((res, rej) => {
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /broker ready listener=\S+:(\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.once('exit', (c) => rej(new Error(`exited ${c}: ${out}`)));
  });
  const readyMs = performance.now() - t0;
  await apiVersions(port);
  const answeredMs = performance.now() - t0;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dir, { recursive: true, force: true });
  return { readyMs, answeredMs };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const p90 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * 0.9))]!;

const results = [];
for (let i = 0; i < runs; i++) results.push(await once());
const ready = results.map((r) => r.readyMs);
const answered = results.map((r) => r.answeredMs);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
console.log(`runs: ${runs}, empty data directory each time`);
console.log(`process start -> "broker ready" logged:  median ${median(ready).toFixed(0)} ms, p90 ${p90(ready).toFixed(0)} ms`);
console.log(`process start -> first ApiVersions answer: median ${median(answered).toFixed(0)} ms, p90 ${p90(answered).toFixed(0)} ms (target < 500 ms)`);
