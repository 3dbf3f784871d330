// The Nexmark queries (q0-q8) of Rivulet Streams on the Kafka runtime against a real broker: a small
// generated data set (3000 events over 30 s of event time, 3 partitions per topic) is written
// with the generator's writer, then each query runs under exactly-once and at-least-once, and
// its output, read read_committed, equals the reference (check.ts). Closing bids after the data
// close every window of it, so the windowed queries are compared on the windows they closed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Producer } from '@platformatic/kafka';
import { startBroker, brokerTail, type BrokerProcess } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { makeTempDir } from '../helpers/temp.js';
import { createTopics } from '../helpers/stream-count.js';
import { readIsolated, IsolationLevel } from '../helpers/txn-wire.js';
import { startPipeline, type Guarantee, type Pipeline } from '../../src/stream/index.js';
import { partitionForKey } from '../../src/client/stream-producer.js';
import { NexmarkGenerator, encodeEvent, eventTime, type GeneratorOptions } from '../../src/nexmark/generator.js';
import { closingBids, writeEvents } from '../../src/nexmark/writer.js';
import { TOPICS, outputTopic, type NexmarkEvent, type QueryName, type QueryOptions } from '../../src/nexmark/model.js';
import { checkQuery, type QueryResult } from '../../src/nexmark/check.js';
import { CHECKS } from '../../src/nexmark/reference/index.js';
import { build as q0 } from '../../src/nexmark/queries/q0.js';
import { build as q1 } from '../../src/nexmark/queries/q1.js';
import { build as q2 } from '../../src/nexmark/queries/q2.js';
import { build as q3 } from '../../src/nexmark/queries/q3.js';
import { build as q4 } from '../../src/nexmark/queries/q4.js';
import { build as q5 } from '../../src/nexmark/queries/q5.js';
import { build as q6 } from '../../src/nexmark/queries/q6.js';
import { build as q7 } from '../../src/nexmark/queries/q7.js';
import { build as q8 } from '../../src/nexmark/queries/q8.js';

const P = 3;
const N = 3000;
const GEN: GeneratorOptions = { seed: 2026, eventsPerSecond: 100, firstEventTime: 1_700_000_000_000 };
const QUERIES: Array<[QueryName, (o: QueryOptions) => Pipeline]> = [['q0', q0], ['q1', q1], ['q2', q2], ['q3', q3], ['q4', q4], ['q5', q5], ['q6', q6], ['q7', q7], ['q8', q8]];
/**
 * q8 merges persons and auctions from several partitions through a repartition topic, where
 * they arrive in the order the upstream tasks wrote them, not by event time: with all input
 * written before it starts, a grace as long as the data set's event time keeps none late.
 */
const GRACE_MS: Partial<Record<QueryName, number>> = { q8: 60_000 };

let broker: BrokerProcess;
let events: NexmarkEvent[];
let closeAt: number;
const dirs: string[] = [];

before(async () => {
  broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
  await createTopics(broker.bootstrap, [...Object.values(TOPICS), ...QUERIES.map(([q]) => outputTopic(q))], P);
  const producer = new Producer({ clientId: 'nexmark-test', bootstrapBrokers: [broker.bootstrap], acks: -1 });
  try {
    const st = await writeEvents({ producer, generator: new NexmarkGenerator(GEN), partitions: { person: P, auction: P, bid: P }, events: N, batchSize: 500 });
    assert.equal(st.acked.person + st.acked.auction + st.acked.bid, N);
    events = new NexmarkGenerator(GEN).events(N);
    closeAt = Math.max(...events.map(eventTime)) + 60_000;
    const closing = closingBids(closeAt, P).map(encodeEvent);
    await producer.send({ messages: closing.map((r) => ({ topic: r.topic, key: r.key, value: r.value, timestamp: BigInt(r.timestamp), partition: partitionForKey(r.key, P) })) });
    events.push(...closingBids(closeAt, P));
  } finally {
    await producer.close();
  }
});

