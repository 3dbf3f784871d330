// Case 7 of the hardening issue: decompression bombs. The inflate limit used to hold for gzip
// only; lz4-napi and fzstd cannot be told to stop, so a 24 KB zstd batch inflated to 768 MB
// (1.6 GB RSS) before the size was checked, and lz4 likewise. Every codec must now refuse at
// the limit before allocating past it, off the event loop.
//
// Memory is read as the process's peak resident set (the inflate worker's included), which
// only grows: the bombs run from the smallest to the largest, in this file alone, after the
// worker has started, so each one's peak is its own.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import * as lz4 from 'lz4-napi';
import { Codec, DataError, DataErrorCode, decompress } from '../../../src/protocol/compression.js';
import { firstRecordAtOrAfter, offsetOfMaxTimestamp } from '../../../src/protocol/records.js';
import { InflateCorruptError, InflateLimitError, lz4Inflate, zstdInflate } from '../../../src/protocol/inflate.js';
import fc from 'fast-check';
import { buildBatch, withRecordsSection } from '../../helpers/batches.js';

const LIMIT = 1 << 20;
/** Peak RSS growth allowed while a bomb is refused at LIMIT (the output and a worker's garbage, not the bomb's size). */
const RSS_BOUND = 64 * 1024 * 1024;

const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

async function refusedWithinBound(codec: number, bomb: Buffer, inflatesTo: number): Promise<void> {
  const before = peakRss();
  await assert.rejects(decompress(codec, bomb, LIMIT), (err: unknown) => {
    assert.ok(err instanceof DataError, String(err));
    assert.equal(err.code, DataErrorCode.tooLarge, err.message);
    assert.match(err.message, /more than|allowed/);
    return true;
  });
  const grew = peakRss() - before;
  assert.ok(grew < RSS_BOUND, `peak RSS grew by ${(grew / 2 ** 20).toFixed(0)} MiB refusing a ${bomb.length}-byte bomb of ${inflatesTo / 2 ** 20} MiB (bound ${RSS_BOUND / 2 ** 20} MiB)`);
}

/** LZ4 frame (lz4-napi's own header: 256 KB independent blocks) of `blocks` blocks, each a literal and one long match: 256 KB from ~1 KB. */
function lz4Bomb(blocks: number): Buffer {
  const BLOCK = 262144;
  const ext = BLOCK - 1 - 5 - 19; // one literal, the match (4 + 15 + extension), five closing literals
  const k = Math.floor(ext / 255);
  const body = Buffer.concat([Buffer.from([0x1f, 0x61, 0x01, 0x00]), Buffer.alloc(k, 0xff), Buffer.from([ext - k * 255, 0x50]), Buffer.alloc(5, 0x61)]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(body.length);
  const parts: Buffer[] = [Buffer.from('04224d186050fb', 'hex')];
  for (let i = 0; i < blocks; i++) parts.push(size, body);
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** zstd frame, 128 KB window, no content size, of `blocks` RLE blocks of 128 KB: 4 bytes each. */
function zstdBomb(blocks: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (17 - 10) << 3])];
  for (let i = 0; i < blocks; i++) {
    const h = (i === blocks - 1 ? 1 : 0) | (1 << 1) | (131072 << 3);
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x61]));
  }
  return Buffer.concat(parts);
}

