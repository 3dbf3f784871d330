// MemoryStore: the PersistentStore contract in memory (pending writes, commit, abort, range order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore, MemoryStoreFactory } from '../../../src/stream/index.js';

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));
const entries = (it: Iterable<[Buffer, Buffer]>) => [...it].map(([k, v]) => [k.toString('hex'), v.toString()]);

test('reads see pending writes; abort drops them; commit keeps them with the checkpoint', async () => {
  const s = new MemoryStore();
  assert.equal(s.checkpoint(), undefined);
  s.put(b('a'), b('1'));
  assert.equal(s.get(b('a'))?.toString(), '1');
  s.abort();
  assert.equal(s.get(b('a')), undefined);
  s.put(b('a'), b('1'));
  s.put(b('b'), b('2'));
  await s.commit(10n);
  assert.equal(s.checkpoint(), 10n);
  s.delete(b('a'));
  s.put(b('b'), b('3'));
  assert.equal(s.get(b('a')), undefined);
  assert.equal(s.approximateSize(), 1);
  s.abort();
  assert.equal(s.get(b('a'))?.toString(), '1');
  assert.equal(s.get(b('b'))?.toString(), '2');
  assert.equal(s.approximateSize(), 2);
});

test('range is in unsigned byte order over committed and pending entries, to exclusive', async () => {
  const s = new MemoryStore();
  s.put(b([0x80]), b('x80'));
  s.put(b([0x01]), b('x01'));
  s.put(b([0x01, 0x00]), b('x0100'));
  await s.commit(1n);
  s.put(b([0x7f]), b('x7f'));
  s.put(b([0xff]), b('xff'));
  s.delete(b([0x01, 0x00]));
  s.put(b([0x80]), b('x80new'));
  assert.deepEqual(entries(s.range(b([0x00]), b([0xff]))), [
    ['01', 'x01'],
    ['7f', 'x7f'],
    ['80', 'x80new'],
  ]);
  assert.deepEqual(entries(s.range(b([0x7f]), b([0x80]))), [['7f', 'x7f']]);
  await s.commit(2n);
  assert.deepEqual(entries(s.entries()).map(([k]) => k), ['01', '7f', '80', 'ff']);
});

test('a put copies the value: the caller may reuse its buffer', () => {
  const s = new MemoryStore();
  const v = b('abc');
  s.put(b('k'), v);
  v.write('zzz');
  assert.equal(s.get(b('k'))?.toString(), 'abc');
});

test('a closed store refuses use; the factory reopens it with its committed state; destroy forgets it', async () => {
  const f = new MemoryStoreFactory();
  const s = await f.open('0_0', 'st');
  s.put(b('k'), b('v'));
  await s.commit(5n);
  s.put(b('k2'), b('pending'));
  await s.close();
  assert.throws(() => s.get(b('k')), /closed/);
  const again = await f.open('0_0', 'st');
  assert.equal(again.checkpoint(), 5n);
  assert.equal(again.get(b('k'))?.toString(), 'v');
  assert.equal(again.get(b('k2')), undefined);
  await again.destroy();
  const fresh = await f.open('0_0', 'st');
  assert.equal(fresh.checkpoint(), undefined);
  assert.equal(fresh.get(b('k')), undefined);
});
