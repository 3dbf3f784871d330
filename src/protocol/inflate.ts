// Bounded decoders for the codecs whose packages cannot be told to stop: LZ4 frames (decoded
// here, in JavaScript) and zstd frames (fzstd, fed through its streaming API so output is
// counted as it comes). Both run in the inflate worker (inflate-worker.ts), off the event loop.
//
// Every allocation is checked against `max` before it is made: the zstd frame headers
// (window and content sizes) before fzstd sees the data, the output buffer as it grows. A
// bomb therefore costs at most `max` bytes of output (and a zstd window no larger than that),
// whatever its compressed size claims.

/**
 * Bytes of window fzstd may move while inflating one frame (blocks x window). A real batch
 * moves megabytes to a few hundred (a 2-8 MB window, one block per 128 KB of content).
 */
const ZSTD_WORK_MAX = 2 ** 32;

/** The output would pass the limit. */
export class InflateLimitError extends Error {}
/** The bytes are not what the codec's format allows. */
export class InflateCorruptError extends Error {}

/** A growable output that refuses to pass `max` bytes. */
class Output {
  buf: Uint8Array;
  length = 0;
  constructor(
    readonly max: number,
    sizeHint: number,
  ) {
    this.buf = new Uint8Array(Math.min(max, Math.max(65536, sizeHint)));
  }
  /** Makes room for `n` more bytes. */
  ensure(n: number, codec: string): void {
    const need = this.length + n;
    if (need > this.max) throw new InflateLimitError(`${codec} data decompresses to more than ${this.max} bytes`);
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.min(this.max, Math.max(need, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  append(src: Uint8Array, from: number, to: number, codec: string): void {
    this.ensure(to - from, codec);
    this.buf.set(src.subarray(from, to), this.length);
    this.length += to - from;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const u32 = (b: Uint8Array, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 16777216;

// ------------------------------------------------------------------ LZ4 frame format

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 65536, 262144, 1048576, 4194304];
const isSkippable = (magic: number): boolean => magic >= 0x184d2a50 && magic <= 0x184d2a5f;

function lz4Corrupt(what: string): InflateCorruptError {
  return new InflateCorruptError(`lz4 data is corrupt: ${what}`);
}

/** Decodes one or more LZ4 frames (Kafka's lz4 codec since magic v1) into at most `max` bytes. */
export function lz4Inflate(src: Uint8Array, max: number): Uint8Array {
  const out = new Output(max, src.length * 4);
  let p = 0;
  while (p < src.length) {
    if (src.length - p < 8) throw lz4Corrupt(`truncated frame header at byte ${p}`);
    const magic = u32(src, p);
    if (isSkippable(magic)) {
      p += 8 + u32(src, p + 4);
      continue;
    }
    if (magic !== LZ4_MAGIC) throw lz4Corrupt(`no LZ4 frame magic at byte ${p}`);
    const flg = src[p + 4]!;
    const bd = src[p + 5]!;
    if (flg >> 6 !== 1) throw lz4Corrupt(`frame version ${flg >> 6}`);
    if ((flg & 1) !== 0) throw lz4Corrupt('frames with a dictionary are not used by Kafka');
    const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 7]!;
    if (blockMax === 0) throw lz4Corrupt(`block size code ${(bd >> 4) & 7}`);
    const blockChecksum = (flg & 0x10) !== 0;
    p += 6;
    if ((flg & 0x08) !== 0) {
      if (src.length - p < 8) throw lz4Corrupt('truncated content size');
      const size = u32(src, p) + u32(src, p + 4) * 4294967296;
      if (size > max - out.length) throw new InflateLimitError(`lz4 frame declares ${size} bytes of content, more than the ${max} bytes allowed`);
      p += 8;
    }
    p += 1; // header checksum: the batch's CRC32C already covers these bytes
    for (;;) {
      if (src.length - p < 4) throw lz4Corrupt(`truncated block size at byte ${p}`);
      const word = u32(src, p);
      p += 4;
      if (word === 0) break; // end mark
      const size = word % 2147483648;
      if (size > blockMax || size > src.length - p) throw lz4Corrupt(`block of ${size} bytes at byte ${p - 4} (block maximum ${blockMax}, ${src.length - p} bytes left)`);
      const before = out.length;
      if (word >= 2147483648) out.append(src, p, p + size, 'lz4');
      else lz4Block(src, p, p + size, out);
      if (out.length - before > blockMax) throw lz4Corrupt(`a block decodes to more than its maximum of ${blockMax} bytes`);
      p += size + (blockChecksum ? 4 : 0);
    }
    if ((flg & 0x04) !== 0) p += 4; // content checksum
  }
  if (p > src.length) throw lz4Corrupt('truncated frame');
  return out.result();
}

/** One LZ4 block (sequences of literals and back-references) appended to `out`. */
function lz4Block(src: Uint8Array, start: number, end: number, out: Output): void {
  let ip = start;
  while (ip < end) {
    const token = src[ip++]!;
    let lit = token >> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= end) throw lz4Corrupt('truncated literal length');
        b = src[ip++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > end - ip) throw lz4Corrupt('literals run past the block');
    out.append(src, ip, ip + lit, 'lz4');
    ip += lit;
    if (ip === end) return; // the last sequence holds literals only
    if (end - ip < 2) throw lz4Corrupt('truncated match offset');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > out.length) throw lz4Corrupt(`match offset ${offset} before the start of the data`);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (ip >= end) throw lz4Corrupt('truncated match length');
        b = src[ip++]!;
        len += b;
      } while (b === 255);
    }
    len += 4;
    out.ensure(len, 'lz4');
    const buf = out.buf;
    let op = out.length;
    let from = op - offset;
    if (offset >= len) buf.copyWithin(op, from, from + len);
    else for (let i = 0; i < len; i++) buf[op++] = buf[from++]!;
    out.length += len;
  }
}

