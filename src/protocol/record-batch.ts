// A view over record batches (magic v2) as they travel: opaque bytes that we validate,
// stamp with a base offset in place, store and send back unchanged. Nothing here
// decodes individual records.
//
// RecordBatch =>
//   baseOffset INT64 | batchLength INT32 | partitionLeaderEpoch INT32 | magic INT8 |
//   crc UINT32 (CRC32C of everything from attributes to the end) | attributes INT16 |
//   lastOffsetDelta INT32 | baseTimestamp INT64 | maxTimestamp INT64 | producerId INT64 |
//   producerEpoch INT16 | baseSequence INT32 | recordsCount INT32 | records...

import { crc32c } from './crc32c.js';
import { ErrorCode } from './errors.js';

export const BATCH_HEADER_SIZE = 61;
/** Bytes before the length field's end: baseOffset + batchLength. */
export const LOG_OVERHEAD = 12;

const TWO_32 = 4294967296;

export const Off = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

export const Attr = {
  compressionMask: 0x07,
  timestampType: 0x08,
  transactional: 0x10,
  control: 0x20,
} as const;

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(v - hi * TWO_32, pos + 4);
}

/** Total size in bytes of the batch starting at `pos` (from its length field). */
export function batchSize(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + Off.batchLength) + LOG_OVERHEAD;
}
export const baseOffset = (buf: Buffer, pos: number): number => readInt64(buf, pos + Off.baseOffset);
export const lastOffsetDelta = (buf: Buffer, pos: number): number => buf.readInt32BE(pos + Off.lastOffsetDelta);
export const baseTimestamp = (buf: Buffer, pos: number): number => readInt64(buf, pos + Off.baseTimestamp);
export const maxTimestamp = (buf: Buffer, pos: number): number => readInt64(buf, pos + Off.maxTimestamp);
export const producerId = (buf: Buffer, pos: number): number => readInt64(buf, pos + Off.producerId);
export const producerEpoch = (buf: Buffer, pos: number): number => buf.readInt16BE(pos + Off.producerEpoch);
export const baseSequence = (buf: Buffer, pos: number): number => buf.readInt32BE(pos + Off.baseSequence);
export const recordsCount = (buf: Buffer, pos: number): number => buf.readInt32BE(pos + Off.recordsCount);
export const attributes = (buf: Buffer, pos: number): number => buf.readInt16BE(pos + Off.attributes);

export function setBaseOffset(buf: Buffer, pos: number, offset: number): void {
  writeInt64(buf, pos + Off.baseOffset, offset);
}

export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + Off.partitionLeaderEpoch);
}

/** CRC32C over attributes..end, as stored in the batch. */
export function computeCrc(buf: Buffer, pos: number, size: number): number {
  return crc32c(buf.subarray(pos + Off.attributes, pos + size)) >>> 0;
}

export function crcMatches(buf: Buffer, pos: number, size: number): boolean {
  return computeCrc(buf, pos, size) === buf.readUInt32BE(pos + Off.crc);
}

/** What a produce request's record data holds, once checked. */
export interface BatchesSummary {
  /** Kafka error code; ErrorCode.NONE when every batch is sound. */
  error: number;
  /** Why, for the log and the response's error message. */
  reason: string;
  batches: number;
  /** Records the batches declare (lastOffsetDelta + 1 each). */
  records: number;
  /** Size of the largest batch, as max.message.bytes counts it (with its 12-byte log overhead). */
  largestBatch: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** Sequence of the last record of the last batch. */
  lastSequence: number;
  transactional: boolean;
}

/**
 * Checks that `buf` is a whole number of v2 batches with sound lengths and CRCs.
 * Each batch costs a header read and one CRC pass; records are not decoded.
 */
