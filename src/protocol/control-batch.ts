// Control batches: the COMMIT and ABORT markers a transaction coordinator writes to every
// partition of a transaction. One record, magic 2, attributes transactional|control; the
// record's key is (version int16 = 0, type int16: 0 ABORT, 1 COMMIT) and its value is
// (version int16 = 0, coordinatorEpoch int32), as Kafka writes them.

import { crc32c } from './crc32c.js';
import { Attr, BATCH_HEADER_SIZE, Off, attributes, writeInt64 } from './record-batch.js';

export const ControlType = { ABORT: 0, COMMIT: 1 } as const;

export interface Marker {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  timestamp: number;
}

// record: length varint(1) | attributes(1) | timestampDelta(1) | offsetDelta(1) | keyLength(1) | key(4) | valueLength(1) | value(6) | headers(1)
const KEY_SIZE = 4;
const VALUE_SIZE = 6;
const RECORD_BODY = 1 + 1 + 1 + 1 + KEY_SIZE + 1 + VALUE_SIZE + 1;
export const CONTROL_BATCH_SIZE = BATCH_HEADER_SIZE + 1 + RECORD_BODY;

/** A control batch at base offset 0 (the log stamps the real one). */
export function buildControlBatch(m: Marker): Buffer {
  const b = Buffer.alloc(CONTROL_BATCH_SIZE);
  b.writeInt32BE(CONTROL_BATCH_SIZE - 12, Off.batchLength);
  b.writeInt8(2, Off.magic);
  b.writeInt16BE(Attr.transactional | Attr.control, Off.attributes);
  b.writeInt32BE(0, Off.lastOffsetDelta);
  writeInt64(b, Off.baseTimestamp, m.timestamp);
  writeInt64(b, Off.maxTimestamp, m.timestamp);
  writeInt64(b, Off.producerId, m.producerId);
  b.writeInt16BE(m.producerEpoch, Off.producerEpoch);
  b.writeInt32BE(-1, Off.baseSequence);
  b.writeInt32BE(1, Off.recordsCount);
  let p = BATCH_HEADER_SIZE;
  b[p++] = RECORD_BODY * 2; // zigzag varint of the body length (< 64)
  b[p++] = 0; // attributes
  b[p++] = 0; // timestamp delta
  b[p++] = 0; // offset delta
  b[p++] = KEY_SIZE * 2;
  b.writeInt16BE(0, p);
  b.writeInt16BE(m.commit ? ControlType.COMMIT : ControlType.ABORT, p + 2);
  p += KEY_SIZE;
  b[p++] = VALUE_SIZE * 2;
  b.writeInt16BE(0, p);
  b.writeInt32BE(m.coordinatorEpoch, p + 2);
  p += VALUE_SIZE;
  b[p++] = 0; // no headers
  b.writeUInt32BE(crc32c(b.subarray(Off.attributes)) >>> 0, Off.crc);
  return b;
}

export function isControlBatch(buf: Buffer, pos: number): boolean {
  return (attributes(buf, pos) & Attr.control) !== 0;
}

export function isTransactionalBatch(buf: Buffer, pos: number): boolean {
  return (attributes(buf, pos) & Attr.transactional) !== 0;
}

/**
 * The type of the control batch at `pos` (ControlType), or -1 when it is not a control batch
 * or its first record's key is not a readable control key. Reads only the batch's bytes.
 */
export function controlType(buf: Buffer, pos: number, size: number): number {
  if (!isControlBatch(buf, pos) || (attributes(buf, pos) & Attr.compressionMask) !== 0) return -1;
  const end = pos + size;
  let p = pos + BATCH_HEADER_SIZE;
  const varint = (): number => {
    let z = 0;
    let shift = 0;
    for (;;) {
      if (p >= end || shift > 28) return NaN;
      const byte = buf[p++]!;
      z |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
    }
    return (z >>> 1) ^ -(z & 1);
  };
  varint(); // record length
  p++; // attributes
  varint(); // timestamp delta
  varint(); // offset delta
  const keyLength = varint();
  if (!(keyLength >= KEY_SIZE) || p + KEY_SIZE > end) return -1;
  const type = buf.readInt16BE(p + 2);
  return type === ControlType.ABORT || type === ControlType.COMMIT ? type : -1;
}
