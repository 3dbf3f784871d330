// A task with two input partitions takes their records in timestamp order (the runtime's
// partition group), not fetch by fetch: a stream-table join of two co-partitioned topics
// written entirely before the pipeline starts, each bid 5 ms after the auction it refers to,
// joins every bid. The auctions are more than one Fetch's worth per partition (1 MiB), so
// feeding fetched partitions one after the other meets bids whose auctions are not read yet
// and drops them, whichever partition the fetch lists first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka';
import { Registry } from 'prom-client';
import { startBroker, brokerTail } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { makeTempDir } from '../helpers/temp.js';
import { createTopics } from '../helpers/stream-count.js';
import { committedOffsets, endOffsets, readIsolated, IsolationLevel } from '../helpers/txn-wire.js';
import { pipeline, serdes, startPipeline } from '../../src/stream/index.js';

const P = 2;
const AUCTIONS = 3000;
/** About 1 KiB per auction: some 1.5 MiB per partition, more than one Fetch brings (1 MiB a partition). */
const PADDING = 'x'.repeat(1000);

async function send(bootstrap: string, topic: string, messages: Array<{ key: string; value: string; timestamp: number }>): Promise<void> {
  const p = new Producer({ clientId: 'stream-order-test', bootstrapBrokers: [bootstrap], serializers: stringSerializers });
  try {
    // Small sends: many batches, so a Fetch can stop between them.
    for (let i = 0; i < messages.length; i += 100) {
      // acks on each send: the library does not take the constructor's acks as send's default (it sends acks=1).
      await p.send({ acks: ProduceAcks.ALL, messages: messages.slice(i, i + 100).map((m) => ({ topic, key: m.key, value: m.value, timestamp: BigInt(m.timestamp) })) });
    }
  } finally {
    await p.close();
  }
}