export function validateBatches(buf: Buffer): BatchesSummary {
  const s: BatchesSummary = {
    error: ErrorCode.NONE,
    reason: '',
    batches: 0,
    records: 0,
    largestBatch: 0,
    maxTimestamp: -1,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    lastSequence: -1,
    transactional: false,
  };
  const fail = (error: number, reason: string): BatchesSummary => {
    s.error = error;
    s.reason = reason;
    return s;
  };
  let pos = 0;
  if (buf.length === 0) return fail(ErrorCode.INVALID_RECORD, 'no record batch in the request');
  while (pos < buf.length) {
    if (buf.length - pos < BATCH_HEADER_SIZE) return fail(ErrorCode.CORRUPT_MESSAGE, `truncated batch header at byte ${pos}`);
    const magic = buf.readInt8(pos + Off.magic);
    if (magic !== 2) return fail(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `record batch magic ${magic}; only magic 2 is accepted`);
    const size = batchSize(buf, pos);
    if (size < BATCH_HEADER_SIZE || size > buf.length - pos) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `batch length ${size - LOG_OVERHEAD} at byte ${pos} does not fit the ${buf.length - pos} bytes left`);
    }
    if (!crcMatches(buf, pos, size)) return fail(ErrorCode.CORRUPT_MESSAGE, `CRC32C mismatch in the batch at byte ${pos}`);
    const delta = lastOffsetDelta(buf, pos);
    const count = recordsCount(buf, pos);
    if (delta < 0 || count < 0 || (count > 0 && delta < count - 1)) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${pos} declares lastOffsetDelta ${delta} for ${count} records`);
    }
    const attrs = attributes(buf, pos);
    if ((attrs & Attr.compressionMask) > 4) return fail(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression codec ${attrs & Attr.compressionMask}`);
    const pid = producerId(buf, pos);
    const epoch = producerEpoch(buf, pos);
    const seq = baseSequence(buf, pos);
    const transactional = (attrs & Attr.transactional) !== 0;
    if (s.batches === 0) {
      s.producerId = pid;
      s.producerEpoch = epoch;
      s.baseSequence = seq;
      s.transactional = transactional;
    } else {
      // The summary speaks for every batch: the producer checks run once, on what the first batch says.
      if (pid !== s.producerId || epoch !== s.producerEpoch || transactional !== s.transactional) {
        return fail(ErrorCode.INVALID_RECORD, `the batch at byte ${pos} has producer ${pid} epoch ${epoch}${transactional ? ' (transactional)' : ''}, the first batch producer ${s.producerId} epoch ${s.producerEpoch}${s.transactional ? ' (transactional)' : ''}; batches of one partition in one request must come from one producer`);
      }
      const expected = s.lastSequence < 0 ? -1 : (s.lastSequence + 1) % 2147483648;
      if ((seq < 0) !== (expected < 0) || (seq >= 0 && seq !== expected)) {
        return fail(ErrorCode.INVALID_RECORD, `the batch at byte ${pos} has base sequence ${seq}, expected ${expected} (following the previous batch)`);
      }
    }
    s.lastSequence = seq < 0 ? -1 : (seq + delta) % 2147483648;
    s.batches++;
    s.records += delta + 1;
    if (size > s.largestBatch) s.largestBatch = size;
    const ts = maxTimestamp(buf, pos);
    if (ts > s.maxTimestamp) s.maxTimestamp = ts;
    pos += size;
  }
  return s;
}

/**
 * Marks every batch in `buf` as LogAppendTime with `now` as its max timestamp, as Kafka
 * does for topics with message.timestamp.type=LogAppendTime; the CRC is recomputed since
 * both fields lie under it. Records keep their bytes: readers take the batch timestamp.
 */
export function stampLogAppendTime(buf: Buffer, now: number): void {
  let pos = 0;
  while (pos < buf.length) {
    const size = batchSize(buf, pos);
    buf.writeInt16BE(attributes(buf, pos) | Attr.timestampType, pos + Off.attributes);
    writeInt64(buf, pos + Off.maxTimestamp, now);
    buf.writeUInt32BE(computeCrc(buf, pos, size), pos + Off.crc);
    pos += size;
  }
}
