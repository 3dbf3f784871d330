// Starts a real broker process for a test: free ports, a temporary data directory, and
// the address read back from its "ready" log lines. watchBroker holds what every broker
// process of the tests shares (its log, its exit, stop/kill/cleanup), so that
// broker-or-peer.ts can start another Kafka-compatible broker in the same shape.

import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { cliPath } from './paths.js';
import { makeTempDir } from './temp.js';

export interface BrokerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly bootstrap: string;
  /** Everything the broker wrote to stderr (and stdout, when piped) so far. */
  output(): string;
  /** SIGTERM, then waits for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then waits for exit. */
  kill(): Promise<void>;
  /** Stops if running and removes the data directory (unless it was given). */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Runs the broker under this open-file limit (`ulimit -n`); the pid stays the broker's. */
  maxOpenFiles?: number;
}

export async function startBroker(opts: StartOptions = {}): Promise<BrokerProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await makeTempDir());
  const argv = [cliPath, 'start', '--port', '0', '--http-port', '0', '--data-dir', dataDir, ...(opts.args ?? [])];
  // With a limit, a shell sets it and execs node in its place, so child.pid is the broker's.
  const [cmd, cmdArgs] = opts.maxOpenFiles === undefined
    ? [process.execPath, argv]
    : ['/bin/sh', ['-c', `ulimit -n ${opts.maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(cmd, cmdArgs, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  const watch = watchBroker(child, dataDir, ownDir);
  const { port, httpPort } = await watch.whenReady<{ port: number; httpPort: number }>('broker', opts.timeoutMs ?? 15000, (found, settled) => {
    watch.onOutput((out) => {
      if (settled()) return;
      const h = /http ready listener=\S+:(\d+)/.exec(out);
      const m = /broker ready listener=\S+:(\d+)/.exec(out);
      if (m) found({ port: Number(m[1]), httpPort: h ? Number(h[1]) : 0 });
    });
  });
  return watch.process(port, httpPort);
}

/** A broker process being started: its log and exit followed from the moment it was spawned. */
export interface BrokerWatch {
  output(): string;
  /** Calls fn with the whole output each time the broker writes. */
  onOutput(fn: (out: string) => void): void;
  /**
   * Runs detect, which calls found once it sees the broker ready; fails with the output so far
   * when the broker exits first, or SIGKILLs it and fails after timeoutMs. settled() turns
   * true once the wait is over either way (a polling detect stops then).
   */
  whenReady<T>(what: string, timeoutMs: number, detect: (found: (ready: T) => void, settled: () => boolean) => void): Promise<T>;
  /** The handle on the broker, once it is ready at port. */
  process(port: number, httpPort: number): BrokerProcess;
}

/** Follows a spawned broker's stdout and stderr (whichever are piped) and its exit. */
export function watchBroker(child: ChildProcess, dataDir: string, ownDir: boolean): BrokerWatch {
  let out = '';
  let exited = false;
  const listeners: Array<(out: string) => void> = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (d: Buffer) => {
      out += d.toString();
      for (const fn of listeners) fn(out);
    });
  }
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => {
    exited = true;
    res(code);
  }));
  const kill = async () => {
    if (!exited) child.kill('SIGKILL');
    await exit;
  };
  return {
    output: () => out,
    onOutput: (fn) => void listeners.push(fn),
    whenReady: <T>(what: string, timeoutMs: number, detect: (found: (ready: T) => void, settled: () => boolean) => void) => new Promise<T>((res, rej) => {
      let settled = false;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        finish();
      };
      const timer = setTimeout(() => settle(() => {
        rej(new Error(`${what} not ready after ${timeoutMs} ms:\n${out}`));
        void kill();
      }), timeoutMs);
      void exit.then((code) => settle(() => rej(new Error(`${what} exited with ${code} before it was ready:\n${out}`))));
      detect((ready) => settle(() => res(ready)), () => settled);
    }),
    process: (port, httpPort) => ({
      child,
      port,
      httpPort,
      dataDir,
      bootstrap: `127.0.0.1:${port}`,
      output: () => out,
      stop: async () => {
        if (!exited) child.kill('SIGTERM');
        return exit;
      },
      kill,
      cleanup: async () => {
        await kill();
        if (ownDir) await rm(dataDir, { recursive: true, force: true });
      },
    }),
  };
}

/** The last lines of a broker's log, for assertion messages. */
export function brokerTail(b: BrokerProcess | undefined, lines = 30): string {
  if (!b) return '(no broker)';
  return b.output().split('\n').slice(-lines).join('\n');
}

/** A SIGKILL scheduled `ms` from now, for crash tests: `killed` turns true as it lands; `done` resolves once the process is gone. */
export function killAfter(broker: BrokerProcess, ms: number): { readonly killed: boolean; readonly done: Promise<void> } {
  const state = { killed: false, done: Promise.resolve() };
  state.done = new Promise<void>((resolve) =>
    setTimeout(async () => {
      state.killed = true;
      await broker.kill();
      resolve();
    }, ms),
  );
  return state;
}

/** The port each listener bound, by listener name, from the broker's "broker ready ... listeners=NAME://host:port,..." line. */
export function listenerPorts(b: BrokerProcess): Record<string, number> {
  const m = /broker ready .*listeners=(\S+)/.exec(b.output());
  if (!m) throw new Error(`no listeners in the broker's ready line:\n${brokerTail(b)}`);
  const out: Record<string, number> = {};
  for (const entry of m[1]!.split(',')) {
    const e = /^(\w+):\/\/.*:(\d+)$/.exec(entry);
    if (e) out[e[1]!] = Number(e[2]);
  }
  return out;
}
