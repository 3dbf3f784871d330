// The main thread of `rivulet run`: bundles the pipeline once, starts N worker threads
// (worker.ts), serves /metrics, /healthz and /readyz for all of them, and owns the
// process's life: SIGTERM/SIGINT stop every worker gracefully (each commits and leaves the
// group), a second signal or the shutdown timeout forces the exit, and a worker that dies
// takes the process down with a non-zero code, so a supervisor (Kubernetes) restarts it
// rather than it running silently degraded.

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client';
import type { SecurityInput } from '../../client/security.js';
import { bundlePipeline, importPipeline } from './load.js';
import { createLogger, type LogLevel } from './log.js';
import type { RuntimeConfig } from '../runtime/index.js';
import { topologyOf, type FunctionOptions } from './topology-of.js';
import type { FromWorker, ToWorker, WorkerSetup } from './worker.js';

export interface RunOptions {
  file: string;
  /** Worker threads, each a member of the group. */
  workers: number;
  httpHost: string;
  /** 0 picks a free port (printed in the "http ready" line). */
  httpPort: number;
  /** How long a graceful stop may take before the exit is forced. */
  shutdownTimeoutMs: number;
  /** Overrides the application id (the function form's; a DSL pipeline names its own). */
  application?: string;
  /** The application id when nothing names one: the file's name. */
  fallbackApplication: string;
  functionOptions: FunctionOptions;
  securityInput: SecurityInput;
  /** The base instance id; worker i runs as `<instanceId>-<i>`. */
  instanceId: string;
  /** Stores live under `<stateDir>/<application>/<task>`, shared by the workers (one owner per task at a time). */
  stateDir: string;
  config: Omit<RuntimeConfig, 'security' | 'metricsRegistry' | 'logger' | 'storeFactory' | 'instanceId' | 'stateDir'>;
  logLevel: LogLevel;
}

/** Prints the pipeline's topology; nothing connects to Kafka. */
export async function describePipeline(o: Pick<RunOptions, 'file' | 'application' | 'fallbackApplication' | 'functionOptions'>): Promise<string> {
  const bundle = await bundlePipeline(o.file);
  try {
    const exported = await importPipeline(bundle);
    return topologyOf(exported, o.fallbackApplication, o.functionOptions, o.application).describe();
  } finally {
    bundle.dispose();
  }
}

interface WorkerState {
  index: number;
  worker: Worker;
  application?: string;
  ready: boolean;
  stopped: boolean;
  exited: boolean;
  failure?: string;
}

