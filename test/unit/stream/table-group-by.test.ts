// KTable.groupBy(...).aggregate(init, adder, subtractor): a table re-keyed into groups, each
// update taking the key's old value out of its group and putting the new one in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStoreFactory, pipeline, serdes, TestDriver } from '../../../src/stream/index.js';
import { changeSerde } from '../../../src/stream/operators/table-group-by.js';

interface User {
  region: string;
  score: number;
}

test('table groupBy aggregate: moves between groups subtract then add; an update within a group emits once; a deletion subtracts', async () => {
  const p = pipeline('regions');
  p.table('users', { key: serdes.string, value: serdes.json<User>() })
    .groupBy((_user, u) => ({ key: u.region, value: u.score }), { key: serdes.string, value: serdes.long, name: 'by-region' })
    .aggregate(
      () => ({ sum: 0, users: 0 }),
      (a, score) => ({ sum: a.sum + score, users: a.users + 1 }),
      (a, score) => ({ sum: a.sum - score, users: a.users - 1 }),
      { name: 'totals' },
    )
    .toStream()
    .to('totals', { key: serdes.string, value: serdes.json<{ sum: number; users: number }>() });
  const topo = p.build();
  assert.ok(topo.internalTopics.some((t) => t.name === 'regions-by-region-repartition'), topo.describe());
  const d = new TestDriver(p, { partitions: { users: 3 } });
  const users = d.input('users', serdes.string, serdes.nullable(serdes.json<User>()));
  const out = d.output('totals', serdes.string, serdes.json<{ sum: number; users: number }>());
  await users.pipe('u1', { region: 'eu', score: 10 });
  await users.pipe('u2', { region: 'eu', score: 5 });
  await users.pipe('u3', { region: 'us', score: 7 });
  assert.deepEqual(out.readKeyValues(), [
    ['eu', { sum: 10, users: 1 }],
    ['eu', { sum: 15, users: 2 }],
    ['us', { sum: 7, users: 1 }],
  ]);
  await users.pipe('u1', { region: 'us', score: 20 }); // moves from eu to us
  assert.deepEqual(out.readKeyValues(), [
    ['eu', { sum: 5, users: 1 }],
    ['us', { sum: 27, users: 2 }],
  ]);
  await users.pipe('u2', { region: 'eu', score: 6 }); // stays in eu: one result, no half-way { 0, 0 }
  assert.deepEqual(out.readKeyValues(), [['eu', { sum: 6, users: 1 }]]);
  await users.pipe('u2', { region: 'eu', score: 6 }); // the value it had: no group changes, nothing sent
  assert.deepEqual(out.readKeyValues(), []);
  await users.pipe('u3', null);
  assert.deepEqual(out.readKeyValues(), [['us', { sum: 20, users: 1 }]]);
  assert.deepEqual(d.store('totals').get('us'), { sum: 20, users: 1 });
  assert.deepEqual(d.deadLetters(), []);
  await d.close();
});

test('table groupBy after a restart: the last values come back from the store, so a later update still takes the old one out', async () => {
  const build = () => {
    const p = pipeline('regions2');
    p.table('users', { key: serdes.string, value: serdes.json<User>() })
      .groupBy((_user, u) => ({ key: u.region, value: u.score }), { key: serdes.string, value: serdes.long, name: 'by-region' })
      .aggregate(() => 0, (sum, score) => sum + score, (sum, score) => sum - score, { name: 'sums', value: serdes.long })
      .toStream()
      .to('sums', { key: serdes.string, value: serdes.long });
    return p;
  };
  const stores = new MemoryStoreFactory();
  const first = new TestDriver(build(), { stores });
  await first.input('users', serdes.string, serdes.json<User>()).pipe('u1', { region: 'eu', score: 10 });
  await first.close();
  const second = new TestDriver(build(), { stores });
  await second.input('users', serdes.string, serdes.json<User>()).pipe('u1', { region: 'us', score: 4 });
  assert.deepEqual(second.output('sums', serdes.string, serdes.long).readKeyValues(), [
    ['eu', 0],
    ['us', 4],
  ]);
  await second.close();
});

test('changeSerde round-trips old only, new only, both, and empty values', () => {
  const s = changeSerde(serdes.string);
  for (const c of [{ old: 'a', new: undefined }, { old: undefined, new: 'bc' }, { old: 'x', new: 'yz' }, { old: '', new: '' }]) {
    assert.deepEqual(s.deserialize(s.serialize(c)), c);
  }
  assert.throws(() => s.deserialize(Buffer.from([3, 0, 0, 0, 9, 1])), /old value has 9 bytes/);
});
