// `rivulet bench nexmark generate` as a child process against a real broker: the topics it
// creates, the records in them (exactly the generator's events for the seed, in the partitions
// Kafka's partitioner gives their keys, stamped with their dateTime), the JSON summary, pacing
// and out-of-order options, and usage errors.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { runCli as rivulet } from '../helpers/cli.js';
import { readIsolated, IsolationLevel } from '../helpers/txn-wire.js';
import { partitionForKey } from '../../src/client/stream-producer.js';
import { NexmarkGenerator, encodeEvent } from '../../src/nexmark/generator.js';
import { TOPICS } from '../../src/nexmark/model.js';

let broker: BrokerProcess;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.stop();
  await broker?.cleanup();
});

const T0 = 1_700_000_000_000;

/** Every record of the three topics as "topic|partition|key|value|timestamp", sorted. */
async function readAll(partitions: number): Promise<string[]> {
  const out: string[] = [];
  for (const topic of Object.values(TOPICS)) {
    for (let p = 0; p < partitions; p++) {
      for (const r of (await readIsolated(broker.port, topic, p, IsolationLevel.READ_UNCOMMITTED)).records) out.push(`${topic}|${p}|${r.key}|${r.value}|${r.timestamp}`);
    }
  }
  return out.sort();
}

test('generate: creates the three topics and writes exactly the events of the seed, keyed and partitioned as Kafka would, stamped with dateTime', { timeout: 60_000 }, async () => {
  const r = await rivulet(['bench', 'nexmark', 'generate', '-b', broker.bootstrap, '-n', '2000', '--max-speed', '--seed', '5', '--rate', '500', '--first-event-time', String(T0), '--partitions', '2', '--json', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { events: number; person: number; auction: number; bid: number; partitions: Record<string, number>; firstEventTime: number; lastEventTime: number };
  assert.deepEqual([j.events, j.person, j.auction, j.bid], [2000, 40, 120, 1840]);
  assert.deepEqual(j.partitions, { person: 2, auction: 2, bid: 2 });
  assert.deepEqual([j.firstEventTime, j.lastEventTime], [T0, T0 + 3998]);
  for (const t of Object.values(TOPICS)) assert.match(r.stderr, new RegExp(`created topic "${t}" with 2 partition`));
  const want = new NexmarkGenerator({ seed: 5, eventsPerSecond: 500, firstEventTime: T0 })
    .events(2000)
    .map(encodeEvent)
    .map((e) => `${e.topic}|${partitionForKey(e.key, 2)}|${e.key}|${e.value}|${e.timestamp}`)
    .sort();
  assert.deepEqual(await readAll(2), want);
});

test('generate: paced, out of order, into existing topics (their partitions kept); usage errors exit 2 or say what to add', { timeout: 60_000 }, async () => {
  const r = await rivulet(['bench', 'nexmark', 'generate', '-b', broker.bootstrap, '-n', '600', '--rate', '2000', '--out-of-order-ms', '200', '--delayed-fraction', '0.3', '--partitions', '3', '--json', '--no-progress']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /topic "nexmark-bid" already exists with 2 partition\(s\); --partitions 3 is ignored/);
  const j = JSON.parse(r.stdout) as { events: number; partitions: Record<string, number> };
  assert.equal(j.events, 600);
  assert.deepEqual(j.partitions, { person: 2, auction: 2, bid: 2 });
  // Some bid comes out after a later one: timestamps in a partition go back at least once.
  let back = 0;
  for (let p = 0; p < 2; p++) {
    const recs = (await readIsolated(broker.port, TOPICS.bid, p, IsolationLevel.READ_UNCOMMITTED)).records.slice(-200);
    for (let i = 1; i < recs.length; i++) if (recs[i]!.timestamp < recs[i - 1]!.timestamp) back++;
  }
  assert.ok(back > 0, 'delayed events come out of order');

  const bad = await rivulet(['bench', 'nexmark', 'generate', '-b', broker.bootstrap, '--delayed-fraction', '1.5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--delayed-fraction must be a fraction between 0 and 1/);
  const noBound = await rivulet(['bench', 'nexmark', 'generate', '-b', broker.bootstrap, '-n', '10', '--delayed-fraction', '0.5']);
  assert.equal(noBound.code, 1);
  assert.match(noBound.stderr, /--delayed-fraction needs --out-of-order-ms N/);
  const help = await rivulet(['bench', 'nexmark', 'generate', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--rate <events\/s>/);
  assert.match(help.stdout, /1 person, 3 auctions and\s+46 bids/);
});
