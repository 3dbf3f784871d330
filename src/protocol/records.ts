// The records inside one v2 batch, for the features that need them (exact ListOffsets by
// timestamp, max timestamp). The produce and fetch paths never come here: they move batches
// as bytes (record-batch.ts).
//
// Record =>
//   length VARINT | attributes INT8 | timestampDelta VARLONG | offsetDelta VARINT |
//   keyLength VARINT | key BYTES | valueLength VARINT | value BYTES |
//   headersCount VARINT | [headerKeyLength VARINT | headerKey | headerValueLength VARINT | headerValue]
//
// The records section follows the 61-byte header and is compressed as a whole when
// attributes & 7 is not 0. With LogAppendTime (attributes bit 0x08) each record's
// timestamp is the batch's maxTimestamp, whatever its delta says.
//
// Decoding uses the sticky-error Reader: every read is bounds-checked, each record must end
// exactly where its length says, and a record count larger than the bytes could hold stops
// at the first record that does not fit. Corrupt input raises DataError
// (RIV_ERR_CORRUPT_RECORDS), never a crash or an endless loop.

import { Reader } from './reader.js';
import { Attr, BATCH_HEADER_SIZE, attributes, baseOffset, baseTimestamp, batchSize, lastOffsetDelta, maxTimestamp, recordsCount } from './record-batch.js';
import { DataError, DataErrorCode, decompress } from './compression.js';

export { DataError, DataErrorCode } from './compression.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** One record as the callback sees it. Buffers are views into the (decompressed) section. */
export interface RecordView {
  /** Absolute offset: batch base offset + offsetDelta. */
  offset: number;
  /** Effective timestamp (the batch maxTimestamp under LogAppendTime). */
  timestamp: number;
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  /** Where the record's bytes (from its length varint) start and end in the section: the cleaner copies them as they are. */
  start: number;
  end: number;
}

export interface RecordTimestamp {
  offset: number;
  timestamp: number;
}

/** The batch's records section, decompressed when the batch is compressed. */
export async function recordsSection(batch: Buffer, maxBytes?: number): Promise<Buffer> {
  checkBatch(batch);
  const raw = batch.subarray(BATCH_HEADER_SIZE, batchSize(batch, 0));
  const codec = attributes(batch, 0) & Attr.compressionMask;
  if (codec === 0 || recordsCount(batch, 0) === 0) return raw;
  return decompress(codec, raw, maxBytes);
}

/**
 * Calls `cb` for each record of `batch` (one whole v2 batch at position 0), with its records
 * section `section` as recordsSection returns it. `cb` returns true to stop early.
 * With `withBodies` false, keys, values and headers are skipped, not decoded (null / []).
 */
export function forEachRecordIn(batch: Buffer, section: Buffer, cb: (r: RecordView) => boolean | void, withBodies = true): void {
  checkBatch(batch);
  const count = recordsCount(batch, 0);
  const base = baseOffset(batch, 0);
  const baseTs = baseTimestamp(batch, 0);
  const logAppendTime = (attributes(batch, 0) & Attr.timestampType) !== 0;
  const maxTs = maxTimestamp(batch, 0);
  if (count < 0) throw corrupt(base, `negative record count ${count}`);
  const r = new Reader(section);
  const view: RecordView = { offset: 0, timestamp: 0, offsetDelta: 0, timestampDelta: 0, key: null, value: null, headers: [], start: 0, end: 0 };
  for (let i = 0; i < count; i++) {
    if (r.remaining === 0) throw corrupt(base, `the batch declares ${count} records, the section holds ${i}`);
    const start = r.pos;
    const length = r.varint();
    if (r.bad) break;
    if (length < 1 || length > r.remaining) throw corrupt(base, `record ${i} declares ${length} bytes, ${r.remaining} are left`);
    const end = r.pos + length;
    const rec = new Reader(section, r.pos, end);
    rec.int8(); // attributes: unused in v2
    const timestampDelta = rec.varint();
    const offsetDelta = rec.varint();
    let key: Buffer | null = null;
    let value: Buffer | null = null;
    const headers: RecordHeader[] = [];
    if (withBodies) {
      key = bytesField(rec);
      value = bytesField(rec);
      const n = rec.varint();
      if (n < 0 || n > rec.remaining) rec.fail(`header count ${n}`);
      for (let h = 0; h < n && !rec.bad; h++) {
        const k = bytesField(rec);
        if (k === null) rec.fail('null header key');
        headers.push({ key: k === null ? '' : k.toString('utf8'), value: bytesField(rec) });
      }
      if (!rec.bad && rec.pos !== end) rec.fail(`${end - rec.pos} bytes left over`);
    }
    if (rec.bad) throw corrupt(base, `record ${i}: ${rec.reason}`);
    if (offsetDelta < 0) throw corrupt(base, `record ${i} has offset delta ${offsetDelta}`);
    r.pos = end;
    view.offset = base + offsetDelta;
    view.timestamp = logAppendTime ? maxTs : baseTs + timestampDelta;
    view.offsetDelta = offsetDelta;
    view.timestampDelta = timestampDelta;
    view.key = key;
    view.value = value;
    view.headers = headers;
    view.start = start;
    view.end = end;
    if (cb(view) === true) return;
  }
  if (r.bad) throw corrupt(base, r.reason);
}

