// Reader and Writer primitives: exact bytes at the boundaries, round trips, sticky
// errors, size-then-write agreement, and record data spliced by reference.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader, ZERO_UUID } from '../../../src/protocol/reader.js';
import { BufferWriter, encode, SizeWriter, uvarintSize, type Writer } from '../../../src/protocol/writer.js';

/** Writes with `fill` through both writers; checks they agree and returns the bytes. */
function written(fill: (w: Writer) => void): Buffer {
  const s = new SizeWriter();
  fill(s);
  const w = new BufferWriter(s.size);
  fill(w);
  const out = Buffer.concat(w.finish());
  assert.equal(out.length, s.size + s.external, 'SizeWriter size == written size');
  return out;
}

const hex = (b: Buffer): string => b.toString('hex');

test('uvarint: exact bytes at the 7-bit boundaries', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [63, '3f'],
    [64, '40'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2 ** 31 - 1, 'ffffffff07'],
    [2 ** 32 - 1, 'ffffffff0f'],
    [2 ** 35, '8080808080' + '01'],
  ];
  for (const [v, bytes] of cases) {
    const b = written((w) => w.uvarint(v));
    assert.equal(hex(b), bytes, `uvarint(${v})`);
    assert.equal(uvarintSize(v), b.length);
    const r = new Reader(b);
    assert.equal(r.uvarint(), v);
    assert.equal(r.bad, false);
    assert.equal(r.remaining, 0);
  }
});

test('varint: zigzag, including negatives and the int32 extremes', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [63, '7e'],
    [64, '8001'],
    [-65, '8101'],
    [2 ** 31 - 1, 'feffffff0f'],
    [-(2 ** 31), 'ffffffff0f'],
  ];
  for (const [v, bytes] of cases) {
    const b = written((w) => w.varint(v));
    assert.equal(hex(b), bytes, `varint(${v})`);
    assert.equal(new Reader(b).varint(), v);
  }
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
      const r = new Reader(written((w) => w.varint(v)));
      assert.equal(r.varint(), v);
      assert.equal(r.remaining, 0);
    }),
    { seed: 1 },
  );
});

test('uvarint: an unterminated or over-long varint marks the reader bad', () => {
  const r1 = new Reader(Buffer.from([0x80, 0x80]));
  assert.equal(r1.uvarint(), 0);
  assert.equal(r1.bad, true);
  const r2 = new Reader(Buffer.alloc(11, 0xff));
  r2.uvarint();
  assert.equal(r2.bad, true, 'more than ten bytes');
});

test('int64: -1, extremes of the safe range and 32-bit carries', () => {
  const cases: [number, string][] = [
    [0, '0000000000000000'],
    [-1, 'ffffffffffffffff'],
    [1, '0000000000000001'],
    [2 ** 32, '0000000100000000'],
    [2 ** 32 - 1, '00000000ffffffff'],
    [-(2 ** 32), 'ffffffff00000000'],
    [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
    [Number.MIN_SAFE_INTEGER, 'ffe0000000000001'],
    [1_700_000_000_000, '0000018bcfe56800'],
  ];
  for (const [v, bytes] of cases) {
    const b = written((w) => w.int64(v));
    assert.equal(hex(b), bytes, `int64(${v})`);
    assert.equal(b.readBigInt64BE(0), BigInt(v));
    assert.equal(new Reader(b).int64(), v);
  }
  fc.assert(
    fc.property(fc.maxSafeInteger(), (v) => {
      assert.equal(new Reader(written((w) => w.int64(v))).int64(), v);
    }),
    { seed: 2 },
  );
});

test('fixed-width integers, float64 and bool round trip', () => {
  const b = written((w) => {
    w.int8(-128);
    w.int16(-32768);
    w.uint16(65535);
    w.int32(-2147483648);
    w.uint32(4294967295);
    w.float64(-0.5);
    w.bool(true);
    w.bool(false);
  });
  assert.equal(hex(b), '80' + '8000' + 'ffff' + '80000000' + 'ffffffff' + 'bfe0000000000000' + '01' + '00');
  const r = new Reader(b);
  assert.deepEqual(
    [r.int8(), r.int16(), r.uint16(), r.int32(), r.uint32(), r.float64(), r.bool(), r.bool()],
    [-128, -32768, 65535, -2147483648, 4294967295, -0.5, true, false],
  );
  assert.equal(r.remaining, 0);
});

test('strings: lengths count UTF-8 bytes, compact lengths are off by one', () => {
  const s = 'héllo ✓ 𝄞'; // 1+2+1+1+1+3+1+4 bytes
  const n = Buffer.byteLength(s);
  assert.equal(n, 15);
  const plain = written((w) => w.string(s));
  assert.equal(plain.readInt16BE(0), n);
  assert.equal(plain.toString('utf8', 2), s);
  const compact = written((w) => w.compactString(s));
  assert.equal(compact[0], n + 1);
  assert.equal(compact.toString('utf8', 1), s);
  assert.equal(new Reader(plain).string(), s);
  assert.equal(new Reader(compact).compactString(), s);
  // A compact string long enough to need a two-byte length.
  const long = 'ü'.repeat(100);
  const lb = written((w) => w.compactString(long));
  assert.equal(hex(lb.subarray(0, 2)), 'c901', '201 = 200 bytes + 1');
  assert.equal(new Reader(lb).compactString(), long);
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (v) => {
      assert.equal(new Reader(written((w) => w.compactString(v))).compactString(), v);
      assert.equal(new Reader(written((w) => w.string(v))).string(), v);
    }),
    { seed: 3 },
  );
});

