// A connection's Produce requests are appended in request order even when the first one waits
// before its appends and the connection dispatches the next meanwhile (DESIGN.md, concurrency
// rules: partition order is request order).
//
// The case the Java interop test (transactions-java.test.ts, zombie fencing, TV2) hit about
// once in 13 runs: a TV2 producer's first Produce (v12) names partitions 1 and 2, and the
// coordinator adds them to the transaction one after the other; its second Produce, pipelined
// on the same connection, carries the rest of partition 1 (sequences 1..2). Partition 1 is in
// the transaction by then, so the second request passed its check at once and was appended
// while the first still waited for partition 2; the producer had no state on the partition
// yet, so 1..2 was taken, and the first request's sequence 0 was then refused:
// OUT_OF_ORDER_SEQUENCE_NUMBER "expected sequence 3, got 0".

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessBroker, type InProcessBroker } from '../../helpers/in-process.js';
import { WireClient } from '../../helpers/wire-client.js';
import { buildBatch } from '../../helpers/batches.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { ApiKey } from '../../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { createTopicsBody } from '../../helpers/requests.js';
import { initTxnProducer } from '../../helpers/txn-requests.js';
import { IsolationLevel, readIsolated } from '../../helpers/txn-wire.js';

const TRANSACTIONAL = 0x10;

let b: InProcessBroker;

before(async () => {
  b = await startInProcessBroker();
});
after(() => b.stop());

async function createTopic(c: WireClient, name: string, partitions: number): Promise<void> {
  const res = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(name, partitions));
  assert.equal(res.topics[0].errorCode, ErrorCode.NONE);
}

test('TV2: a Produce pipelined behind one that waits for the coordinator is appended after it', async () => {
  const c = await WireClient.connect(b.port);
  const topic = 'order-tv2';
  const txnId = 'order-tv2-txn';
  const coordinator = b.broker.txns;
  const checkProduce = coordinator.checkProduce.bind(coordinator);
  try {
    await createTopic(c, topic, 3);
    const p = await initTxnProducer(c, txnId);
    const batch = (values: string[], seq: number) =>
      buildBatch(values.map((v) => ({ key: null, value: Buffer.from(v) })), { producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: seq, attributes: TRANSACTIONAL });
    const produce = (parts: Array<[number, Buffer]>) =>
      c.request(ApiKey.Produce, 12, { transactionalId: txnId, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: parts.map(([index, records]) => ({ index, records })) }] });

    // The coordinator holds the check of partition 2 until the test lets it go: the first
    // request then waits with partition 1 already in the transaction, as when adding
    // partition 2 takes a while. Checks of partition 1 are counted.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let partition1Checks = 0;
    coordinator.checkProduce = async (id, producerId, epoch, t, partition, implicitAdd) => {
      if (t === topic && partition === 2) await gate;
      const r = await checkProduce(id, producerId, epoch, t, partition, implicitAdd);
      if (t === topic && partition === 1) partition1Checks++;
      return r;
    };

    const first = produce([[1, batch(['a0'], 0)], [2, batch(['b0', 'b1', 'b2'], 0)]]);
    await waitFor('partition 1 joins the transaction', () => partition1Checks === 1 && (coordinator.txns.get(txnId)?.partitions ?? []).some(([n, i]) => n === topic && i === 1), 5000, undefined, 5);
    const second = produce([[1, batch(['a1', 'a2'], 1)]]);
    await waitFor("the second request's check of partition 1", () => partition1Checks === 2, 5000, undefined, 5);
    await sleep(50); // the second request has every chance to append now
    release();
    const [r1, r2] = await Promise.all([first, second]);

    const answer = (r: any, index: number) => r.responses[0].partitionResponses.find((x: any) => x.index === index);
    assert.equal(answer(r1, 1).errorCode, ErrorCode.NONE, `first request, partition 1: ${answer(r1, 1).errorMessage}`);
    assert.equal(answer(r1, 2).errorCode, ErrorCode.NONE, `first request, partition 2: ${answer(r1, 2).errorMessage}`);
    assert.equal(answer(r2, 1).errorCode, ErrorCode.NONE, `second request, partition 1: ${answer(r2, 1).errorMessage}`);
    assert.equal(Number(answer(r1, 1).baseOffset), 0, 'sequence 0 is appended first');
    assert.equal(Number(answer(r2, 1).baseOffset), 1, 'sequences 1..2 after it');

    const end = await c.request(ApiKey.EndTxn, 5, { transactionalId: txnId, producerId: p.producerId, producerEpoch: p.producerEpoch, committed: true });
    assert.equal(end.errorCode, ErrorCode.NONE);
    const read = await readIsolated(b.port, topic, 1, IsolationLevel.READ_COMMITTED);
    assert.deepEqual(read.records.map((r) => r.value!.toString()), ['a0', 'a1', 'a2'], 'partition 1 holds the records in the order they were sent');
  } finally {
    coordinator.checkProduce = checkProduce;
    c.close();
  }
});

test('idempotent: a Produce pipelined behind one that auto-creates a topic is appended after it', async () => {
  const c = await WireClient.connect(b.port);
  const topic = 'order-idem';
  try {
    await createTopic(c, topic, 1);
    const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const batch = (value: string, seq: number) => buildBatch([{ key: null, value: Buffer.from(value) }], { producerId: init.producerId, producerEpoch: 0, baseSequence: seq });

    // The first request also writes to a topic that does not exist yet: it waits for the
    // topic to be created before its appends, and the second is dispatched meanwhile.
    const first = c.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: 'order-idem-created', partitionData: [{ index: 0, records: batch('new', 0) }] },
        { name: topic, partitionData: [{ index: 0, records: batch('v0', 0) }] },
      ],
    });
    const second = c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch('v1', 1) }] }] });
    const [r1, r2] = await Promise.all([first, second]);
    const p1 = r1.responses.find((t: any) => t.name === topic).partitionResponses[0];
    const p2 = r2.responses[0].partitionResponses[0];
    assert.equal(r1.responses.find((t: any) => t.name === 'order-idem-created').partitionResponses[0].errorCode, ErrorCode.NONE);
    assert.equal(p1.errorCode, ErrorCode.NONE, `first request: ${p1.errorMessage}`);
    assert.equal(p2.errorCode, ErrorCode.NONE, `second request: ${p2.errorMessage}`);
    assert.deepEqual([Number(p1.baseOffset), Number(p2.baseOffset)], [0, 1], 'appended in request order');
  } finally {
    c.close();
  }
});
