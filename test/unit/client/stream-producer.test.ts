// Kafka's default partitioner for keyed records, as the Java client computes it
// (Utils.toPositive(Utils.murmur2(key)) % partitions); the hashes are Kafka's own test vectors
// (UtilsTest: murmur2("21") = -973932308, murmur2("foobar") = -790332482).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionForKey } from '../../../src/client/stream-producer.js';

test('partitionForKey: murmur2 of the key bytes made positive with 0x7fffffff, modulo the partitions', () => {
  assert.equal(partitionForKey(Buffer.from('21'), 1000), (-973932308 & 0x7fffffff) % 1000);
  assert.equal(partitionForKey(Buffer.from('21'), 1000), 340);
  assert.equal(partitionForKey(Buffer.from('foobar'), 7), (-790332482 & 0x7fffffff) % 7);
  assert.equal(partitionForKey(Buffer.from('foobar'), 1), 0);
});