test('nullable strings and bytes: null is -1 (or 0 compact), empty is not null', () => {
  assert.equal(hex(written((w) => w.nullableString(null))), 'ffff');
  assert.equal(hex(written((w) => w.nullableString(''))), '0000');
  assert.equal(hex(written((w) => w.compactNullableString(null))), '00');
  assert.equal(hex(written((w) => w.compactNullableString(''))), '01');
  assert.equal(hex(written((w) => w.nullableBytes(null))), 'ffffffff');
  assert.equal(hex(written((w) => w.compactNullableBytes(null))), '00');
  assert.equal(hex(written((w) => w.compactNullableBytes(Buffer.alloc(0)))), '01');
  assert.equal(new Reader(Buffer.from('ffff', 'hex')).nullableString(), null);
  assert.equal(new Reader(Buffer.from('0000', 'hex')).nullableString(), '');
  assert.equal(new Reader(Buffer.from('00', 'hex')).compactNullableString(), null);
  assert.equal(new Reader(Buffer.from('ffffffff', 'hex')).nullableBytes(), null);
  assert.equal(new Reader(Buffer.from('00', 'hex')).compactNullableBytes(), null);
  const b = new Reader(Buffer.from('03aabb', 'hex')).compactNullableBytes();
  assert.deepEqual(b, Buffer.from('aabb', 'hex'));
});

test('a null where a value is required marks the reader bad', () => {
  for (const [bytes, op] of [
    ['ffff', 'string'],
    ['00', 'compactString'],
    ['ffffffff', 'bytes'],
    ['00', 'compactBytes'],
  ] as const) {
    const r = new Reader(Buffer.from(bytes, 'hex'));
    r[op]();
    assert.equal(r.bad, true, op);
    assert.match(r.reason, /null/);
  }
});

test('bytes are views into the frame, not copies', () => {
  const frame = Buffer.from('00000003aabbcc', 'hex');
  const b = new Reader(frame).bytes();
  assert.equal(b.buffer, frame.buffer);
  assert.equal(b.byteOffset, frame.byteOffset + 4);
});

test('uuid: 16 bytes, base64url text, zero for short input', () => {
  const raw = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
  const text = raw.toString('base64url');
  const b = written((w) => w.uuid(text));
  assert.deepEqual(b, raw);
  assert.equal(new Reader(b).uuid(), text);
  assert.deepEqual(written((w) => w.uuid(ZERO_UUID)), Buffer.alloc(16));
  assert.deepEqual(written((w) => w.uuid('not-a-uuid')), Buffer.alloc(16), 'anything but 16 bytes writes the zero uuid');
  const r = new Reader(Buffer.alloc(15));
  assert.equal(r.uuid(), ZERO_UUID);
  assert.equal(r.bad, true);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (a) => {
      const t = Buffer.from(a).toString('base64url');
      assert.equal(new Reader(written((w) => w.uuid(t))).uuid(), t);
    }),
    { seed: 4 },
  );
});

