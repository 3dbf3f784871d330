// Decompression of a v2 batch's records section for Kafka's codecs (attributes & 7):
// 1 gzip (node:zlib), 2 snappy (the `snappy` package, napi-rs), 3 lz4 frame format
// (decoded in inflate.ts), 4 zstd (`fzstd`, pure JS, behind inflate.ts's checks).
//
// Off the produce and fetch paths: batches are stored and served deflated. This is for the
// few features that need records (exact ListOffsets by timestamp, later compaction).
//
// Snappy comes in two shapes. The Java client (and librdkafka) wrap blocks in xerial's
// framing: the 8-byte magic 0x82 "SNAPPY" 0x00, int32 version, int32 minimum compatible
// version, then repeated [int32 length, raw snappy block]. Some clients send one raw block
// instead; without the magic the input is taken as that.
//
// Errors are DataError with a stable code:
//   RIV_ERR_UNSUPPORTED_CODEC   codec number not 1-4, or its package does not load here (UNSUPPORTED_COMPRESSION_TYPE)
//   RIV_ERR_CORRUPT_COMPRESSED  the codec rejected the bytes (CORRUPT_MESSAGE)
//   RIV_ERR_DECOMPRESSED_TOO_LARGE  the output would exceed the caller's limit (CORRUPT_MESSAGE)
//   RIV_ERR_CORRUPT_RECORDS     (records.ts) the records section does not parse (CORRUPT_MESSAGE)

import { WorkerClient } from './worker-client.js';
import { ErrorCode } from './errors.js';
import type { InflateReply, InflateRequest } from './inflate-worker.js';

export const Codec = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;

const codecNames = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export const DataErrorCode = {
  unsupportedCodec: 'RIV_ERR_UNSUPPORTED_CODEC',
  corruptCompressed: 'RIV_ERR_CORRUPT_COMPRESSED',
  tooLarge: 'RIV_ERR_DECOMPRESSED_TOO_LARGE',
  corruptRecords: 'RIV_ERR_CORRUPT_RECORDS',
} as const;
export type DataErrorCode = (typeof DataErrorCode)[keyof typeof DataErrorCode];

/** Bytes of a batch that cannot be decoded. Retrying does not help: the bytes stay the same. */
export class DataError extends Error {
  readonly code: DataErrorCode;
  /** Kafka error code for a response. */
  readonly kafkaCode: number;
  readonly retriable: boolean;

  constructor(code: DataErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DataError';
    this.code = code;
    this.kafkaCode = code === DataErrorCode.unsupportedCodec ? ErrorCode.UNSUPPORTED_COMPRESSION_TYPE : ErrorCode.CORRUPT_MESSAGE;
    this.retriable = false;
  }
}

/** Default ceiling on one decompressed records section (Kafka's batches are far smaller). */
export const DEFAULT_MAX_DECOMPRESSED = 256 * 1024 * 1024;

let maxDecompressed = DEFAULT_MAX_DECOMPRESSED;
/** Sets the ceiling `decompress` applies when its caller gives none (the broker's decompressed.batch.max.bytes). */
export function setDecompressedLimit(bytes: number): void {
  maxDecompressed = bytes;
}

// Codecs load on first use: a broker that never meets a compressed batch in a timestamp
// lookup never loads them, a platform without a prebuilt binding still starts, and start-up
// does not pay for them (node:zlib included).
let gunzipFn: Promise<(data: Buffer, o: { maxOutputLength: number }) => Promise<Buffer>> | null = null;
const loadGunzip = () =>
  (gunzipFn ??= Promise.all([import('node:zlib'), import('node:util')]).then(([zlib, util]) => util.promisify(zlib.gunzip) as (data: Buffer, o: { maxOutputLength: number }) => Promise<Buffer>));
let snappyModule: Promise<typeof import('snappy')> | null = null;
const loadSnappy = (): Promise<typeof import('snappy')> => (snappyModule ??= loading('snappy', import('snappy')));

/** A codec package that fails to load (no prebuilt binding here) is not the batch's fault. */
function loading<T>(pkg: string, p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    throw new DataError(DataErrorCode.unsupportedCodec, `the codec package ${pkg} does not load on this platform (${err instanceof Error ? err.message : String(err)}); reinstall the dependencies`, err);
  });
}

// zstd always goes through fzstd: node:zlib's zstd (Node 22.15+) stops after the first of
// several concatenated frames, which the format allows a producer to send.
//
// Every codec is bounded and off the event loop. gzip: node:zlib's async gunzip with
// maxOutputLength (libuv's pool). snappy: each block's declared length is checked before
// the package (napi, async) inflates it. lz4 and zstd: neither lz4-napi nor fzstd can be told
// to stop (a 24 KB zstd batch inflated to 768 MB on the event loop), so both are decoded in
// one worker thread by inflate.ts, which checks frame headers before allocating and counts
// output as it grows.

const inflater = new WorkerClient<Omit<InflateRequest, 'id'>, InflateReply, Buffer>(new URL('./inflate-worker.js', import.meta.url), 'inflate worker', (reply) => {
  if ('out' in reply) return toBuffer(reply.out);
  throw new DataError(reply.error === 'limit' ? DataErrorCode.tooLarge : DataErrorCode.corruptCompressed, `${reply.message}; ${reply.error === 'limit' ? 'raise the limit if such batches are expected' : 'the producer sent a corrupt batch'}`);
});

function inflateInWorker(codec: 'lz4' | 'zstd', data: Buffer, max: number): Promise<Buffer> {
  // The worker gets its own copy (the batch may be a view into a larger read buffer).
  const copy = new Uint8Array(data);
  return inflater.request({ codec, data: copy, max }, [copy.buffer]);
}

export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, version and minimum compatible version. */
const XERIAL_HEADER_SIZE = 16;

