// Shared pieces of the interop tests: running external client programs with a time limit,
// finding them, and the skip-or-fail rule for a missing tool.
//
// A missing tool fails the test when CI is set (CI must exercise every client); on a
// developer machine the test is skipped with a hint on how to install the tool.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { BrokerProcess } from '../helpers/broker.js';
import { repoRoot } from '../helpers/paths.js';

export const interopDir = join(repoRoot, 'test', 'interop');
export const javaDir = join(interopDir, 'java');
export const javaLibDir = join(javaDir, 'lib');
export const pythonDir = join(interopDir, 'python');

export const inCi = (() => {
  const v = (process.env.CI ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
})();

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  input?: Buffer | string;
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a program without blocking the event loop (the broker under test is a child of this
 * process and its stderr pipe must keep draining). Kills the program after timeoutMs.
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    let done = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      // Keep the tail only: some clients log a lot when something goes wrong.
      err += d.toString();
      if (err.length > 200_000) err = err.slice(-100_000);
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, timedOut });
    };
    child.on('error', (e) => {
      err += `\nspawn error: ${e.message}`;
      finish(null, null);
    });
    child.on('close', finish);
    child.stdin.on('error', () => { /* the program may exit before reading all input */ });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** True when `cmd args` starts and exits 0 within a few seconds. */
export async function works(cmd: string, args: readonly string[]): Promise<boolean> {
  const r = await run(cmd, args, { timeoutMs: 30_000 });
  return r.code === 0;
}

/**
 * Returns true when the tool is there. Otherwise fails the test under CI, or skips it with
 * the install hint on a developer machine (and returns false: the caller returns early).
 */
export function requireTool(t: TestContext, present: boolean, what: string, howToInstall: string): boolean {
  if (present) return true;
  const msg = `missing ${what}; ${howToInstall}`;
  if (inCi) assert.fail(`CI=true and ${msg}`);
  t.skip(msg);
  return false;
}

/**
 * The Debian interpreter, which is where python3-confluent-kafka and python3-kafka are
 * installed. A pyenv or venv python earlier on PATH would not see them.
 */
export function debianPython(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

export function javaClasspath(): string {
  return join(javaLibDir, '*');
}

export function javaJarsPresent(): boolean {
  if (!existsSync(javaLibDir)) return false;
  const jars = readdirSync(javaLibDir);
  return jars.some((j) => /^kafka-clients-.*\.jar$/.test(j)) && jars.some((j) => /^kafka-tools-.*\.jar$/.test(j));
}

export const javaInstallHint =
  'run `mvn -q -f test/interop/java/pom.xml dependency:copy-dependencies -DoutputDirectory="$PWD/test/interop/java/lib"` from the repository root (needs a JDK 17+ and Maven), or `bash .ci/run`';

/** The last lines of the broker's log, for assertion messages. */
export function brokerTail(b: BrokerProcess | undefined, lines = 30): string {
  if (!b) return '(no broker)';
  return b.output().split('\n').slice(-lines).join('\n');
}

/** A readable description of a failed client run, for assertion messages. */
export function describeRun(what: string, r: RunResult, b?: BrokerProcess): string {
  const status = r.timedOut ? 'timed out (killed)' : `exit code ${r.code}${r.signal ? ` signal ${r.signal}` : ''}`;
  const stderr = r.stderr.length > 6000 ? `...${r.stderr.slice(-6000)}` : r.stderr;
  return `${what}: ${status}\n--- client stderr ---\n${stderr}\n--- broker log (tail) ---\n${brokerTail(b)}`;
}

/** A short random token that makes every run's payloads distinct. */
export function token(): string {
  return Math.random().toString(36).slice(2, 10);
}
