// Starts a real broker process for a test: free ports, a temporary data directory, and
// the address read back from its "ready" log lines.

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
  /** Everything the broker wrote to stderr so far. */
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
  let out = '';
  let exited = false;
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => {
    exited = true;
    res(code);
  }));
  const ready = new Promise<{ port: number; httpPort: number }>((res, rej) => {
    let httpPort = 0;
    const timer = setTimeout(() => rej(new Error(`broker not ready after ${opts.timeoutMs ?? 15000} ms:\n${out}`)), opts.timeoutMs ?? 15000);
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
      const h = /http ready listener=\S+:(\d+)/.exec(out);
      if (h) httpPort = Number(h[1]);
      const m = /broker ready listener=\S+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        res({ port: Number(m[1]), httpPort });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`broker exited with ${code} before it was ready:\n${out}`));
    });
  });
  const { port, httpPort } = await ready;
  const b: BrokerProcess = {
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
    kill: async () => {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
    cleanup: async () => {
      if (!exited) {
        child.kill('SIGKILL');
        await exit;
      }
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return b;
}