/**
 * Offset delta of the first record of `batch` without a key (compacted topics refuse those),
 * or -1. Reads each record's header up to its key length only; bodies are skipped.
 */
export function firstKeylessRecord(batch: Buffer, section: Buffer): number {
  checkBatch(batch);
  const count = recordsCount(batch, 0);
  const base = baseOffset(batch, 0);
  const r = new Reader(section);
  for (let i = 0; i < count; i++) {
    const length = r.varint();
    if (r.bad || length < 1 || length > r.remaining) throw corrupt(base, `record ${i} declares ${length} bytes, ${r.remaining} are left`);
    const end = r.pos + length;
    // attributes, timestampDelta, offsetDelta, keyLength: read in place, no reader per record.
    r.int8();
    r.varint();
    const offsetDelta = r.varint();
    const keyLength = r.varint();
    if (r.bad || r.pos > end) throw corrupt(base, `record ${i}: ${r.bad ? r.reason : 'its header runs past its length'}`);
    if (keyLength < 0) return offsetDelta;
    r.pos = end;
  }
  return -1;
}

/** Calls `cb` for each record of `batch`, decompressing first when needed. */
export async function forEachRecord(batch: Buffer, cb: (r: RecordView) => boolean | void, withBodies = true): Promise<void> {
  forEachRecordIn(batch, await recordsSection(batch), cb, withBodies);
}

/** Offset and effective timestamp of every record of `batch`. */
export async function recordTimestamps(batch: Buffer): Promise<RecordTimestamp[]> {
  const out: RecordTimestamp[] = [];
  await forEachRecord(batch, (r) => void out.push({ offset: r.offset, timestamp: r.timestamp }), false);
  return out;
}

/** First record of `batch` with timestamp >= `timestamp` and offset >= `minOffset`, or null. */
export async function firstRecordAtOrAfter(batch: Buffer, timestamp: number, minOffset = 0): Promise<RecordTimestamp | null> {
  checkBatch(batch);
  const base = baseOffset(batch, 0);
  if ((attributes(batch, 0) & Attr.timestampType) !== 0) {
    // LogAppendTime: every record carries maxTimestamp; the header answers.
    const ts = maxTimestamp(batch, 0);
    if (ts < timestamp) return null;
    return firstOffsetAtLeast(batch, minOffset, ts);
  }
  let found: RecordTimestamp | null = null;
  await forEachRecord(
    batch,
    (r) => {
      if (r.timestamp < timestamp || r.offset < minOffset) return false;
      found = { offset: r.offset, timestamp: r.timestamp };
      return true;
    },
    false,
  );
  if (found === null && base >= minOffset && maxTimestamp(batch, 0) >= timestamp) {
    // The header promised a record this late; its records disagree.
    throw corrupt(base, `maxTimestamp ${maxTimestamp(batch, 0)} but no record at or after ${timestamp}`);
  }
  return found;
}

/** First record of `batch` carrying the batch's maxTimestamp (Kafka's offsetOfMaxTimestamp). */
export async function offsetOfMaxTimestamp(batch: Buffer): Promise<RecordTimestamp | null> {
  checkBatch(batch);
  const ts = maxTimestamp(batch, 0);
  if ((attributes(batch, 0) & Attr.timestampType) !== 0) return firstOffsetAtLeast(batch, 0, ts);
  let found: RecordTimestamp | null = null;
  await forEachRecord(
    batch,
    (r) => {
      if (r.timestamp !== ts) return false;
      found = { offset: r.offset, timestamp: ts };
      return true;
    },
    false,
  );
  return found;
}

/**
 * Under LogAppendTime every record carries the batch's maxTimestamp, so the header answers
 * without inflating: the first offset at or above `minOffset` that the batch covers. A
 * producer's batch holds one record per offset (produce checks lastOffsetDelta = count - 1).
 */
function firstOffsetAtLeast(batch: Buffer, minOffset: number, ts: number): RecordTimestamp | null {
  const base = baseOffset(batch, 0);
  if (minOffset > base + lastOffsetDelta(batch, 0)) return null;
  return { offset: Math.max(base, minOffset), timestamp: ts };
}

function bytesField(r: Reader): Buffer | null {
  const len = r.varint();
  if (len < 0) return null;
  if (len > r.remaining) {
    r.fail(`field of ${len} bytes`);
    return null;
  }
  const b = r.buf.subarray(r.pos, r.pos + len);
  r.pos += len;
  return b;
}

function checkBatch(batch: Buffer): void {
  if (batch.length < BATCH_HEADER_SIZE) throw new DataError(DataErrorCode.corruptRecords, `a record batch needs ${BATCH_HEADER_SIZE} bytes of header, got ${batch.length}`);
  const size = batchSize(batch, 0);
  if (size < BATCH_HEADER_SIZE || size > batch.length) {
    throw new DataError(DataErrorCode.corruptRecords, `batch length ${size} does not fit the ${batch.length} bytes given`);
  }
}

function corrupt(base: number, what: string): DataError {
  return new DataError(DataErrorCode.corruptRecords, `records of the batch at offset ${base} are corrupt: ${what}`);
}
