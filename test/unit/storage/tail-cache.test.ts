import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TailCache } from '../../../src/storage/tail-cache.js';

/** A stand-in batch: `size` bytes all set to `fill`. The cache never parses batches. */
const batch = (size: number, fill: number): Buffer => Buffer.alloc(size, fill);

test('small batches are copied: the cache serves them after the producer reuses its buffer', () => {
  const cache = new TailCache(1 << 20);
  const request = Buffer.alloc(300, 7);
  cache.push(0, 10, request, 0, 100);
  cache.push(10, 20, request, 100, 200);
  request.fill(0); // the socket read the batches came in is reused or freed
  const got = cache.read(0, 1 << 20, 20)!;
  assert.equal(Buffer.concat(got).length, 300);
  assert.ok(Buffer.concat(got).every((b) => b === 7));
});

test('batches adjacent in memory leave as one view; a read starts at the batch holding the offset', () => {
  const cache = new TailCache(1 << 20);
  for (let i = 0; i < 5; i++) cache.push(i * 10, i * 10 + 10, batch(100, i), 0, 100);
  const all = cache.read(0, 1 << 20, 50)!;
  assert.equal(all.length, 1);
  assert.deepEqual([...all[0]!.subarray(0, 500)].filter((_, k) => k % 100 === 0), [0, 1, 2, 3, 4]);
  const fromMiddle = cache.read(25, 1 << 20, 50)!;
  assert.equal(Buffer.concat(fromMiddle)[0], 2);
  assert.equal(Buffer.concat(fromMiddle).length, 300);
  // maxBytes stops at whole batches (at least one); `end` excludes batches starting at or after it.
  assert.equal(Buffer.concat(cache.read(0, 150, 50)!).length, 100);
  assert.equal(Buffer.concat(cache.read(0, 1 << 20, 30)!).length, 300);
  assert.equal(cache.read(-1, 100, 50), null);
});

test('a large batch is kept as the view it came as, and batches around it still read in order', () => {
  const cache = new TailCache(4 << 20);
  const big = batch(512 * 1024, 9);
  cache.push(0, 1, batch(10, 1), 0, 10);
  cache.push(1, 2, big, 0, big.length);
  cache.push(2, 3, batch(10, 3), 0, 10);
  const got = cache.read(0, 8 << 20, 3)!;
  assert.equal(got.length, 3);
  assert.equal(got[1]!.buffer, big.buffer);
  assert.deepEqual(got.map((b) => b[0]), [1, 9, 3]);
});

test('eviction keeps the newest batches within the limit, across slabs', () => {
  const cache = new TailCache(64 * 1024);
  for (let i = 0; i < 1000; i++) cache.push(i, i + 1, batch(1000, i & 0xff), 0, 1000);
  assert.ok(cache.bytes <= 64 * 1024);
  const first = cache.firstOffset();
  assert.equal(first, 1000 - cache.bytes / 1000);
  const got = Buffer.concat(cache.read(first, 1 << 20, 1000)!);
  assert.equal(got.length, cache.bytes);
  for (let k = 0; k < got.length / 1000; k++) assert.equal(got[k * 1000], (first + k) & 0xff);
  assert.equal(cache.read(first - 1, 1 << 20, 1000), null);
});