// ------------------------------------------------------------------ zstd

const ZSTD_MAGIC = 0xfd2fb528;

function zstdCorrupt(what: string): InflateCorruptError {
  return new InflateCorruptError(`zstd data is corrupt: ${what}`);
}

/**
 * Walks every zstd frame's header and block headers (no decoding) and refuses a frame whose
 * declared content size or window (the buffer a decoder allocates up front) passes `max`.
 */
export function zstdCheckFrames(src: Uint8Array, max: number): void {
  let p = 0;
  while (p < src.length) {
    if (src.length - p < 5) throw zstdCorrupt(`truncated frame header at byte ${p}`);
    const magic = u32(src, p);
    if (isSkippable(magic)) {
      if (src.length - p < 8) throw zstdCorrupt('truncated skippable frame');
      p += 8 + u32(src, p + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw zstdCorrupt(`no zstd frame magic at byte ${p}`);
    const fhd = src[p + 4]!;
    p += 5;
    if ((fhd & 0x08) !== 0) throw zstdCorrupt('reserved frame header bit set');
    const single = (fhd & 0x20) !== 0;
    let window = 0;
    if (!single) {
      if (p >= src.length) throw zstdCorrupt('truncated window descriptor');
      const wd = src[p++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    p += [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = [single ? 1 : 0, 2, 4, 8][fhd >> 6]!;
    if (p > src.length || src.length - p < fcsBytes) throw zstdCorrupt('truncated frame header');
    let fcs = -1;
    if (fcsBytes === 1) fcs = src[p]!;
    else if (fcsBytes === 2) fcs = (src[p]! | (src[p + 1]! << 8)) + 256;
    else if (fcsBytes === 4) fcs = u32(src, p);
    else if (fcsBytes === 8) fcs = u32(src, p) + u32(src, p + 4) * 4294967296;
    p += fcsBytes;
    if (single) window = fcs;
    if (fcs > max) throw new InflateLimitError(`zstd frame declares ${fcs} bytes of content, more than the ${max} bytes allowed`);
    if (window > max) throw new InflateLimitError(`zstd frame asks for a ${window}-byte window, more than the ${max} bytes allowed`);
    let blocks = 0;
    for (;;) {
      if (src.length - p < 3) throw zstdCorrupt(`truncated block header at byte ${p}`);
      // fzstd moves its whole window for every block: many tiny blocks under a large window
      // would keep the worker copying for hours while the output stays under the limit.
      if (++blocks * window > ZSTD_WORK_MAX) throw new InflateLimitError(`zstd frame has more than ${blocks - 1} blocks under a ${window}-byte window, more work than allowed (${ZSTD_WORK_MAX} bytes of window moves)`);
      const h = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16);
      p += 3;
      const type = (h >> 1) & 3;
      if (type === 3) throw zstdCorrupt('reserved block type');
      p += type === 1 ? 1 : h >>> 3;
      if (p > src.length) throw zstdCorrupt('truncated block');
      if ((h & 1) !== 0) break;
    }
    if ((fhd & 0x04) !== 0) p += 4;
  }
  if (p > src.length) throw zstdCorrupt('truncated frame');
}

/** The part of fzstd used here. */
export interface ZstdStream {
  new (ondata: (data: Uint8Array, final?: boolean) => unknown): { push(chunk: Uint8Array, final?: boolean): unknown };
}

/** Decodes zstd frames into at most `max` bytes, counting output block by block as fzstd produces it. */
export function zstdInflate(src: Uint8Array, max: number, Decompress: ZstdStream): Uint8Array {
  zstdCheckFrames(src, max);
  const out = new Output(max, src.length * 4);
  const d = new Decompress((chunk) => out.append(chunk, 0, chunk.length, 'zstd'));
  try {
    d.push(src, true);
  } catch (err) {
    if (err instanceof InflateLimitError) throw err;
    throw zstdCorrupt(err instanceof Error ? err.message : String(err));
  }
  return out.result();
}
