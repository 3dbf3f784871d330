// Serdes: how keys and values become bytes and back. A deserialize that throws makes the
// record a poison record (the source reports it with operator "deserialize"), so serdes
// throw on bytes they cannot read rather than guess.
import type { Serde } from './types.js';

export type { Serde };

const stringSerde: Serde<string> = {
  serialize: (v) => Buffer.from(v, 'utf8'),
  deserialize: (b) => {
    if (b === null) throw new Error('expected a UTF-8 string, got null (a tombstone); use serdes.nullable(serdes.string) where null is allowed');
    return b.toString('utf8');
  },
};

const bytesSerde: Serde<Buffer> = {
  serialize: (v) => v,
  deserialize: (b) => {
    if (b === null) throw new Error('expected bytes, got null (a tombstone); use serdes.nullable(serdes.bytes) where null is allowed');
    return b;
  },
};

/** A JavaScript number as a big-endian 8-byte double (Kafka's DoubleSerializer). */
const doubleSerde: Serde<number> = {
  serialize: (v) => {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(v, 0);
    return b;
  },
  deserialize: (b) => {
    if (b === null || b.length !== 8) throw new Error(`expected an 8-byte big-endian double, got ${b === null ? 'null' : `${b.length} bytes`}`);
    return b.readDoubleBE(0);
  },
};

/** A 32-bit signed integer, big-endian 4 bytes (Kafka's IntegerSerializer). */
const intSerde: Serde<number> = {
  serialize: (v) => {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`serdes.int holds 32-bit integers; got ${v} (use serdes.long or serdes.double)`);
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v, 0);
    return b;
  },
  deserialize: (b) => {
    if (b === null || b.length !== 4) throw new Error(`expected a 4-byte big-endian integer, got ${b === null ? 'null' : `${b.length} bytes`}`);
    return b.readInt32BE(0);
  },
};

/** A 64-bit signed integer, big-endian 8 bytes (Kafka's LongSerializer), as a number: must be a safe integer. */
const longSerde: Serde<number> = {
  serialize: (v) => {
    if (!Number.isSafeInteger(v)) throw new Error(`serdes.long holds safe integers (|v| < 2^53); got ${v}`);
    // Two 32-bit halves (two's complement), without a BigInt per value.
    const hi = Math.floor(v / 0x100000000);
    const b = Buffer.allocUnsafe(8);
    b.writeInt32BE(hi, 0);
    b.writeUInt32BE(v - hi * 0x100000000, 4);
    return b;
  },
  deserialize: (b) => {
    if (b === null || b.length !== 8) throw new Error(`expected an 8-byte big-endian long, got ${b === null ? 'null' : `${b.length} bytes`}`);
    const v = b.readInt32BE(0) * 0x100000000 + b.readUInt32BE(4);
    if (!Number.isSafeInteger(v)) throw new Error(`the long ${b.readBigInt64BE(0)} is beyond Number.MAX_SAFE_INTEGER; read it with a custom Serde<bigint>`);
    return v;
  },
};

function json<T>(): Serde<T> {
  return {
    serialize: (v) => Buffer.from(JSON.stringify(v), 'utf8'),
    deserialize: (b) => {
      if (b === null) throw new Error('expected JSON, got null (a tombstone); use serdes.nullable(serdes.json<T>()) where null is allowed');
      return JSON.parse(b.toString('utf8')) as T;
    },
  };
}

/** The same serde, with Kafka's null (no bytes) read and written as `null`. */
function nullable<T>(inner: Serde<T>): Serde<T | null> {
  return {
    serialize: (v) => (v === null ? null : inner.serialize(v)),
    deserialize: (b) => (b === null ? null : inner.deserialize(b)),
  };
}

/**
 * The built-in serdes. Numbers: `int` (4 bytes) and `long` (8 bytes, safe integers) as Kafka's
 * Integer/Long serializers, `double` (8 bytes) as Kafka's DoubleSerializer, so Java consumers
 * read them. `json<T>()` trusts the bytes to be a T (no validation): wrap it for checks.
 */
export const serdes = {
  string: stringSerde,
  bytes: bytesSerde,
  int: intSerde,
  long: longSerde,
  double: doubleSerde,
  json,
  nullable,
} as const;
