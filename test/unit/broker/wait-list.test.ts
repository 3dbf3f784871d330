import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WaitList, type Waiter } from '../../../src/broker/wait-list.js';

class Counting implements Waiter {
  finished = false;
  wakes = 0;
  wake(): void {
    this.wakes++;
    this.finished = true;
  }
}

test('wakeAll wakes each unfinished waiter once and empties the list', () => {
  const list = new WaitList();
  const a = new Counting();
  const b = new Counting();
  b.finished = true; // woken elsewhere (another partition, its timer)
  list.add(a);
  list.add(b);
  list.wakeAll();
  assert.equal(a.wakes, 1);
  assert.equal(b.wakes, 0);
  assert.equal(list.length, 0);
  list.wakeAll();
  assert.equal(a.wakes, 1);
});

test('a waiter added while the list wakes waits for the next wake', () => {
  const list = new WaitList();
  const late = new Counting();
  list.add({ finished: false, wake: () => list.add(late) });
  list.wakeAll();
  assert.equal(late.wakes, 0);
  assert.equal(list.length, 1);
  list.wakeAll();
  assert.equal(late.wakes, 1);
});

test('a wake inside a wake reaches the waiters added in between, and nothing twice', () => {
  const list = new WaitList();
  const inner = new Counting();
  const outer = new Counting();
  list.add({
    finished: false,
    wake: () => {
      list.add(inner);
      list.wakeAll();
    },
  });
  list.add(outer);
  list.wakeAll();
  assert.equal(inner.wakes, 1);
  assert.equal(outer.wakes, 1);
  assert.equal(list.length, 0);
});

test('finished waiters never woken are dropped as the list grows, so a quiet list stays bounded', () => {
  const list = new WaitList();
  const live = new Counting();
  list.add(live);
  // Fetches that parked on this partition and were all answered through others.
  for (let i = 0; i < 100_000; i++) list.add({ finished: true, wake: () => assert.fail('a finished waiter was woken') });
  assert.ok(list.length <= 128, `list holds ${list.length} waiters`);
  list.wakeAll();
  assert.equal(live.wakes, 1);
});
