// Shared pieces of the interop tests: running external client programs with a time limit,
// finding them, and the skip-or-fail rule for a missing tool.
//
// A missing tool fails the test when CI is set (CI must exercise every client); on a
// developer machine the test is skipped with a hint on how to install the tool.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { brokerTail, type BrokerProcess } from '../helpers/broker.js';
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

/** Fails the test under CI, or skips it, when java or the jars in test/interop/java/lib are missing. */
export async function requireJava(t: TestContext): Promise<boolean> {
  if (!requireTool(t, await works('java', ['-version']), 'java (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')) return false;
  return requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint);
}

/** Runs a single-file Java program of test/interop/java (`java -cp lib/* File.java ...`). */
export function runJava(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', javaClasspath(), join(javaDir, file), ...args], opts);
}

/** The last line of stdout that is a JSON object, parsed; fails with `context` when there is none. */
export function lastJson<T>(stdout: Buffer | string, context: string): T {
  const line = stdout.toString().trim().split('\n').filter((l) => l.startsWith('{')).pop();
  assert.ok(line, `no JSON summary on stdout\n${context}`);
  return JSON.parse(line) as T;
}

/**
 * Compiles a Java program of test/interop/java into test/interop/java/target/<name> (ignored
 * by git), for programs started many times; returns the classpath to run it with.
 */
export async function compileJava(file: string, name: string): Promise<{ ok: boolean; classpath: string; error: string }> {
  const out = join(javaDir, 'target', name);
  await mkdir(out, { recursive: true });
  const r = await run('javac', ['-nowarn', '-cp', javaClasspath(), '-d', out, join(javaDir, file)], { timeoutMs: 120_000 });
  return { ok: r.code === 0, classpath: `${out}:${javaClasspath()}`, error: r.stderr };
}

/**
 * A long-running program whose stdout is read line by line while it runs (run() waits for the
 * exit). stderr keeps its tail for failure messages.
 */
export class LineProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private listeners: Array<(line: string) => void> = [];
  private done = false;

  /** `stdin: 'pipe'` keeps the program's input open until endInput() (for programs that stop at end of input). */
  constructor(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'ignore' | 'pipe' } = {}) {
    this.child = spawn(cmd, args, { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
    this.child.stdin?.on('error', () => { /* the program may have exited */ });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.lines.push(line);
        for (const l of this.listeners) l(line);
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 200_000) this.stderr = this.stderr.slice(-100_000);
    });
    this.exited = new Promise((res) => this.child.once('close', (code, signal) => {
      this.done = true;
      res({ code, signal });
    }));
  }

  get running(): boolean {
    return !this.done;
  }

  /** Closes the program's input (started with `stdin: 'pipe'`). */
  endInput(): void {
    this.child.stdin?.end();
  }

  onLine(fn: (line: string) => void): void {
    this.listeners.push(fn);
  }

  /** SIGKILL (by default) and wait for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.done) this.child.kill(signal);
    await this.exited;
  }

  tail(lines = 20): string {
    return `--- stdout (tail) ---\n${this.lines.slice(-lines).join('\n')}\n--- stderr (tail) ---\n${this.stderr.slice(-4000)}`;
  }
}

/** A seeded pseudo-random generator (mulberry32): the same seed gives the same kill schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
