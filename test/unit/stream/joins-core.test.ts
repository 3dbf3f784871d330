// Joins without the DSL: windowed stream-stream (inner, left, outer with Kafka Streams'
// KIP-633 semantics), stream-table and table-table, their state cleanup and restore.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamStreamJoin, type StreamJoinKind } from '../../../src/stream/windows/stream-join.js';
import { KeyValueTable, TableTableJoin, joinWithTable, type TableJoinKind } from '../../../src/stream/windows/table-join.js';
import { SortedMapStore, stringSerde } from './windows-helpers.js';

function streamJoin(kind: StreamJoinKind, within: number, grace: number, store = new SortedMapStore()) {
  const out: string[] = [];
  const j = new StreamStreamJoin<string, string, string, string>({
    kind,
    withinMs: within,
    graceMs: grace,
    joiner: (l, r) => `${l ?? '-'}+${r ?? '-'}`,
    keySerde: stringSerde,
    leftSerde: stringSerde,
    rightSerde: stringSerde,
    store,
    sink: { joinResult: (k, v, ts) => out.push(`${k}:${v}@${ts}`) },
  });
  let wm = -Infinity;
  const left = (k: string, v: string, ts: number): boolean => {
    wm = Math.max(wm, ts);
    const ok = j.processLeft(k, v, ts, wm);
    j.advance(wm);
    return ok;
  };
  const right = (k: string, v: string, ts: number): boolean => {
    wm = Math.max(wm, ts);
    const ok = j.processRight(k, v, ts, wm);
    j.advance(wm);
    return ok;
  };
  return { j, out, left, right, store };
}

test('inner stream-stream join: pairs within the window, either arrival order, result time the later one', () => {
  const { out, left, right } = streamJoin('inner', 10, 100);
  left('a', 'L1', 100);
  right('a', 'R1', 105); // |5| <= 10
  right('b', 'R2', 106); // other key
  right('a', 'R3', 111); // |11| > 10 from L1
  left('a', 'L2', 108); // joins R1 (3) and R3 (3)
  assert.deepEqual(out, ['a:L1+R1@105', 'a:L2+R1@108', 'a:L2+R3@111']);
});

test('left join: an unmatched left record is emitted with no partner only after its window closes, a matched one never', () => {
  const { out, left, right } = streamJoin('left', 10, 5);
  left('a', 'L1', 100);
  left('b', 'L2', 101);
  right('b', 'R1', 103);
  right('z', 'R9', 115); // watermark 115 = 100 + 10 + 5: not closed yet
  assert.deepEqual(out, ['b:L2+R1@103']);
  right('z', 'R9', 116);
  assert.deepEqual(out, ['b:L2+R1@103', 'a:L1+-@100']);
  right('c', 'R5', 300);
  assert.equal(out.length, 2, 'right records never come out alone in a left join, L2 matched');
});

test('outer join: unmatched records of both sides come out after their windows close; late records are dropped', () => {
  const { out, left, right, j } = streamJoin('outer', 10, 0);
  left('a', 'L1', 100);
  right('a', 'R1', 200);
  assert.deepEqual(out, ['a:L1+-@100']);
  assert.equal(left('a', 'L0', 189), false, 'window [179, 199] closed at watermark 200');
  assert.equal(left('a', 'L2', 190), true);
  right('x', 'R', 1000);
  assert.deepEqual(out, ['a:L1+-@100', 'a:L2+R1@200']);
  j.advance(5000);
  assert.deepEqual(out.slice(2), ['x:-+R@1000']);
  assert.equal(j.buffered, 0);
});

test('unbounded stream-stream join (within Infinity): pairs however far apart and in either order; nothing is late or expires', () => {
  const { j, out, left, right } = streamJoin('inner', Infinity, 0);
  right('a', 'R1', 5_000_000);
  assert.equal(left('a', 'L1', 100), true); // far behind the watermark: still joins
  left('b', 'L2', 200);
  right('b', 'R2', 9_000_000_000_000);
  j.advance(Number.MAX_SAFE_INTEGER);
  assert.equal(j.buffered, 4);
  right('a', 'R3', 1);
  assert.deepEqual(out, ['a:L1+R1@5000000', 'b:L2+R2@9000000000000', 'a:L1+R3@100']);
  assert.throws(() => streamJoin('inner', -1, 0), /within/);
  assert.throws(() => streamJoin('inner', 1.5, 0), /within/);
});