/** Runs the pipeline until a signal or a worker failure; resolves with the process's exit code. */
export async function runPipeline(o: RunOptions): Promise<number> {
  const log = createLogger(o.logLevel);
  const bundle = await bundlePipeline(o.file);
  process.once('exit', () => bundle.dispose());
  // The application id is needed before the workers load the pipeline (state directory
  // lock), so the main thread loads it too; it connects to nothing.
  const application = topologyOf(await importPipeline(bundle), o.fallbackApplication, o.functionOptions, o.application).application;
  const releaseLock = lockInstance(join(o.stateDir, application), application, o.instanceId);
  process.once('exit', releaseLock);

  const workers: WorkerState[] = [];
  let nextId = 0;
  const pending = new Map<number, (m: FromWorker) => void>();
  /** Asks one worker; resolves with undefined when it does not answer in time (a blocked event loop is not live). */
  const ask = (w: WorkerState, type: 'status' | 'metrics', timeoutMs = 2000) =>
    new Promise<FromWorker | undefined>((resolve) => {
      if (w.exited) return resolve(undefined);
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      pending.set(id, (m) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(m);
      });
      w.worker.postMessage({ type, id } satisfies ToWorker);
    });

  const mainRegistry = new Registry();
  collectDefaultMetrics({ register: mainRegistry });
  const server = await startHttp(o.httpHost, o.httpPort, {
    healthz: async () => {
      const answers = await Promise.all(workers.map((w) => ask(w, 'status')));
      const down = workers.filter((_, i) => !(answers[i]?.type === 'status' && answers[i].live)).map((w) => w.index);
      return down.length === 0 ? { ok: true, text: 'ok\n' } : { ok: false, text: `not live: worker ${down.join(', ')}\n` };
    },
    readyz: async () => {
      if (shuttingDown) return { ok: false, text: 'shutting down\n' };
      const answers = await Promise.all(workers.map((w) => ask(w, 'status')));
      const waiting = workers.filter((_, i) => !(answers[i]?.type === 'status' && answers[i].ready)).map((w) => w.index);
      return waiting.length === 0 ? { ok: true, text: 'ready\n' } : { ok: false, text: `restoring or rebalancing: worker ${waiting.join(', ')}\n` };
    },
    metrics: async () => {
      const answers = await Promise.all(workers.map((w) => ask(w, 'metrics')));
      const perWorker = answers.flatMap((m) => (m?.type === 'metrics' ? [m.metrics as Parameters<typeof AggregatorRegistry.aggregate>[0][number]] : []));
      const merged = Registry.merge([AggregatorRegistry.aggregate(perWorker), mainRegistry]);
      return { contentType: merged.contentType, text: await merged.metrics() };
    },
  });
  const address = server.address();
  log.info('http ready', { listener: `${o.httpHost}:${typeof address === 'object' && address ? address.port : o.httpPort}`, paths: '/metrics,/healthz,/readyz' });

  let shuttingDown = false;
  let resolveExit!: (code: number) => void;
  const exitCode = new Promise<number>((r) => (resolveExit = r));
  let forceTimer: NodeJS.Timeout | undefined;

  const finishIfAllExited = () => {
    if (!workers.every((w) => w.exited)) return;
    clearTimeout(forceTimer);
    const failed = workers.filter((w) => w.failure !== undefined || !w.stopped);
    server.close();
    if (failed.length === 0) log.info('pipeline stopped', { application });
    resolveExit(failed.length === 0 ? 0 : 1);
  };

  const shutdown = (reason: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('stopping: every worker finishes its in-flight records, commits and leaves the group', { reason, timeoutMs: o.shutdownTimeoutMs });
    for (const w of workers) if (!w.exited) w.worker.postMessage({ type: 'stop' } satisfies ToWorker);
    forceTimer = setTimeout(() => {
      log.error(`forced exit: the workers did not stop within ${o.shutdownTimeoutMs} ms (--shutdown-timeout-ms); uncommitted records will be processed again`);
      resolveExit(1);
    }, o.shutdownTimeoutMs);
    forceTimer.unref();
    finishIfAllExited();
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      log.error(`forced exit on a second ${signal}: workers did not finish stopping; uncommitted records will be processed again`);
      resolveExit(1);
      return;
    }
    shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let readyCount = 0;
  for (let index = 0; index < o.workers; index++) {
    const instanceId = `${o.instanceId}-${index}`;
    const setup: WorkerSetup = {
      index,
      bundleFile: bundle.file,
      source: bundle.source,
      fallbackApplication: o.fallbackApplication,
      application: o.application,
      functionOptions: o.functionOptions,
      securityInput: o.securityInput,
      config: { ...o.config, instanceId, stateDir: o.stateDir },
      logLevel: o.logLevel,
    };
    const w: WorkerState = { index, worker: new Worker(new URL('./worker.js', import.meta.url), { workerData: setup }), ready: false, stopped: false, exited: false };
    workers.push(w);
    w.worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'status':
        case 'metrics':
          pending.get(m.id)?.(m);
          return;
        case 'started':
          w.application = m.application;
          log.info('worker started', { worker: index, instanceId });
          return;
        case 'ready':
          w.ready = true;
          if (++readyCount === o.workers) log.info('pipeline ready', { application, workers: o.workers });
          return;
        case 'stopped':
          w.stopped = true;
          return;
        case 'failed':
          w.failure = m.message;
          return;
      }
    });
    w.worker.on('error', (e) => {
      w.failure ??= e.stack ?? e.message;
    });
    w.worker.on('exit', (code) => {
      w.exited = true;
      if (!shuttingDown || w.failure !== undefined) {
        const why = w.failure ?? `it exited with code ${code}`;
        log.error(`worker ${index} failed: ${why}`);
        if (!shuttingDown) {
          log.error('stopping the other workers and exiting with code 1, so that a supervisor (Kubernetes, systemd) restarts the process');
          shutdown(`worker ${index} failed`);
        }
      }
      finishIfAllExited();
    });
  }

  const code = await exitCode;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return code;
}

interface HttpHandlers {
  healthz(): Promise<{ ok: boolean; text: string }>;
  readyz(): Promise<{ ok: boolean; text: string }>;
  metrics(): Promise<{ contentType: string; text: string }>;
}

async function startHttp(host: string, port: number, h: HttpHandlers): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const fail = (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${path} failed: ${e.message}\n`);
    const answer = (r: { ok: boolean; text: string }) => res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(r.text);
    switch (path) {
      case '/healthz':
        h.healthz().then(answer, fail);
        return;
      case '/readyz':
        h.readyz().then(answer, fail);
        return;
      case '/metrics':
        h.metrics().then((m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.text), fail);
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`--http-port ${port} is in use on ${host}: give another port (--http-port, or 0 for any free one)`) : e),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}

/**
 * Two processes with the same application and instance id on one machine would share
 * transactional ids and state directories and fence each other; the lock file turns that
 * into an error at start. A lock left by a dead process is taken over.
 */
function lockInstance(dir: string, application: string, instanceId: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${instanceId}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new Error(`instance id "${instanceId}" of application "${application}" is in use by process ${pid} on this machine: give each process its own --instance-id (or RIVULET_INSTANCE_ID).`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${file}: remove it if no rivulet run is using it.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
