// The built-in serdes write what Kafka's Java serializers write, and refuse what they cannot read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serdes } from '../../../src/stream/index.js';

test('long is 8 bytes big-endian two\'s complement, as Kafka LongSerializer', () => {
  const cases: [number, string][] = [
    [0, '0000000000000000'],
    [1, '0000000000000001'],
    [-1, 'ffffffffffffffff'],
    [4294967296, '0000000100000000'],
    [-4294967297, 'fffffffeffffffff'],
    [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
    [Number.MIN_SAFE_INTEGER, 'ffe0000000000001'],
    [1_700_000_000_123, '0000018bcfe5687b'],
  ];
  for (const [v, hex] of cases) {
    assert.equal(serdes.long.serialize(v)!.toString('hex'), hex, `serialize ${v}`);
    assert.equal(serdes.long.deserialize(Buffer.from(hex, 'hex')), v, `deserialize ${hex}`);
  }
  assert.throws(() => serdes.long.serialize(2 ** 53), /safe integers/);
  assert.throws(() => serdes.long.serialize(1.5), /safe integers/);
  assert.throws(() => serdes.long.deserialize(Buffer.from('0020000000000000', 'hex')), /MAX_SAFE_INTEGER/);
  assert.throws(() => serdes.long.deserialize(Buffer.alloc(4)), /8-byte/);
});

test('int and double as Kafka IntegerSerializer and DoubleSerializer', () => {
  assert.equal(serdes.int.serialize(-2)!.toString('hex'), 'fffffffe');
  assert.equal(serdes.int.deserialize(Buffer.from('7fffffff', 'hex')), 2147483647);
  assert.throws(() => serdes.int.serialize(2 ** 31), /32-bit/);
  assert.equal(serdes.double.serialize(1.5)!.toString('hex'), '3ff8000000000000');
  assert.equal(serdes.double.deserialize(Buffer.from('3ff8000000000000', 'hex')), 1.5);
});

test('string, json, bytes refuse null; nullable reads and writes null', () => {
  assert.throws(() => serdes.string.deserialize(null), /nullable/);
  assert.throws(() => serdes.json().deserialize(null), /nullable/);
  assert.throws(() => serdes.bytes.deserialize(null), /nullable/);
  const n = serdes.nullable(serdes.json<{ a: number }>());
  assert.equal(n.serialize(null), null);
  assert.equal(n.deserialize(null), null);
  assert.deepEqual(n.deserialize(Buffer.from('{"a":1}')), { a: 1 });
  assert.equal(serdes.string.deserialize(serdes.string.serialize('héllo')), 'héllo');
});
