// The log cleaner's thread: runs one cleaning pass (cleaner.ts) per message, so decompressing,
// filtering and writing segments never hold the broker's event loop.

import { parentPort } from 'node:worker_threads';
import { runClean, type CleanJob, type CleanResult } from './cleaner.js';

export interface CleanRequest {
  id: number;
  job: CleanJob;
}
export type CleanReply = { id: number; result: CleanResult } | { id: number; error: string };

parentPort!.on('message', (req: CleanRequest) => {
  runClean(req.job).then(
    (result) => parentPort!.postMessage({ id: req.id, result } satisfies CleanReply),
    (err: unknown) => parentPort!.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) } satisfies CleanReply),
  );
});
