// Array helpers shared by the generated codec.
import type { Reader } from './reader.js';

export function readArray<T>(r: Reader, compact: boolean, elem: (r: Reader) => T): T[] {
  const n = compact ? r.compactArrayLength() : r.arrayLength();
  const a: T[] = [];
  for (let i = 0; i < n && !r.bad; i++) a.push(elem(r));
  return a;
}

export function readNullableArray<T>(r: Reader, compact: boolean, elem: (r: Reader) => T): T[] | null {
  const n = compact ? r.compactArrayLength() : r.arrayLength();
  if (n < 0) return null;
  const a: T[] = [];
  for (let i = 0; i < n && !r.bad; i++) a.push(elem(r));
  return a;
}

export const readInt8 = (r: Reader): number => r.int8();
export const readInt16 = (r: Reader): number => r.int16();
export const readInt32 = (r: Reader): number => r.int32();
export const readInt64 = (r: Reader): number => r.int64();
export const readUuid = (r: Reader): string => r.uuid();
export const readString = (r: Reader): string => r.string();
export const readStringCompact = (r: Reader): string => r.compactString();

/**
 * Whether `a` holds the same value as `b`, a struct's defaults: tagged struct fields equal
 * to their defaults are left out of the encoding. A field left undefined in `a` counts as
 * its default, as the writers treat it.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null || b == null) return a == null && b == null;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  // for-in rather than Object.keys: no array per call (this runs per partition of a Fetch answer).
  for (const k in bo) {
    if (ao[k] !== undefined && !deepEqual(ao[k], bo[k])) return false;
  }
  return true;
}
