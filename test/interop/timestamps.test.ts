// Offsets by timestamp (ListOffsets) as Kafka answers them, seen through kafka-python's
// offsets_for_times() and Apache Kafka's GetOffsetShell (kafka-get-offsets.sh).
//
// Records carry CreateTime timestamps chosen by the test, all in one batch, one of them out
// of order. Kafka's answer for a timestamp T is the first *record* (not batch) whose
// timestamp is >= T, with that record's timestamp; for -3 (max timestamp, KIP-734) it is the
// first record holding the largest timestamp.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import {
  debianPython, describeRun, javaClasspath, javaInstallHint, javaJarsPresent, pythonDir, requireTool, run, token, works,
} from './tools.js';

const python = debianPython();
// offset:     0     1     2     3     4     5     6     7     8     9
const stamps = [1000, 1001, 1002, 1009, 1003, 1004, 1005, 1006, 1007, 1008];

let broker: BrokerProcess | undefined;

before(async () => {
  broker = await startBroker();
});

after(async () => {
  await broker?.cleanup();
});

interface TimestampSummary {
  acked: Array<[number, number]>;
  lookups: Record<string, [number, number] | null>;
  records: Array<[number, number, string]>;
  errors: string[];
}

async function produceWithTimestamps(topic: string, queries: number[]): Promise<TimestampSummary> {
  const r = await run(python, [join(pythonDir, 'timestamps.py'), broker!.bootstrap, topic, stamps.join(','), queries.join(',')], { timeoutMs: 120_000 });
  const context = describeRun(`${python} timestamps.py`, r, broker);
  assert.equal(r.code, 0, context);
  const line = r.stdout.toString().trim().split('\n').pop() ?? '';
  const s = JSON.parse(line) as TimestampSummary;
  assert.deepEqual(s.errors, [], context);
  assert.deepEqual(s.acked, stamps.map((ts, i) => [i, ts]), `acks (offset, timestamp)\n${context}`);
  assert.deepEqual(s.records, stamps.map((ts, i) => [i, ts, `ts-${i}`]), `records read back\n${context}`);
  return s;
}

test('kafka-python offsets_for_times: first record at or after the timestamp, with its own timestamp', { timeout: 180_000 }, async (t) => {
  const present = await works(python, ['-c', 'import kafka']);
  if (!requireTool(t, present, `the Python module kafka (for ${python})`, 'install it with `sudo apt-get install python3-kafka`')) return;
  const expected: Record<string, [number, number] | null> = {
    999: [0, 1000],
    1000: [0, 1000],
    1002: [2, 1002],
    1003: [3, 1009],
    1005: [3, 1009],
    1009: [3, 1009],
    1010: null,
  };
  const s = await produceWithTimestamps(`ts-py-${token()}`, Object.keys(expected).map(Number));
  // Every answer at once: query -> [offset, timestamp] or null.
  assert.deepEqual(s.lookups, expected, 'offsets_for_times(query) -> [offset, timestamp]');
});

test('GetOffsetShell --time -1 / -2 / -3 / <timestamp>', { timeout: 240_000 }, async (t) => {
  const present = await works(python, ['-c', 'import kafka']);
  if (!requireTool(t, present, `the Python module kafka (for ${python})`, 'install it with `sudo apt-get install python3-kafka`')) return;
  if (!requireTool(t, await works('java', ['-version']), 'java (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')) return;
  if (!requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint)) return;
  const topic = `ts-java-${token()}`;
  await produceWithTimestamps(topic, [1000]);
  const cases: Array<[string, number, string]> = [
    ['-1', 10, 'latest (log end)'],
    ['-2', 0, 'earliest'],
    ['-3', 3, 'max timestamp: the record holding it, not the last of its batch'],
    ['1003', 3, 'first record with timestamp >= 1003'],
    ['1002', 2, 'first record with timestamp >= 1002'],
  ];
  const got: Record<string, string> = {};
  const want: Record<string, string> = {};
  for (const [time, offset, what] of cases) {
    const r = await run('java', ['-cp', javaClasspath(), 'org.apache.kafka.tools.GetOffsetShell', '--bootstrap-server', broker!.bootstrap, '--topic', topic, '--time', time], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, describeRun(`GetOffsetShell --time ${time}`, r, broker));
    got[`--time ${time} (${what})`] = r.stdout.toString().trim();
    want[`--time ${time} (${what})`] = `${topic}:0:${offset}`;
  }
  assert.deepEqual(got, want, 'GetOffsetShell answers');
});
