// RecordFetcher (src/client/record-fetcher.ts) against a real broker, read_committed:
//  - a consumer catching up over committed and aborted transactions of two producers sees
//    exactly the committed records, although one answer lists several aborted transactions
//    of a producer (where @platformatic/kafka's Consumer leaks);
//  - an ABORT marker that arrives in a later answer (the first one ended at another open
//    transaction's first offset, the LSO) still drops the aborted records;
//  - a transactional produce + offsets + commit is visible, an aborted one is not;
//  - pause/resume and add/remove of partitions; end offsets (LSO) and lag.
// KAFKA_PEER_CMD runs the same tests against another broker (see test/helpers/broker-or-peer.ts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '@platformatic/kafka';
import { brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { startBrokerOrPeer, brokerKind } from '../helpers/broker-or-peer.js';
import { waitStable } from '../helpers/txn-wire.js';
import { RecordFetcher, type FetchedRecord } from '../../src/client/record-fetcher.js';
import { StreamProducer } from '../../src/client/stream-producer.js';

let broker: BrokerProcess;
let admin: Admin;
before(async () => {
  broker = await startBrokerOrPeer();
  admin = new Admin(base());
});
after(async () => {
  await admin.close().catch(() => undefined);
  await broker.stop();
  await broker.cleanup();
});

const ctx = () => `broker: ${brokerKind}\n--- broker log (tail) ---\n${brokerTail(broker, 40)}`;
function base() {
  return { clientId: 'client-fetcher', bootstrapBrokers: [broker.bootstrap], retries: 5, retryDelay: 200 };
}
const text = (rs: FetchedRecord[]) => rs.map((r) => r.value!.toString());

/** Polls until `until` holds for everything received, or 20 s (then fails). */
async function pollUntil(f: RecordFetcher, got: FetchedRecord[], until: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!until()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: got ${JSON.stringify(text(got))}\n${ctx()}`);
    got.push(...(await f.poll()));
  }
}

test('catching up over committed and aborted transactions of two producers: exactly the committed records, in order', { timeout: 60_000 }, async () => {
  const topic = 'fx-catchup';
  await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
  const a = new StreamProducer({ client: base(), transactionalId: 'fx-catchup-a' });
  const b = new StreamProducer({ client: base(), transactionalId: 'fx-catchup-b' });
  const committed: string[][] = [[], []];
  try {
    await a.init();
    await b.init();
    for (let r = 0; r < 8; r++) {
      if (r > 0) {
        await a.begin();
        await b.begin();
      }
      // Interleaved in both partitions; A aborts most rounds, B every third.
      for (const p of [0, 1]) {
        await Promise.all([a.send({ topic, partition: p, key: null, value: Buffer.from(`a${r}-p${p}-0`) }), a.send({ topic, partition: p, key: null, value: Buffer.from(`a${r}-p${p}-1`) })]);
        await b.send({ topic, partition: p, key: null, value: Buffer.from(`b${r}-p${p}`) });
      }
      const commitA = r % 4 === 3;
      const commitB = r % 3 !== 0;
      if (commitA) await a.commit();
      else await a.abort();
      if (commitB) await b.commit();
      else await b.abort();
      for (const p of [0, 1]) {
        if (commitA) committed[p]!.push(`a${r}-p${p}-0`, `a${r}-p${p}-1`);
        if (commitB) committed[p]!.push(`b${r}-p${p}`);
      }
    }
  } finally {
    await a.close();
    await b.close();
  }
  // The committed order per partition: A's records of a round precede B's (sent first).
  const hw = await waitStable(broker.port, topic, [0, 1], 15_000, ctx);
  const f = new RecordFetcher({ client: base(), maxWaitMs: 200 });
  const got: FetchedRecord[] = [];
  try {
    f.add({ topic, partition: 0 }, 0n);
    f.add({ topic, partition: 1 }, 0n);
    await pollUntil(f, got, () => [0, 1].every((p) => f.position({ topic, partition: p }) === BigInt(hw[p]!)), 'the positions at the high watermarks');
    for (const p of [0, 1]) {
      const mine = got.filter((r) => r.partition === p);
      assert.deepEqual(text(mine), sortByOffset(mine, committed[p]!), `partition ${p}: exactly the committed records`);
      assert.equal(f.lag({ topic, partition: p }), 0n);
    }
  } finally {
    await f.close();
  }
});

/** The committed values in the order the fetcher must return them (by offset). */
function sortByOffset(got: FetchedRecord[], expected: string[]): string[] {
  const order = new Map(got.map((r) => [r.value!.toString(), r.offset]));
  return [...expected].sort((x, y) => Number((order.get(x) ?? -1n) - (order.get(y) ?? -1n)));
}

test('an ABORT marker in a later answer: the aborted records are dropped; the fetcher waits at the LSO while a transaction is open', { timeout: 60_000 }, async () => {
  const topic = 'fx-later-marker';
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
  const a = new StreamProducer({ client: base(), transactionalId: 'fx-later-a' });
  const b = new StreamProducer({ client: base(), transactionalId: 'fx-later-b' });
  const f = new RecordFetcher({ client: base(), maxWaitMs: 200 });
  const tp = { topic, partition: 0 };
  const got: FetchedRecord[] = [];
  try {
    await a.init();
    await b.init();
    await Promise.all([a.send({ ...tp, key: null, value: Buffer.from('a-aborted-0') }), a.send({ ...tp, key: null, value: Buffer.from('a-aborted-1') })]);
    await b.send({ ...tp, key: null, value: Buffer.from('b-0') });
    await a.abort();
    // A's marker sits after B's first offset, the LSO: the answer ends before it.
    f.add(tp, 0n);
    await pollUntil(f, got, () => f.position(tp) === 2n && f.endOffset(tp) === 2n, 'the position at the LSO (B\'s first offset)');
    assert.deepEqual(text(got), [], 'A\'s aborted records are dropped although their marker is not in the answer');
    await b.send({ ...tp, key: null, value: Buffer.from('b-1') });
    await b.commit();
    await pollUntil(f, got, () => got.length >= 2 && f.position(tp) === 6n, 'B\'s committed records');
    assert.deepEqual(text(got), ['b-0', 'b-1']);
  } finally {
    await a.close();
    await b.close();
    await f.close();
  }
});

test('pause and resume, add and remove partitions; a transaction\'s records arrive when it commits, an aborted one\'s never', { timeout: 60_000 }, async () => {
  const topic = 'fx-pause';
  await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
  const p = new StreamProducer({ client: base(), transactionalId: 'fx-pause-tx' });
  const f = new RecordFetcher({ client: base(), maxWaitMs: 200 });
  const [t0, t1] = [{ topic, partition: 0 }, { topic, partition: 1 }];
  const got: FetchedRecord[] = [];
  try {
    await p.init();
    await Promise.all([p.send({ ...t0, key: Buffer.from('k'), value: Buffer.from('c0'), headers: [['h', Buffer.from('1')], ['h', Buffer.from('2')]] }), p.send({ ...t1, key: null, value: Buffer.from('c1') })]);
    await p.commit();
    await p.begin();
    await p.send({ ...t0, key: null, value: Buffer.from('aborted') });
    await p.abort();
    f.add(t0, 0n);
    f.add(t1, 0n);
    f.pause(t1);
    await pollUntil(f, got, () => f.position(t0) === 4n, 'partition 0 past the abort marker');
    assert.deepEqual(text(got), ['c0'], 'only partition 0 while 1 is paused; the aborted record dropped');
    assert.deepEqual(got[0]!.headers.map(([k, v]) => `${k}=${v}`), ['h=1', 'h=2'], 'headers in order, repeated names kept');
    assert.equal(f.position(t1), 0n, 'the paused partition did not move');
    f.resume(t1);
    await pollUntil(f, got, () => got.length === 2, 'partition 1 after resume');
    assert.deepEqual(text(got), ['c0', 'c1']);
    f.remove(t0);
    assert.deepEqual(f.partitions(), [t1]);
    await p.begin();
    await p.send({ ...t0, key: null, value: Buffer.from('not fetched') });
    await p.send({ ...t1, key: null, value: Buffer.from('c1-later') });
    await p.commit();
    await pollUntil(f, got, () => got.length === 3, 'the next commit on partition 1');
    assert.deepEqual(text(got), ['c0', 'c1', 'c1-later'], 'a removed partition is not fetched');
  } finally {
    await p.close();
    await f.close();
  }
});
