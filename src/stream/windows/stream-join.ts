// Windowed stream-stream join, with Kafka Streams' semantics (KIP-633 for left and outer):
// a record at t on one side joins every record of the other side with the same key at
// t' with |t - t'| <= within. Inner emits only pairs. Left (outer) also emits a left (either)
// record that found no partner, with undefined for the other side, once its window has
// closed (watermark > t + within + grace), never eagerly. A record whose own window has closed
// on arrival is late. Buffered records are kept until no record that is not late can
// match them (t + 2 * within + grace), then deleted from memory and the store.
// within = Infinity is an unbounded join (Flink's regular join): every record of either side
// is kept and joins every record of the other with its key, in any arrival order; nothing is
// late or expires, and left/outer joins never emit an unmatched record. For inputs that only
// insert (events keyed by id) it is the table-table join that keeps every row.
//
// Store layout: [side: 1 = left, 2 = right][key bytes][t: 8][seq: 4] -> [matched: 1][value bytes]

import type { KeyValueStore, Serde } from '../types.js';
import { TimeHeap } from './time-heap.js';
import { readTime, writeTime } from './window-key.js';

export type StreamJoinKind = 'inner' | 'left' | 'outer';

export interface StreamJoinSink<K, O> {
  joinResult(key: K, value: O, timestamp: number): void;
}

const LEFT = 1;
const RIGHT = 2;

class Buffered {
  /** Expiry time (the watermark at which it can no longer match). */
  due: number;
  matched = false;
  dirty = true;
  stored = false;
  dead = false;
  constructor(
    readonly owner: KeyBuffers,
    readonly side: number,
    readonly ts: number,
    readonly seq: number,
    readonly value: unknown,
    due: number,
  ) {
    this.due = due;
  }
}

/** An unmatched record waiting for its window to close (left and outer joins). */
class Pending {
  constructor(
    readonly entry: Buffered,
    readonly due: number,
  ) {}
}

class KeyBuffers {
  keyBytes: Buffer | undefined = undefined;
  readonly left: Buffered[] = [];
  readonly right: Buffered[] = [];
  constructor(
    readonly id: unknown,
    readonly key: unknown,
  ) {}
}

export interface StreamJoinOptions<K, L, R, O> {
  kind: StreamJoinKind;
  withinMs: number;
  graceMs: number;
  /** `left` / `right` undefined: no partner (left and outer joins only). */
  joiner: (left: L | undefined, right: R | undefined, key: K) => O;
  keySerde: Serde<K>;
  leftSerde: Serde<L>;
  rightSerde: Serde<R>;
  store: KeyValueStore;
  sink: StreamJoinSink<K, O>;
}

export class StreamStreamJoin<K, L, R, O> {
  private readonly o: StreamJoinOptions<K, L, R, O>;
  private readonly keys = new Map<unknown, KeyBuffers>();
  private readonly expiry = new TimeHeap<Buffered>();
  private readonly pending = new TimeHeap<Pending>();
  private readonly dirty: Buffered[] = [];
  private readonly emitUnmatchedLeft: boolean;
  private readonly emitUnmatchedRight: boolean;
  private seq = 0;
  private count = 0;

  constructor(o: StreamJoinOptions<K, L, R, O>) {
    if ((!Number.isSafeInteger(o.withinMs) && o.withinMs !== Infinity) || o.withinMs < 0) throw new RangeError(`join window "within" must be a whole number of milliseconds >= 0 (or Infinity: an unbounded join), got ${o.withinMs}`);
    if (!Number.isSafeInteger(o.graceMs) || o.graceMs < 0) throw new RangeError(`join grace must be a whole number of milliseconds >= 0, got ${o.graceMs}`);
    this.o = o;
    this.emitUnmatchedLeft = o.kind !== 'inner';
    this.emitUnmatchedRight = o.kind === 'outer';
    this.restore();
  }

  /** Records buffered (in memory and store). */
  get buffered(): number {
    return this.count;
  }

  /** A left record; false when late (dropped). */
  processLeft(key: K, value: L, ts: number, watermark: number): boolean {
    return this.process(LEFT, key, value, ts, watermark);
  }

  /** A right record; false when late (dropped). */
  processRight(key: K, value: R, ts: number, watermark: number): boolean {
    return this.process(RIGHT, key, value, ts, watermark);
  }

  /** Emits unmatched records whose window closed (left, outer) and forgets expired ones. */
  advance(watermark: number): void {
    const p = this.pending;
    for (let x = p.peek(); x !== undefined && x.due <= watermark; x = p.peek()) {
      p.pop();
      const e = x.entry;
      if (e.matched) continue;
      const key = e.owner.key as K;
      if (e.side === LEFT) this.o.sink.joinResult(key, this.o.joiner(e.value as L, undefined, key), e.ts);
      else this.o.sink.joinResult(key, this.o.joiner(undefined, e.value as R, key), e.ts);
    }
    const q = this.expiry;
    for (let e = q.peek(); e !== undefined && e.due <= watermark; e = q.peek()) {
      q.pop();
      this.remove(e);
    }
  }

