// /metrics after traffic: per-API request counters and latency histograms, batch sizes,
// fsync times, parked fetches, per-partition offsets and sizes, consumer-group offsets,
// lag and members under kafka_exporter's names, and series of a deleted topic going
// away; GC pauses and event-loop delay recorded from broker start, before any scrape.
// Then the Grafana dashboard: it parses, uses a templated data source, and every metric
// its queries name is in a real scrape. No assertion depends on wall-clock time.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { repoRoot } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { scrapeMetrics, scrapeUntil as scrapeMetricsUntil, type Scrape } from '../helpers/metrics.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { createTopicsBody, fetchBody, produceBody } from '../helpers/requests.js';

const TOPIC = 'metrics-orders';
const GROUP = 'metrics-group';

let broker: BrokerProcess;
let consumer: Consumer | undefined;

before(async () => {
  broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
});
after(async () => {
  await consumer?.disconnect().catch(() => undefined);
  await broker?.cleanup();
});

const scrape = (): Promise<Scrape> => scrapeMetrics(broker.httpPort);
const scrapeUntil = (pred: (s: Scrape) => boolean, what: string): Promise<Scrape> => scrapeMetricsUntil(broker.httpPort, pred, what);

/** The buckets of one histogram series are cumulative and end in _count. */
function checkHistogram(s: Scrape, name: string, labels: string): void {
  const prefix = `${name}_bucket{${labels}${labels ? ',' : ''}le="`;
  const buckets = [...s.values].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
  assert.ok(buckets.length > 2, `${name}{${labels}} has buckets`);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]! >= buckets[i - 1]!, `${name}{${labels}} buckets are cumulative`);
  const count = s.must(`${name}_count${labels ? `{${labels}}` : ''}`);
  assert.equal(s.must(`${prefix}+Inf"}`), count, `${name}{${labels}} +Inf bucket equals _count`);
}

const produce = (c: WireClient, topic: string, parts: [number, Buffer][]) =>
  c.request(ApiKey.Produce, 9, produceBody(topic, parts));