after(async () => {
  await broker?.stop();
  await broker?.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The committed records of a query's output, per partition from `from[p]` on. */
async function readOutput(query: QueryName, from: number[]): Promise<{ results: QueryResult[]; counts: number[] }> {
  const results: QueryResult[] = [];
  const counts: number[] = [];
  for (let p = 0; p < P; p++) {
    const recs = (await readIsolated(broker.port, outputTopic(query), p, IsolationLevel.READ_COMMITTED)).records;
    counts.push(recs.length);
    for (const r of recs.slice(from[p] ?? 0)) results.push({ key: r.key?.toString() ?? '', value: JSON.parse(r.value!.toString()) as unknown });
  }
  return { results, counts };
}

for (const [query, build] of QUERIES) {
  test(`${query} on the runtime, exactly-once then at-least-once: the committed output equals the reference`, { timeout: 180_000 }, async () => {
    const check = CHECKS[query];
    const windowed = query === 'q5' || query === 'q7';
    const options = windowed ? { watermark: closeAt } : undefined;
    const expected = check.reference(events, options).length;
    assert.ok(expected > 0);
    let from = (await readOutput(query, [])).counts;
    for (const guarantee of ['exactly_once', 'at_least_once'] as Guarantee[]) {
      const stateDir = await makeTempDir('rivulet-nexmark-');
      dirs.push(stateDir);
      const running = await startPipeline(build({ applicationId: `nexmark-${query}-${guarantee}`, graceMs: GRACE_MS[query] }).build(), { bootstrap: broker.bootstrap, stateDir, instanceId: 'a', guarantee, commitIntervalMs: 50 });
      let got: QueryResult[] = [];
      try {
        // A table's output (last value per key) is complete when it equals the reference; any other
        // once it has as many results (then it is compared whole, duplicates included).
        await waitFor(`${query} (${guarantee}): ${expected} results`, async () => {
          got = (await readOutput(query, from)).results;
          return check.mode === 'last-per-key' ? checkQuery(check, events, got, options).ok : got.length >= expected;
        }, 60_000, () => `${got.length} results, ${expected} expected: ${checkQuery(check, events, got, options).summary}\n${brokerTail(broker, 20)}`);
      } finally {
        await running.stop();
      }
      const out = await readOutput(query, from);
      const outcome = checkQuery(check, events, out.results, options);
      assert.ok(outcome.ok, `${guarantee}: ${outcome.summary}`);
      from = out.counts;
    }
  });
}

for (const [query, build] of QUERIES.filter(([q]) => q === 'q5' || q === 'q7')) {
  test(`${query} on two members of one application started together (tasks split or moved by the rebalance, partials from two producers): equals the reference`, { timeout: 180_000 }, async () => {
    const check = CHECKS[query];
    const expected = check.reference(events, { watermark: closeAt }).length;
    const from = (await readOutput(query, [])).counts;
    const app = `nexmark-${query}-two`;
    const members = await Promise.all(
      ['a', 'b'].map(async (id) => {
        const stateDir = await makeTempDir('rivulet-nexmark-');
        dirs.push(stateDir);
        return startPipeline(build({ applicationId: app }).build(), { bootstrap: broker.bootstrap, stateDir, instanceId: id, commitIntervalMs: 50 });
      }),
    );
    let got: QueryResult[] = [];
    try {
      await waitFor(`${query} (two members): ${expected} results`, async () => {
        got = (await readOutput(query, from)).results;
        return got.length >= expected;
      }, 60_000, () => `${got.length} of ${expected} results\n${brokerTail(broker, 20)}`);
    } finally {
      for (const m of members) await m.stop();
    }
    const outcome = checkQuery(check, events, (await readOutput(query, from)).results, { watermark: closeAt });
    assert.ok(outcome.ok, outcome.summary);
  });
}
