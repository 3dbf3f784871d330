// Log compaction seen through Apache Kafka's own tools: kafka-topics creates a compacted
// topic, kafka-console-producer writes keyed updates and deletes (null.marker), the cleaner
// compacts, and kafka-console-consumer reads back exactly the latest value of each live key;
// a record without a key is refused with Kafka's message.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { decodeBatches } from '../helpers/batches.js';
import { fetchBody } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { waitFor } from '../helpers/wait.js';
import { describeRun, javaClasspath, javaInstallHint, javaJarsPresent, requireTool, run, token, works } from './tools.js';

let broker: BrokerProcess | undefined;
let javaOk = false;

before(async () => {
  javaOk = await works('java', ['-version']);
  broker = await startBroker({ args: ['--set', 'log.cleaner.backoff.ms=100'] });
});

after(async () => {
  await broker?.cleanup();
});

function tool(cls: string, args: string[], input?: string) {
  return run('java', ['-cp', javaClasspath(), `org.apache.kafka.tools.${cls}`, ...args], { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
}

/** Records of partition 0 up to the high watermark, across compaction's gaps. */
async function records(topic: string): Promise<Array<[string | null, string | null]>> {
  const c = await WireClient.connect(broker!.port);
  const out: Array<[string | null, string | null]> = [];
  try {
    let offset = 0;
    for (;;) {
      const res = await c.request(ApiKey.Fetch, 12, fetchBody(topic, { offset, maxBytes: 8 << 20 }));
      const p = res.responses[0].partitions[0];
      const buf: Buffer = p.records ?? Buffer.alloc(0);
      let next = offset;
      for (let pos = 0; pos + 61 <= buf.length; pos += buf.readInt32BE(pos + 8) + 12) next = Number(buf.readBigInt64BE(pos)) + buf.readInt32BE(pos + 23) + 1;
      for (const r of decodeBatches(buf)) if (r.offset >= offset) out.push([r.key?.toString() ?? null, r.value?.toString() ?? null]);
      if (next >= p.highWatermark || next === offset) return out;
      offset = next;
    }
  } finally {
    c.close();
  }
}

test('kafka-console-producer and kafka-console-consumer on a compacted topic', { timeout: 300_000 }, async (t) => {
  if (!requireTool(t, javaOk, 'java (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`') || !requireTool(t, javaJarsPresent(), 'the Kafka Java jars in test/interop/java/lib', javaInstallHint)) return;
  const topic = `compacted-${token()}`;
  const bs = broker!.bootstrap;
  const created = await tool('TopicCommand', [
    '--bootstrap-server', bs, '--create', '--topic', topic, '--partitions', '1', '--replication-factor', '1',
    '--config', 'cleanup.policy=compact', '--config', 'segment.ms=200', '--config', 'min.cleanable.dirty.ratio=0.01', '--config', 'delete.retention.ms=500',
  ]);
  assert.equal(created.code, 0, describeRun('kafka-topics --create', created, broker));

  const lines: string[] = [];
  const latest = new Map<string, string | null>();
  for (let round = 0; round < 5; round++) {
    for (let k = 0; k < 10; k++) {
      const del = k % 4 === 0 && round === 4;
      lines.push(`key${k}:${del ? 'NULL' : `value${k}-${round}`}`);
      latest.set(`key${k}`, del ? null : `value${k}-${round}`);
    }
  }
  const produced = await tool('ConsoleProducer', ['--bootstrap-server', bs, '--topic', topic, '--reader-property', 'parse.key=true', '--reader-property', 'key.separator=:', '--reader-property', 'null.marker=NULL'], `${lines.join('\n')}\n`);
  assert.equal(produced.code, 0, describeRun('kafka-console-producer', produced, broker));
  const live = [...latest].filter(([, v]) => v !== null).map(([k, v]) => `${k}:${v}`).sort();

  // The cleaner rolls the quiet topic at segment.ms, cleans it, and drops the tombstones after delete.retention.ms.
  let seen = '';
  await waitFor('the topic to be compacted', async () => {
    const got = (await records(topic)).map(([k, v]) => `${k}:${v}`).sort();
    seen = got.join(' ');
    return got.join(' ') === live.join(' ');
  }, 60_000, () => seen, 200);

  const consumed = await tool('consumer.ConsoleConsumer', ['--bootstrap-server', bs, '--topic', topic, '--from-beginning', '--timeout-ms', '5000', '--formatter-property', 'print.key=true', '--formatter-property', 'key.separator=:']);
  const out = consumed.stdout.toString().split('\n').filter((l) => l.includes(':')).sort();
  assert.deepEqual(out, live, describeRun('kafka-console-consumer', consumed, broker));

  const keyless = await tool('ConsoleProducer', ['--bootstrap-server', bs, '--topic', topic, '--producer-property', 'retries=0'], 'no key here\n');
  assert.match(`${keyless.stdout}${keyless.stderr}`, /Compacted topic cannot accept message without key/, describeRun('kafka-console-producer without keys', keyless, broker));
  assert.deepEqual((await records(topic)).map(([k, v]) => `${k}:${v}`).sort(), live, 'the keyless record was not stored');
});