const records = (n: number, tag: string) => buildBatch(Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${tag}-${i}-${'x'.repeat(100)}`) })));


const diff = (a: Scrape, b: Scrape, series: string) => (b.get(series) ?? 0) - (a.get(series) ?? 0);
const GC_KINDS = ['minor', 'major', 'incremental', 'weakcb'];
/** GC pauses counted over every kind. */
const gcCount = (s: Scrape) => GC_KINDS.reduce((n, kind) => n + (s.get(`rivulet_gc_pause_seconds_count{kind="${kind}"}`) ?? 0), 0);
const P = (p: number) => `topic="${TOPIC}",partition="${p}"`;

/** High watermarks and log bytes per partition, as produced by the first test. */
const hw = [0, 0, 0];
const logBytes = [0, 0, 0];

test('produce and fetch move the request, byte, batch, fsync and parked-fetch families', async () => {
  const c = await WireClient.connect(broker.port);
  const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(TOPIC, 3));
  assert.equal(created.topics[0].errorCode, 0);
  const s0 = await scrape();

  // 5 Produce requests carrying 6 partition entries: p0 gets 3 x 2 records, p1 1 + 1, p2 4.
  const sent: [number, Buffer][][] = [
    [[0, records(2, 'a')]],
    [[0, records(2, 'b')]],
    [[0, records(2, 'c')]],
    [[1, records(1, 'd')], [2, records(4, 'e')]],
    [[1, records(1, 'f')]],
  ];
  const counts = new Map<Buffer, number>([...sent.flat()].map(([, b]) => [b, b.readInt32BE(57)]));
  let batchBytes = 0;
  for (const parts of sent) {
    for (const [p, b] of parts) {
      hw[p]! += counts.get(b)!;
      logBytes[p]! += b.length;
      batchBytes += b.length;
    }
    const res = await produce(c, TOPIC, parts);
    for (const t of res.responses) for (const p of t.partitionResponses) assert.equal(p.errorCode, 0);
  }
  assert.deepEqual(hw, [6, 2, 4]);
  const s1 = await scrape();

  assert.equal(diff(s0, s1, 'rivulet_requests_total{api="Produce"}'), 5);
  assert.equal(diff(s0, s1, 'rivulet_request_duration_seconds_count{api="Produce"}'), 5);
  assert.ok(diff(s0, s1, 'rivulet_request_duration_seconds_sum{api="Produce"}') > 0);
  checkHistogram(s1, 'rivulet_request_duration_seconds', 'api="Produce"');
  assert.equal(diff(s0, s1, 'rivulet_produce_batch_bytes_count'), 6, 'one observation per partition entry');
  assert.equal(diff(s0, s1, 'rivulet_produce_batch_bytes_sum'), batchBytes);
  checkHistogram(s1, 'rivulet_produce_batch_bytes', '');
  assert.ok(diff(s0, s1, 'rivulet_log_fsync_duration_seconds_count') > 0, 'acks=-1 under the acks-all fsync policy fsyncs');
  checkHistogram(s1, 'rivulet_log_fsync_duration_seconds', '');
  assert.equal(diff(s0, s1, `rivulet_topic_bytes_in_total{topic="${TOPIC}"}`), batchBytes);
  assert.equal(s1.must(`kafka_topic_partitions{topic="${TOPIC}"}`), 3);
  for (let p = 0; p < 3; p++) {
    assert.equal(s1.must(`kafka_topic_partition_current_offset{${P(p)}}`), hw[p], `high watermark of p${p}`);
    assert.equal(s1.must(`kafka_topic_partition_oldest_offset{${P(p)}}`), 0);
    assert.equal(s1.must(`rivulet_log_size_bytes{${P(p)}}`), logBytes[p], `log size of p${p}`);
  }
  assert.equal(s1.must('kafka_brokers'), 1);
  assert.equal(s1.must('rivulet_fetch_parked'), 0);

  // A fetch at the high watermark parks; an append wakes it and the gauge returns to 0.
  const parked = c.request(ApiKey.Fetch, 12, fetchBody(TOPIC, { offset: hw[0]!, maxWaitMs: 60_000 }));
  const s2 = await scrapeUntil((s) => s.get('rivulet_fetch_parked') === 1, 'rivulet_fetch_parked 1');
  assert.equal(diff(s1, s2, 'rivulet_requests_total{api="Fetch"}'), 1);
  assert.equal(diff(s1, s2, 'rivulet_request_duration_seconds_count{api="Fetch"}'), 0, 'a parked fetch is not answered yet');
  const more = records(3, 'g');
  const res = await produce(c, TOPIC, [[0, more]]);
  assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
  hw[0]! += 3;
  logBytes[0]! += more.length;
  const fetched = await parked;
  const part = fetched.responses[0].partitions[0];
  assert.equal(part.errorCode, 0);
  assert.equal(part.highWatermark, hw[0]);
  const s3 = await scrape();
  assert.equal(s3.must('rivulet_fetch_parked'), 0);
  assert.equal(diff(s1, s3, 'rivulet_requests_total{api="Fetch"}'), 1);
  assert.equal(diff(s1, s3, 'rivulet_request_duration_seconds_count{api="Fetch"}'), 1);
  checkHistogram(s3, 'rivulet_request_duration_seconds', 'api="Fetch"');
  assert.equal(diff(s1, s3, `rivulet_topic_bytes_out_total{topic="${TOPIC}"}`), more.length);
  assert.equal(s3.must(`kafka_topic_partition_current_offset{${P(0)}}`), hw[0]);
  c.close();
});

test('GC pauses and event-loop delay are recorded from broker start: the first scrape after load shows them', async () => {
  // A broker of its own, never scraped before the load.
  const fresh = await startBroker();
  try {
    const c = await WireClient.connect(fresh.port);
    const T = 'metrics-first-scrape';
    assert.equal((await c.request(ApiKey.CreateTopics, 7, createTopicsBody(T, 1))).topics[0].errorCode, 0);
    // Decoded requests and responses are garbage the broker collects: about 1 MB of young
    // generation per 50 rounds here, a few minor GCs in all (an idle broker has none).
    let end = 0;
    for (let i = 0; i < 200; i++) {
      const res = await produce(c, T, [[0, records(200, `f${i}`)]]);
      assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
      const got = await c.request(ApiKey.Fetch, 12, fetchBody(T, { partition: 0, offset: end, maxWaitMs: 0 }));
      assert.equal(got.responses[0].partitions[0].errorCode, 0);
      end += 200;
    }
    c.close();
    const s = await scrapeMetrics(fresh.httpPort);
    assert.equal(s.must(`kafka_topic_partition_current_offset{topic="${T}",partition="0"}`), end, 'the load reached the broker');
    assert.equal(s.types.get('rivulet_gc_pause_seconds'), 'histogram');
    assert.ok(gcCount(s) > 0, 'GC pauses before the first scrape are counted');
    for (const kind of GC_KINDS) checkHistogram(s, 'rivulet_gc_pause_seconds', `kind="${kind}"`);
    assert.ok(s.must('rivulet_gc_pause_seconds_sum{kind="minor"}') > 0 || s.must('rivulet_gc_pause_seconds_sum{kind="major"}') > 0, 'pause time is summed');
    assert.equal(s.types.get('rivulet_event_loop_delay_seconds'), 'histogram');
    assert.ok(s.must('rivulet_event_loop_delay_seconds_count') > 0, 'event-loop delay sampled before the first scrape');
    checkHistogram(s, 'rivulet_event_loop_delay_seconds', '');
    assert.ok(s.must('rivulet_event_loop_delay_max_seconds') >= 0);
    // Cumulative: a second scrape never shows fewer samples or pauses.
    const s2 = await scrapeMetrics(fresh.httpPort);
    assert.ok(s2.must('rivulet_event_loop_delay_seconds_count') >= s.must('rivulet_event_loop_delay_seconds_count'));
    assert.ok(gcCount(s2) >= gcCount(s));
    checkHistogram(s2, 'rivulet_event_loop_delay_seconds', '');
  } finally {
    await fresh.cleanup();
  }
});

test('latency attribution: request stages, log writes and fsyncs, and GC pauses move under load', async () => {
  const c = await WireClient.connect(broker.port);
  const T = 'metrics-stages';
  const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(T, 2));
  assert.equal(created.topics[0].errorCode, 0);
  let end1 = 0;
  const stage = (api: string, st: string, what: 'count' | 'sum') => `rivulet_request_stage_seconds_${what}{api="${api}",stage="${st}"}`;
  const s0 = await scrape();
  assert.equal(s0.types.get('rivulet_request_stage_seconds'), 'histogram');
  assert.equal(s0.types.get('rivulet_log_write_duration_seconds'), 'histogram');
  assert.equal(s0.types.get('rivulet_gc_pause_seconds'), 'histogram', 'GC pauses are exported');
  assert.equal(s0.types.get('rivulet_event_loop_delay_seconds'), 'histogram', 'event-loop delay is exported');

  // Produce traffic: decoded requests and their responses are heap objects the broker's GC collects.
  const N = 40;
  for (let i = 0; i < N; i++) {
    const res = await produce(c, T, [[0, records(200, `s${i}`)], [1, records(2, `t${i}`)]]);
    for (const t of res.responses) for (const p of t.partitionResponses) assert.equal(p.errorCode, 0);
    end1 += 2;
  }
  // One fetch answered at once, one that parks until an append wakes it.
  const now = await c.request(ApiKey.Fetch, 12, fetchBody(T, { partition: 0, offset: 0, maxWaitMs: 0 }));
  assert.equal(now.responses[0].partitions[0].errorCode, 0);
  assert.ok(now.responses[0].partitions[0].records.length > 0, 'the immediate fetch carries records');
  const parked = c.request(ApiKey.Fetch, 12, fetchBody(T, { partition: 1, offset: end1, maxWaitMs: 60_000 }));
  await scrapeUntil((s) => s.get('rivulet_fetch_parked') === 1, 'the fetch parked');
  const wake = records(1, 'wake');
  const woke = await produce(c, T, [[1, wake]]);
  assert.equal(woke.responses[0].partitionResponses[0].errorCode, 0);
  assert.equal((await parked).responses[0].partitions[0].errorCode, 0);
  const s1 = await scrapeUntil(
    (s) => diff(s0, s, stage('Produce', 'flush', 'count')) === N + 1 && diff(s0, s, stage('Fetch', 'flush', 'count')) === 2,
    'every response written to the socket',
  );
  c.close();

  for (const st of ['queue', 'handler', 'flush']) {
    assert.equal(diff(s0, s1, stage('Produce', st, 'count')), N + 1, `Produce ${st}: one observation per request`);
    assert.ok(diff(s0, s1, stage('Produce', st, 'sum')) > 0, `Produce ${st} time grew`);
    assert.equal(diff(s0, s1, stage('Fetch', st, 'count')), 2, `Fetch ${st}: one observation per request`);
    assert.ok(diff(s0, s1, stage('Fetch', st, 'sum')) > 0, `Fetch ${st} time grew`);
    checkHistogram(s1, 'rivulet_request_stage_seconds', `api="Produce",stage="${st}"`);
  }
  assert.equal(diff(s0, s1, stage('Fetch', 'parked', 'count')), 1, 'only the fetch that waited for data parked');
  assert.ok(diff(s0, s1, stage('Fetch', 'parked', 'sum')) > 0);
  checkHistogram(s1, 'rivulet_request_stage_seconds', 'api="Fetch",stage="parked"');
  assert.equal(s1.get(stage('Produce', 'parked', 'count')), undefined, 'APIs that never park export no parked series');
  // Every partition entry is one log append; offsets commits would add more, none happen here.
  assert.equal(diff(s0, s1, 'rivulet_log_write_duration_seconds_count'), 2 * N + 1, 'one write observation per append');
  assert.ok(diff(s0, s1, 'rivulet_log_write_duration_seconds_sum') > 0);
  checkHistogram(s1, 'rivulet_log_write_duration_seconds', '');
  assert.ok(diff(s0, s1, 'rivulet_log_fsync_duration_seconds_count') > 0, 'acks=all produces fsync');
  assert.ok(gcCount(s1) >= gcCount(s0), 'GC pause counts never go down');
  for (const [k] of s1.values) {
    const m = /^rivulet_gc_pause_seconds_count\{kind="(\w+)"\}$/.exec(k);
    if (m !== null) assert.ok(GC_KINDS.includes(m[1]!), `GC kind ${m[1]}`);
  }
  for (const kind of GC_KINDS) {
    checkHistogram(s1, 'rivulet_gc_pause_seconds', `kind="${kind}"`);
    assert.ok(s1.values.has(`rivulet_gc_pause_seconds_bucket{kind="${kind}",le="0.00005"}`), `GC buckets for ${kind} start at 50 µs`);
  }
  assert.ok(diff(s0, s1, 'rivulet_event_loop_delay_seconds_count') >= 0, 'event-loop delay samples never go down');
  checkHistogram(s1, 'rivulet_event_loop_delay_seconds', '');
});

test('a kafkajs group: committed offsets, lag, members and its parked fetch', async () => {
  const kafka = new Kafka({ clientId: 'metrics-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const s0 = await scrape();
  consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000, maxWaitTimeInMs: 1500 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  let seen = 0;
  await consumer.run({ autoCommit: false, eachMessage: async () => void seen++ });
  const total = hw[0]! + hw[1]! + hw[2]!;
  await waitFor(`the group to consume all ${total} records`, () => seen >= total, 30_000, () => `consumed ${seen}`);
  assert.equal(seen, total, 'the group consumed every record, once');
  const committed = [hw[0]!, 1, 1];
  await consumer.commitOffsets(committed.map((o, partition) => ({ topic: TOPIC, partition, offset: String(o) })));

  // Caught up, the member's fetch parks.
  const s1 = await scrapeUntil((s) => (s.get('rivulet_fetch_parked') ?? 0) >= 1, 'the kafkajs fetch parked');
  assert.equal(s1.must(`kafka_consumergroup_members{consumergroup="${GROUP}"}`), 1);
  let lagSum = 0;
  for (let p = 0; p < 3; p++) {
    const g = `consumergroup="${GROUP}",${P(p)}`;
    assert.equal(s1.must(`kafka_consumergroup_current_offset{${g}}`), committed[p]);
    const lag = s1.must(`kafka_consumergroup_lag{${g}}`);
    assert.equal(lag, s1.must(`kafka_topic_partition_current_offset{${P(p)}}`) - committed[p]!, `lag of p${p} is high watermark minus committed`);
    assert.equal(lag, hw[p]! - committed[p]!);
    lagSum += lag;
  }
  assert.equal(lagSum, 1 + 3);
  assert.equal(s1.must(`kafka_consumergroup_lag_sum{consumergroup="${GROUP}",topic="${TOPIC}"}`), lagSum);
  assert.ok(diff(s0, s1, 'rivulet_requests_total{api="Fetch"}') >= 1);
  assert.ok(diff(s0, s1, 'rivulet_request_duration_seconds_count{api="Fetch"}') >= 1);
  for (const api of ['JoinGroup', 'SyncGroup', 'OffsetCommit']) {
    assert.ok(diff(s0, s1, `rivulet_requests_total{api="${api}"}`) >= 1, `${api} counted`);
    assert.ok(diff(s0, s1, `rivulet_request_duration_seconds_count{api="${api}"}`) >= 1, `${api} timed`);
  }

  // Leaving: no members, the offsets stay, and no fetch is parked any more.
  await consumer.disconnect();
  consumer = undefined;
  // Once every request read has been answered (or ended with its connection), counter and histogram agree.
  const agree = (s: Scrape): boolean =>
    [...s.values].every(([series, v]) => {
      const m = /^rivulet_requests_total\{api="(\w+)"\}$/.exec(series);
      return m === null || s.get(`rivulet_request_duration_seconds_count{api="${m[1]}"}`) === v;
    });
  const s2 = await scrapeUntil(
    (s) => s.get('rivulet_fetch_parked') === 0 && s.get(`kafka_consumergroup_members{consumergroup="${GROUP}"}`) === 0 && agree(s),
    'the group empty, no parked fetch, and a latency observation for every request',
  );
  assert.equal(s2.must(`kafka_consumergroup_lag_sum{consumergroup="${GROUP}",topic="${TOPIC}"}`), lagSum);
  assert.equal(s2.must(`kafka_consumergroup_current_offset{consumergroup="${GROUP}",${P(1)}}`), 1);
});

test('series of a deleted topic go away', async () => {
  const c = await WireClient.connect(broker.port);
  const res = await produce(c, 'metrics-doomed', [[0, records(2, 'z')]]);
  assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
  const s1 = await scrape();
  assert.equal(s1.must('kafka_topic_partitions{topic="metrics-doomed"}'), 1, 'auto-created with num.partitions=1');
  assert.equal(s1.must('kafka_topic_partition_current_offset{topic="metrics-doomed",partition="0"}'), 2);
  const del = await c.request(ApiKey.DeleteTopics, 4, { topicNames: ['metrics-doomed'], timeoutMs: 5000 });
  assert.equal(del.responses[0].errorCode, 0);
  c.close();
  const s2 = await scrape();
  const left = [...s2.values.keys()].filter((k) => k.includes('"metrics-doomed"'));
  assert.deepEqual(left, []);
  assert.equal(s2.must(`kafka_topic_partitions{topic="${TOPIC}"}`), 3, 'other topics stay');
});

test('process families: event loop delay and utilization, memory', async () => {
  const s = await scrape();
  checkHistogram(s, 'rivulet_event_loop_delay_seconds', '');
  assert.ok(s.values.has('rivulet_event_loop_delay_seconds_bucket{le="0.0001"}'), 'event-loop delay buckets start at 100 µs');
  const max = s.must('rivulet_event_loop_delay_max_seconds');
  assert.ok(Number.isFinite(max) && max >= 0, `the longest delay is a measured delay (${max})`);
  for (const name of ['rivulet_nodejs_gc_duration_seconds', 'rivulet_nodejs_eventloop_lag_seconds', 'rivulet_nodejs_eventloop_lag_p99_seconds', 'rivulet_nodejs_eventloop_lag_max_seconds']) {
    assert.equal(s.types.get(name), undefined, `prom-client's ${name} is replaced by the broker's own family`);
  }
  const elu = s.must('rivulet_event_loop_utilization');
  assert.ok(elu >= 0 && elu <= 1, `utilization ${elu} is a share`);
  assert.ok(s.must('rivulet_process_resident_memory_bytes') > 0);
  assert.ok(s.must('rivulet_nodejs_heap_size_used_bytes') > 0);
  assert.equal(s.types.get('rivulet_request_duration_seconds'), 'histogram');
  assert.equal(s.types.get('rivulet_log_fsync_duration_seconds'), 'histogram');
  assert.equal(s.types.get('rivulet_produce_batch_bytes'), 'histogram');
});

test('the Grafana dashboard parses, uses a templated data source, and queries only metrics the broker exposes', async () => {
  const dash = JSON.parse(readFileSync(join(repoRoot, 'deploy', 'grafana', 'rivulet.json'), 'utf8'));
  assert.ok(dash.schemaVersion >= 36, 'a current dashboard schema');
  const vars: any[] = dash.templating.list;
  assert.ok(vars.some((v) => v.type === 'datasource' && v.name === 'DS_PROMETHEUS' && v.query === 'prometheus'), 'a Prometheus data source variable');

  const panels: any[] = dash.panels.flatMap((p: any) => [p, ...(p.panels ?? [])]).filter((p: any) => p.type !== 'row');
  assert.ok(panels.length >= 10);
  const ids = new Set(dash.panels.map((p: any) => p.id));
  assert.equal(ids.size, dash.panels.length, 'panel ids are unique');
  const queries: string[] = [];
  for (const p of panels) {
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${DS_PROMETHEUS}' }, `panel "${p.title}" uses the templated data source`);
    assert.ok(p.targets.length > 0, `panel "${p.title}" has queries`);
    for (const t of p.targets) {
      assert.equal(t.datasource.uid, '${DS_PROMETHEUS}');
      queries.push(t.expr);
    }
  }
  for (const v of vars) if (v.type === 'query') queries.push(v.definition);
  const text = JSON.stringify(dash);
  for (const m of text.matchAll(/"uid":\s*"([^"]*)"/g)) assert.ok(m[1] === '${DS_PROMETHEUS}' || m[1] === 'rivulet-broker' || m[1] === '-- Grafana --', `no fixed data source uid (${m[1]})`);

  const s = await scrape();
  const known = new Set<string>();
  for (const [name, type] of s.types) {
    known.add(name);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) known.add(name + suffix);
  }
  const used = new Set<string>();
  for (const q of queries) for (const m of q.matchAll(/\b((?:rivulet|kafka)_[a-zA-Z0-9_]+)/g)) used.add(m[1]!);
  for (const want of [
    'rivulet_topic_bytes_in_total', 'rivulet_topic_bytes_out_total', 'rivulet_request_duration_seconds_bucket', 'kafka_consumergroup_lag_sum', 'rivulet_log_fsync_duration_seconds_bucket',
    'rivulet_request_stage_seconds_bucket', 'rivulet_log_write_duration_seconds_bucket', 'rivulet_gc_pause_seconds_bucket', 'rivulet_gc_pause_seconds_count',
    'rivulet_gc_pause_seconds_sum', 'rivulet_event_loop_delay_seconds_bucket', 'rivulet_event_loop_delay_max_seconds',
  ]) {
    assert.ok(used.has(want), `the dashboard shows ${want}`);
  }
  const missing = [...used].filter((n) => !known.has(n));
  assert.deepEqual(missing, [], 'every metric the dashboard queries is in the scrape');
});
