// Builds and decodes uncompressed v2 record batches for tests, independently of the
// broker's code (only the CRC library is shared).

import { crc32c } from '@node-rs/crc32';

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
  const recordsBuf = Buffer.concat(bodies);
  const h = Buffer.alloc(61);
  h.writeBigInt64BE(0n, 0);
  h.writeInt32BE(61 - 12 + recordsBuf.length, 8);
  h.writeInt32BE(-1, 12);
  h.writeInt8(2, 16);
  h.writeInt16BE(opts.attributes ?? 0, 21);
  h.writeInt32BE(records.length - 1, 23);
  const maxTs = Math.max(...records.map((r) => r.timestamp ?? baseTs));
  h.writeBigInt64BE(BigInt(baseTs), 27);
  h.writeBigInt64BE(BigInt(maxTs), 35);
  h.writeBigInt64BE(BigInt(opts.producerId ?? -1), 43);
  h.writeInt16BE(opts.producerEpoch ?? -1, 51);
  h.writeInt32BE(opts.baseSequence ?? -1, 53);
  h.writeInt32BE(records.length, 57);
  const batch = Buffer.concat([h, recordsBuf]);
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
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
