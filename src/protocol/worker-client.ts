// One worker thread that answers requests by id, for work that must not hold the event loop
// (inflating lz4/zstd batches, cleaning logs). Started on first use; referenced only while a
// request waits, so an idle worker never keeps the process alive; started again after it dies,
// its waiting requests failing with the reason.

import type { Worker } from 'node:worker_threads';

let workerThreads: Promise<typeof import('node:worker_threads')> | null = null;

export class WorkerClient<Req extends object, Reply extends { id: number }, Out> {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (out: Out) => void; reject: (e: Error) => void }>();

  /**
   * `url`: the worker's module. `settle` turns a reply into the request's result, or throws the
   * error the request fails with.
   */
  constructor(
    private readonly url: URL,
    private readonly name: string,
    private readonly settle: (reply: Reply) => Out,
  ) {}

  /** Sends `body` (with the id added) to the worker; `transfer` moves buffers rather than copying them. */
  async request(body: Req, transfer: ArrayBuffer[] = []): Promise<Out> {
    const w = this.start(await (workerThreads ??= import('node:worker_threads')));
    const id = this.nextId++;
    return new Promise<Out>((resolve, reject) => {
      if (this.pending.size === 0) w.ref();
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...body, id }, transfer);
    });
  }

  private start(wt: typeof import('node:worker_threads')): Worker {
    if (this.worker !== null) return this.worker;
    const w = new wt.Worker(this.url);
    w.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (p === undefined) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) w.unref();
      try {
        p.resolve(this.settle(reply));
      } catch (e) {
        p.reject(e as Error);
      }
    });
    const fail = (err: Error): void => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(new Error(`the ${this.name} stopped: ${err.message}`, { cause: err }));
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    // After the listeners: adding a 'message' listener references the worker again.
    w.unref();
    this.worker = w;
    return w;
  }
}
