// The Java consumer (kafka-clients 4.x) reads a topic of 1,000 partitions through a fetch
// session (KIP-227): every record arrives once and in order per partition, its fetches are
// served incrementally within a session, and none meets a session error. ManyPartitions.java
// writes part of the records before the consumer starts and the rest while it polls, a few
// partitions at a time. The same run against a broker that grants no sessions
// (max.incremental.fetch.session.cache.slots=0) measures what the sessions save: the mean
// Fetch request size, from rivulet_request_bytes_total.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { describeRun, lastJson, requireJava, runJava, token } from './tools.js';

const PARTITIONS = 1000;
const PER_PARTITION = 6;

const brokers: BrokerProcess[] = [];
after(async () => {
  for (const b of brokers) await b.cleanup();
});

interface Summary {
  errors: string[];
  acked: number;
  records: Array<[number, number, number]>;
}

/** Runs the Java consumer against a fresh broker; checks every record arrived once and in order; returns the broker's metrics. */
async function consumeAll(args: string[]) {
  const broker = await startBroker({ args });
  brokers.push(broker);
  const topic = `sessions-java-${token()}`;
  const r = await runJava('ManyPartitions.java', [broker.bootstrap, topic, String(PARTITIONS), String(PER_PARTITION), token()], { timeoutMs: 240_000 });
  const context = describeRun('java ManyPartitions.java', r, broker);
  const s = lastJson<Summary>(r.stdout, context);
  assert.deepEqual(s.errors, [], context);
  assert.equal(s.acked, PARTITIONS * PER_PARTITION, context);
  const next = new Array<number>(PARTITIONS).fill(0);
  for (const [p, offset, seq] of s.records) {
    assert.equal(offset, next[p], `partition ${p}: offset ${offset} where ${next[p]} was expected (a record lost, repeated or out of order)`);
    assert.equal(seq, offset, `partition ${p}: record ${seq} at offset ${offset}`);
    next[p]!++;
  }
  for (let p = 0; p < PARTITIONS; p++) assert.equal(next[p], PER_PARTITION, `partition ${p}: ${next[p]} records consumed`);
  assert.equal(r.code, 0, context);
  return scrapeMetrics(broker.httpPort);
}

test(`java consumer: ${PARTITIONS} partitions read through a fetch session, every record once and in order, in far smaller Fetch requests`, { timeout: 600_000 }, async (t) => {
  if (!(await requireJava(t))) return;
  const m = await consumeAll([]);
  const incremental = m.must('rivulet_fetch_incremental_total');
  const fetches = m.must('rivulet_requests_total{api="Fetch"}');
  const mean = m.must('rivulet_request_bytes_total{api="Fetch"}') / fetches;
  t.diagnostic(`${incremental} of ${fetches} fetches incremental, ${m.must('rivulet_fetch_sessions')} session(s) cached, mean Fetch request ${Math.round(mean)} bytes`);
  assert.ok(incremental >= 20, `the consumer's fetches were served within a session: ${incremental} of ${fetches}`);
  assert.ok(incremental >= fetches / 2, `most fetches incremental: ${incremental} of ${fetches}`);
  const sessionErrors = [...m.values].filter(([k, v]) => k.startsWith('rivulet_response_errors_total{') && /FETCH_SESSION/.test(k) && v > 0);
  assert.deepEqual(sessionErrors, [], 'no session errors');

  const full = await consumeAll(['--set', 'max.incremental.fetch.session.cache.slots=0']);
  assert.equal(full.must('rivulet_fetch_incremental_total'), 0, 'no sessions granted');
  const fullMean = full.must('rivulet_request_bytes_total{api="Fetch"}') / full.must('rivulet_requests_total{api="Fetch"}');
  t.diagnostic(`without sessions: mean Fetch request ${Math.round(fullMean)} bytes; with sessions ${(mean / fullMean).toFixed(3)}x that`);
  // Every full fetch names all 1,000 partitions; an incremental one only those that moved.
  assert.ok(mean < fullMean / 4, `Fetch requests within a session are far smaller: ${Math.round(mean)} against ${Math.round(fullMean)} bytes`);
});
