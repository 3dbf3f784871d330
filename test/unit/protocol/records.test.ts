// Records inside a batch (src/protocol/records.ts) and the codecs behind them
// (src/protocol/compression.ts). Compressed batches are built here by compressing the records
// section with each codec's own compressor and fixing attributes, length and CRC.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import * as snappy from 'snappy';
import * as lz4 from 'lz4-napi';
import fc from 'fast-check';
import { Codec, DataError, DataErrorCode, XERIAL_MAGIC, decompress } from '../../../src/protocol/compression.js';
import { firstRecordAtOrAfter, forEachRecord, offsetOfMaxTimestamp, recordTimestamps, recordsSection, type RecordView } from '../../../src/protocol/records.js';
import { BATCH_HEADER_SIZE, buildBatch, sealBatch, withRecordsSection, type TestRecord } from '../../helpers/batches.js';

const sample = Buffer.from('rivulet records '.repeat(200) + 'end');

/** zstd from node:zlib (Node 22.15+) or the zstd command; null when neither is here. */
function zstdCompress(data: Buffer): Buffer | null {
  const native = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;
  if (native !== undefined) return native(data);
  const r = spawnSync('zstd', ['-q', '-c'], { input: data });
  return r.status === 0 ? r.stdout : null;
}

/** A zstd frame made of raw (stored) blocks: exercises the framing without a compressor. */
function zstdRawFrame(data: Buffer): Buffer {
  assert.ok(data.length < 256);
  const head = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, data.length]);
  const blockHeader = 1 | (0 << 1) | (data.length << 3); // last block, raw, size
  return Buffer.concat([head, Buffer.from([blockHeader & 0xff, (blockHeader >> 8) & 0xff, (blockHeader >> 16) & 0xff]), data]);
}

/** Java's SnappyOutputStream framing: magic, version 1, compatible 1, [int32 length, block]... */
function xerial(blocks: Buffer[]): Buffer {
  const head = Buffer.alloc(16);
  XERIAL_MAGIC.copy(head, 0);
  head.writeInt32BE(1, 8);
  head.writeInt32BE(1, 12);
  const parts: Buffer[] = [head];
  for (const b of blocks) {
    const c = snappy.compressSync(b);
    const len = Buffer.alloc(4);
    len.writeInt32BE(c.length);
    parts.push(len, c);
  }
  return Buffer.concat(parts);
}

function compressWith(codec: number, data: Buffer): Buffer | null {
  switch (codec) {
    case Codec.gzip:
      return zlib.gzipSync(data);
    case Codec.snappy:
      return xerial([data]);
    case Codec.lz4:
      return lz4.compressFrameSync(data);
    case Codec.zstd:
      return zstdCompress(data);
    default:
      return data;
  }
}

/** Re-frames `batch` with its records section compressed by `codec` (and extra attribute bits). */
function recompress(batch: Buffer, codec: number, extraAttributes = 0): Buffer | null {
  const body = compressWith(codec, batch.subarray(BATCH_HEADER_SIZE));
  return body === null ? null : withRecordsSection(batch, body, codec | extraAttributes);
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.retriable, false);
    return true;
  });
}

// The interop suite's example: one out-of-order timestamp.
const stamps = [1000, 1001, 1002, 1009, 1003, 1004, 1005, 1006, 1007, 1008];
const exampleRecords: TestRecord[] = stamps.map((ts, i) => ({
  key: i % 3 === 0 ? null : Buffer.from(`k${i}`),
  value: Buffer.from(`ts-${i}`),
  headers: i === 1 ? [['h', Buffer.from('v')]] : [],
  timestamp: ts,
}));
const example = (): Buffer => buildBatch(exampleRecords, { baseTimestamp: 1000 });

