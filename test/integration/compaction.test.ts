// Log compaction against a broker process and kafkajs clients: a keyed topic gets many
// updates and deletes while producers and a consumer group run and the cleaner works; once
// the writers stop, the topic reads back exactly the latest value of every live key, and no
// deleted key once delete.retention.ms has passed. A record without a key is refused.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { decodeBatches } from '../helpers/batches.js';
import { fetchBody } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { waitFor } from '../helpers/wait.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { runCli } from '../helpers/cli.js';

let broker: BrokerProcess;

before(async () => {
  broker = await startBroker({ args: ['--set', 'log.cleaner.backoff.ms=100'] });
});
after(async () => {
  await broker.cleanup();
});

interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
}

/** Every record of the partition up to its high watermark, following batch ends across compaction's gaps. */
async function readAll(topic: string, partition: number): Promise<Rec[]> {
  const c = await WireClient.connect(broker.port);
  const out: Rec[] = [];
  try {
        let offset = 0;
        for (let round = 0; round < 10_000; round++) {
          const res = await c.request(ApiKey.Fetch, 12, fetchBody(topic, { partition, offset, maxBytes: 8 << 20 }));
          const p = res.responses[0].partitions[0];
          if (p.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset}: error ${p.errorCode}`);
          const buf: Buffer = p.records ?? Buffer.alloc(0);
          let next = offset;
          for (let pos = 0; pos + 61 <= buf.length; ) {
            const size = buf.readInt32BE(pos + 8) + 12;
            if (pos + size > buf.length) break;
            next = Number(buf.readBigInt64BE(pos)) + buf.readInt32BE(pos + 23) + 1;
            pos += size;
          }
          for (const r of decodeBatches(buf)) if (r.offset >= offset) out.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null });
          if (next >= p.highWatermark || next === offset) return out;
          offset = next;
        }
        throw new Error('too many fetch rounds');
  } finally {
    c.close();
  }
}

const KEYS = 40;
const PARTITIONS = 2;

test('kafkajs: a compacted topic under updates and deletes reads back the latest value per key, and no deleted key', { timeout: 120_000 }, async () => {
  const topic = 'compacted-kv';
  const kafka = new Kafka({ clientId: 'compaction-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{
      topic,
      numPartitions: PARTITIONS,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'segment.bytes', value: '4096' },
        { name: 'segment.ms', value: '300' },
        { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        { name: 'delete.retention.ms', value: '1000' },
      ],
    }],
  });
  await admin.disconnect();

  // A consumer group reads along while the cleaner works: per partition, offsets only rise.
  const consumer = kafka.consumer({ groupId: 'compaction-readers', maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const lastOffset = new Map<number, number>();
  let consumed = 0;
  let orderBroken = '';
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const o = Number(message.offset);
      if (o <= (lastOffset.get(partition) ?? -1)) orderBroken = `partition ${partition}: offset ${o} after ${lastOffset.get(partition)}`;
      lastOffset.set(partition, o);
      consumed++;
    },
  });

  // Two producers, each owning half the keys; each key's value carries its update number.
  const latest = new Map<string, string | null>();
  const producers: Producer[] = [];
  try {
    for (let w = 0; w < 2; w++) {
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await p.connect();
      producers.push(p);
    }
    let writes = 0;
    await Promise.all(
      producers.map(async (p, w) => {
        for (let round = 0; round < 60; round++) {
          const messages = [];
          for (let k = w; k < KEYS; k += 2) {
            const key = `key-${k}`;
            // Every seventh key is deleted on some rounds and written again on others.
            const del = k % 7 === 0 && round % 3 === 2;
            const value = del ? null : `${key}:${round}:${'x'.repeat(40)}`;
            messages.push({ key, value });
            latest.set(key, value);
          }
          await p.send({ topic, acks: -1, messages });
          writes += messages.length;
        }
        // Some keys end deleted.
        const finalDeletes = [];
        for (let k = w; k < KEYS; k += 2) {
          if (k % 5 === 0) {
            finalDeletes.push({ key: `key-${k}`, value: null });
            latest.set(`key-${k}`, null);
          }
        }
        await p.send({ topic, acks: -1, messages: finalDeletes });
      }),
    );
    assert.ok(writes > 2000);

    const live = new Map([...latest].filter(([, v]) => v !== null));
    const deleted = [...latest].filter(([, v]) => v === null).map(([k]) => k);
    assert.ok(deleted.length > 0 && live.size > 0);
    let lastState = '';
    await waitFor(
      'the topic to hold exactly the latest value per live key and nothing of the deleted ones',
      async () => {
        const seen = new Map<string, string | null>();
        let total = 0;
        for (let partition = 0; partition < PARTITIONS; partition++) {
          for (const r of await readAll(topic, partition)) {
            total++;
            seen.set(r.key!, r.value);
          }
        }
        lastState = `${total} records, ${seen.size} keys`;
        if (total !== live.size || seen.size !== live.size) return false;
        for (const [k, v] of live) if (seen.get(k) !== v) return false;
        return true;
      },
      60_000,
      () => lastState,
      250,
    );
    // The consumer read along and saw offsets only rise.
    await waitFor('the consumer to read', () => consumed > 0, 30_000);
    assert.equal(orderBroken, '');
    // The CLI's reader (@platformatic/kafka) reads the compacted topic to its end: its gaps (and
    // any empty batch kept for a producer's last sequence) do not stop it.
    const cli = await runCli(['consume', topic, '-b', broker.bootstrap, '--from-beginning', '--format', 'kv']);
    assert.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.split('\n').filter((l) => l !== '').sort();
    assert.deepEqual(lines, [...live].map(([k, v]) => `${k}\t${v}`).sort());
  } finally {
    // Whatever failed, the clients stop so the test process can end.
    await consumer.disconnect().catch(() => undefined);
    for (const p of producers) await p.disconnect().catch(() => undefined);
  }

  const m = await scrapeMetrics(broker.httpPort);
  assert.ok(m.must('rivulet_log_cleaner_passes_total') > 0);
  assert.ok(m.must('rivulet_log_cleaner_reclaimed_bytes_total') > 0);
  assert.ok(m.must('rivulet_log_cleaner_last_pass_seconds') > 0);
  assert.notEqual(m.get(`rivulet_log_cleaner_dirty_ratio{topic="${topic}",partition="0"}`), undefined);
  assert.notEqual(m.get(`rivulet_log_cleaner_lag_seconds{topic="${topic}",partition="1"}`), undefined);
});

test('kafkajs: a record without a key is refused by a compacted topic with INVALID_RECORD', async () => {
  const topic = 'compacted-keys-only';
  const kafka = new Kafka({ clientId: 'compaction-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }] }] });
  await admin.disconnect();
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'ok' }] });
  await assert.rejects(
    producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'fine' }, { key: null, value: 'no key' }] }),
    (e: Error & { type?: string }) => e.type === 'INVALID_RECORD' || /INVALID_RECORD|without key/.test(`${e.message} ${String((e as { cause?: unknown }).cause)}`),
  );
  // Compressed batches are checked as well.
  const { CompressionTypes } = await import('kafkajs');
  await assert.rejects(
    producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: [{ key: null, value: 'no key' }] }),
    (e: Error & { type?: string }) => e.type === 'INVALID_RECORD' || /INVALID_RECORD|without key/.test(`${e.message} ${String((e as { cause?: unknown }).cause)}`),
  );
  await producer.disconnect();
  const records = await readAll(topic, 0);
  assert.deepEqual(records.map((r) => [r.key, r.value]), [['k', 'ok']], 'nothing of the refused batches was stored');
});
