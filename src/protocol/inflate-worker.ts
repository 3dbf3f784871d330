// The inflate worker: decodes lz4 and zstd records sections off the event loop, one request
// at a time (so at most one output of the limit's size lives here), with the limits of
// inflate.ts. compression.ts starts it on first use and talks to it by messages:
//   in:  { id, codec: 'lz4' | 'zstd', data: Uint8Array, max }
//   out: { id, out: Uint8Array } or { id, error: 'limit' | 'corrupt', message }

import { parentPort } from 'node:worker_threads';
import { InflateLimitError, lz4Inflate, zstdInflate, type ZstdStream } from './inflate.js';

export interface InflateRequest {
  id: number;
  codec: 'lz4' | 'zstd';
  data: Uint8Array;
  max: number;
}
export type InflateReply = { id: number; out: Uint8Array } | { id: number; error: 'limit' | 'corrupt'; message: string };

let zstd: ZstdStream | null = null;

parentPort?.on('message', (req: InflateRequest) => void handle(req));

async function handle(req: InflateRequest): Promise<void> {
  let reply: InflateReply;
  try {
    let out: Uint8Array;
    if (req.codec === 'lz4') out = lz4Inflate(req.data, req.max);
    else {
      zstd ??= (await import('fzstd')).Decompress;
      out = zstdInflate(req.data, req.max, zstd);
    }
    // A copy of exactly the output, so only that crosses (moved, not copied) to the main thread.
    const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice();
    parentPort!.postMessage({ id: req.id, out: own } satisfies InflateReply, [own.buffer as ArrayBuffer]);
  } catch (err) {
    reply = { id: req.id, error: err instanceof InflateLimitError ? 'limit' : 'corrupt', message: err instanceof Error ? err.message : String(err) };
    parentPort!.postMessage(reply);
  }
}