/**
 * Decompresses `data` compressed with Kafka codec `codec` (1-4; 0 returns `data` itself).
 * Rejects with a DataError when the codec is unknown, the bytes are corrupt, or the output
 * would exceed `maxBytes`.
 */
export async function decompress(codec: number, data: Buffer, maxBytes = maxDecompressed): Promise<Buffer> {
  let out: Buffer;
  if (codec >= Codec.gzip && codec <= Codec.zstd && data.length === 0) {
    // Some decoders take no bytes for no data; every Kafka codec writes at least a header.
    throw new DataError(DataErrorCode.corruptCompressed, `${codecNames[codec]} data is empty; a compressed records section has at least the codec's header`);
  }
  try {
    switch (codec) {
      case Codec.none:
        return data;
      case Codec.gzip:
        out = await (await loadGunzip())(data, { maxOutputLength: maxBytes });
        break;
      case Codec.snappy:
        out = await snappyDecompress(data, maxBytes);
        break;
      case Codec.lz4:
        out = await inflateInWorker('lz4', data, maxBytes);
        break;
      case Codec.zstd:
        out = await inflateInWorker('zstd', data, maxBytes);
        break;
      default:
        throw new DataError(DataErrorCode.unsupportedCodec, `compression codec ${codec} is not one of Kafka's (1 gzip, 2 snappy, 3 lz4, 4 zstd)`);
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    const name = codecNames[codec] ?? String(codec);
    const e = err as NodeJS.ErrnoException;
    if (e !== null && typeof e === 'object' && e.code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(name, maxBytes, err);
    const detail = err instanceof Error ? err.message : String(err);
    throw new DataError(DataErrorCode.corruptCompressed, `${name} data of ${data.length} bytes does not decompress (${detail}); the producer sent a corrupt batch`, err);
  }
  if (out.length > maxBytes) throw tooLarge(codecNames[codec]!, maxBytes);
  return out;
}

let lz4Module: Promise<typeof import('lz4-napi')> | null = null;
const loadLz4 = (): Promise<typeof import('lz4-napi')> => (lz4Module ??= loading('lz4-napi', import('lz4-napi')));

/**
 * Compresses a records section with Kafka codec `codec` (the cleaner rewrites the batches it
 * filters with the codec they came with). Snappy is written in xerial's framing, as the Java
 * client writes it; lz4 in the frame format. zstd needs Node's own (22.15+): where it is
 * missing this rejects with RIV_ERR_UNSUPPORTED_CODEC and the caller decides.
 */
export async function compress(codec: number, data: Buffer): Promise<Buffer> {
  switch (codec) {
    case Codec.none:
      return data;
    case Codec.gzip: {
      const [zlib, util] = await Promise.all([import('node:zlib'), import('node:util')]);
      return (util.promisify(zlib.gzip) as (d: Buffer) => Promise<Buffer>)(data);
    }
    case Codec.snappy: {
      const block = (await (await loadSnappy()).compress(data)) as Buffer;
      const head = Buffer.alloc(XERIAL_HEADER_SIZE + 4);
      XERIAL_MAGIC.copy(head, 0);
      head.writeInt32BE(1, 8);
      head.writeInt32BE(1, 12);
      head.writeInt32BE(block.length, 16);
      return Buffer.concat([head, block]);
    }
    case Codec.lz4:
      return (await loadLz4()).compressFrame(data);
    case Codec.zstd: {
      const zlib = (await import('node:zlib')) as unknown as { zstdCompress?: (d: Buffer, cb: (e: Error | null, out: Buffer) => void) => void };
      const z = zlib.zstdCompress;
      if (z === undefined) throw new DataError(DataErrorCode.unsupportedCodec, 'zstd compression needs Node 22.15 or later');
      return new Promise<Buffer>((resolve, reject) => z(data, (e, out) => (e === null ? resolve(out) : reject(e))));
    }
    default:
      throw new DataError(DataErrorCode.unsupportedCodec, `compression codec ${codec} is not one of Kafka's (1 gzip, 2 snappy, 3 lz4, 4 zstd)`);
  }
}

function tooLarge(name: string, maxBytes: number, cause?: unknown): DataError {
  return new DataError(DataErrorCode.tooLarge, `${name} data decompresses to more than ${maxBytes} bytes; raise the limit if such batches are expected`, cause);
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

async function snappyDecompress(data: Buffer, maxBytes: number): Promise<Buffer> {
  if (data.length < XERIAL_HEADER_SIZE || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return snappyBlock(data, maxBytes, 0);
  }
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    if (data.length - pos < 4) throw corruptSnappy(`truncated block length at byte ${pos}`);
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || len > data.length - pos) throw corruptSnappy(`block length ${len} at byte ${pos - 4} does not fit the ${data.length - pos} bytes left`);
    const block = await snappyBlock(data.subarray(pos, pos + len), maxBytes - total, pos);
    total += block.length;
    blocks.push(block);
    pos += len;
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks, total);
}

/** One raw snappy block; its declared length is checked against the limit before inflating. */
async function snappyBlock(block: Buffer, maxBytes: number, at: number): Promise<Buffer> {
  let declared = 0;
  let shift = 0;
  let i = 0;
  for (;;) {
    if (i >= block.length || i >= 5) throw corruptSnappy(`bad length header in the block at byte ${at}`);
    const b = block[i++]!;
    declared += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  if (declared > maxBytes) throw tooLarge('snappy', maxBytes);
  const out = await (await loadSnappy()).uncompress(block, { asBuffer: true });
  return out as Buffer;
}

function corruptSnappy(what: string): DataError {
  return new DataError(DataErrorCode.corruptCompressed, `snappy data is corrupt: ${what}; the producer sent a corrupt batch`);
}
