// Byte layouts of windowed state and windowed output keys.
//
// Store entries of a windowed aggregation:  [0x00][key bytes][window start: 8 bytes] -> [end: 8][max record time: 8][accumulator]
// Times are big-endian with the sign bit flipped, so unsigned byte order is time order and a
// range scan over [0x00][key] finds one key's windows in start order.
//
// Output keys (Kafka Streams' wire layout, so Java consumers read them with its serdes):
//   time windows:    [key bytes][start: 8 bytes big-endian]           (TimeWindowedSerializer)
//   session windows: [key bytes][end: 8 bytes][start: 8 bytes]        (SessionWindowedSerializer)

import type { Serde } from '../types.js';
import type { Windowed } from './windows.js';

const TWO_32 = 0x1_0000_0000;
const SIGN = 0x8000_0000;

/** Writes a time (a safe integer, negative allowed) at `offset` so byte order is numeric order. */
export function writeTime(buf: Buffer, offset: number, ms: number): void {
  const hi = Math.floor(ms / TWO_32);
  buf.writeUInt32BE((hi + SIGN) >>> 0, offset);
  buf.writeUInt32BE(ms - hi * TWO_32, offset + 4);
}

export function readTime(buf: Buffer, offset: number): number {
  return (buf.readUInt32BE(offset) - SIGN) * TWO_32 + buf.readUInt32BE(offset + 4);
}

/** The prefix of windowed-aggregate entries in their store. */
export const WINDOW_PREFIX = 0x00;

/** The store key of one window of one key. */
export function windowStoreKey(keyBytes: Buffer, start: number): Buffer {
  const b = Buffer.allocUnsafe(1 + keyBytes.length + 8);
  b[0] = WINDOW_PREFIX;
  keyBytes.copy(b, 1);
  writeTime(b, 1 + keyBytes.length, start);
  return b;
}

/** The range [from, to) holding every window entry of every key. */
export function allWindowsRange(): [Buffer, Buffer] {
  return [Buffer.from([WINDOW_PREFIX]), Buffer.from([WINDOW_PREFIX + 1])];
}

/** The range [from, to) of `keyBytes`'s windows starting in [fromStart, toStart). Filter out other keys by length. */
export function keyWindowsRange(keyBytes: Buffer, fromStart: number, toStart: number): [Buffer, Buffer] {
  return [windowStoreKey(keyBytes, fromStart), windowStoreKey(keyBytes, toStart)];
}

/** Splits a window store key into key bytes (a view) and window start. */
export function parseWindowStoreKey(storeKey: Buffer): { keyBytes: Buffer; start: number } {
  if (storeKey.length < 9 || storeKey[0] !== WINDOW_PREFIX) throw new Error(`not a window store key (${storeKey.length} bytes, prefix ${storeKey[0]}): was the store written by another operator?`);
  return { keyBytes: storeKey.subarray(1, storeKey.length - 8), start: readTime(storeKey, storeKey.length - 8) };
}

/**
 * A serde for time-windowed keys in Kafka Streams' layout (key + start). The end is not on the
 * wire; `sizeMs` restores it when reading (as Kafka's TimeWindowedDeserializer needs the size).
 */
export function timeWindowedSerde<K>(keySerde: Serde<K>, sizeMs: number): Serde<Windowed<K>> {
  return {
    serialize(w) {
      const k = keySerde.serialize(w.key) ?? Buffer.alloc(0);
      const b = Buffer.allocUnsafe(k.length + 8);
      k.copy(b, 0);
      b.writeBigInt64BE(BigInt(w.window.start), k.length);
      return b;
    },
    deserialize(data) {
      if (data === null || data.length < 8) throw new Error(`a time-windowed key needs at least 8 bytes (key + window start), got ${data === null ? 'null' : data.length}`);
      const start = Number(data.readBigInt64BE(data.length - 8));
      return { key: keySerde.deserialize(data.subarray(0, data.length - 8)), window: { start, end: start + sizeMs } };
    },
  };
}

/** A serde for session-windowed keys in Kafka Streams' layout (key + end + start). */
export function sessionWindowedSerde<K>(keySerde: Serde<K>): Serde<Windowed<K>> {
  return {
    serialize(w) {
      const k = keySerde.serialize(w.key) ?? Buffer.alloc(0);
      const b = Buffer.allocUnsafe(k.length + 16);
      k.copy(b, 0);
      b.writeBigInt64BE(BigInt(w.window.end), k.length);
      b.writeBigInt64BE(BigInt(w.window.start), k.length + 8);
      return b;
    },
    deserialize(data) {
      if (data === null || data.length < 16) throw new Error(`a session-windowed key needs at least 16 bytes (key + end + start), got ${data === null ? 'null' : data.length}`);
      const n = data.length - 16;
      return { key: keySerde.deserialize(data.subarray(0, n)), window: { start: Number(data.readBigInt64BE(n + 8)), end: Number(data.readBigInt64BE(n)) } };
    },
  };
}
