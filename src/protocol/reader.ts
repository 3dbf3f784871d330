// Bounds-checked reader over one frame. Errors are sticky (as in franz-go's kbin):
// a read past the end marks the reader bad and returns a zero value, so generated
// decoders run straight through and the caller checks `bad` once at the end.

const TWO_32 = 4294967296;

export class Reader {
  buf: Buffer;
  pos: number;
  end: number;
  bad: boolean;
  /** Why decoding failed, for the log line; empty while `bad` is false. */
  reason: string;
  /**
   * Array entries the rest of the frame may still declare; more marks the reader bad. Bounds
   * the objects one request can make the decoder (and its handler) build: an entry of a few
   * bytes on the wire costs a hundred in memory and a share of one event-loop turn.
   */
  entriesLeft: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.bad = false;
    this.reason = '';
    this.entriesLeft = Infinity;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string): void {
    if (!this.bad) {
      this.bad = true;
      this.reason = `${reason} at byte ${this.pos}`;
    }
    this.pos = this.end;
  }

  private need(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    this.fail(`need ${n} bytes, ${this.end - this.pos} left`);
    return false;
  }

  int8(): number {
    if (!this.need(1)) return 0;
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    if (!this.need(4)) return 0;
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    if (!this.need(4)) return 0;
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** 64-bit integers are kept as numbers; values beyond 2^53 lose precision, which no offset, timestamp or id of ours reaches. */
  int64(): number {
    if (!this.need(8)) return 0;
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  float64(): number {
    if (!this.need(8)) return 0;
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  uvarint(): number {
    let result = 0;
    let shift = 0;
    while (this.pos < this.end) {
      const b = this.buf[this.pos++]!;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) break;
    }
    this.fail('malformed varint');
    return 0;
  }

  varint(): number {
    const u = this.uvarint();
    // zigzag decode without 32-bit overflow
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  uuid(): string {
    if (!this.need(16)) return ZERO_UUID;
    const s = this.buf.toString('base64url', this.pos, this.pos + 16);
    this.pos += 16;
    return s;
  }

  private text(len: number): string {
    if (!this.need(len)) return '';
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  private slice(len: number): Buffer {
    if (!this.need(len)) return EMPTY;
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  string(): string {
    const len = this.int16();
    if (len < 0) {
      this.fail('null string where one is required');
      return '';
    }
    return this.text(len);
  }

  nullableString(): string | null {
    const len = this.int16();
    return len < 0 ? null : this.text(len);
  }

  compactString(): string {
    const len = this.uvarint() - 1;
    if (len < 0) {
      this.fail('null string where one is required');
      return '';
    }
    return this.text(len);
  }

  compactNullableString(): string | null {
    const len = this.uvarint() - 1;
    return len < 0 ? null : this.text(len);
  }

  /** Bytes are views into the frame, never copies. */
  bytes(): Buffer {
    const len = this.int32();
    if (len < 0) {
      this.fail('null bytes where they are required');
      return EMPTY;
    }
    return this.slice(len);
  }

  nullableBytes(): Buffer | null {
    const len = this.int32();
    return len < 0 ? null : this.slice(len);
  }

  compactBytes(): Buffer {
    const len = this.uvarint() - 1;
    if (len < 0) {
      this.fail('null bytes where they are required');
      return EMPTY;
    }
    return this.slice(len);
  }

  compactNullableBytes(): Buffer | null {
    const len = this.uvarint() - 1;
    return len < 0 ? null : this.slice(len);
  }

  /** Array length; -1 means null. A length that cannot fit in what is left marks the reader bad. */
  arrayLength(): number {
    const n = this.int32();
    return this.checkCount(n);
  }

  compactArrayLength(): number {
    const n = this.uvarint() - 1;
    return this.checkCount(n);
  }

  private checkCount(n: number): number {
    if (n < -1 || n > this.end - this.pos) {
      this.fail(`array length ${n} does not fit in the frame`);
      return 0;
    }
    if (n > 0 && (this.entriesLeft -= n) < 0) {
      this.fail(`more array entries than the limit allows`);
      return 0;
    }
    return n;
  }

  /** Skips the tagged fields this codec does not know. */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count && !this.bad; i++) {
      this.uvarint();
      const size = this.uvarint();
      if (!this.need(size)) return;
      this.pos += size;
    }
  }
}

export const EMPTY = Buffer.alloc(0);
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
