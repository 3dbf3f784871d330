// Size, then write: generated encoders run once over a SizeWriter to learn the exact
// size, then once over a BufferWriter that fills a single allocation. Record data is
// never copied: the BufferWriter hands it back as separate chunks for a vectored write.

const TWO_32 = 4294967296;

/** Record data as stored: one buffer, or several batches side by side. */
export type Records = Buffer | readonly Buffer[];

export interface Writer {
  int8(v: number): void;
  bool(v: boolean): void;
  int16(v: number): void;
  uint16(v: number): void;
  int32(v: number): void;
  uint32(v: number): void;
  int64(v: number): void;
  float64(v: number): void;
  uvarint(v: number): void;
  varint(v: number): void;
  uuid(v: string): void;
  string(v: string): void;
  nullableString(v: string | null): void;
  compactString(v: string): void;
  compactNullableString(v: string | null): void;
  bytes(v: Buffer): void;
  nullableBytes(v: Buffer | null): void;
  compactBytes(v: Buffer): void;
  compactNullableBytes(v: Buffer | null): void;
  records(v: Records | null): void;
  compactRecords(v: Records | null): void;
  arrayLength(n: number): void;
  compactArrayLength(n: number): void;
  /** Writes one tagged field's header; `size` is the byte size of its value. */
  tag(tag: number, size: number): void;
}

export function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

export function recordsLength(v: Records): number {
  if (Buffer.isBuffer(v)) return v.length;
  let n = 0;
  for (const b of v as readonly Buffer[]) n += b.length;
  return n;
}

/** Counts bytes. `size` is what the BufferWriter allocates; `external` is record data passed by reference. */
export class SizeWriter implements Writer {
  size = 0;
  external = 0;

  int8(_v: number): void { this.size += 1; }
  bool(_v: boolean): void { this.size += 1; }
  int16(_v: number): void { this.size += 2; }
  uint16(_v: number): void { this.size += 2; }
  int32(_v: number): void { this.size += 4; }
  uint32(_v: number): void { this.size += 4; }
  int64(_v: number): void { this.size += 8; }
  float64(_v: number): void { this.size += 8; }
  uvarint(v: number): void { this.size += uvarintSize(v); }
  varint(v: number): void { this.size += uvarintSize(v >= 0 ? v * 2 : -v * 2 - 1); }
  uuid(_v: string): void { this.size += 16; }
  string(v: string): void { this.size += 2 + Buffer.byteLength(v); }
  nullableString(v: string | null): void { this.size += v === null ? 2 : 2 + Buffer.byteLength(v); }
  compactString(v: string): void {
    const n = Buffer.byteLength(v);
    this.size += uvarintSize(n + 1) + n;
  }
  compactNullableString(v: string | null): void {
    if (v === null) this.size += 1;
    else this.compactString(v);
  }
  bytes(v: Buffer): void { this.size += 4 + v.length; }
  nullableBytes(v: Buffer | null): void { this.size += v === null ? 4 : 4 + v.length; }
  compactBytes(v: Buffer): void { this.size += uvarintSize(v.length + 1) + v.length; }
  compactNullableBytes(v: Buffer | null): void {
    if (v === null) this.size += 1;
    else this.compactBytes(v);
  }
  records(v: Records | null): void {
    this.size += 4;
    if (v !== null) this.external += recordsLength(v);
  }
  compactRecords(v: Records | null): void {
    if (v === null) {
      this.size += 1;
      return;
    }
    const n = recordsLength(v);
    this.size += uvarintSize(n + 1);
    this.external += n;
  }
  arrayLength(_v: number): void { this.size += 4; }
  compactArrayLength(n: number): void { this.size += uvarintSize(n + 1); }
  tag(tag: number, size: number): void { this.size += uvarintSize(tag) + uvarintSize(size); }
}

