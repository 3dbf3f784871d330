// Decoders fed random bytes, mutated golden frames and truncated golden frames: they
// never throw and always finish; they either decode or mark the reader bad.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Reader } from '../../../src/protocol/reader.js';
import { encode, type Writer } from '../../../src/protocol/writer.js';
import { allCodecs, bodyOffset, codecOf, decodeRequestFrame, goldenFrame, goldenIndex } from './helpers.js';

type Read = (r: Reader) => any;
type Write = (w: Writer, m: any) => void;

/** Decodes `bytes` (from `start`) and checks the reader's invariants; returns the message when it decoded. */
function tryDecode(read: Read, bytes: Buffer, start = 0): { bad: boolean; m: any } {
  const r = new Reader(bytes, start);
  let m: any;
  assert.doesNotThrow(() => {
    m = read(r);
  });
  assert.ok(r.pos <= r.end, `reader ran past the end: ${r.pos} > ${r.end}`);
  if (r.bad) {
    assert.notEqual(r.reason, '', 'a bad reader says why');
    assert.equal(r.pos, r.end, 'a bad reader is parked at the end');
  } else {
    assert.equal(r.reason, '');
  }
  return { bad: r.bad, m };
}

/** Whatever decodes must re-encode, and decode again to the same value. */
function stable(read: Read, write: Write, m: any): void {
  const bytes = Buffer.concat(encode(write, m));
  const r = new Reader(bytes);
  const again = read(r);
  assert.equal(r.bad, false, r.reason);
  assert.equal(r.remaining, 0);
  assert.deepStrictEqual(again, m);
}

for (const codec of allCodecs()) {
  test(`fuzz: ${codec.name} decoders on random bytes`, { timeout: 120_000 }, () => {
    let decoded = 0;
    let rejected = 0;
    for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
      for (const kind of ['request', 'response'] as const) {
        const read = (kind === 'request' ? codec.readRequest : codec.readResponse)[v] as Read;
        const write = (kind === 'request' ? codec.writeRequest : codec.writeResponse)[v] as Write;
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 80 }), (a) => {
            const { bad, m } = tryDecode(read, Buffer.from(a));
            if (bad) rejected++;
            else {
              decoded++;
              stable(read, write, m);
            }
          }),
          { numRuns: 40, seed: codec.key * 31 + v * 2 + (kind === 'request' ? 0 : 1) },
        );
      }
    }
    assert.ok(rejected > 0, 'random bytes were never rejected');
    assert.ok(decoded + rejected > 0);
  });
}

const golden = goldenIndex();

for (const e of golden) {
  const frame = goldenFrame(e);
  const codec = codecOf(e.apiKey);
  const read = codec.readRequest[e.version] as Read;
  const write = codec.writeRequest[e.version] as Write;
  // Where the body starts: after size, api key, version, correlation id, client id and (flexible) header tags.
  const headerEnd = bodyOffset(frame);

  test(`fuzz: mutated golden ${e.file}`, () => {
    let bad = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: frame.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat({ max: frame.length }), { nil: undefined }),
        (mutations, cut) => {
          const f = Buffer.from(frame);
          for (const [at, byte] of mutations) f[at] = byte;
          const mutated = cut === undefined ? f : f.subarray(0, Math.max(cut, 4));
          // As a whole frame (the header may now name another API or version)...
          let whole: ReturnType<typeof decodeRequestFrame> | undefined;
          assert.doesNotThrow(() => {
            whole = decodeRequestFrame(mutated);
          });
          if (whole!.reader.bad) bad++;
          // ...and as a body of the API and version the client sent.
          if (mutated.length < headerEnd) return;
          const d = tryDecode(read, mutated, headerEnd);
          if (d.bad) bad++;
          else stable(read, write, d.m);
        },
      ),
      { numRuns: 200, seed: e.size },
    );
    assert.ok(bad > 0, 'no mutation was ever rejected');
  });

  test(`fuzz: golden ${e.file} truncated at every length marks the reader bad`, () => {
    assert.equal(tryDecode(read, frame, headerEnd).bad, false, 'the whole frame decodes');
    for (let len = 4; len < frame.length; len++) {
      const cut = frame.subarray(0, len);
      const whole = decodeRequestFrame(cut);
      assert.equal(whole.reader.bad, true, `frame cut to ${len} of ${frame.length} bytes decoded`);
      if (len >= headerEnd) assert.equal(tryDecode(read, cut, headerEnd).bad, true, `body cut to ${len} of ${frame.length} bytes decoded`);
    }
  });
}

test('fuzz: Reader primitives in any order over any bytes never throw', () => {
  const ops = [
    'int8', 'bool', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'uvarint', 'varint', 'uuid',
    'string', 'nullableString', 'compactString', 'compactNullableString', 'bytes', 'nullableBytes',
    'compactBytes', 'compactNullableBytes', 'arrayLength', 'compactArrayLength', 'skipTaggedFields',
  ] as const;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.constantFrom(...ops), { maxLength: 20 }), (a, seq) => {
      const r = new Reader(Buffer.from(a));
      for (const op of seq) {
        const before = r.pos;
        assert.doesNotThrow(() => (r[op] as () => unknown)());
        assert.ok(r.pos >= before && r.pos <= r.end);
      }
      if (r.bad) assert.equal(r.pos, r.end);
    }),
    { numRuns: 500, seed: 7 },
  );
});
