// `rivulet bench produce|consume|e2e` as child processes against a real broker: counts,
// ordered percentiles and positive throughput in the --json output (no wall-clock
// assertions), the records really in the log (ListOffsets), errors and exit codes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { assertOnlyAcksGrew, produceRequestsByAcks } from '../helpers/metrics.js';
import { runCli as rivulet, closedPort, type CliResult } from '../helpers/cli.js';
import { WireClient } from '../helpers/wire-client.js';
import type { LatencySummary } from '../../src/cli/bench/types.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';



type Latency = LatencySummary;

interface BenchJson {
  schema: string;
  mode: string;
  topic: string;
  config: Record<string, unknown>;
  requested: number | null;
  messages: number;
  produced: number | null;
  failed: number;
  bytes: number;
  durationMs: number;
  msgsPerSec: number;
  mbPerSec: number;
  latencyMs: Latency | null;
  sendLatencyMs: Latency | null;
}

function parseJson(r: CliResult): BenchJson {
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one JSON line on stdout, got: ${r.stdout}`);
  const j = JSON.parse(lines[0]!) as BenchJson;
  assert.equal(j.schema, 'rivulet.bench/1');
  return j;
}

function assertOrdered(l: Latency | null, count: number, what: string): void {
  assert.ok(l, `${what}: latency present`);
  assert.equal(l.count, count, `${what}: one latency per record`);
  assert.ok(l.min > 0 && l.min <= l.p50, `${what}: min ${l.min} <= p50 ${l.p50}`);
  assert.ok(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, `${what}: ordered percentiles ${JSON.stringify(l)}`);
  assert.ok(l.mean > 0 && l.mean <= l.max, `${what}: mean ${l.mean}`);
}


let broker: BrokerProcess;
let bs: string;

before(async () => {
  broker = await startBroker();
  bs = broker.bootstrap;
});

after(async () => {
  await broker?.cleanup();
});

test('bench produce, then bench consume, count 20000 records that the log really holds', async () => {
  const p = parseJson(await rivulet(['bench', 'produce', '-b', bs, '-t', 'bench', '--partitions', '3', '--messages', '20000', '--json']));
  assert.equal(p.mode, 'produce');
  assert.equal(p.requested, 20000);
  assert.equal(p.messages, 20000);
  assert.equal(p.produced, 20000);
  assert.equal(p.failed, 0);
  assert.equal(p.bytes, 20000 * 1024);
  assert.equal(p.config.partitions, 3);
  assert.equal(p.sendLatencyMs, null);
  assertOrdered(p.latencyMs, 20000, 'produce');
  assert.ok(p.msgsPerSec > 0 && p.mbPerSec > 0 && p.durationMs > 0, JSON.stringify(p));

  // The log holds exactly those records: sum of the partitions' end offsets.
  const c = await WireClient.connect(broker.port);
  try {
    const r = await c.request(ApiKey.ListOffsets, 9, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'bench', partitions: [0, 1, 2].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1 })) }],
    });
    const parts = r.topics[0].partitions as Array<{ errorCode: number; offset: number | bigint }>;
    assert.ok(parts.every((x) => x.errorCode === 0), JSON.stringify(parts, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    assert.equal(parts.reduce((n, x) => n + Number(x.offset), 0), 20000);
  } finally {
    c.close();
  }

  const k = parseJson(await rivulet(['bench', 'consume', '-b', bs, '-t', 'bench', '--from-beginning', '--json']));
  assert.equal(k.mode, 'consume');
  assert.equal(k.messages, 20000);
  assert.equal(k.bytes, 20000 * 1024);
  assert.equal(k.latencyMs, null);
  assert.ok(k.msgsPerSec > 0 && k.mbPerSec > 0, JSON.stringify(k));

  // --messages bounds the read; the human summary is a table on stdout.
  const some = await rivulet(['bench', 'consume', '-b', bs, '-t', 'bench', '--from-beginning', '--messages', '500']);
  assert.equal(some.code, 0, some.stderr);
  assert.match(some.stdout, /messages\s+MB\s+seconds\s+msgs\/s\s+MB\/s/);
  assert.match(some.stdout, /^\s+500\s/m);
});

// The client library takes acks from each send, not from the producer's options; the
// broker's count of Produce requests by acks shows what really went over the wire.
for (const [flag, label] of [['all', 'all'], ['1', '1'], ['0', '0']] as const) {
  test(`bench produce --acks ${flag} sends Produce requests with acks=${label}`, async () => {
    const before = await produceRequestsByAcks(broker.httpPort);
    const r = await rivulet(['bench', 'produce', '-b', bs, '-t', `bench-acks-${label}`, '--partitions', '1', '--messages', '300', '--acks', flag, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const after = await produceRequestsByAcks(broker.httpPort);
    assertOnlyAcksGrew(before, after, label);
  });
}

test('bench e2e at a fixed rate receives every record and reports ordered percentiles', async () => {
  const e = parseJson(await rivulet(['bench', 'e2e', '-b', bs, '-t', 'e2e', '--partitions', '2', '--messages', '2000', '--rate', '1000', '--size', '100', '--json']));
  assert.equal(e.mode, 'e2e');
  assert.equal(e.requested, 2000);
  assert.equal(e.produced, 2000);
  assert.equal(e.messages, 2000);
  assert.equal(e.failed, 0);
  assert.equal(e.bytes, 2000 * 100);
  assert.equal(e.config.rate, 1000);
  assertOrdered(e.latencyMs, 2000, 'end to end');
  assertOrdered(e.sendLatencyMs, 2000, 'send');
  assert.ok(e.msgsPerSec > 0 && e.mbPerSec > 0, JSON.stringify(e));
});

test('keyed, compressed produce reaches every record', async () => {
  const p = parseJson(await rivulet(['bench', 'produce', '-b', bs, '-t', 'keyed', '--partitions', '4', '--messages', '3000', '--size', '100', '--key-cardinality', '10', '--compression', 'lz4', '--acks', '1', '--json']));
  assert.equal(p.messages, 3000);
  assert.equal(p.config.keyCardinality, 10);
  const k = parseJson(await rivulet(['bench', 'consume', '-b', bs, '-t', 'keyed', '--from-beginning', '--json']));
  assert.equal(k.messages, 3000);
});

test('errors: unknown topic, unreachable cluster, usage', async () => {
  const unknown = await rivulet(['bench', 'produce', '-b', bs, '-t', 'missing', '--messages', '10']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /topic "missing" does not exist; add --partitions/);
  const unknownConsume = await rivulet(['bench', 'consume', '-b', bs, '-t', 'missing', '--from-beginning']);
  assert.equal(unknownConsume.code, 1);
  assert.match(unknownConsume.stderr, /topic "missing" does not exist/);

  const port = await closedPort();
  const down = await rivulet(['bench', 'produce', '-b', `127.0.0.1:${port}`, '-t', 'x', '--messages', '10']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach the Kafka cluster/);

  assert.equal((await rivulet(['bench', 'consume', '-b', bs, '-t', 'bench'])).code, 2, 'nothing to wait for');
  assert.equal((await rivulet(['bench', 'e2e', '-b', bs, '-t', 'bench', '--size', '8'])).code, 2, 'value too small for e2e');
  assert.equal((await rivulet(['bench', 'produce', '-b', bs, '-t', 'bench', '--duration', 'soon'])).code, 2, 'bad duration');
  assert.equal((await rivulet(['bench', 'produce', '-b', bs])).code, 2, 'missing --topic');
});
