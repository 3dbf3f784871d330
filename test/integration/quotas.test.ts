// Client quotas end to end: set with AlterClientQuotas (through @platformatic/kafka's admin
// client), listed with DescribeClientQuotas, enforced on a producer's and a consumer's rate
// (their responses carry throttleTimeMs and the broker stops reading them meanwhile), stored
// across a restart, lifted when removed; connection creation rates and per-address connection
// limits refuse (and count) the connections beyond them while others are served.
//
// Rates are measured from the client's side after the first quota.window.num windows: Kafka
// (and so the broker) lets a client start with a burst of what the quota allows over
// quota.window.num - 1 windows; after it, the rate must stay within 10% of the quota.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '@platformatic/kafka';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { startBroker, listenerPorts, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts } from '../helpers/tls-certs.js';
import { readFileSync } from 'node:fs';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { encodeRequest } from '../../src/protocol/header.js';
import { codecs } from '../../src/protocol/generated/index.js';
import { createTopicsBody, fetchBody, produceBody } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const KiB = 1024;
const QUOTA = 256 * KiB;
/** Kafka's defaults: 11 windows of 1 s; the first 10 s may go as one burst. */
const WARMUP_MS = 15_000;

type Entity = Array<{ entityType: string; entityName: string | null }>;

async function alterQuotas(bootstrap: string, entries: Array<{ entities: Entity; ops: Array<{ key: string; value?: number; remove?: boolean }> }>, validateOnly = false): Promise<Array<{ errorCode: number; errorMessage?: string | null }>> {
  const admin = new Admin({ clientId: 'quota-admin', bootstrapBrokers: [bootstrap] });
  // The client's types name the entity types and keys it knows; the test passes plain strings.
  const typed = entries.map((e) => ({ entities: e.entities, ops: e.ops.map((o) => (o.remove === true ? { key: o.key, remove: true } : { key: o.key, value: o.value ?? 0, remove: false })) })) as Parameters<Admin['alterClientQuotas']>[0]['entries'];
  try {
    return await admin.alterClientQuotas({ entries: typed, validateOnly });
  } finally {
    await admin.close();
  }
}

/** DescribeClientQuotas through the raw client (the admin client turns an error answer into an exception; the test reads it). */
async function describe(port: number, components: Array<{ entityType: string; matchType: number; match: string | null }>, strict = false): Promise<any> {
  const c = await WireClient.connect(port);
  try {
    return await c.request(ApiKey.DescribeClientQuotas, 1, { components, strict });
  } finally {
    c.close();
  }
}

/** Entities of a describe answer as sorted strings, e.g. "client-id=c1,user=<default>: producer_byte_rate=10". */
function entitiesOf(res: any): string[] {
  return (res.entries as any[])
    .map((e) => `${e.entity.map((p: any) => `${p.entityType}=${p.entityName ?? '<default>'}`).sort().join(',')}: ${e.values.map((v: any) => `${v.key}=${v.value}`).sort().join(',')}`)
    .sort();
}

/**
 * Produces `batch` again and again on one connection as `clientId` (acks=1, one request at a
 * time, throttleTimeMs ignored: only the broker's muting slows it) until `stopAt`
 * (performance.now()); returns when each request was acknowledged and the throttle times seen.
 */
async function produceLoop(port: number, clientId: string, topic: string, batch: Buffer, stopAt: number): Promise<{ acks: number[]; throttles: number[] }> {
  const c = await WireClient.connect(port);
  c.clientId = clientId;
  const acks: number[] = [];
  const throttles: number[] = [];
  try {
    while (performance.now() < stopAt) {
      const res = await c.request(ApiKey.Produce, 9, produceBody(topic, batch, { acks: 1 }));
      assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      acks.push(performance.now());
      throttles.push(res.throttleTimeMs);
    }
  } finally {
    c.close();
  }
  return { acks, throttles };
}

/** Bytes per second acknowledged between `from` and `to` (performance.now()), `size` bytes per ack. */
function rateBetween(acks: number[], size: number, from: number, to: number): number {
  return (acks.filter((t) => t > from && t <= to).length * size) / ((to - from) / 1000);
}

