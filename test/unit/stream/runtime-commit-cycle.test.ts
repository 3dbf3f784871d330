// The Kafka runtime's commit and roll back (src/stream/runtime/commit-cycle.ts) over a fake
// producer and group member: a rejected send fails the next commit and replaces the producer;
// a late mapAsync result after a roll back reaches no transaction; a STALE_MEMBER_EPOCH (or, to
// TxnOffsetCommit, ILLEGAL_GENERATION) answer during a commit is retried once with the member's
// current epoch.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { FencedError } from '../../../src/client/errors.js';
import type { TopicPartition } from '../../../src/client/group-member.js';
import type { GroupMembership, OffsetToCommit, ProducerRecord } from '../../../src/client/stream-producer.js';
import { CommitCycle, type CycleProducer, type CommittedInput } from '../../../src/stream/runtime/commit-cycle.js';
import { emptyBuffer } from '../../../src/stream/runtime/partition-group.js';
import { silentLogger } from '../../../src/stream/runtime/config.js';
import { RuntimeMetrics } from '../../../src/stream/runtime/metrics.js';
import { Task } from '../../../src/stream/runtime/task.js';
import { pipeline, serdes, Operator, type Rec } from '../../../src/stream/index.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records what the cycle does; `failSend` rejects a send without failing flush (a send refused before it was queued). */
class FakeProducer implements CycleProducer {
  readonly calls: string[] = [];
  readonly sent: ProducerRecord[] = [];
  readonly offsets: Array<{ member: GroupMembership; offsets: OffsetToCommit[] }> = [];
  needsNewEpoch = false;
  failSend: Error | undefined;
  constructor(private readonly onOffsets: ((m: GroupMembership) => Promise<void>) | undefined) {}
  async init(): Promise<void> {
    this.calls.push('init');
  }
  async begin(): Promise<void> {
    this.calls.push('begin');
  }
  send(record: ProducerRecord): Promise<bigint> {
    this.calls.push('send');
    if (this.failSend) return Promise.reject(this.failSend);
    this.sent.push(record);
    return Promise.resolve(BigInt(this.sent.length - 1));
  }
  queueRecord(record: ProducerRecord, onError: (e: unknown) => void): void {
    this.send(record).catch(onError);
  }
  async flush(): Promise<void> {
    this.calls.push('flush');
  }
  async sendOffsets(member: GroupMembership, offsets: OffsetToCommit[]): Promise<void> {
    this.calls.push(`sendOffsets@${member.memberEpoch}`);
    this.offsets.push({ member, offsets });
    await this.onOffsets?.(member);
  }
  async commit(): Promise<void> {
    this.calls.push('commit');
  }
  async abort(): Promise<void> {
    this.calls.push('abort');
  }
  async close(): Promise<void> {
    this.calls.push('close');
  }
}

interface Harness {
  cycle: CommitCycle;
  producers: FakeProducer[];
  member: { memberId: string; memberEpoch: number; owned: TopicPartition[]; assignment(): TopicPartition[] };
  committedAtLeastOnce: Array<{ member: GroupMembership; offsets: OffsetToCommit[] }>;
  logs: string[];
}

/** `onOffsets` runs when offsets are sent (TxnOffsetCommit or OffsetCommit): it may throw that request's error. */
function harness(exactlyOnce: boolean, onOffsets?: (m: GroupMembership) => Promise<void>, drainSpacingMs?: number): Harness {
  const producers: FakeProducer[] = [];
  const logs: string[] = [];
  const member = { memberId: 'm1', memberEpoch: 5, owned: [{ topic: 'in', partition: 0 }], assignment() { return this.owned; } };
  const committedAtLeastOnce: Harness['committedAtLeastOnce'] = [];
  const cycle = new CommitCycle({
    application: 'app',
    exactlyOnce,
    newProducer: () => {
      const p = new FakeProducer(exactlyOnce ? onOffsets : undefined);
      producers.push(p);
      return p;
    },
    member,
    commitOffsets: async (m, offsets) => {
      committedAtLeastOnce.push({ member: m, offsets });
      await onOffsets?.(m);
    },
    stopped: () => false,
    drainSpacingMs,
    metrics: new RuntimeMetrics(new Registry(), 'app'),
    log: { ...silentLogger, info: (l) => logs.push(l), warn: (l) => logs.push(`WARN ${l}`) },
    explain: (e) => (e instanceof Error ? e.message : String(e)),
  });
  return { cycle, producers, member, committedAtLeastOnce, logs };
}

