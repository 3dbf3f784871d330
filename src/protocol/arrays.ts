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