async function createTopic(port: number, name: string): Promise<void> {
  const c = await WireClient.connect(port);
  try {
    const res = await c.request(ApiKey.CreateTopics, 7, createTopicsBody(name));
    assert.equal(res.topics[0].errorCode, ErrorCode.NONE);
  } finally {
    c.close();
  }
}

test('a producer over its producer_byte_rate is held to it while another client id is not; the quota survives a restart and removing it lifts it', async () => {
  let b: BrokerProcess = await startBroker();
  const dataDir = b.dataDir;
  let restarted: BrokerProcess | null = null;
  try {
    await createTopic(b.port, 'quota-produce');
    const altered = await alterQuotas(b.bootstrap, [{ entities: [{ entityType: 'client-id', entityName: 'slow-producer' }], ops: [{ key: 'producer_byte_rate', value: QUOTA }] }]);
    assert.equal(altered[0]!.errorCode, ErrorCode.NONE);

    const batch = buildBatch([{ key: null, value: Buffer.alloc(32 * KiB, 0x71) }]);
    const start = performance.now();
    const stopAt = start + 60_000;
    // The unthrottled producer: kafkajs, another client id, same broker, same minute.
    const kafka = new Kafka({ clientId: 'free-producer', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const freeAcks: number[] = [];
    const messages = Array.from({ length: 32 }, () => ({ value: Buffer.alloc(KiB, 0x66) }));
    const free = (async () => {
      while (performance.now() < stopAt) {
        await producer.send({ topic: 'quota-produce', acks: 1, compression: CompressionTypes.None, messages });
        freeAcks.push(performance.now());
      }
    })();
    const slow = await produceLoop(b.port, 'slow-producer', 'quota-produce', batch, stopAt);
    await free;
    await producer.disconnect();

    const slowRate = rateBetween(slow.acks, batch.length, start + WARMUP_MS, stopAt);
    const freeRate = rateBetween(freeAcks, 32 * KiB, start + WARMUP_MS, stopAt);
    const wholeMinute = rateBetween(slow.acks, batch.length, start, stopAt);
    console.log(`# quota ${QUOTA} B/s; throttled producer ${Math.round(slowRate)} B/s after the first ${WARMUP_MS / 1000} s (${Math.round(wholeMinute)} B/s over the whole minute, burst included), ${slow.throttles.filter((t) => t > 0).length} of ${slow.throttles.length} responses throttled; free producer ${Math.round(freeRate)} B/s`);
    assert.ok(slowRate <= QUOTA * 1.1, `the throttled producer's rate ${Math.round(slowRate)} B/s is within 10% of its quota ${QUOTA} B/s`);
    assert.ok(slowRate >= QUOTA * 0.5, `the throttled producer still progresses: ${Math.round(slowRate)} B/s`);
    assert.ok(slow.throttles.some((t) => t > 0), 'Produce responses carry throttleTimeMs > 0');
    assert.ok(freeRate > QUOTA * 4, `the producer of another client id keeps a rate well above the quota: ${Math.round(freeRate)} B/s`);
    const m = await scrapeMetrics(b.httpPort);
    assert.ok(m.must('rivulet_throttled_responses_total{type="produce"}') >= slow.throttles.filter((t) => t > 0).length);
    assert.ok(m.must('rivulet_quota_throttle_time_seconds_total{type="produce"}') > 0);
    assert.equal(m.must('rivulet_throttled_responses_total{type="fetch"}'), 0);

    // A restart on the same data directory keeps the quota: it is listed and enforced.
    assert.equal(await b.stop(), 0);
    restarted = await startBroker({ dataDir });
    b = restarted;
    assert.deepEqual(entitiesOf(await describe(b.port, [])), [`client-id=slow-producer: producer_byte_rate=${QUOTA}`]);
    // Unthrottled, 8 s of producing is far more than the 2.5 MiB burst the quota allows.
    const burst = await produceLoop(b.port, 'slow-producer', 'quota-produce', batch, performance.now() + 8_000);
    assert.ok(burst.throttles.some((t) => t > 0), 'after a restart the quota still throttles the producer');

    // Removing the quota lifts it: the same burst is never throttled.
    const removed = await alterQuotas(b.bootstrap, [{ entities: [{ entityType: 'client-id', entityName: 'slow-producer' }], ops: [{ key: 'producer_byte_rate', remove: true }] }]);
    assert.equal(removed[0]!.errorCode, ErrorCode.NONE);
    assert.deepEqual(entitiesOf(await describe(b.port, [])), []);
    const lifted = await produceLoop(b.port, 'slow-producer', 'quota-produce', batch, performance.now() + 3_000);
    assert.ok(lifted.acks.length * batch.length > QUOTA * 11, `without the quota the producer sends more than the quota allows over its windows (${lifted.acks.length} batches)`);
    assert.deepEqual(lifted.throttles.filter((t) => t > 0), [], 'no response is throttled once the quota is removed');
  } finally {
    await b.cleanup();
    if (restarted !== null) {
      const { rm } = await import('node:fs/promises');
      await rm(dataDir, { recursive: true, force: true });
    }
  }
});

test('a consumer over its consumer_byte_rate is held to it (throttled answers carry no data) while another client id reads at full speed', async () => {
  const b = await startBroker();
  try {
    await createTopic(b.port, 'quota-fetch');
    // 12 MiB to read: more than the quota allows in 30 s, burst included.
    const batch = buildBatch([{ key: null, value: Buffer.alloc(64 * KiB, 0x63) }]);
    const p = await WireClient.connect(b.port);
    for (let i = 0; i < 192; i++) assert.equal((await p.request(ApiKey.Produce, 9, produceBody('quota-fetch', batch, { acks: 1 }))).responses[0].partitionResponses[0].errorCode, 0);
    p.close();
    const total = 192 * batch.length;
    await alterQuotas(b.bootstrap, [{ entities: [{ entityType: 'client-id', entityName: 'slow-consumer' }], ops: [{ key: 'consumer_byte_rate', value: QUOTA }] }]);

    /** Fetches from offset 0 to the end or `stopAt` as `clientId`; returns when each record byte arrived, and the throttle times. */
    const consume = async (clientId: string, stopAt: number) => {
      const c = await WireClient.connect(b.port);
      c.clientId = clientId;
      const got: Array<[number, number]> = [];
      const throttles: number[] = [];
      let offset = 0;
      let bytes = 0;
      try {
        while (performance.now() < stopAt && bytes < total) {
          const res = await c.request(ApiKey.Fetch, 12, fetchBody('quota-fetch', { offset, maxBytes: 256 * KiB, maxWaitMs: 100 }));
          throttles.push(res.throttleTimeMs);
          const part = res.responses[0]?.partitions[0];
          const records: Buffer | null = part?.records ?? null;
          if (records === null || records.length === 0) {
            // A throttled answer has no partitions at all (as Kafka's).
            if (res.throttleTimeMs > 0) assert.equal(res.responses.length, 0);
            continue;
          }
          let pos = 0;
          while (pos + 12 <= records.length) {
            const size = records.readInt32BE(pos + 8) + 12;
            if (pos + size > records.length) break;
            const base = Number(records.readBigInt64BE(pos));
            const last = base + records.readInt32BE(pos + 23);
            offset = last + 1;
            bytes += size;
            got.push([performance.now(), size]);
            pos += size;
          }
        }
      } finally {
        c.close();
      }
      return { got, throttles, bytes };
    };

    const start = performance.now();
    const stopAt = start + 30_000;
    const slow = await consume('slow-consumer', stopAt);
    const slowRate = slow.got.filter(([t]) => t > start + WARMUP_MS).reduce((n, [, s]) => n + s, 0) / ((Math.min(stopAt, performance.now()) - start - WARMUP_MS) / 1000);
    const t1 = performance.now();
    const fast = await consume('fast-consumer', t1 + 30_000);
    const fastRate = fast.bytes / ((performance.now() - t1) / 1000);
    console.log(`# quota ${QUOTA} B/s; throttled consumer ${Math.round(slowRate)} B/s after the first ${WARMUP_MS / 1000} s, ${slow.throttles.filter((t) => t > 0).length} of ${slow.throttles.length} answers throttled; other client id ${Math.round(fastRate)} B/s`);
    assert.ok(slow.bytes < total, 'the throttled consumer did not read everything in 30 s');
    assert.ok(slowRate <= QUOTA * 1.1, `the throttled consumer's rate ${Math.round(slowRate)} B/s is within 10% of its quota ${QUOTA} B/s`);
    assert.ok(slowRate >= QUOTA * 0.4, `the throttled consumer still progresses: ${Math.round(slowRate)} B/s`);
    assert.ok(slow.throttles.some((t) => t > 0), 'Fetch answers carry throttleTimeMs > 0');
    assert.equal(fast.bytes, total, 'the consumer of another client id reads everything');
    assert.ok(fastRate > QUOTA * 4, `the consumer of another client id reads well above the quota: ${Math.round(fastRate)} B/s`);
    assert.ok((await scrapeMetrics(b.httpPort)).must('rivulet_throttled_responses_total{type="fetch"}') > 0);
  } finally {
    await b.cleanup();
  }
});

test('user quotas apply to the principal (ANONYMOUS on PLAINTEXT), and a user+client-id quota wins over the user\'s', async () => {
  const b = await startBroker();
  try {
    await createTopic(b.port, 'quota-user');
    await alterQuotas(b.bootstrap, [
      { entities: [{ entityType: 'user', entityName: 'ANONYMOUS' }], ops: [{ key: 'producer_byte_rate', value: 16 * KiB }] },
      { entities: [{ entityType: 'user', entityName: 'ANONYMOUS' }, { entityType: 'client-id', entityName: 'vip' }], ops: [{ key: 'producer_byte_rate', value: 1024 * 1024 * 1024 }] },
    ]);
    const batch = buildBatch([{ key: null, value: Buffer.alloc(32 * KiB, 0x75) }]);
    // 10 windows of 16 KiB/s: 160 KiB in a burst, so a few 32 KiB batches are throttled.
    const anyClient = await produceLoop(b.port, 'some-app', 'quota-user', batch, performance.now() + 4_000);
    assert.ok(anyClient.throttles.some((t) => t > 0), 'a client of user ANONYMOUS is throttled by the user quota');
    assert.ok(anyClient.acks.length < 20, `the user quota holds it back (${anyClient.acks.length} batches in 4 s)`);
    const vip = await produceLoop(b.port, 'vip', 'quota-user', batch, performance.now() + 2_000);
    assert.deepEqual(vip.throttles.filter((t) => t > 0), [], 'user ANONYMOUS with client id vip has its own, larger quota');
    assert.ok(vip.acks.length > 20, `vip sends far more than the user quota allows (${vip.acks.length} batches in 2 s)`);
  } finally {
    await b.cleanup();
  }
});

test('a user quota applies to the mTLS principal (the certificate\'s subject), not to ANONYMOUS with the same client id', { timeout: 120_000 }, async () => {
  const certs = await makeTestCerts();
  const b = await startBroker({
    args: [
      '--set', 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
      '--set', `ssl.certificate.location=${certs.serverCertFile}`,
      '--set', `ssl.key.location=${certs.serverKeyFile}`,
      '--set', `ssl.truststore.location=${certs.caFile}`,
      '--set', 'ssl.client.auth=required',
    ],
  });
  try {
    const ports = listenerPorts(b);
    await createTopic(ports.PLAINTEXT!, 'quota-tls');
    await alterQuotas(`127.0.0.1:${ports.PLAINTEXT}`, [{ entities: [{ entityType: 'user', entityName: certs.clientDn }], ops: [{ key: 'producer_byte_rate', value: 64 * KiB }] }]);
    // ANONYMOUS (PLAINTEXT) with the same client id: far more than the quota, never throttled.
    const batch = buildBatch([{ key: null, value: Buffer.alloc(32 * KiB, 0x74) }]);
    const anonymous = await produceLoop(ports.PLAINTEXT!, 'tls-app', 'quota-tls', batch, performance.now() + 2_000);
    assert.ok(anonymous.acks.length * batch.length > 640 * KiB, `ANONYMOUS sent ${anonymous.acks.length} batches`);
    assert.deepEqual(anonymous.throttles.filter((t) => t > 0), [], 'the user quota does not apply to ANONYMOUS');
    assert.equal((await scrapeMetrics(b.httpPort)).must('rivulet_throttled_responses_total{type="produce"}'), 0);
    // The certificate's user: 1 MiB against 640 KiB of burst allowance is throttled.
    const kafka = new Kafka({
      clientId: 'tls-app',
      brokers: [`127.0.0.1:${ports.SSL}`],
      ssl: { ca: [readFileSync(certs.caFile, 'utf8')], cert: readFileSync(certs.clientCertFile, 'utf8'), key: readFileSync(certs.clientKeyFile, 'utf8') },
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (let i = 0; i < 32; i++) await producer.send({ topic: 'quota-tls', acks: 1, messages: [{ value: Buffer.alloc(32 * KiB, 0x75) }] });
    } finally {
      await producer.disconnect();
    }
    assert.ok((await scrapeMetrics(b.httpPort)).must('rivulet_throttled_responses_total{type="produce"}') > 0, 'the mTLS user was throttled');
  } finally {
    await b.cleanup();
    await certs.cleanup();
  }
});

test('a client over its request_percentage is throttled on any API, as the response\'s throttleTimeMs says', async () => {
  const b = await startBroker();
  try {
    // A millionth of a percent of a core over the 10-second window span: 0.1 µs of handling in
    // all, which any Metadata request takes more than, however fast the machine. (0.01% allowed
    // 1 ms, which 30 fast Metadata requests could stay under.)
    await alterQuotas(b.bootstrap, [{ entities: [{ entityType: 'client-id', entityName: 'busy' }], ops: [{ key: 'request_percentage', value: 0.000001 }] }]);
    const c = await WireClient.connect(b.port);
    c.clientId = 'busy';
    const throttles: number[] = [];
    try {
      for (let i = 0; i < 30 && !throttles.some((t) => t > 0); i++) {
        const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        throttles.push(md.throttleTimeMs);
      }
    } finally {
      c.close();
    }
    assert.ok(throttles.some((t) => t > 0), `a Metadata response carries throttleTimeMs > 0 (${throttles.join(',')})`);
    // Capped at one window (quota.window.size.seconds), as Kafka's request quota.
    assert.ok(Math.max(...throttles) <= 1000, `request throttles are at most one window: ${Math.max(...throttles)}`);
    const m = await scrapeMetrics(b.httpPort);
    assert.ok(m.must('rivulet_throttled_responses_total{type="request"}') >= 1);
    // Another client id is not throttled.
    const other = await WireClient.connect(b.port);
    try {
      for (let i = 0; i < 10; i++) assert.equal((await other.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).throttleTimeMs, 0);
    } finally {
      other.close();
    }
  } finally {
    await b.cleanup();
  }
});

test('DescribeClientQuotas filters by exact name, default and specified, strict or not; AlterClientQuotas answers each entry', async () => {
  const b = await startBroker();
  try {
    const res = await alterQuotas(b.bootstrap, [
      { entities: [{ entityType: 'user', entityName: 'alice' }], ops: [{ key: 'producer_byte_rate', value: 1000 }, { key: 'request_percentage', value: 12.5 }] },
      { entities: [{ entityType: 'user', entityName: null }], ops: [{ key: 'consumer_byte_rate', value: 2000 }] },
      { entities: [{ entityType: 'user', entityName: 'alice' }, { entityType: 'client-id', entityName: 'app' }], ops: [{ key: 'producer_byte_rate', value: 3000 }] },
      { entities: [{ entityType: 'user', entityName: null }, { entityType: 'client-id', entityName: null }], ops: [{ key: 'controller_mutation_rate', value: 4 }] },
      { entities: [{ entityType: 'client-id', entityName: 'app' }], ops: [{ key: 'producer_byte_rate', value: 5000 }] },
      { entities: [{ entityType: 'client-id', entityName: null }], ops: [{ key: 'producer_byte_rate', value: 6000 }] },
      { entities: [{ entityType: 'ip', entityName: '10.1.2.3' }], ops: [{ key: 'connection_creation_rate', value: 7 }] },
      { entities: [{ entityType: 'ip', entityName: null }], ops: [{ key: 'connection_creation_rate', value: 8 }] },
    ]);
    assert.deepEqual(res.map((r) => r.errorCode), [0, 0, 0, 0, 0, 0, 0, 0]);
    const EXACT = 0;
    const DEFAULT = 1;
    const SPECIFIED = 2;
    const all = entitiesOf(await describe(b.port, []));
    assert.equal(all.length, 8);
    assert.deepEqual(entitiesOf(await describe(b.port, [{ entityType: 'user', matchType: EXACT, match: 'alice' }])), [
      'client-id=app,user=alice: producer_byte_rate=3000',
      'user=alice: producer_byte_rate=1000,request_percentage=12.5',
    ]);
    assert.deepEqual(entitiesOf(await describe(b.port, [{ entityType: 'user', matchType: EXACT, match: 'alice' }], true)), ['user=alice: producer_byte_rate=1000,request_percentage=12.5']);
    assert.deepEqual(entitiesOf(await describe(b.port, [{ entityType: 'user', matchType: DEFAULT, match: null }], true)), ['user=<default>: consumer_byte_rate=2000']);
    assert.deepEqual(entitiesOf(await describe(b.port, [{ entityType: 'client-id', matchType: SPECIFIED, match: null }])), [
      'client-id=app,user=alice: producer_byte_rate=3000',
      'client-id=app: producer_byte_rate=5000',
    ]);
    assert.deepEqual(entitiesOf(await describe(b.port, [{ entityType: 'user', matchType: DEFAULT, match: null }, { entityType: 'client-id', matchType: DEFAULT, match: null }])), ['client-id=<default>,user=<default>: controller_mutation_rate=4']);
    assert.deepEqual(entitiesOf(await describe(b.port, [{ entityType: 'ip', matchType: SPECIFIED, match: null }])), ['ip=10.1.2.3: connection_creation_rate=7']);
    // Bad filters: the whole answer is an error with a message.
    const ipAndUser = await describe(b.port, [{ entityType: 'ip', matchType: DEFAULT, match: null }, { entityType: 'user', matchType: DEFAULT, match: null }]);
    assert.equal(ipAndUser.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(ipAndUser.errorMessage, /IP filter component should not be used with user or clientId/);
    const exactNull = await describe(b.port, [{ entityType: 'user', matchType: EXACT, match: null }]);
    assert.equal(exactNull.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(exactNull.entries, null);
    assert.equal((await describe(b.port, [{ entityType: 'group', matchType: SPECIFIED, match: null }])).errorCode, ErrorCode.UNSUPPORTED_VERSION);

    // Per-entry errors: the good entry is stored, the bad ones answered with INVALID_REQUEST and why.
    const c = await WireClient.connect(b.port);
    try {
      const mixed = await c.request(ApiKey.AlterClientQuotas, 1, {
        validateOnly: false,
        entries: [
          { entity: [{ entityType: 'user', entityName: 'bob' }], ops: [{ key: 'producer_byte_rate', value: 100, remove: false }] },
          { entity: [{ entityType: 'user', entityName: 'carol' }], ops: [{ key: 'producer_byte_rate', value: -5, remove: false }] },
          { entity: [{ entityType: 'ip', entityName: '10.0.0.9' }], ops: [{ key: 'producer_byte_rate', value: 5, remove: false }] },
          { entity: [{ entityType: 'client-id', entityName: 'x' }], ops: [{ key: 'connection_creation_rate', value: 5, remove: false }] },
          { entity: [{ entityType: 'ip', entityName: '10.0.0.9' }, { entityType: 'user', entityName: 'dave' }], ops: [{ key: 'connection_creation_rate', value: 5, remove: false }] },
        ],
      });
      assert.deepEqual(mixed.entries.map((e: any) => e.errorCode), [0, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
      assert.match(mixed.entries[1].errorMessage, /producer_byte_rate must be greater than 0/);
      assert.match(mixed.entries[2].errorMessage, /Invalid configuration key producer_byte_rate; an ip entity takes connection_creation_rate/);
      assert.match(mixed.entries[3].errorMessage, /Invalid configuration key connection_creation_rate/);
      assert.match(mixed.entries[4].errorMessage, /IP entity should not be combined/);
      // validateOnly checks and stores nothing.
      const dry = await c.request(ApiKey.AlterClientQuotas, 1, { validateOnly: true, entries: [{ entity: [{ entityType: 'user', entityName: 'erin' }], ops: [{ key: 'consumer_byte_rate', value: 100, remove: false }] }] });
      assert.equal(dry.entries[0].errorCode, 0);
    } finally {
      c.close();
    }
    const users = entitiesOf(await describe(b.port, [{ entityType: 'user', matchType: SPECIFIED, match: null }], true));
    assert.deepEqual(users, ['user=alice: producer_byte_rate=1000,request_percentage=12.5', 'user=bob: producer_byte_rate=100']);
  } finally {
    await b.cleanup();
  }
});

/** Opens a connection from `localAddress` and asks ApiVersions; true when answered, false when the broker closed it. */
async function served(port: number, localAddress: string): Promise<{ ok: boolean; client: WireClient | null }> {
  let c: WireClient;
  try {
    c = await WireClient.connect(port, '127.0.0.1', localAddress);
  } catch {
    return { ok: false, client: null };
  }
  try {
    const av = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    return { ok: av.errorCode === 0, client: c };
  } catch {
    c.close();
    return { ok: false, client: null };
  }
}

test('connections beyond an address\'s connection_creation_rate, max.connection.creation.rate or max.connections.per.ip.overrides are refused and counted; others are served', async () => {
  const b = await startBroker({ args: ['--set', 'max.connections.per.ip=2', '--set', 'max.connections.per.ip.overrides=127.0.0.4:5'] });
  const open: WireClient[] = [];
  try {
    // connection_creation_rate 1/s for 127.0.0.2: the first 10 (10 windows' worth) go through, then no more.
    await alterQuotas(b.bootstrap, [{ entities: [{ entityType: 'ip', entityName: '127.0.0.2' }], ops: [{ key: 'connection_creation_rate', value: 1 }] }]);
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const r = await served(b.port, '127.0.0.2');
      if (r.ok) ok++;
      else refused++;
      r.client?.close();
    }
    assert.ok(ok >= 1 && ok <= 12, `about 10 connections from 127.0.0.2 were served (${ok})`);
    assert.ok(refused >= 8, `the rest were refused (${refused})`);
    // Another address is served.
    const other = await served(b.port, '127.0.0.3');
    assert.ok(other.ok, 'a connection from 127.0.0.3 is served');
    other.client!.close();
    let m = await scrapeMetrics(b.httpPort);
    assert.equal(m.must('rivulet_connections_refused_total{reason="connection_creation_rate"}'), refused);

    // max.connections.per.ip=2, but 127.0.0.4 may hold 5.
    for (let i = 0; i < 5; i++) {
      const r = await served(b.port, '127.0.0.4');
      assert.ok(r.ok, `connection ${i + 1} from 127.0.0.4 is served (override 5)`);
      open.push(r.client!);
    }
    assert.equal((await served(b.port, '127.0.0.4')).ok, false, 'the 6th from 127.0.0.4 is refused');
    for (let i = 0; i < 2; i++) {
      const r = await served(b.port, '127.0.0.5');
      assert.ok(r.ok);
      open.push(r.client!);
    }
    assert.equal((await served(b.port, '127.0.0.5')).ok, false, 'the 3rd from 127.0.0.5 is refused (max.connections.per.ip=2)');
    // The overrides are dynamic: 127.0.0.5 gets 3.
    const admin = await WireClient.connect(b.port, '127.0.0.1', '127.0.0.6');
    try {
      const res = await admin.request(ApiKey.IncrementalAlterConfigs, 1, { validateOnly: false, resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'max.connections.per.ip.overrides', configOperation: 0, value: '127.0.0.4:5,127.0.0.5:3' }] }] });
      assert.equal(res.responses[0].errorCode, 0, res.responses[0].errorMessage);
      const bad = await admin.request(ApiKey.IncrementalAlterConfigs, 1, { validateOnly: false, resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'max.connections.per.ip.overrides', configOperation: 0, value: 'localhost:3' }] }] });
      assert.equal(bad.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
      assert.match(bad.responses[0].errorMessage, /not an IP address/);
    } finally {
      admin.close();
    }
    const third = await served(b.port, '127.0.0.5');
    assert.ok(third.ok, 'after the change a 3rd connection from 127.0.0.5 is served');
    open.push(third.client!);
    m = await scrapeMetrics(b.httpPort);
    assert.equal(m.must('rivulet_connections_refused_total{reason="max_connections_per_ip"}'), 2);

    // max.connection.creation.rate, broker-wide and dynamic: 1/s lets about 10 through at once, then refuses from every address.
    const setRate = await WireClient.connect(b.port, '127.0.0.1', '127.0.0.7');
    try {
      const res = await setRate.request(ApiKey.IncrementalAlterConfigs, 1, { validateOnly: false, resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'max.connection.creation.rate', configOperation: 0, value: '1' }] }] });
      assert.equal(res.responses[0].errorCode, 0, res.responses[0].errorMessage);
    } finally {
      setRate.close();
    }
    let rateRefused = 0;
    for (let i = 0; i < 20; i++) {
      const r = await served(b.port, `127.0.1.${i + 1}`);
      if (!r.ok) rateRefused++;
      r.client?.close();
    }
    assert.ok(rateRefused >= 8, `connections beyond max.connection.creation.rate were refused (${rateRefused} of 20)`);
    m = await scrapeMetrics(b.httpPort);
    assert.equal(m.must('rivulet_connections_refused_total{reason="max_connection_creation_rate"}'), rateRefused);
    // Connections already open are still served.
    const still = await open[0]!.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(still.brokers.length, 1);
  } finally {
    for (const c of open) c.close();
    await b.cleanup();
  }
});