/** A task of `in` -> mapAsync (each call waits for the test) -> `out`, started, with one input partition. */
function asyncTask(h: Harness): { task: Task; input: CommittedInput; resolvers: Array<(v: string) => void> } {
  const resolvers: Array<(v: string) => void> = [];
  const p = pipeline('app');
  p.stream('in', { key: serdes.string, value: serdes.string })
    .mapAsync((r) => new Promise<string>((resolve) => resolvers.push(() => resolve(r.value.toUpperCase()))))
    .to('out', { key: serdes.string, value: serdes.string });
  const sub = p.build().subtopologies[0]!;
  const metrics = new RuntimeMetrics(new Registry(), 'app');
  const task = new Task(sub, 0, 'app', new Map(), metrics.forTask('0_0'), {
    send: (_t, r) => h.cycle.send(r as ProducerRecord),
    recordError: () => assert.fail('no record fails here'),
  });
  task.start();
  const input: CommittedInput = { topic: 'in', partition: 0, next: 0n, committed: 0n, ...emptyBuffer() };
  return { task, input, resolvers };
}

function feed(task: Task, input: CommittedInput, value: string): void {
  void task.process({ topic: 'in', partition: 0, offset: input.next, key: Buffer.from('k'), value: Buffer.from(value), timestamp: 1, headers: [] });
  input.next++;
}

for (const exactlyOnce of [true, false]) {
  const mode = exactlyOnce ? 'exactly-once' : 'at-least-once';

  test(`${mode}: a send rejected while flush resolves fails the commit; the roll back replaces the producer`, async () => {
    const h = harness(exactlyOnce);
    await h.cycle.init();
    const { task, input, resolvers } = asyncTask(h);
    const first = h.producers[0]!;
    first.failSend = new Error('send outside a transaction');
    feed(task, input, 'a');
    resolvers.shift()!('');
    await settle();
    first.failSend = undefined;
    await assert.rejects(h.cycle.commit([task], [input]), /a record of this commit was not sent \(send outside a transaction\)/);
    assert.ok(!first.calls.includes('commit'), `no transaction committed without the record (calls: ${first.calls.join(',')})`);
    assert.equal(h.committedAtLeastOnce.length, 0, 'no offsets committed without the record');
    assert.equal(input.committed, 0n, 'the input position stays at the last commit');
    await h.cycle.rollBack([task]);
    assert.equal(h.producers.length, 2, 'a new producer took over after the failed send');
    assert.ok(first.calls.includes('close'), 'the old producer is closed');
    if (exactlyOnce) assert.deepEqual(h.producers[1]!.calls, ['init'], 'the new producer takes a new epoch');
    assert.match(h.logs.join('\n'), /a send failed \(send outside a transaction\); starting a new/);
  });

  test(`${mode}: after a roll back, a mapAsync result that arrives late reaches no transaction`, async () => {
    const h = harness(exactlyOnce);
    await h.cycle.init();
    const { task, input, resolvers } = asyncTask(h);
    feed(task, input, 'late');
    assert.equal(resolvers.length, 1, 'the call is in flight');
    // A failure elsewhere (a fetch, a lost partition) rolls the cycle back while the call runs.
    await h.cycle.rollBack([task]);
    assert.equal(task.running, false, 'the rolled-back task is stopped');
    resolvers.shift()!('');
    await settle();
    const p = h.producers.at(-1)!;
    assert.deepEqual(p.sent, [], 'the late result of an input to be processed again is not sent');
    // The next cycle commits nothing of it, and no failure was left behind for it.
    await h.cycle.commit([task], []);
    assert.ok(!p.calls.includes('commit'), `nothing to commit (calls: ${p.calls.join(',')})`);
  });

  test(`${mode}: after a roll back, a custom operator that emits late (and ignores close) reaches no transaction`, async () => {
    const h = harness(exactlyOnce);
    await h.cycle.init();
    let emitLate: (() => void) | undefined;
    /** Holds each record and forwards it when the test says; does nothing on close. */
    class Delayed extends Operator<string, string> {
      process(r: Rec<string, string>): void {
        emitLate = () => this.forward(r);
      }
    }
    const p = pipeline('app');
    p.stream('in', { key: serdes.string, value: serdes.string })
      .process((task, name) => new Delayed(task, name), { name: 'delayed' })
      .to('out', { key: serdes.string, value: serdes.string });
    const metrics = new RuntimeMetrics(new Registry(), 'app');
    const task = new Task(p.build().subtopologies[0]!, 0, 'app', new Map(), metrics.forTask('0_0'), {
      send: (_t, r) => h.cycle.send(r as ProducerRecord),
      recordError: () => assert.fail('no record fails here'),
    });
    task.start();
    void task.process({ topic: 'in', partition: 0, offset: 0n, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 1, headers: [] });
    await h.cycle.rollBack([task]);
    emitLate!();
    await settle();
    assert.deepEqual(h.producers.at(-1)!.sent, [], 'the task of a rolled-back cycle sends nothing more');
  });

  // What this broker and Kafka answer: OffsetCommit v9+ STALE_MEMBER_EPOCH, TxnOffsetCommit ILLEGAL_GENERATION.
  const reason = exactlyOnce ? 'ILLEGAL_GENERATION' : 'STALE_MEMBER_EPOCH';
  const stale = () => new FencedError(reason, 'group "app" member m1 (commit)');
  const sentEpochs = (h: Harness) => (exactlyOnce ? h.producers[0]!.offsets : h.committedAtLeastOnce).map((c) => c.member.memberEpoch);

  test(`${mode}: ${reason} during the commit is retried once with the current epoch while the partitions are still assigned`, async () => {
    const h: Harness = harness(exactlyOnce, async (m) => {
      if (m.memberEpoch !== 5) return;
      // The epoch moved on while the request was answered; the member keeps its partitions.
      h.member.memberEpoch = 6;
      throw stale();
    });
    await h.cycle.init();
    const input: CommittedInput = { topic: 'in', partition: 0, next: 7n, committed: 3n, ...emptyBuffer() };
    await h.cycle.commit([], [input]);
    assert.deepEqual(sentEpochs(h), [5, 6], 'sent with the stale epoch, then once with the current one');
    if (exactlyOnce) assert.ok(h.producers[0]!.calls.includes('commit'), 'the transaction commits');
    assert.equal(input.committed, 7n, 'the position is committed');
    assert.equal(h.producers.length, 1, 'no new producer');
  });

  test(`${mode}: ${reason} is not retried when the partitions are no longer assigned`, async () => {
    const h: Harness = harness(exactlyOnce, async () => {
      h.member.memberEpoch = 6;
      h.member.owned = [{ topic: 'in', partition: 1 }];
      throw stale();
    });
    await h.cycle.init();
    const input: CommittedInput = { topic: 'in', partition: 0, next: 7n, committed: 3n, ...emptyBuffer() };
    await assert.rejects(h.cycle.commit([], [input]), (e) => e instanceof FencedError && e.reason === reason);
    assert.deepEqual(sentEpochs(h), [5], 'sent once');
    assert.ok(!h.producers[0]!.calls.includes('commit'), 'nothing committed');
    assert.equal(input.committed, 3n);
  });
}

