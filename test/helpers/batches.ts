// Builds and reads v2 record batches for tests, independently of the broker's code (only
// the CRC library is shared), so a bug in src/protocol/record-batch.ts cannot hide behind
// a test batch built or read with that same code. Two builders: buildBatch with real
// records (what clients send), makeBatch with an opaque payload of a chosen size (what the
// log stores without decoding).

import { crc32c } from '@node-rs/crc32';

/** Byte positions of the v2 batch header fields (Kafka's DefaultRecordBatch). */
export const BatchField = {
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
export const BATCH_HEADER_SIZE = 61;

export interface TestRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: [string, Buffer][];
  timestamp?: number;
}

function varint(n: number): Buffer {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z & 0x7f) | 0x80);
    z = Math.floor(z / 128);
  }
  out.push(z);
  return Buffer.from(out);
}

export interface BatchOptions {
  baseTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  attributes?: number;
}

interface HeaderFields {
  attributes: number;
  records: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** A whole batch: header (base offset 0, leader epoch -1) then `recordsSection`, with its length and CRC32C set. */
function assemble(h: HeaderFields, recordsSection: Buffer): Buffer {
  const head = Buffer.alloc(BATCH_HEADER_SIZE);
  head.writeBigInt64BE(0n, BatchField.baseOffset);
  head.writeInt32BE(-1, BatchField.partitionLeaderEpoch);
  head.writeInt8(2, BatchField.magic);
  head.writeInt16BE(h.attributes, BatchField.attributes);
  head.writeInt32BE(h.records - 1, BatchField.lastOffsetDelta);
  head.writeBigInt64BE(BigInt(h.baseTimestamp), BatchField.baseTimestamp);
  head.writeBigInt64BE(BigInt(h.maxTimestamp), BatchField.maxTimestamp);
  head.writeBigInt64BE(BigInt(h.producerId), BatchField.producerId);
  head.writeInt16BE(h.producerEpoch, BatchField.producerEpoch);
  head.writeInt32BE(h.baseSequence, BatchField.baseSequence);
  head.writeInt32BE(h.records, BatchField.recordsCount);
  return sealBatch(Buffer.concat([head, recordsSection]));
}

/** Sets a batch's length and CRC32C after its bytes were changed; returns it. */
export function sealBatch(batch: Buffer): Buffer {
  batch.writeInt32BE(batch.length - 12, BatchField.batchLength);
  batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)) >>> 0, BatchField.crc);
  return batch;
}

/** `batch` with its records section replaced (by a compressed one, say) and `attributeBits` or-ed into its attributes. */
export function withRecordsSection(batch: Buffer, recordsSection: Buffer, attributeBits = 0): Buffer {
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), recordsSection]);
  out.writeInt16BE(out.readInt16BE(BatchField.attributes) | attributeBits, BatchField.attributes);
  return sealBatch(out);
}

export function buildBatch(records: TestRecord[], opts: BatchOptions = {}): Buffer {
  const baseTs = opts.baseTimestamp ?? Date.now();
  const bodies = records.map((r, i) => {
    const parts: Buffer[] = [Buffer.from([0]), varint((r.timestamp ?? baseTs) - baseTs), varint(i)];
    if (r.key === null) parts.push(varint(-1));
    else parts.push(varint(r.key.length), r.key);
    if (r.value === null) parts.push(varint(-1));
    else parts.push(varint(r.value.length), r.value);
    const headers = r.headers ?? [];
    parts.push(varint(headers.length));
    for (const [k, v] of headers) {
      const kb = Buffer.from(k);
      parts.push(varint(kb.length), kb, varint(v.length), v);
    }
    const body = Buffer.concat(parts);
    return Buffer.concat([varint(body.length), body]);
  });
  return assemble(
    {
      attributes: opts.attributes ?? 0,
      records: records.length,
      baseTimestamp: baseTs,
      maxTimestamp: Math.max(...records.map((r) => r.timestamp ?? baseTs)),
      producerId: opts.producerId ?? -1,
      producerEpoch: opts.producerEpoch ?? -1,
      baseSequence: opts.baseSequence ?? -1,
    },
    Buffer.concat(bodies),
  );
}