test('a muted connection is not closed for socket.request.timeout.ms while a throttle longer than it runs', { timeout: 60_000 }, async () => {
  // A throttle of several seconds against socket.request.timeout.ms=1000: half of the next
  // request was read before the mute began; the rest waits in the paused socket, and the
  // connection must survive the throttle to answer it.
  const b = await startBroker({ args: ['--set', 'socket.request.timeout.ms=1000'] });
  try {
    await createTopic(b.port, 'quota-mute');
    await alterQuotas(b.bootstrap, [{ entities: [{ entityType: 'client-id', entityName: 'muted' }], ops: [{ key: 'producer_byte_rate', value: 10 * KiB }] }]);
    const c = await WireClient.connect(b.port);
    c.clientId = 'muted';
    try {
      // 10 windows of 10 KiB/s = 100 KiB in a burst; 160 KiB puts the rate 60% over: a throttle of about 6 s.
      const batch = buildBatch([{ key: null, value: Buffer.alloc(160 * KiB, 0x6d) }]);
      const pending = c.request(ApiKey.Produce, 9, produceBody('quota-mute', batch, { acks: 1 }));
      const second = c.nextCorrelationId;
      const small = buildBatch([{ key: null, value: Buffer.from('after the throttle') }]);
      const frame = Buffer.concat(encodeRequest({ apiKey: ApiKey.Produce, apiVersion: 9, correlationId: second, clientId: 'muted' }, codecs[ApiKey.Produce]!.writeRequest[9]!, produceBody('quota-mute', small, { acks: 1 })));
      c.writeRaw(frame.subarray(0, 30));
      const first = await pending;
      assert.ok(first.throttleTimeMs > 2000, `the first response is throttled for seconds (${first.throttleTimeMs} ms)`);
      await sleep(100);
      c.writeRaw(frame.subarray(30));
      await waitFor('the request half read before the mute to be answered', () => c.received.includes(second) || c.closed, 30_000);
      assert.equal(c.closed, false, 'the muted connection was not closed');
      assert.ok(c.received.includes(second));
    } finally {
      c.close();
    }
    const m = await scrapeMetrics(b.httpPort);
    assert.equal(m.get('rivulet_connections_closed_bad_input_total{reason="request_timeout"}') ?? 0, 0);
  } finally {
    await b.cleanup();
  }
});
