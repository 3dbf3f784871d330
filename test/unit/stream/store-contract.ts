// The contract every PersistentStore/StoreFactory of Rivulet Streams keeps (src/stream/types.ts):
// byte-ordered get/put/delete/range, pending writes until commit(checkpoint), abort, reopen
// keeping exactly what was committed, destroy; and a property test against a model.
// A test file per implementation calls storeContract with a way to make its factory.

import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { PersistentStore, StoreFactory } from '../../../src/stream/types.js';

export interface StoreUnderTest {
  factory: StoreFactory;
  /** Removes whatever the factory left (temporary directories). */
  cleanup(): Promise<void>;
}

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const s = (text: string): Buffer => Buffer.from(text);
const hex = (entries: Iterable<[Buffer, Buffer]>): string[] => [...entries].map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`);
const ALL_FROM = Buffer.alloc(0);
const ALL_TO = Buffer.alloc(8, 0xff);

export function storeContract(label: string, setup: () => Promise<StoreUnderTest>): void {
  describe(`store contract: ${label}`, () => {
    let sut: StoreUnderTest | undefined;
    const open: PersistentStore[] = [];
    const start = async (taskId = '0_0', name = 'st'): Promise<PersistentStore> => {
      sut ??= await setup();
      const st = await sut.factory.open(taskId, name);
      open.push(st);
      return st;
    };
    const reopen = async (st: PersistentStore, taskId = '0_0', name = 'st'): Promise<PersistentStore> => {
      await st.close();
      return start(taskId, name);
    };
    afterEach(async () => {
      for (const st of open.splice(0)) await st.close();
      await sut?.cleanup();
      sut = undefined;
    });

    test('a new store is empty and has no checkpoint', async () => {
      const st = await start();
      assert.equal(st.get(s('a')), undefined);
      assert.deepEqual(hex(st.range(ALL_FROM, ALL_TO)), []);
      assert.equal(st.checkpoint(), undefined);
      assert.equal(st.approximateSize(), 0);
    });

    test('get sees put, overwrite and delete, committed or not', async () => {
      const st = await start();
      st.put(s('k'), s('v1'));
      assert.deepEqual(st.get(s('k')), s('v1'));
      st.put(s('k'), s('v2'));
      assert.deepEqual(st.get(s('k')), s('v2'));
      await st.commit(1n);
      assert.deepEqual(st.get(s('k')), s('v2'));
      st.delete(s('k'));
      assert.equal(st.get(s('k')), undefined);
      await st.commit(2n);
      assert.equal(st.get(s('k')), undefined);
      st.put(s('k'), s('v3'));
      assert.deepEqual(st.get(s('k')), s('v3'));
    });

    test('a store keeps copies: the caller may reuse its key and value buffers', async () => {
      const st = await start();
      const key = s('k1');
      const value = s('v1');
      st.put(key, value);
      key.write('k2');
      value.write('xx');
      assert.deepEqual(st.get(s('k1')), s('v1'), 'pending');
      assert.equal(st.get(s('k2')), undefined);
      await st.commit(1n);
      assert.deepEqual(hex(st.range(ALL_FROM, ALL_TO)), [`${s('k1').toString('hex')}=${s('v1').toString('hex')}`], 'committed');
    });

    test('range is half-open and in unsigned byte order, the empty key first', async () => {
      const st = await start();
      const keys = [b(0xff), b(0x80, 0x00), b(0x7f), b(), b(0x00), b(0x80), b(0x01, 0x02), b(0x00, 0x00)];
      keys.forEach((k, i) => st.put(k, b(i)));
      const expected = ['=03', '00=04', '0000=07', '0102=06', '7f=02', '80=05', '8000=01', 'ff=00'];
      assert.deepEqual(hex(st.range(ALL_FROM, ALL_TO)), expected, 'pending');
      await st.commit(0n);
      assert.deepEqual(hex(st.range(ALL_FROM, ALL_TO)), expected, 'committed');
      assert.deepEqual(hex(st.range(b(0x01, 0x02), b(0x80, 0x00))), ['0102=06', '7f=02', '80=05'], 'from included, to excluded');
      assert.deepEqual(hex(st.range(b(0x80), b(0x80))), [], 'empty when from = to');
      assert.deepEqual(hex(st.range(b(0xff), b(0x00))), [], 'empty when from > to');
    });

    test('range merges pending writes over committed entries; a pending delete hides one', async () => {
      const st = await start();
      for (const k of ['a', 'c', 'e', 'g']) st.put(s(k), s(`${k}0`));
      await st.commit(1n);
      st.put(s('b'), s('b1'));
      st.put(s('c'), s('c1'));
      st.delete(s('e'));
      st.put(s('h'), s('h1'));
      st.delete(s('zz')); // deleting a missing key is no entry
      const text = (from: string, to: string): string[] => [...st.range(s(from), s(to))].map(([k, v]) => `${k}=${v}`);
      assert.deepEqual(text('a', 'z'), ['a=a0', 'b=b1', 'c=c1', 'g=g0', 'h=h1']);
      assert.deepEqual(text('b', 'g'), ['b=b1', 'c=c1']);
      assert.deepEqual(text('d', 'f'), []);
    });

    test('abort drops pending writes: reads see the last commit again', async () => {
      const st = await start();
      st.put(s('a'), s('1'));
      st.put(s('b'), s('1'));
      await st.commit(7n);
      st.put(s('a'), s('2'));
      st.delete(s('b'));
      st.put(s('c'), s('2'));
      st.abort();
      assert.deepEqual(st.get(s('a')), s('1'));
      assert.deepEqual(st.get(s('b')), s('1'));
      assert.equal(st.get(s('c')), undefined);
      assert.deepEqual([...st.range(ALL_FROM, ALL_TO)].map(([k]) => k.toString()), ['a', 'b']);
      assert.equal(st.checkpoint(), 7n);
      assert.equal(st.approximateSize(), 2);
    });

    test('commit moves the checkpoint; an empty commit moves it too', async () => {
      const st = await start();
      await st.commit(0n);
      assert.equal(st.checkpoint(), 0n);
      st.put(s('a'), s('1'));
      await st.commit(9_007_199_254_740_993n);
      assert.equal(st.checkpoint(), 9_007_199_254_740_993n);
      await st.commit(9_007_199_254_740_994n);
      assert.equal(st.checkpoint(), 9_007_199_254_740_994n);
      assert.deepEqual(st.get(s('a')), s('1'));
    });

    test('writes made while a commit is in flight stay pending after it', async () => {
      const st = await start();
      st.put(s('a'), s('1'));
      st.put(s('c'), s('0'));
      const committing = st.commit(1n);
      st.put(s('b'), s('2'));
      st.put(s('a'), s('3'));
      const text = (): string[] => [...st.range(ALL_FROM, ALL_TO)].map(([k, v]) => `${k}=${v}`);
      assert.deepEqual(st.get(s('a')), s('3'));
      assert.deepEqual(st.get(s('c')), s('0'), 'the batch being committed is visible while in flight');
      assert.deepEqual(text(), ['a=3', 'b=2', 'c=0'], 'range while in flight');
      await committing;
      assert.deepEqual(text(), ['a=3', 'b=2', 'c=0']);
      st.abort();
      assert.deepEqual(text(), ['a=1', 'c=0']);
    });

    test('reopen after close keeps committed data and checkpoint, loses pending writes', async () => {
      let st = await start();
      st.put(s('a'), s('1'));
      st.put(s('b'), s('1'));
      await st.commit(41n);
      st.put(s('a'), s('2'));
      st.delete(s('b'));
      st.put(s('c'), s('2'));
      st = await reopen(st);
      assert.equal(st.checkpoint(), 41n);
      assert.deepEqual([...st.range(ALL_FROM, ALL_TO)].map(([k, v]) => `${k}=${v}`), ['a=1', 'b=1']);
      assert.equal(st.approximateSize(), 2);
    });

    test('stores are separate per task and per name', async () => {
      const a = await start('0_0', 'one');
      const c = await start('0_0', 'two');
      const d = await start('1_3', 'one');
      a.put(s('k'), s('a'));
      await a.commit(1n);
      c.put(s('k'), s('c'));
      await c.commit(2n);
      assert.equal(d.get(s('k')), undefined);
      assert.equal(d.checkpoint(), undefined);
      assert.deepEqual(a.get(s('k')), s('a'));
      assert.deepEqual(c.get(s('k')), s('c'));
      assert.equal(a.checkpoint(), 1n);
    });

    test('destroy deletes the local copy: the store opens empty, without a checkpoint', async () => {
      const st = await start();
      st.put(s('a'), s('1'));
      await st.commit(3n);
      await st.destroy();
      const again = await start();
      assert.equal(again.get(s('a')), undefined);
      assert.equal(again.checkpoint(), undefined);
      assert.deepEqual(hex(again.range(ALL_FROM, ALL_TO)), []);
    });

    test('property: any sequence of writes, commits, aborts and reopens reads as a model does', async () => {
      // Few, short keys over bytes either side of 0x80, so writes collide and order matters.
      const key = fc.array(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff), { maxLength: 3 }).map((xs) => Buffer.from(xs));
      const op = fc.oneof(
        { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), key, value: fc.uint8Array({ maxLength: 4 }).map((v) => Buffer.from(v)) }) },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('range' as const), from: key, to: key }) },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          let st = await start();
          // The model: what is committed, and the pending writes over it (null = deleted).
          let committed = new Map<string, string>();
          let pending = new Map<string, string | null>();
          let checkpoint: bigint | undefined;
          const view = (): Map<string, string> => {
            const m = new Map(committed);
            for (const [k, v] of pending) if (v === null) m.delete(k);
            else m.set(k, v);
            return m;
          };
          try {
            for (const o of ops) {
              if (o.kind === 'put') {
                st.put(o.key, o.value);
                pending.set(o.key.toString('hex'), o.value.toString('hex'));
              } else if (o.kind === 'delete') {
                st.delete(o.key);
                pending.set(o.key.toString('hex'), null);
              } else if (o.kind === 'commit') {
                checkpoint = (checkpoint ?? -1n) + 1n;
                await st.commit(checkpoint);
                committed = view();
                pending = new Map();
                assert.equal(st.approximateSize(), committed.size, 'approximateSize is exact with nothing pending');
              } else if (o.kind === 'abort') {
                st.abort();
                pending = new Map();
              } else if (o.kind === 'reopen') {
                st = await reopen(st);
                pending = new Map();
              } else {
                const m = view();
                const expected = [...m.keys()]
                  .filter((k) => Buffer.compare(Buffer.from(k, 'hex'), o.from) >= 0 && Buffer.compare(Buffer.from(k, 'hex'), o.to) < 0)
                  .sort((x, y) => Buffer.compare(Buffer.from(x, 'hex'), Buffer.from(y, 'hex')))
                  .map((k) => `${k}=${m.get(k)}`);
                assert.deepEqual(hex(st.range(o.from, o.to)), expected, 'range');
              }
              for (const [k, v] of view()) assert.equal(st.get(Buffer.from(k, 'hex'))?.toString('hex'), v, `get ${k}`);
              assert.equal(st.checkpoint(), checkpoint);
            }
            assert.deepEqual(hex(st.range(ALL_FROM, ALL_TO)), [...view()].sort(([x], [y]) => Buffer.compare(Buffer.from(x, 'hex'), Buffer.from(y, 'hex'))).map(([k, v]) => `${k}=${v}`));
          } finally {
            await st.destroy();
          }
        }),
        { numRuns: 60 },
      );
    });
  });
}