describe('decompression bombs', () => {
  it('the bombs are what they claim (small ones inflate under a large limit)', async () => {
    // Also starts the inflate worker before any peak is measured.
    const l = await decompress(Codec.lz4, lz4Bomb(4), 1 << 21);
    assert.equal(l.length, 4 * 262144);
    assert.ok(l.every((b) => b === 0x61));
    const z = await decompress(Codec.zstd, zstdBomb(8), 1 << 21);
    assert.equal(z.length, 8 * 131072);
    assert.ok(z.every((b) => b === 0x61));
    assert.deepEqual(await decompress(Codec.lz4, lz4.compressFrameSync(Buffer.from('x'.repeat(5000))), 1 << 21), Buffer.from('x'.repeat(5000)));
  });

  it('case 7: gzip and snappy bombs are refused at the limit', async () => {
    await refusedWithinBound(Codec.gzip, zlib.gzipSync(Buffer.alloc(16 << 20)), 16 << 20);
    // A raw snappy block whose length header claims 1 GiB.
    await refusedWithinBound(Codec.snappy, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00]), 1 << 30);
  });

  it('case 7: an lz4 bomb (400 KB inflating to 100 MB) is refused at the limit without allocating its output', async () => {
    const bomb = lz4Bomb(400);
    await refusedWithinBound(Codec.lz4, bomb, 400 * 262144);
  });

  it('case 7: a zstd frame declaring a window or content larger than the limit is refused before allocating', async () => {
    // 1 GiB window, one empty raw block: fzstd allocated the window up front.
    await refusedWithinBound(Codec.zstd, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (30 - 10) << 3, 0x01, 0x00, 0x00]), 1 << 30);
    // Content size 2^40 in an 8-byte field, single segment.
    await refusedWithinBound(Codec.zstd, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0, 0x01, 0x00, 0x00]), 2 ** 40);
  });

  it('case 7: a 24 KB zstd bomb (768 MB of RLE blocks) is refused at the limit without allocating its output', async () => {
    const bomb = zstdBomb(6144);
    assert.ok(bomb.length < 25 * 1024);
    await refusedWithinBound(Codec.zstd, bomb, 6144 * 131072);
  });

  it('case 7: zstd and lz4 inflate off the event loop: the loop turns while a large section inflates', async () => {
    // Ordering, not time: a callback queued after the call runs before the answer arrives only
    // when the work is done elsewhere (fzstd used to run on the event loop, within one turn).
    for (const [codec, data] of [
      [Codec.zstd, zstdBomb(256)],
      [Codec.lz4, lz4Bomb(128)],
    ] as const) {
      let turned = false;
      const inflating = decompress(codec, data, 64 << 20);
      setImmediate(() => (turned = true));
      const out = await inflating;
      assert.equal(out.length, 32 << 20);
      assert.ok(turned, `the event loop did not turn while codec ${codec} inflated 32 MiB`);
    }
  });

  it('case 7: a LogAppendTime batch answers timestamp lookups from its header without inflating', async () => {
    // The records section is not zstd at all: inflating it would fail.
    const plain = buildBatch([{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }, { key: null, value: Buffer.from('c') }], { baseTimestamp: 1000 });
    const batch = withRecordsSection(plain, Buffer.from('not zstd, not inflated'), Codec.zstd | 0x08);
    batch.writeInt32BE(0, 0);
    batch.writeInt32BE(40, 4); // base offset 40, as the log stamps it
    assert.deepEqual(await firstRecordAtOrAfter(batch, 500), { offset: 40, timestamp: 1000 });
    assert.deepEqual(await firstRecordAtOrAfter(batch, 500, 41), { offset: 41, timestamp: 1000 });
    assert.equal(await firstRecordAtOrAfter(batch, 500, 43), null);
    assert.equal(await firstRecordAtOrAfter(batch, 1001), null);
    assert.deepEqual(await offsetOfMaxTimestamp(batch), { offset: 40, timestamp: 1000 });
  });
});

describe('bounded decoders on arbitrary input', () => {
  const isInflateError = (err: unknown): boolean => err instanceof InflateLimitError || err instanceof InflateCorruptError;
  const run = (f: () => Uint8Array, max: number): void => {
    try {
      assert.ok(f().length <= max);
    } catch (err) {
      if (!isInflateError(err)) throw err;
    }
  };

  it('lz4 and zstd decoders only ever return at most the limit or throw their own errors', async () => {
    const { Decompress } = await import('fzstd');
    const seeds = [lz4Bomb(2), lz4.compressFrameSync(Buffer.from('hello '.repeat(300))), zstdBomb(3), Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 3, 0x19, 0, 0, 0x61, 0x62, 0x63])];
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.nat(255))), fc.nat(64), fc.integer({ min: 1, max: 1 << 20 }), (seed, edits, cut, max) => {
        const b = Buffer.from(seed.subarray(0, Math.max(0, seed.length - cut)));
        for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
        run(() => lz4Inflate(b, max), max);
        run(() => zstdInflate(b, max, Decompress), max);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        run(() => lz4Inflate(bytes, 1 << 16), 1 << 16);
        run(() => zstdInflate(bytes, 1 << 16, Decompress), 1 << 16);
      }),
      { numRuns: 500 },
    );
  });
});