  /** Writes new and newly matched records to the store. */
  flush(): void {
    for (const e of this.dirty) {
      e.dirty = false;
      if (e.dead) continue;
      const serde = e.side === LEFT ? this.o.leftSerde : this.o.rightSerde;
      const bytes = (serde as Serde<unknown>).serialize(e.value) ?? Buffer.alloc(0);
      const v = Buffer.allocUnsafe(1 + bytes.length);
      v[0] = e.matched ? 1 : 0;
      bytes.copy(v, 1);
      this.o.store.put(this.storeKey(e), v);
      e.stored = true;
    }
    this.dirty.length = 0;
  }

  private process(side: number, key: K, value: unknown, ts: number, watermark: number): boolean {
    const within = this.o.withinMs;
    const closeAt = ts + within + this.o.graceMs + 1;
    if (closeAt <= watermark) return false;
    const kb = this.keyBuffers(key);
    const others = side === LEFT ? kb.right : kb.left;
    const e = this.buffer(kb, side, ts, this.seq++ >>> 0, value);
    for (let i = 0; i < others.length; i++) {
      const x = others[i]!;
      if (x.ts < ts - within || x.ts > ts + within) continue;
      const out = side === LEFT ? this.o.joiner(value as L, x.value as R, key) : this.o.joiner(x.value as L, value as R, key);
      this.o.sink.joinResult(key, out, ts > x.ts ? ts : x.ts);
      if (!x.matched) {
        x.matched = true;
        this.changed(x);
      }
      e.matched = true;
    }
    if (!e.matched && (side === LEFT ? this.emitUnmatchedLeft : this.emitUnmatchedRight)) this.pending.push(new Pending(e, closeAt));
    return true;
  }

  private buffer(kb: KeyBuffers, side: number, ts: number, seq: number, value: unknown): Buffered {
    const e = new Buffered(kb, side, ts, seq, value, ts + 2 * this.o.withinMs + this.o.graceMs + 1);
    (side === LEFT ? kb.left : kb.right).push(e);
    this.expiry.push(e);
    this.dirty.push(e);
    this.count++;
    return e;
  }

  private changed(e: Buffered): void {
    if (!e.dirty) {
      e.dirty = true;
      this.dirty.push(e);
    }
  }

  private remove(e: Buffered): void {
    e.dead = true;
    this.count--;
    const kb = e.owner;
    const list = e.side === LEFT ? kb.left : kb.right;
    const i = list.indexOf(e);
    if (i >= 0) list.splice(i, 1);
    if (kb.left.length === 0 && kb.right.length === 0) this.keys.delete(kb.id);
    if (e.stored) this.o.store.delete(this.storeKey(e));
  }

  private keyBuffers(key: K): KeyBuffers {
    const t = typeof key;
    const id = t === 'string' || t === 'number' ? key : (this.o.keySerde.serialize(key) ?? Buffer.alloc(0)).toString('latin1');
    let kb = this.keys.get(id);
    if (kb === undefined) {
      kb = new KeyBuffers(id, key);
      this.keys.set(id, kb);
    }
    return kb;
  }

  private storeKey(e: Buffered): Buffer {
    const kb = e.owner;
    kb.keyBytes ??= this.o.keySerde.serialize(kb.key as K) ?? Buffer.alloc(0);
    const k = Buffer.allocUnsafe(1 + kb.keyBytes.length + 12);
    k[0] = e.side;
    kb.keyBytes.copy(k, 1);
    writeTime(k, 1 + kb.keyBytes.length, e.ts);
    k.writeUInt32BE(e.seq, 9 + kb.keyBytes.length);
    return k;
  }

  /** Reloads buffered records (and pending unmatched ones) a previous run left in the store. */
  private restore(): void {
    for (const side of [LEFT, RIGHT]) {
      const serde = (side === LEFT ? this.o.leftSerde : this.o.rightSerde) as Serde<unknown>;
      for (const [k, v] of this.o.store.range(Buffer.from([side]), Buffer.from([side + 1]))) {
        const n = k.length - 13;
        const keyBytes = Buffer.from(k.subarray(1, 1 + n));
        const kb = this.keyBuffers(this.o.keySerde.deserialize(keyBytes));
        kb.keyBytes ??= keyBytes;
        const ts = readTime(k, 1 + n);
        const seq = k.readUInt32BE(9 + n);
        if (seq >= this.seq) this.seq = seq + 1;
        const e = this.buffer(kb, side, ts, seq, serde.deserialize(Buffer.from(v.subarray(1))));
        e.matched = v[0] === 1;
        e.dirty = false;
        e.stored = true;
        if (!e.matched && (side === LEFT ? this.emitUnmatchedLeft : this.emitUnmatchedRight)) this.pending.push(new Pending(e, ts + this.o.withinMs + this.o.graceMs + 1));
      }
    }
    this.dirty.length = 0;
  }
}
