// The broker's internal logs (committed offsets, transaction state) hold one record per batch: no key,
// a value, no headers, uncompressed. These two functions write and read exactly that.

import { crc32c } from '../../protocol/crc32c.js';
import { BATCH_HEADER_SIZE, Off, writeInt64 } from '../../protocol/record-batch.js';

function varintSize(z: number): number {
  let n = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

export function buildSingleRecordBatch(value: Buffer, timestamp: number): Buffer {
  // record body: attributes, timestampDelta 0, offsetDelta 0, key length -1, value length, value, header count 0
  const body = 1 + 1 + 1 + varintSize(zigzag(-1)) + varintSize(zigzag(value.length)) + value.length + 1;
  const size = BATCH_HEADER_SIZE + varintSize(zigzag(body)) + body;
  const b = Buffer.alloc(size);
  b.writeInt32BE(size - 12, Off.batchLength);
  b.writeInt32BE(0, Off.partitionLeaderEpoch);
  b.writeInt8(2, Off.magic);
  b.writeInt16BE(0, Off.attributes);
  b.writeInt32BE(0, Off.lastOffsetDelta);
  writeInt64(b, Off.baseTimestamp, timestamp);
  writeInt64(b, Off.maxTimestamp, timestamp);
  writeInt64(b, Off.producerId, -1);
  b.writeInt16BE(-1, Off.producerEpoch);
  b.writeInt32BE(-1, Off.baseSequence);
  b.writeInt32BE(1, Off.recordsCount);
  let pos = writeVarint(b, BATCH_HEADER_SIZE, body);
  b[pos++] = 0;
  pos = writeVarint(b, pos, 0);
  pos = writeVarint(b, pos, 0);
  pos = writeVarint(b, pos, -1);
  pos = writeVarint(b, pos, value.length);
  pos += value.copy(b, pos);
  b[pos++] = 0;
  b.writeUInt32BE(crc32c(b.subarray(Off.attributes)) >>> 0, Off.crc);
  return b;
}

/** The value of the single record in a batch written by buildSingleRecordBatch, or null when it holds none. */
export function singleRecordValue(batch: Buffer): Buffer | null {
  if (batch.readInt32BE(Off.recordsCount) !== 1 || (batch.readInt16BE(Off.attributes) & 0x07) !== 0) return null;
  let pos = BATCH_HEADER_SIZE;
  const readVarint = (): number => {
    let z = 0;
    let shift = 0;
    for (;;) {
      if (pos >= batch.length) throw new RangeError('record runs past its batch');
      const byte = batch[pos++]!;
      z += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
    }
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  };
  readVarint(); // record length
  pos++; // attributes
  readVarint(); // timestamp delta
  readVarint(); // offset delta
  const keyLength = readVarint();
  if (keyLength > 0) pos += keyLength;
  const valueLength = readVarint();
  if (valueLength < 0 || pos + valueLength > batch.length) return null;
  return batch.subarray(pos, pos + valueLength);
}
