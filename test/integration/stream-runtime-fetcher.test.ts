// The runtime's Fetcher when a position falls out of the log (retention or DeleteRecords): the
// library fails the whole Fetch answer without naming the partition, and only the partition
// whose position is outside its log may be reported out of range, not its healthy neighbours
// (which the runtime would otherwise reset to their earliest offset and process again).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Consumer, FetchIsolationLevels, ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import type { BrokerProcess } from '../helpers/broker.js';
import { startBrokerOrPeer } from '../helpers/broker-or-peer.js';
import { Fetcher } from '../../src/stream/runtime/fetcher.js';
import type { ReadState } from '../../src/stream/runtime/records.js';

let broker: BrokerProcess;
before(async () => {
  broker = await startBrokerOrPeer();
});
after(async () => {
  await broker.stop();
  await broker.cleanup();
});

test('one partition out of range among healthy ones: only it is reported, with its log start', async () => {
  const topic = 'fetcher-out-of-range';
  const client = { clientId: 'fetcher-oor', bootstrapBrokers: [broker.bootstrap], retries: 5, retryDelay: 200 };
  const admin = new Admin(client);
  const producer = new Producer({ ...client, serializers: stringSerializers });
  const consumer = new Consumer({ ...client, groupId: 'fetcher-oor-unused' });
  try {
    await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
    for (const partition of [0, 1]) {
      // acks=all (per send: the library ignores the producer's own acks option): DeleteRecords
      // refuses an offset above the high watermark, which an acks=1 answer can precede.
      await producer.send({ acks: ProduceAcks.ALL, messages: Array.from({ length: 10 }, (_, i) => ({ topic, partition, key: 'k', value: `${partition}-${i}` })) });
    }
    await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 6n }] }] });

    const fetcher = new Fetcher(consumer, FetchIsolationLevels.READ_UNCOMMITTED, false);
    const states: ReadState[] = [
      { topic, partition: 0, next: 2n, aborted: new Set() },
      { topic, partition: 1, next: 3n, aborted: new Set() },
    ];
    const answer = await fetcher.fetch(states, 100);
    const p0 = answer.find((f) => f.state.partition === 0)!;
    const p1 = answer.find((f) => f.state.partition === 1)!;
    assert.equal(p0.outOfRange, true, 'partition 0 (position 2, log from 6) is out of range');
    assert.equal(p0.logStart, 6n, 'its log start, where the caller resumes');
    assert.equal(p1.outOfRange, false, 'partition 1 (position 3 inside its log) is not out of range');
    assert.equal(states[1]!.next, 3n, 'partition 1 keeps its position');

    // Fetched again from there, partition 1 goes on from 3 and partition 0 from its log start.
    states[0]!.next = p0.logStart;
    const next = await fetcher.fetch(states, 500);
    const values = next.flatMap((f) => f.records.map((r) => r.value!.toString()));
    assert.ok(values.includes('0-6') && values.includes('1-3'), `records from both positions: ${values.join(',')}`);
    assert.ok(!values.includes('1-0'), 'partition 1 was not read again from its start');
  } finally {
    await consumer.close().catch(() => undefined);
    await producer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
});
