// The broker's side of the cleaner thread: one worker for every log (Kafka's
// log.cleaner.threads defaults to one too), started on first use, and one pass at a time.

import type { CleanJob, CleanResult } from './cleaner.js';
import type { CleanReply, CleanRequest } from './cleaner-worker.js';
import { WorkerClient } from '../protocol/worker-client.js';

// Beside this module: dist/src/storage/ from tsc, dist/bin/ in the bundle (scripts/bundle.mjs).
const cleaner = new WorkerClient<Omit<CleanRequest, 'id'>, CleanReply, CleanResult>(new URL('./cleaner-worker.js', import.meta.url), 'cleaner thread', (reply) => {
  if ('result' in reply) return reply.result;
  throw new Error(reply.error);
});

let queue: Promise<unknown> = Promise.resolve();

/** Runs one cleaning pass in the cleaner thread, after any pass already queued. */
export function cleanInWorker(job: CleanJob): Promise<CleanResult> {
  const run = queue.then(() => cleaner.request({ job }));
  queue = run.catch(() => undefined);
  return run;
}
