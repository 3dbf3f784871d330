// murmur2 against the values Kafka's Java Utils.murmur2 gives (the vectors other Kafka-compatible
// implementations check against), and against kafkajs's Java-compatible partitioner on many keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { murmur2, partitionForKey } from '../../../src/stream/partitioner.js';

test('murmur2 gives the values of Kafka Utils.murmur2', () => {
  const vectors: [string, number][] = [
    ['1', -1993445489],
    ['12', 126087238],
    ['123', -267702483],
    ['1234', -1614185708],
    ['12345', -1188365604],
  ];
  for (const [s, want] of vectors) assert.equal(murmur2(Buffer.from(s, 'utf8')), want, `murmur2("${s}")`);
});

test('partitionForKey agrees with kafkajs JavaCompatiblePartitioner on keys of every tail length', () => {
  const require = createRequire(import.meta.url);
  const javaMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (k: Buffer) => number;
  for (let len = 0; len < 40; len++) {
    const key = Buffer.alloc(len);
    for (let i = 0; i < len; i++) key[i] = (i * 37 + len * 11 + 200) & 0xff; // bytes >= 0x80 too (sign handling)
    assert.equal(murmur2(key), javaMurmur2(key) | 0, `murmur2 of ${len} bytes`);
    for (const n of [1, 3, 12, 100]) assert.equal(partitionForKey(key, n), (javaMurmur2(key) & 0x7fffffff) % n);
  }
});
