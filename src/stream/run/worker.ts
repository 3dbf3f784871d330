// One worker thread of `rivulet run`: imports the bundled pipeline, starts it with its own
// instance id (so its own group member and transactional id), and answers the main thread's
// questions (status, metrics) and its stop request. See supervisor.ts for the other side.

import { parentPort, workerData } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { resolveSecurity, type SecurityInput } from '../../client/security.js';
import { startPipeline, type RunningPipeline, type RuntimeConfig } from '../runtime/index.js';
import { importPipeline } from './load.js';
import { createLogger, type LogLevel } from './log.js';
import { topologyOf, type FunctionOptions } from './topology-of.js';

/** What the main thread gives each worker. */
export interface WorkerSetup {
  index: number;
  bundleFile: string;
  source: string;
  fallbackApplication: string;
  application?: string;
  functionOptions: FunctionOptions;
  securityInput: SecurityInput;
  config: Omit<RuntimeConfig, 'security' | 'metricsRegistry' | 'logger' | 'storeFactory'>;
  logLevel: LogLevel;
}

export type ToWorker = { type: 'status'; id: number } | { type: 'metrics'; id: number } | { type: 'stop' };

export type FromWorker =
  | { type: 'started'; application: string }
  | { type: 'ready' }
  | { type: 'status'; id: number; ready: boolean; live: boolean }
  | { type: 'metrics'; id: number; metrics: unknown[] }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

if (parentPort) void main(parentPort, workerData as WorkerSetup);

async function main(port: NonNullable<typeof parentPort>, setup: WorkerSetup): Promise<void> {
  const post = (m: FromWorker) => port.postMessage(m);
  const log = createLogger(setup.logLevel, { worker: setup.index });
  const registry = new Registry();
  let running: RunningPipeline | undefined;
  let stopping = false;

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'status':
        post({ type: 'status', id: m.id, ready: running?.isReady() ?? false, live: running?.isLive() ?? !stopping });
        return;
      case 'metrics':
        registry.getMetricsAsJSON().then(
          (metrics) => post({ type: 'metrics', id: m.id, metrics }),
          () => post({ type: 'metrics', id: m.id, metrics: [] }),
        );
        return;
      case 'stop':
        if (stopping) return;
        stopping = true;
        if (!running) {
          // Still starting: nothing to commit yet.
          post({ type: 'stopped' });
          process.exit(0);
        }
        running.stop().then(
          () => {
            post({ type: 'stopped' });
            process.exit(0);
          },
          (e: unknown) => fail(`stopping failed: ${message(e)}`),
        );
        return;
    }
  });

  const fail = (msg: string) => {
    post({ type: 'failed', message: msg });
    process.exit(1);
  };

  try {
    const exported = await importPipeline({ file: setup.bundleFile, source: setup.source });
    const topology = topologyOf(exported, setup.fallbackApplication, setup.functionOptions, setup.application);
    const security = resolveSecurity(setup.securityInput);
    // The runtime's default stores: LMDB under <state dir>/<application>/<task>, shared by the
    // process's workers, so a task that moves between them keeps its local state (a lock keeps
    // one owner at a time).
    running = await startPipeline(topology, { ...setup.config, security, metricsRegistry: registry, logger: log });
    post({ type: 'started', application: topology.application });
    running.ready.then(
      () => post({ type: 'ready' }),
      () => undefined, // closed reports the failure
    );
    running.closed.then(
      (error) => {
        if (error) fail(message(error));
        else if (!stopping) fail('the pipeline stopped on its own');
      },
      (e: unknown) => fail(message(e)),
    );
  } catch (e) {
    fail(message(e));
  }
}

function message(e: unknown): string {
  if (e instanceof Error) return process.env.RIVULET_DEBUG ? (e.stack ?? e.message) : e.message;
  return String(e);
}
