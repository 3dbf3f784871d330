// Runs the `rivulet` command line as users do (the file package.json's bin names), for
// the CLI tests: stdout and stderr collected, RIVULET_BOOTSTRAP cleared so a developer's
// environment cannot point a test at another cluster.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { cliPath } from './paths.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed; without it stdin is closed at once (unless onStart is given). */
  input?: string;
  /** Default 60 s; the child is SIGKILLed and the call rejects after it. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with the child once started (to signal it, or to watch its output); stdin stays open. */
  onStart?: (child: ReturnType<typeof spawn>, out: { stdout: () => string }) => void;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const env = { ...process.env };
  delete env.RIVULET_BOOTSTRAP;
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined);
  if (opts.input !== undefined) child.stdin.end(opts.input);
  else if (!opts.onStart) child.stdin.end();
  opts.onStart?.(child, { stdout: () => stdout });
  const timeoutMs = opts.timeoutMs ?? 60000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rivulet ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    // 'close', not 'exit': the output pipes are drained by then.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}