test('a stream-table join over co-partitioned topics written before the start joins every record: the task reads its partitions in timestamp order', { timeout: 120_000 }, async () => {
  const broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
  const stateDir = await makeTempDir('rivulet-stream-order-');
  try {
    await createTopics(broker.bootstrap, ['auctions', 'bids', 'bid-auction'], P);
    const t0 = Date.now() - 3_600_000;
    await send(broker.bootstrap, 'auctions', Array.from({ length: AUCTIONS }, (_, i) => ({ key: `a${i}`, value: `auction${i}:${PADDING}`, timestamp: t0 + 10 * i })));
    await send(broker.bootstrap, 'bids', Array.from({ length: AUCTIONS }, (_, i) => ({ key: `a${i}`, value: `bid${i}`, timestamp: t0 + 10 * i + 5 })));
    // Every record readable before the start.
    let bidEnds: number[] = [];
    let auctionEnds: number[] = [];
    await waitFor('every auction and bid readable', async () => {
      auctionEnds = await endOffsets(broker.port, 'auctions', [0, 1], IsolationLevel.READ_UNCOMMITTED);
      bidEnds = await endOffsets(broker.port, 'bids', [0, 1], IsolationLevel.READ_UNCOMMITTED);
      return auctionEnds[0]! + auctionEnds[1]! === AUCTIONS && bidEnds[0]! + bidEnds[1]! === AUCTIONS;
    }, 10_000, () => `auctions ${JSON.stringify(auctionEnds)}, bids ${JSON.stringify(bidEnds)}`);

    const p = pipeline('order');
    // The stream is declared first, so it also comes first in the task's sources.
    const bids = p.stream('bids', { key: serdes.string, value: serdes.string });
    const auctions = p.table('auctions', { key: serdes.string, value: serdes.string });
    bids.join(auctions, (bid, auction) => `${bid}->${auction.slice(0, auction.indexOf(':'))}`).to('bid-auction', { key: serdes.string, value: serdes.string });
    const topology = p.build();
    assert.equal(topology.subtopologies.length, 1, 'both topics are sources of one task per partition');

    const running = await startPipeline(topology, { bootstrap: broker.bootstrap, stateDir, instanceId: 'a', commitIntervalMs: 50 });
    try {
      let committed: number[] = [];
      await waitFor('every bid processed and committed', async () => {
        committed = (await committedOffsets(broker.port, 'order', 'bids', [0, 1])).map((c) => c.offset);
        return committed.every((o, i) => o === bidEnds[i]);
      }, 60_000, () => `committed ${JSON.stringify(committed)}, ends ${JSON.stringify(bidEnds)}\n${brokerTail(broker, 20)}`);
    } finally {
      await running.stop();
    }
    const joined: string[] = [];
    for (let part = 0; part < P; part++) {
      for (const r of (await readIsolated(broker.port, 'bid-auction', part, IsolationLevel.READ_COMMITTED)).records) joined.push(r.value!.toString());
    }
    const got = new Set(joined);
    const missing = Array.from({ length: AUCTIONS }, (_, i) => i).filter((i) => !got.has(`bid${i}->auction${i}`));
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${AUCTIONS} bids were not joined with their auction (first ones listed)`);
    assert.equal(joined.length, AUCTIONS, 'one output per bid');
  } finally {
    await broker.stop();
    await broker.cleanup();
    await rm(stateDir, { recursive: true, force: true });
  }
});

test('records buffered while the task waits for an empty partition are not committed: a stop and restart processes them', { timeout: 120_000 }, async () => {
  const broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
  const stateDir = await makeTempDir('rivulet-stream-order-');
  try {
    await createTopics(broker.bootstrap, ['items', 'prices', 'priced'], 1);
    const t0 = Date.now() - 3_600_000;
    const N = 50;
    await send(broker.bootstrap, 'items', Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: `item${i}`, timestamp: t0 + 10 * i + 5 })));

    const p = pipeline('buffered');
    const items = p.stream('items', { key: serdes.string, value: serdes.string });
    const prices = p.table('prices', { key: serdes.string, value: serdes.string });
    items.join(prices, (item, price) => `${item}=${price}`).to('priced', { key: serdes.string, value: serdes.string });
    const topology = p.build();
    const cfg = { bootstrap: broker.bootstrap, stateDir, instanceId: 'a', commitIntervalMs: 50 };

    // Prices is empty and caught up: with a long max idle time the task holds the items back.
    const metricsRegistry = new Registry();
    const r1 = await startPipeline(topology, { ...cfg, maxTaskIdleMs: 600_000, metricsRegistry });
    try {
      let lag = '';
      await waitFor('the items fetched and waiting (their lag reported)', async () => {
        const m = (await metricsRegistry.getSingleMetric('rivulet_stream_consumer_lag')?.get())?.values.find((v) => v.labels.topic === 'items');
        lag = JSON.stringify(m);
        return m?.value === N;
      }, 30_000, () => `lag ${lag}`);
    } finally {
      await r1.stop();
    }
    const [committed] = await committedOffsets(broker.port, 'buffered', 'items', [0]);
    assert.ok(committed!.offset <= 0, `nothing was processed, so nothing may be committed; committed ${committed!.offset}`);

    // Prices older than the items arrive; a restart (no idling) joins every item.
    await send(broker.bootstrap, 'prices', Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: `${i}$`, timestamp: t0 + 10 * i })));
    const r2 = await startPipeline(topology, cfg);
    try {
      await waitFor('every item processed and committed', async () => (await committedOffsets(broker.port, 'buffered', 'items', [0]))[0]!.offset === N, 60_000, () => brokerTail(broker, 20));
    } finally {
      await r2.stop();
    }
    const out = (await readIsolated(broker.port, 'priced', 0, IsolationLevel.READ_COMMITTED)).records.map((r) => r.value!.toString());
    assert.deepEqual(out, Array.from({ length: N }, (_, i) => `item${i}=${i}$`));
  } finally {
    await broker.stop();
    await broker.cleanup();
    await rm(stateDir, { recursive: true, force: true });
  }
});