test('records are spliced in by reference as separate chunks', () => {
  const batch = Buffer.from('record batch bytes');
  const s = new SizeWriter();
  const fill = (w: Writer): void => {
    w.int32(7);
    w.records(batch);
    w.int16(9);
  };
  fill(s);
  assert.equal(s.size, 4 + 4 + 2, 'record data is not counted in the allocation');
  assert.equal(s.external, batch.length);
  const w = new BufferWriter(s.size);
  fill(w);
  const chunks = w.finish();
  assert.equal(chunks.length, 3);
  assert.equal(chunks[1], batch, 'the same Buffer object');
  assert.equal(chunks[0]!.buffer, w.buf.buffer, 'fields around it share the one allocation');
  assert.equal(chunks[2]!.buffer, w.buf.buffer);
  assert.deepEqual(Buffer.concat(chunks), Buffer.concat([Buffer.from('00000007' + '00000012', 'hex'), batch, Buffer.from('0009', 'hex')]));
});

test('records: several batches, compact lengths, null and empty', () => {
  const a = Buffer.from('first');
  const b = Buffer.from('second');
  const chunks = encode((w, m: Buffer[]) => w.compactRecords(m), [a, b]);
  assert.deepEqual(chunks.map((c) => c.toString('hex')), ['0c', a.toString('hex'), b.toString('hex')]);
  assert.equal(chunks[1], a);
  assert.equal(chunks[2], b);
  assert.deepEqual(Buffer.concat(encode((w) => w.compactRecords(null), null)), Buffer.from([0]));
  assert.deepEqual(Buffer.concat(encode((w) => w.records(null), null)), Buffer.from('ffffffff', 'hex'));
  const empty = encode((w) => w.records(Buffer.alloc(0)), null);
  assert.deepEqual(Buffer.concat(empty), Buffer.alloc(4), 'length 0, no empty chunk');
  assert.equal(empty.length, 1);
});

test('BufferWriter.finish fails loudly when size and write disagree', () => {
  const w = new BufferWriter(5);
  w.int32(1);
  assert.throws(() => w.finish(), /size and write disagree/);
});

test('SizeWriter agrees with BufferWriter on any mix of fields', () => {
  const field = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 10 }).map((v) => (w: Writer) => w.compactString(v)),
    fc.option(fc.string({ maxLength: 10 }), { nil: null }).map((v) => (w: Writer) => w.nullableString(v)),
    fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }).map((v) => (w: Writer) => w.compactNullableBytes(v && Buffer.from(v))),
    fc.nat().map((v) => (w: Writer) => w.uvarint(v)),
    fc.integer().map((v) => (w: Writer) => w.varint(v)),
    fc.maxSafeInteger().map((v) => (w: Writer) => w.int64(v)),
    fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 500 })).map(([t, n]) => (w: Writer) => w.tag(t, n)),
    fc.integer({ min: -1, max: 200 }).map((n) => (w: Writer) => w.compactArrayLength(n)),
    fc.uint8Array({ maxLength: 20 }).map((v) => (w: Writer) => w.records(Buffer.from(v))),
  );
  fc.assert(
    fc.property(fc.array(field, { maxLength: 12 }), (fields) => {
      written((w) => {
        for (const f of fields) f(w);
      });
    }),
    { seed: 5 },
  );
});

test('reads past the end are sticky: zero values, bad once, first reason kept', () => {
  const r = new Reader(Buffer.from([1, 2, 3]));
  assert.equal(r.int32(), 0);
  assert.equal(r.bad, true);
  const reason = r.reason;
  assert.match(reason, /need 4 bytes, 3 left at byte 0/);
  assert.equal(r.int8(), 0, 'nothing more is read once bad');
  assert.equal(r.compactString(), '');
  assert.equal(r.reason, reason);
  assert.equal(r.pos, r.end);
});

test('array lengths that cannot fit in the frame mark the reader bad', () => {
  const r = new Reader(Buffer.from('7fffffff', 'hex'));
  assert.equal(r.arrayLength(), 0);
  assert.equal(r.bad, true);
  const ok = new Reader(Buffer.from('ffffffff', 'hex'));
  assert.equal(ok.arrayLength(), -1, 'null array');
  assert.equal(ok.bad, false);
  const c = new Reader(Buffer.from('00', 'hex'));
  assert.equal(c.compactArrayLength(), -1);
  assert.equal(c.bad, false);
});

test('skipTaggedFields skips known sizes and rejects overruns', () => {
  const r = new Reader(Buffer.from('02' + '0003aabbcc' + '0500' + '7f', 'hex'));
  r.skipTaggedFields();
  assert.equal(r.bad, false);
  assert.equal(r.int8(), 0x7f);
  const over = new Reader(Buffer.from('01' + '0005aabb', 'hex'));
  over.skipTaggedFields();
  assert.equal(over.bad, true);
});