test('stream-stream join state: expired records leave memory and the store; a new instance restores what was flushed', () => {
  const store = new SortedMapStore();
  const first = streamJoin('left', 10, 0, store);
  first.left('a', 'L1', 100);
  first.left('b', 'L2', 100);
  first.right('b', 'R', 105);
  first.j.flush();
  assert.equal(store.approximateSize(), 3);
  const second = streamJoin('left', 10, 0, store);
  assert.equal(second.j.buffered, 3);
  second.right('a', 'R2', 109);
  assert.deepEqual(second.out, ['a:L1+R2@109']);
  second.right('z', 'Z', 200); // L1 matched now, L2 matched before the restart: no unmatched output
  assert.deepEqual(second.out, ['a:L1+R2@109']);
  second.j.advance(10_000);
  second.j.flush();
  assert.equal(second.j.buffered, 0);
  assert.equal(store.approximateSize(), 0);
});

test('an unmatched left record restored from the store is still emitted when its window closes', () => {
  const store = new SortedMapStore();
  const first = streamJoin('left', 10, 0, store);
  first.left('a', 'L1', 100);
  first.j.flush();
  const second = streamJoin('left', 10, 0, store);
  second.right('q', 'Q', 111);
  assert.deepEqual(second.out, ['a:L1+-@100']);
});

test('stream-table join: inner drops records without a table value, left keeps them; table updates are visible at once and after a flush', () => {
  const store = new SortedMapStore();
  const table = new KeyValueTable<string, string>(store, stringSerde, stringSerde);
  table.put('u1', 'Ada');
  const joiner = (v: string, t: string | undefined) => `${v} by ${t ?? '?'}`;
  assert.equal(joinWithTable('inner', table, 'u1', 'click', joiner), 'click by Ada');
  assert.equal(joinWithTable('inner', table, 'u2', 'click', joiner), undefined);
  assert.equal(joinWithTable('left', table, 'u2', 'click', joiner), 'click by ?');
  table.flush();
  assert.equal(store.get(Buffer.from('u1'))?.toString(), 'Ada');
  const reopened = new KeyValueTable<string, string>(store, stringSerde, stringSerde);
  assert.equal(reopened.get('u1'), 'Ada');
  reopened.put('u1', null);
  assert.equal(joinWithTable('inner', reopened, 'u1', 'x', joiner), undefined);
  reopened.flush();
  assert.equal(store.approximateSize(), 0);
});

function tableJoin(kind: TableJoinKind) {
  const out: string[] = [];
  const l = new KeyValueTable<string, string>(new SortedMapStore(), stringSerde, stringSerde);
  const r = new KeyValueTable<string, string>(new SortedMapStore(), stringSerde, stringSerde);
  const j = new TableTableJoin(kind, l, r, (a, b) => `${a ?? '-'}+${b ?? '-'}`, { tableResult: (k, v) => out.push(`${k}=${v}`) });
  return { j, out };
}

test('table-table joins: results on updates of either side, tombstones only where a result existed', () => {
  const inner = tableJoin('inner');
  inner.j.updateLeft('k', 'a', 1);
  inner.j.updateRight('k', 'x', 2);
  inner.j.updateLeft('k', 'b', 3);
  inner.j.updateRight('k', null, 4);
  inner.j.updateLeft('k', null, 5); // no result before: nothing
  assert.deepEqual(inner.out, ['k=a+x', 'k=b+x', 'k=null']);
  const left = tableJoin('left');
  left.j.updateRight('k', 'x', 1); // no left value: nothing
  left.j.updateLeft('k', 'a', 2);
  left.j.updateRight('k', null, 3);
  left.j.updateLeft('k', null, 4);
  assert.deepEqual(left.out, ['k=a+x', 'k=a+-', 'k=null']);
  const outer = tableJoin('outer');
  outer.j.updateRight('k', 'x', 1);
  outer.j.updateLeft('k', 'a', 2);
  outer.j.updateRight('k', null, 3);
  outer.j.updateLeft('k', null, 4);
  assert.deepEqual(outer.out, ['k=-+x', 'k=a+x', 'k=a+-', 'k=null']);
});