export interface BatchSpec {
  records?: number;
  /** Bytes of record data after the header (the log never decodes them). */
  payload?: number;
  baseTimestamp?: number;
  maxTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Byte value of the payload, to tell batches apart. */
  fill?: number;
  /** Sets the transactional attribute bit (0x10). */
  transactional?: boolean;
}

/** A v2 batch whose records section is `payload` bytes of `fill` (not decodable records), with a correct CRC32C; base offset 0 until the log assigns one. */
export function makeBatch(spec: BatchSpec = {}): Buffer {
  const ts = spec.maxTimestamp ?? 1_700_000_000_000;
  return assemble(
    {
      attributes: spec.transactional === true ? 0x10 : 0,
      records: spec.records ?? 1,
      baseTimestamp: spec.baseTimestamp ?? ts,
      maxTimestamp: ts,
      producerId: spec.producerId ?? -1,
      producerEpoch: spec.producerEpoch ?? -1,
      baseSequence: spec.baseSequence ?? -1,
    },
    Buffer.alloc(spec.payload ?? 16, spec.fill ?? 0x61),
  );
}

// ---------------------------------------------------------------- reading

export const baseOffsetOf = (buf: Buffer, pos = 0): number => Number(buf.readBigInt64BE(pos + BatchField.baseOffset));
export const batchSizeOf = (buf: Buffer, pos = 0): number => buf.readInt32BE(pos + BatchField.batchLength) + 12;
export const partitionLeaderEpochOf = (buf: Buffer, pos = 0): number => buf.readInt32BE(pos + BatchField.partitionLeaderEpoch);

/** Base offsets and (exclusive) end offsets of the batches in `bufs`, in order. */
export function batchRanges(bufs: Buffer[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const b of bufs) {
    for (let p = 0; p < b.length; p += batchSizeOf(b, p)) {
      const base = baseOffsetOf(b, p);
      out.push([base, base + b.readInt32BE(p + BatchField.lastOffsetDelta) + 1]);
    }
  }
  return out;
}

export function totalBytes(bufs: Buffer[]): number {
  return bufs.reduce((n, b) => n + b.length, 0);
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: [string, Buffer][];
}

/** Decodes every record of a run of uncompressed batches; throws on a compressed or corrupt one. */
export function decodeBatches(buf: Buffer): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let pos = 0;
  while (pos + 61 <= buf.length) {
    const size = buf.readInt32BE(pos + 8) + 12;
    if (pos + size > buf.length) break; // partial trailing batch, as Kafka may send
    const batch = buf.subarray(pos, pos + size);
    if ((crc32c(batch.subarray(21)) >>> 0) !== batch.readUInt32BE(17)) throw new Error(`bad CRC in batch at ${pos}`);
    if ((batch.readInt16BE(21) & 7) !== 0) throw new Error('compressed batch: decodeBatches handles uncompressed batches only');
    const base = Number(batch.readBigInt64BE(0));
    const baseTs = Number(batch.readBigInt64BE(27));
    const count = batch.readInt32BE(57);
    let p = 61;
    const rv = (): number => {
      let z = 0;
      let shift = 0;
      for (;;) {
        const b = batch[p++]!;
        z += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) break;
        shift += 7;
      }
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    };
    for (let i = 0; i < count; i++) {
      const len = rv();
      const end = p + len;
      p++; // attributes
      const tsDelta = rv();
      const offDelta = rv();
      const kl = rv();
      const key = kl < 0 ? null : batch.subarray(p, p + kl);
      if (kl > 0) p += kl;
      const vl = rv();
      const value = vl < 0 ? null : batch.subarray(p, p + vl);
      if (vl > 0) p += vl;
      const hc = rv();
      const headers: [string, Buffer][] = [];
      for (let h = 0; h < hc; h++) {
        const hk = rv();
        const k = batch.toString('utf8', p, p + hk);
        p += hk;
        const hv = rv();
        headers.push([k, batch.subarray(p, p + Math.max(hv, 0))]);
        if (hv > 0) p += hv;
      }
      p = end;
      out.push({ offset: base + offDelta, timestamp: baseTs + tsDelta, key, value, headers });
    }
    pos += size;
  }
  return out;
}
