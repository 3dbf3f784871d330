// The broker's side of the cleaner thread: one worker for every log (Kafka's
// log.cleaner.threads defaults to one too), started on first use, and one pass at a time.

import type { Worker } from 'node:worker_threads';
import type { CleanJob, CleanResult } from './cleaner.js';
import type { CleanReply, CleanRequest } from './cleaner-worker.js';

let worker: Worker | null = null;
let nextId = 0;
let queue: Promise<unknown> = Promise.resolve();
const pending = new Map<number, { resolve: (r: CleanResult) => void; reject: (e: Error) => void }>();

async function cleanerWorker(): Promise<Worker> {
  if (worker !== null) return worker;
  const { Worker } = await import('node:worker_threads');
  // Beside this module: dist/src/storage/ from tsc, dist/bin/ in the bundle (scripts/bundle.mjs).
  const w = new Worker(new URL('./cleaner-worker.js', import.meta.url));
  w.on('message', (reply: CleanReply) => {
    const p = pending.get(reply.id);
    if (p === undefined) return;
    pending.delete(reply.id);
    if (pending.size === 0) w.unref();
    if ('result' in reply) p.resolve(reply.result);
    else p.reject(new Error(reply.error));
  });
  const fail = (err: Error): void => {
    if (worker === w) worker = null;
    for (const p of pending.values()) p.reject(new Error(`the cleaner thread stopped: ${err.message}`, { cause: err }));
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  // An idle cleaner thread must not keep the process alive.
  w.unref();
  worker = w;
  return w;
}

/** Runs one cleaning pass in the cleaner thread, after any pass already queued. */
export function cleanInWorker(job: CleanJob): Promise<CleanResult> {
  const run = queue.then(async () => {
    const w = await cleanerWorker();
    const id = nextId++;
    return new Promise<CleanResult>((resolve, reject) => {
      if (pending.size === 0) w.ref();
      pending.set(id, { resolve, reject });
      w.postMessage({ id, job } satisfies CleanRequest);
    });
  });
  queue = run.catch(() => undefined);
  return run;
}