/** Writes into one preallocated buffer; record data is spliced in as references. */
export class BufferWriter implements Writer {
  buf: Buffer;
  pos: number;
  private chunks: Buffer[];
  private mark: number;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
    this.pos = 0;
    this.chunks = [];
    this.mark = 0;
  }

  /** The encoded bytes, as one buffer when no record data was spliced in. */
  finish(): Buffer[] {
    if (this.pos !== this.buf.length) {
      throw new Error(`encoder wrote ${this.pos} bytes into ${this.buf.length}: size and write disagree`);
    }
    if (this.mark < this.pos) this.chunks.push(this.buf.subarray(this.mark, this.pos));
    return this.chunks;
  }

  int8(v: number): void { this.pos = this.buf.writeInt8(v, this.pos); }
  bool(v: boolean): void { this.buf[this.pos++] = v ? 1 : 0; }
  int16(v: number): void { this.pos = this.buf.writeInt16BE(v, this.pos); }
  uint16(v: number): void { this.pos = this.buf.writeUInt16BE(v, this.pos); }
  int32(v: number): void { this.pos = this.buf.writeInt32BE(v, this.pos); }
  uint32(v: number): void { this.pos = this.buf.writeUInt32BE(v, this.pos); }
  int64(v: number): void {
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    this.pos += 8;
  }
  float64(v: number): void { this.pos = this.buf.writeDoubleBE(v, this.pos); }
  uvarint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  varint(v: number): void { this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1); }
  uuid(v: string): void {
    const b = Buffer.from(v, 'base64url');
    if (b.length === 16) b.copy(this.buf, this.pos);
    else this.buf.fill(0, this.pos, this.pos + 16);
    this.pos += 16;
  }
  private text(v: string, n: number): void {
    this.pos += this.buf.write(v, this.pos, n, 'utf8');
  }
  string(v: string): void {
    const n = Buffer.byteLength(v);
    this.int16(n);
    this.text(v, n);
  }
  nullableString(v: string | null): void {
    if (v === null) this.int16(-1);
    else this.string(v);
  }
  compactString(v: string): void {
    const n = Buffer.byteLength(v);
    this.uvarint(n + 1);
    this.text(v, n);
  }
  compactNullableString(v: string | null): void {
    if (v === null) this.uvarint(0);
    else this.compactString(v);
  }
  private raw(v: Buffer): void {
    v.copy(this.buf, this.pos);
    this.pos += v.length;
  }
  bytes(v: Buffer): void {
    this.int32(v.length);
    this.raw(v);
  }
  nullableBytes(v: Buffer | null): void {
    if (v === null) this.int32(-1);
    else this.bytes(v);
  }
  compactBytes(v: Buffer): void {
    this.uvarint(v.length + 1);
    this.raw(v);
  }
  compactNullableBytes(v: Buffer | null): void {
    if (v === null) this.uvarint(0);
    else this.compactBytes(v);
  }
  private splice(v: Records): void {
    if (this.mark < this.pos) this.chunks.push(this.buf.subarray(this.mark, this.pos));
    this.mark = this.pos;
    if (Buffer.isBuffer(v)) {
      if (v.length > 0) this.chunks.push(v);
    } else {
      for (const b of v as readonly Buffer[]) if (b.length > 0) this.chunks.push(b);
    }
  }
  records(v: Records | null): void {
    if (v === null) {
      this.int32(-1);
      return;
    }
    this.int32(recordsLength(v));
    this.splice(v);
  }
  compactRecords(v: Records | null): void {
    if (v === null) {
      this.uvarint(0);
      return;
    }
    this.uvarint(recordsLength(v) + 1);
    this.splice(v);
  }
  arrayLength(n: number): void { this.int32(n); }
  compactArrayLength(n: number): void { this.uvarint(n + 1); }
  tag(tag: number, size: number): void {
    this.uvarint(tag);
    this.uvarint(size);
  }
}

/** Encodes with `write` in two passes and returns the chunks; the first chunk starts with `prefix` bytes left for the caller. */
export function encode<T>(write: (w: Writer, m: T) => void, m: T): Buffer[] {
  const sizer = new SizeWriter();
  write(sizer, m);
  const w = new BufferWriter(sizer.size);
  write(w, m);
  return w.finish();
}