describe('decompress', () => {
  it('round-trips gzip, snappy (raw and xerial), lz4 frames and zstd', async () => {
    assert.equal(await decompress(Codec.none, sample), sample);
    assert.deepEqual(await decompress(Codec.gzip, zlib.gzipSync(sample)), sample);
    assert.deepEqual(await decompress(Codec.snappy, snappy.compressSync(sample)), sample, 'raw snappy block');
    assert.deepEqual(await decompress(Codec.snappy, xerial([sample])), sample, 'xerial, one block');
    const parts = [sample.subarray(0, 1000), sample.subarray(1000, 1001), sample.subarray(1001)];
    assert.deepEqual(await decompress(Codec.snappy, xerial(parts)), sample, 'xerial, several blocks');
    assert.deepEqual(await decompress(Codec.snappy, xerial([])), Buffer.alloc(0), 'xerial header only');
    assert.deepEqual(await decompress(Codec.lz4, lz4.compressFrameSync(sample)), sample);
    assert.deepEqual(await decompress(Codec.lz4, lz4.compressFrameSync(sample, { blockChecksums: true, contentChecksum: true })), sample);
    const small = sample.subarray(0, 200);
    assert.deepEqual(await decompress(Codec.zstd, zstdRawFrame(small)), small, 'zstd raw-block frame');
    assert.deepEqual(await decompress(Codec.zstd, Buffer.concat([zstdRawFrame(small), zstdRawFrame(small)])), Buffer.concat([small, small]), 'two zstd frames');
  });

  it('round-trips zstd from a real compressor', async (t) => {
    const z = zstdCompress(sample);
    if (z === null) {
      t.skip('neither node:zlib zstd (Node 22.15+) nor the zstd command is available');
      return;
    }
    assert.ok(z.length < sample.length);
    assert.deepEqual(await decompress(Codec.zstd, z), sample);
  });

  it('rejects corrupt data with RIV_ERR_CORRUPT_COMPRESSED and unknown codecs with RIV_ERR_UNSUPPORTED_CODEC', async () => {
    const junk = Buffer.from('definitely not compressed at all, not even close');
    for (const codec of [Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
      await rejectsWith(decompress(codec, junk), DataErrorCode.corruptCompressed);
      await rejectsWith(decompress(codec, Buffer.alloc(0)), DataErrorCode.corruptCompressed);
    }
    const gz = zlib.gzipSync(sample);
    await rejectsWith(decompress(Codec.gzip, gz.subarray(0, gz.length - 10)), DataErrorCode.corruptCompressed);
    const framed = xerial([sample]);
    await rejectsWith(decompress(Codec.snappy, framed.subarray(0, framed.length - 3)), DataErrorCode.corruptCompressed);
    await rejectsWith(decompress(Codec.snappy, Buffer.concat([framed, Buffer.from([0, 0])])), DataErrorCode.corruptCompressed);
    const negative = Buffer.from(framed);
    negative.writeInt32BE(-5, 16);
    await rejectsWith(decompress(Codec.snappy, negative), DataErrorCode.corruptCompressed);
    const lz = lz4.compressFrameSync(sample);
    await rejectsWith(decompress(Codec.lz4, lz.subarray(0, lz.length - 8)), DataErrorCode.corruptCompressed);
    await rejectsWith(decompress(5, sample), DataErrorCode.unsupportedCodec);
    await rejectsWith(decompress(7, sample), DataErrorCode.unsupportedCodec);
  });

  it('stops at the caller\'s output limit', async () => {
    await rejectsWith(decompress(Codec.gzip, zlib.gzipSync(sample), 100), DataErrorCode.tooLarge);
    await rejectsWith(decompress(Codec.snappy, snappy.compressSync(sample), 100), DataErrorCode.tooLarge);
    await rejectsWith(decompress(Codec.snappy, xerial([sample, sample]), sample.length + 10), DataErrorCode.tooLarge);
    await rejectsWith(decompress(Codec.lz4, lz4.compressFrameSync(sample), 100), DataErrorCode.tooLarge);
  });
});

describe('records of a batch', () => {
  it('iterates offsets, timestamps, keys, values and headers of an uncompressed batch', async () => {
    const batch = example();
    batch.writeInt32BE(0, 4); // base offset 100 (low word), as the log stamps it
    batch.writeInt32BE(100, 4);
    const seen: Array<Omit<RecordView, 'headers'> & { headers: Array<[string, string | null]> }> = [];
    await forEachRecord(batch, (r) => void seen.push({ ...r, headers: r.headers.map((h) => [h.key, h.value?.toString() ?? null]) }));
    assert.equal(seen.length, 10);
    assert.deepEqual(seen.map((r) => [r.offset, r.timestamp, r.offsetDelta, r.timestampDelta]), stamps.map((ts, i) => [100 + i, ts, i, ts - 1000]));
    assert.deepEqual(seen.map((r) => r.key?.toString() ?? null), exampleRecords.map((r) => r.key?.toString() ?? null));
    assert.deepEqual(seen.map((r) => r.value?.toString()), stamps.map((_, i) => `ts-${i}`));
    assert.deepEqual(seen[1]!.headers, [['h', 'v']]);
    assert.deepEqual(await recordTimestamps(batch), stamps.map((ts, i) => ({ offset: 100 + i, timestamp: ts })));
  });

  it('stops when the callback returns true', async () => {
    let n = 0;
    await forEachRecord(example(), () => ++n === 3);
    assert.equal(n, 3);
  });

  it('finds the first record at or after a timestamp and the first holding the max', async () => {
    const batch = example();
    const expect: Array<[number, [number, number] | null]> = [
      [999, [0, 1000]], [1000, [0, 1000]], [1002, [2, 1002]], [1003, [3, 1009]], [1005, [3, 1009]], [1009, [3, 1009]], [1010, null],
    ];
    for (const [ts, want] of expect) {
      const got = await firstRecordAtOrAfter(batch, ts);
      assert.deepEqual(got === null ? null : [got.offset, got.timestamp], want, `timestamp ${ts}`);
    }
    assert.deepEqual(await firstRecordAtOrAfter(batch, 1003, 4), { offset: 4, timestamp: 1003 }, 'records below minOffset are skipped');
    assert.equal(await firstRecordAtOrAfter(batch, 1009, 4), null, 'the max lies below minOffset');
    assert.deepEqual(await offsetOfMaxTimestamp(batch), { offset: 3, timestamp: 1009 });
    const ties = buildBatch([5, 9, 7, 9].map((ts) => ({ key: null, value: null, timestamp: ts })), { baseTimestamp: 5 });
    assert.deepEqual(await offsetOfMaxTimestamp(ties), { offset: 1, timestamp: 9 }, 'first of two records holding the max');
  });

  for (const [name, codec] of [['gzip', Codec.gzip], ['snappy', Codec.snappy], ['lz4', Codec.lz4], ['zstd', Codec.zstd]] as const) {
    it(`decodes a ${name}-compressed batch`, async (t) => {
      const batch = recompress(example(), codec);
      if (batch === null) {
        t.skip('no zstd compressor here');
        return;
      }
      assert.equal(batch.readInt16BE(21) & 7, codec);
      assert.deepEqual(await recordsSection(batch), example().subarray(61));
      assert.deepEqual(await recordTimestamps(batch), stamps.map((ts, i) => ({ offset: i, timestamp: ts })));
      assert.deepEqual(await firstRecordAtOrAfter(batch, 1003), { offset: 3, timestamp: 1009 });
      assert.deepEqual(await offsetOfMaxTimestamp(batch), { offset: 3, timestamp: 1009 });
      const values: string[] = [];
      await forEachRecord(batch, (r) => void values.push(r.value!.toString()));
      assert.deepEqual(values, stamps.map((_, i) => `ts-${i}`));
    });
  }

  it('gives every record the batch maxTimestamp under LogAppendTime, compressed or not', async () => {
    const plain = example();
    plain.writeInt16BE(0x08, 21);
    plain.writeBigInt64BE(5000n, 35);
    sealBatch(plain);
    const gz = recompress(plain, Codec.gzip)!;
    for (const batch of [plain, gz]) {
      assert.deepEqual(await recordTimestamps(batch), stamps.map((_, i) => ({ offset: i, timestamp: 5000 })));
      assert.deepEqual(await firstRecordAtOrAfter(batch, 1005), { offset: 0, timestamp: 5000 });
      assert.deepEqual(await firstRecordAtOrAfter(batch, 1005, 7), { offset: 7, timestamp: 5000 });
      assert.equal(await firstRecordAtOrAfter(batch, 5001), null);
      assert.deepEqual(await offsetOfMaxTimestamp(batch), { offset: 0, timestamp: 5000 });
    }
  });

  it('rejects corrupt records with RIV_ERR_CORRUPT_RECORDS', async () => {
    const good = example();
    const truncated = sealBatch(Buffer.from(good.subarray(0, good.length - 5)));
    await rejectsWith(recordTimestamps(truncated), DataErrorCode.corruptRecords);
    const tooMany = Buffer.from(good);
    tooMany.writeInt32BE(11, 57);
    await rejectsWith(recordTimestamps(tooMany), DataErrorCode.corruptRecords);
    const hugeLength = Buffer.from(good);
    hugeLength[61] = 0xfe; // first record's length: a large varint
    hugeLength[62] = 0xff;
    await rejectsWith(recordTimestamps(hugeLength), DataErrorCode.corruptRecords);
    const endlessVarint = Buffer.concat([good.subarray(0, 61), Buffer.alloc(20, 0xff)]);
    endlessVarint.writeInt32BE(endlessVarint.length - 12, 8);
    await rejectsWith(recordTimestamps(endlessVarint), DataErrorCode.corruptRecords);
    await rejectsWith(recordTimestamps(good.subarray(0, 40)), DataErrorCode.corruptRecords);
    await rejectsWith(recordTimestamps(good.subarray(0, good.length - 1)), DataErrorCode.corruptRecords);
    const badGzip = Buffer.from(good);
    badGzip.writeInt16BE(Codec.gzip, 21);
    await rejectsWith(recordTimestamps(badGzip), DataErrorCode.corruptCompressed);
    const lying = buildBatch([{ key: null, value: null, timestamp: 10 }], { baseTimestamp: 10 });
    lying.writeBigInt64BE(20n, 35); // the header claims a later record than there is
    await rejectsWith(firstRecordAtOrAfter(lying, 15), DataErrorCode.corruptRecords);
  });

  it('never crashes or loops on arbitrary records sections', async () => {
    const header = example().subarray(0, 61);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: -1, max: 50 }), async (bytes, count) => {
        const batch = Buffer.concat([header, Buffer.from(bytes)]);
        batch.writeInt32BE(batch.length - 12, 8);
        batch.writeInt32BE(count, 57);
        try {
          await forEachRecord(batch, () => undefined);
        } catch (err) {
          if (!(err instanceof DataError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
