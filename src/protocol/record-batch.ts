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
import { DEFAULT_MAX_DECOMPRESSED } from './compression.js';

export const BATCH_HEADER_SIZE = 61;
/** Bytes before the length field's end: baseOffset + batchLength. */
export const LOG_OVERHEAD = 12;

const TWO_32 = 4294967296;
/** The smallest record: length, attributes, timestamp and offset deltas, key and value lengths, header count (one byte each). */
export const MIN_RECORD_SIZE = 7;

/** -1 (none) or a time in ms that a number holds exactly. */
const validTimestamp = (ts: number): boolean => ts === -1 || (ts >= 0 && ts <= Number.MAX_SAFE_INTEGER);

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
 * `maxInflatedBytes` is the most a compressed records section may inflate to: a compressed
 * batch cannot declare more records than that could hold.
 */
export function validateBatches(buf: Buffer, maxInflatedBytes = DEFAULT_MAX_DECOMPRESSED): BatchesSummary {
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
    // What the header claims is checked against itself and the batch's size, as Kafka's
    // validator does (header reads only): a producer's batch holds exactly lastOffsetDelta + 1
    // records, so a forged delta cannot move the log's offsets further than its records.
    const delta = lastOffsetDelta(buf, pos);
    const count = recordsCount(buf, pos);
    if (count < 1 || delta !== count - 1) {
      return fail(ErrorCode.INVALID_RECORD, `batch at byte ${pos} declares lastOffsetDelta ${delta} for ${count} records; a producer's batch holds at least one record and lastOffsetDelta must be the record count - 1`);
    }
    const attrs = attributes(buf, pos);
    const codec = attrs & Attr.compressionMask;
    if (codec > 4) return fail(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression codec ${codec}`);
    if ((attrs & Attr.control) !== 0) return fail(ErrorCode.INVALID_RECORD, `batch at byte ${pos} is a control batch; only the broker writes those`);
    const sectionBytes = size - BATCH_HEADER_SIZE;
    // Each record takes at least MIN_RECORD_SIZE bytes, uncompressed or once inflated.
    if (codec === 0 ? count > sectionBytes / MIN_RECORD_SIZE : sectionBytes === 0 || count > maxInflatedBytes / MIN_RECORD_SIZE) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${pos} declares ${count} records in ${sectionBytes} ${codec === 0 ? '' : 'compressed '}bytes; a record takes at least ${MIN_RECORD_SIZE} bytes${codec === 0 ? '' : ` and a batch inflates to at most ${maxInflatedBytes}`}`);
    }
    const firstTs = baseTimestamp(buf, pos);
    const lastTs = maxTimestamp(buf, pos);
    if (!validTimestamp(firstTs) || !validTimestamp(lastTs) || lastTs < firstTs) {
      return fail(ErrorCode.INVALID_TIMESTAMP, `batch at byte ${pos} has baseTimestamp ${firstTs} and maxTimestamp ${lastTs}; each must be -1 or from 0 to ${Number.MAX_SAFE_INTEGER}, and maxTimestamp at least baseTimestamp`);
    }
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
 * Whether any batch in `buf` has the transactional attribute bit, reading only batch headers
 * (no record, no CRC): what Kafka's hasTransactionalRecords asks before anything else of a
 * Produce is looked at. Framing that does not hold is left to validateBatches.
 */
export function hasTransactionalBatch(buf: Buffer | null): boolean {
  if (buf === null) return false;
  let pos = 0;
  while (pos + Off.attributes + 2 <= buf.length) {
    if ((buf.readInt16BE(pos + Off.attributes) & Attr.transactional) !== 0) return true;
    const length = buf.readInt32BE(pos + Off.batchLength);
    if (length <= 0) return false;
    pos += LOG_OVERHEAD + length;
  }
  return false;
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
