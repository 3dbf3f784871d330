// mapAsync: Flink's async I/O. Up to `concurrency` calls run at once; results are forwarded
// in input order per key (records of different keys overtake each other). When full, the task
// asks the runner to wait (TaskProcessor.process returns a promise). Watermarks wait behind
// records in flight, so an enrichment never makes its own records late. flush() waits for all.
import type { InputRecord } from '../types.js';
import { Operator, type Rec, type Task } from './processor.js';

interface Pending<K, V, V2> {
  rec: Rec<K, V>;
  input: InputRecord | null;
  done: boolean;
  failed: boolean;
  result: V2 | undefined;
  error: unknown;
}

export interface MapAsyncOptions {
  /** Calls in flight at most (default 16). */
  concurrency?: number;
  name?: string;
}

export class MapAsyncOperator<K, V, V2> extends Operator<K, V, K, V2> {
  private readonly concurrency: number;
  /** Per key, the records accepted and not yet forwarded, in input order. */
  private readonly queues = new Map<unknown, Pending<K, V, V2>[]>();
  private pending = 0;
  private heldWatermark = -Infinity;
  private roomWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private failure: unknown = undefined;

  constructor(task: Task, name: string, private readonly fn: (r: Rec<K, V>) => Promise<V2>, options: MapAsyncOptions | undefined) {
    super(task, name);
    this.concurrency = options?.concurrency ?? 16;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new Error(`mapAsync concurrency must be a positive integer; got ${options?.concurrency}`);
  }

  process(r: Rec<K, V>): void {
    const id = keyId(r.key);
    const entry: Pending<K, V, V2> = { rec: r, input: this.task.current, done: false, failed: false, result: undefined, error: undefined };
    let q = this.queues.get(id);
    if (q === undefined) {
      q = [];
      this.queues.set(id, q);
    }
    q.push(entry);
    this.pending++;
    let p: Promise<V2>;
    try {
      p = Promise.resolve(this.fn(r));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (v) => {
        entry.done = true;
        entry.result = v;
        this.drainSafely(id);
      },
      (e: unknown) => {
        entry.done = true;
        entry.failed = true;
        entry.error = e;
        this.drainSafely(id);
      },
    );
    if (this.pending >= this.concurrency) this.task.waitForRoom(new Promise((resolve) => this.roomWaiters.push(resolve)));
  }

  /**
   * Forwarding runs outside any process() call, so a failure downstream (a runner that stops on
   * poison records) cannot reach the runner there: it is kept and thrown by the next flush().
   */
  private drainSafely(id: unknown): void {
    try {
      this.drain(id);
    } catch (e) {
      if (this.failure === undefined) this.failure = e;
      this.release();
    }
  }

  private release(): void {
    const w = [...this.roomWaiters, ...this.drainWaiters];
    this.roomWaiters = [];
    this.drainWaiters = [];
    for (const f of w) f();
  }

  /** Forwards the finished head of a key's queue, in order. */
  private drain(id: unknown): void {
    const q = this.queues.get(id);
    if (q === undefined) return;
    const task = this.task;
    const saved = task.current;
    while (q.length > 0 && q[0]!.done) {
      const e = q.shift()!;
      this.pending--;
      if (task.closed) continue;
      task.current = e.input;
      if (e.failed) this.fail(e.error);
      else this.forward({ key: e.rec.key, value: e.result as V2, timestamp: e.rec.timestamp, headers: e.rec.headers });
    }
    task.current = saved;
    if (q.length === 0) this.queues.delete(id);
    if (this.pending < this.concurrency && this.roomWaiters.length > 0) {
      const w = this.roomWaiters;
      this.roomWaiters = [];
      for (const f of w) f();
    }
    if (this.pending === 0) {
      if (this.heldWatermark > -Infinity && !task.closed) {
        const wm = this.heldWatermark;
        this.heldWatermark = -Infinity;
        this.forwardWatermark(wm);
      }
      const d = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of d) f();
    }
  }

  protected override onWatermark(watermark: number): void {
    if (this.pending === 0) this.forwardWatermark(watermark);
    else this.heldWatermark = watermark;
  }

  override flush(): void | Promise<void> {
    if (this.pending === 0 || this.failure !== undefined) return this.rethrow();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve)).then(() => this.rethrow());
  }

  private rethrow(): void {
    if (this.failure === undefined) return;
    const e = this.failure;
    this.failure = undefined;
    throw e;
  }

  override close(): void {
    // Nothing is forwarded after close; waiters are released so nobody hangs on a closed task.
    this.release();
  }
}

/** A Map key for a record key: primitives as they are, objects by their JSON. */
function keyId(key: unknown): unknown {
  return typeof key === 'object' && key !== null ? JSON.stringify(key) : key;
}