test('commit on drain: drainCommitAt is due once every input is processed to its end with work uncommitted, then only the spacing after the previous commit\'s start; never while records are buffered or on the broker, with nothing to commit, or when off', async () => {
  const h = harness(true, undefined, 50);
  await h.cycle.init();
  const { task, input, resolvers } = asyncTask(h);
  const at = () => h.cycle.drainCommitAt([task], [input]);
  assert.equal(at(), Infinity, 'the end of the partition is not known yet');
  input.end = 0n;
  assert.equal(at(), Infinity, 'caught up, but nothing to commit');
  feed(task, input, 'a');
  input.end = 3n;
  assert.equal(at(), Infinity, 'a record processed, but the partition has more on the broker');
  input.end = 1n;
  assert.ok(at() <= Date.now(), 'drained with a record processed: due now (no commit yet)');
  input.buffer = [{ topic: 'in', partition: 0, offset: 1n, key: null, value: null, timestamp: 1, headers: [] }];
  input.next = 2n;
  input.end = 2n;
  assert.equal(at(), Infinity, 'a fetched record not yet processed');
  input.buffer = emptyBuffer().buffer;
  resolvers.shift()!('');
  const before = Date.now();
  await h.cycle.commit([task], [input]);
  const after = Date.now();
  assert.equal(at(), Infinity, 'everything committed');
  feed(task, input, 'b');
  input.end = input.next;
  const due = at();
  assert.ok(due >= before + 50 && due <= after + 50, `due 50 ms after the last commit began (${due - before} ms after)`);
  const off = harness(true);
  await off.cycle.init();
  const t2 = asyncTask(off);
  feed(t2.task, t2.input, 'a');
  t2.input.end = t2.input.next;
  assert.equal(off.cycle.drainCommitAt([t2.task], [t2.input]), Infinity, 'commitOnDrain off');
});
