// Incremental aggregates for grouped and windowed streams. Each keeps a typed accumulator in
// the operator's write-back cache and has a compact byte encoding used only when the cache is
// flushed to the store (and read back after eviction or restore).
//   count, sum, min, max, average, topN, and reduce / aggregate for custom logic.

import type { Serde } from './types.js';

/** An incremental aggregate: V in, accumulator A kept in state, result R out. */
export interface Aggregate<V, A, R = A> {
  /** The accumulator of an empty window. */
  init(): A;
  /** Adds one value; may update `acc` in place and return it. */
  add(acc: A, value: V): A;
  /** The result emitted downstream. */
  result(acc: A): R;
  encode(acc: A): Buffer;
  decode(data: Buffer): A;
  /** A copy `add` can update without changing `acc` (sliding windows seed new windows from old ones). */
  copy(acc: A): A;
  /** Combines two sessions' accumulators when a record bridges them; undefined when the aggregate cannot merge. */
  merge?(a: A, b: A): A;
}

const identity = <T>(x: T): T => x;

function encodeNumber(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(n, 0);
  return b;
}
const decodeNumber = (b: Buffer): number => b.readDoubleBE(0);

/** Number of records. */
export function count<V = unknown>(): Aggregate<V, number> {
  return {
    init: () => 0,
    add: (acc) => acc + 1,
    result: identity,
    encode: encodeNumber,
    decode: decodeNumber,
    copy: identity,
    merge: (a, b) => a + b,
  };
}

/** Sum of `of(value)` (the value itself when it is a number). */
export function sum<V = number>(of: (value: V) => number = (v) => v as unknown as number): Aggregate<V, number> {
  return {
    init: () => 0,
    add: (acc, v) => acc + of(v),
    result: identity,
    encode: encodeNumber,
    decode: decodeNumber,
    copy: identity,
    merge: (a, b) => a + b,
  };
}

/** Smallest `of(value)`; +Infinity before any record. */
export function min<V = number>(of: (value: V) => number = (v) => v as unknown as number): Aggregate<V, number> {
  return {
    init: () => Infinity,
    add: (acc, v) => Math.min(acc, of(v)),
    result: identity,
    encode: encodeNumber,
    decode: decodeNumber,
    copy: identity,
    merge: (a, b) => Math.min(a, b),
  };
}

/** Largest `of(value)`; -Infinity before any record. */
export function max<V = number>(of: (value: V) => number = (v) => v as unknown as number): Aggregate<V, number> {
  return {
    init: () => -Infinity,
    add: (acc, v) => Math.max(acc, of(v)),
    result: identity,
    encode: encodeNumber,
    decode: decodeNumber,
    copy: identity,
    merge: (a, b) => Math.max(a, b),
  };
}

/** Sum and count, updated in place (no allocation per record). */
export interface AverageState {
  sum: number;
  count: number;
}

/** Mean of `of(value)`; NaN before any record. State: 16 bytes. */
export function average<V = number>(of: (value: V) => number = (v) => v as unknown as number): Aggregate<V, AverageState, number> {
  return {
    init: () => ({ sum: 0, count: 0 }),
    add: (acc, v) => {
      acc.sum += of(v);
      acc.count++;
      return acc;
    },
    result: (acc) => (acc.count === 0 ? NaN : acc.sum / acc.count),
    encode: (acc) => {
      const b = Buffer.allocUnsafe(16);
      b.writeDoubleBE(acc.sum, 0);
      b.writeDoubleBE(acc.count, 8);
      return b;
    },
    decode: (b) => ({ sum: b.readDoubleBE(0), count: b.readDoubleBE(8) }),
    copy: (acc) => ({ sum: acc.sum, count: acc.count }),
    merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
  };
}

/** JSON as a default serde for accumulators of custom aggregates and top-N values. */
function jsonSerde<T>(): Serde<T> {
  return {
    serialize: (v) => Buffer.from(JSON.stringify(v)),
    deserialize: (b) => (b === null ? (null as T) : (JSON.parse(b.toString()) as T)),
  };
}

/**
 * The `n` values with the highest `score` (ties: the earlier value stays), highest first.
 * State: the values, encoded with `serde` (JSON by default) as [u32 length, bytes]...
 */
export function topN<V>(n: number, score: (value: V) => number, serde: Serde<V> = jsonSerde<V>()): Aggregate<V, V[]> {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`topN needs n >= 1, got ${n}`);
  const insert = (acc: V[], v: V): V[] => {
    const s = score(v);
    // Sorted descending; find the first entry with a lower score.
    let i = acc.length;
    while (i > 0 && score(acc[i - 1]!) < s) i--;
    if (i >= n) return acc;
    acc.splice(i, 0, v);
    if (acc.length > n) acc.length = n;
    return acc;
  };
  return {
    init: () => [],
    add: insert,
    result: (acc) => acc.slice(),
    encode: (acc) => {
      const parts: Buffer[] = [];
      for (const v of acc) {
        const bytes = serde.serialize(v) ?? Buffer.alloc(0);
        const len = Buffer.allocUnsafe(4);
        len.writeUInt32BE(bytes.length, 0);
        parts.push(len, bytes);
      }
      return Buffer.concat(parts);
    },
    decode: (b) => {
      const out: V[] = [];
      for (let o = 0; o + 4 <= b.length; ) {
        const len = b.readUInt32BE(o);
        out.push(serde.deserialize(b.subarray(o + 4, o + 4 + len)));
        o += 4 + len;
      }
      return out;
    },
    copy: (acc) => acc.slice(),
    merge: (a, b) => {
      let acc = a.slice();
      for (const v of b) acc = insert(acc, v);
      return acc;
    },
  };
}

/** A custom aggregate: `initializer` and `adder`, the accumulator stored with `serde` (JSON by default). */
export function aggregator<V, A>(
  initializer: () => A,
  adder: (acc: A, value: V) => A,
  options: { serde?: Serde<A>; merger?: (a: A, b: A) => A } = {},
): Aggregate<V, A> {
  const serde = options.serde ?? jsonSerde<A>();
  const encode = (acc: A): Buffer => serde.serialize(acc) ?? Buffer.alloc(0);
  const decode = (b: Buffer): A => serde.deserialize(b);
  const agg: Aggregate<V, A> = {
    init: initializer,
    add: adder,
    result: identity,
    encode,
    decode,
    // The user's adder may update in place: a copy through the serde is always safe.
    copy: (acc) => (acc === null || typeof acc !== 'object' ? acc : decode(encode(acc))),
  };
  if (options.merger) agg.merge = options.merger;
  return agg;
}

/** Reduces values of one type with `reducer` (the first value starts the window). */
export function reducer<V>(reduce: (acc: V, value: V) => V, serde: Serde<V> = jsonSerde<V>()): Aggregate<V, V | undefined, V> {
  const encode = (acc: V | undefined): Buffer => (acc === undefined ? Buffer.alloc(0) : (serde.serialize(acc) ?? Buffer.alloc(0)));
  const decode = (b: Buffer): V | undefined => (b.length === 0 ? undefined : serde.deserialize(b));
  return {
    init: () => undefined,
    add: (acc, v) => (acc === undefined ? v : reduce(acc, v)),
    result: (acc) => acc as V,
    encode,
    decode,
    copy: (acc) => (acc === null || typeof acc !== 'object' ? acc : decode(encode(acc))),
    merge: (a, b) => (a === undefined ? b : b === undefined ? a : reduce(a, b)),
  };
}
