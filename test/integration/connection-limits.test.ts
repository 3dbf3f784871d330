// No client can take the broker down through its connections (hardening issue, cases 8, 9
// and 11): memory per connection and in total is bounded, counting frames as they arrive and
// responses the client has not read; frames never finished and responses never read time
// out; idle connections are closed; connections beyond max.connections and
// max.connections.per.ip are refused at once; clients speaking TLS or SASL get a refusal
// they can show. After each case a well-behaved client is still served.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { scrapeMetrics, scrapeUntil } from '../helpers/metrics.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { waitFor } from '../helpers/wait.js';
import { createTopicsBody, fetchBody, produceBody } from '../helpers/requests.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { codecs } from '../../src/protocol/generated/index.js';
import { encodeRequest } from '../../src/protocol/header.js';

const MB = 1024 * 1024;

async function withBroker(settings: Record<string, string | number>, body: (b: BrokerProcess) => Promise<void>): Promise<void> {
  const args = Object.entries(settings).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const b = await startBroker({ args });
  try {
    await body(b);
  } finally {
    await b.cleanup();
  }
}

/** A fresh, well-behaved client: ApiVersions then Metadata must both succeed. */
async function assertStillServing(b: BrokerProcess, localAddress?: string): Promise<void> {
  const c = await WireClient.connect(b.port, '127.0.0.1', localAddress);
  try {
    const av = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    assert.equal(av.errorCode, 0);
    const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(md.brokers.length, 1);
  } finally {
    c.close();
  }
}

/**
 * A raw socket that sends what the test writes and discards what it receives; with `read:
 * false` it never reads at all (its kernel buffer fills, then the broker's), and then cannot
 * see the broker close it either.
 */
function rawSocket(port: number, localAddress?: string, read = true): Promise<Socket & { closedByPeer: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) }, () => {
      if (read) s.on('data', () => undefined);
      else s.pause();
      resolve(Object.assign(s, { closedByPeer }));
    }) as Socket;
    const closedByPeer = new Promise<void>((res) => s.once('close', () => res()));
    s.on('error', () => undefined);
    s.once('error', reject);
  });
}

/** Resolves once the broker closed `s`; fails after `ms` naming `what`. */
function closedWithin(s: { closedByPeer: Promise<void> }, what: string, ms = 20_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    s.closedByPeer.finally(() => clearTimeout(timer)),
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} is still open after ${ms} ms`)), ms);
    }),
  ]);
}

function isClosed(s: Socket): boolean {
  return s.destroyed || s.readyState === 'closed' || s.readableEnded;
}

const activeConnections = async (b: BrokerProcess): Promise<number> => (await scrapeMetrics(b.httpPort)).must('rivulet_connections_active');

test('case 8: frames announced as 90 MB and never finished are closed after socket.request.timeout.ms; what they hold stays within queued.max.request.bytes', async () => {
  const budget = 200 * MB;
  await withBroker({ 'queued.max.request.bytes': budget, 'socket.request.timeout.ms': 1000 }, async (b) => {
    const announced = 90 * MB;
    const stalled: Awaited<ReturnType<typeof rawSocket>>[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await rawSocket(b.port);
      const head = Buffer.alloc(4);
      head.writeInt32BE(announced);
      s.write(Buffer.concat([head, Buffer.alloc(MB)]));
      stalled.push(s);
    }
    await waitFor('5 connections accepted', async () => (await activeConnections(b)) === 5);
    await waitFor('the admitted frames\' first MB received', async () => (await scrapeMetrics(b.httpPort)).must('rivulet_network_bytes_in_total') >= 2 * MB);
    const heldWhileStalled = (await scrapeMetrics(b.httpPort)).get('rivulet_connections_memory_bytes') ?? 0;
    // None of them ever finishes: each is closed once its time is up (the waiting ones after they are admitted).
    await Promise.all(stalled.map((s, i) => closedWithin(s, `stalled frame ${i}`)));
    // Two frames fit in the budget: they are reserved whole; the others wait in their sockets.
    assert.ok(heldWhileStalled >= announced && heldWhileStalled <= budget + 5 * MB, `held ${heldWhileStalled} while stalled: at least one frame reserved, within queued.max.request.bytes`);
    const after = await scrapeUntil(b.httpPort, (m) => m.get('rivulet_connections_memory_bytes') === 0, 'memory given back');
    assert.equal(after.must('rivulet_connections_closed_bad_input_total{reason="request_timeout"}'), 5);
    assert.match(b.output(), /was not received whole within 1000 ms \(socket\.request\.timeout\.ms\)/);
    await assertStillServing(b);
  });
});

test('case 8: 30 fetches pipelined and never read are not all answered: reading stops at connection.memory.bytes, and the connection is closed after socket.request.timeout.ms', async () => {
  const perConnection = 8 * MB;
  await withBroker({ 'connection.memory.bytes': perConnection, 'socket.request.timeout.ms': 1000 }, async (b) => {
    const c = await WireClient.connect(b.port);
    const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('big'));
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    for (let i = 0; i < 8; i++) {
      const res = await c.request(ApiKey.Produce, 9, produceBody('big', buildBatch([{ key: null, value: Buffer.alloc(1_000_000, i) }])));
      assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
    c.close();
    const before = (await scrapeMetrics(b.httpPort)).get('rivulet_requests_total{api="Fetch"}') ?? 0;
    // 30 fetches of up to 8 MB each, in one write; the client never reads an answer.
    const s = await rawSocket(b.port, undefined, false);
    const frames: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      frames.push(...encodeRequest({ apiKey: ApiKey.Fetch, apiVersion: 12, correlationId: i + 1, clientId: 'pipeline' }, codecs[ApiKey.Fetch]!.writeRequest[12]!, fetchBody('big', { maxBytes: 8 * MB })));
    }
    s.write(Buffer.concat(frames));
    let peak = 0;
    const poll = setInterval(() => void scrapeMetrics(b.httpPort).then((m) => (peak = Math.max(peak, m.get('rivulet_connections_memory_bytes') ?? 0)), () => undefined), 50);
    try {
      // The client does not read, so it cannot see the close: the broker's count of open connections does.
      let last = await scrapeMetrics(b.httpPort);
      await waitFor(
        'the connection whose answers are never read closed',
        async () => (last = await scrapeMetrics(b.httpPort)).get('rivulet_connections_active') === 0,
        20_000,
        () => `fetches answered: ${(last.get('rivulet_requests_total{api="Fetch"}') ?? 0) - before} of 30; bytes sent: ${last.get('rivulet_network_bytes_out_total')}`,
      );
    } finally {
      clearInterval(poll);
      s.destroy();
    }
    const m = await scrapeUntil(b.httpPort, (x) => x.get('rivulet_connections_memory_bytes') === 0, 'memory given back');
    const answered = (m.get('rivulet_requests_total{api="Fetch"}') ?? 0) - before;
    assert.ok(answered >= 1 && answered <= 6, `${answered} of the 30 fetches were taken while their answers went unread`);
    assert.ok(peak <= 3 * perConnection, `the connection held at most ${peak} bytes`);
    assert.equal(m.must('rivulet_connections_closed_bad_input_total{reason="responses_not_read"}'), 1);
    await assertStillServing(b);
  });
});

test('case 9: idle connections are closed after connections.max.idle.ms; a connection waiting for a Fetch is not idle', async () => {
  await withBroker({ 'connections.max.idle.ms': 500 }, async (b) => {
    const idle = await Promise.all(Array.from({ length: 50 }, () => rawSocket(b.port)));
    const busy = await WireClient.connect(b.port);
    const created = await busy.request(ApiKey.CreateTopics, 7, createTopicsBody('quiet'));
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    // Parked far longer than the idle limit: the request is in flight, so the connection stays.
    const fetched = await busy.request(ApiKey.Fetch, 12, fetchBody('quiet', { maxWaitMs: 2000 }));
    assert.equal(fetched.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    await waitFor('every idle connection closed', () => idle.every(isClosed), 10_000, () => `${idle.filter((s) => !isClosed(s)).length} still open`);
    busy.close();
    const m = await scrapeUntil(b.httpPort, (x) => x.get('rivulet_connections_active') === 0, 'no connection left');
    assert.ok(m.must('rivulet_connections_idle_closed_total') >= 50);
    await assertStillServing(b);
  });
});

test('case 9: connections beyond max.connections are closed at once with a log line and a metric; new clients are served once some close', async () => {
  await withBroker({ 'max.connections': 20 }, async (b) => {
    const held = await Promise.all(Array.from({ length: 20 }, () => rawSocket(b.port)));
    await waitFor('20 connections accepted', async () => (await activeConnections(b)) === 20);
    const extra = await rawSocket(b.port);
    await closedWithin(extra, 'the 21st connection');
    const refused = await WireClient.connect(b.port);
    await refused.waitClosed();
    const m = await scrapeMetrics(b.httpPort);
    assert.equal(m.must('rivulet_connections_refused_total{reason="max_connections"}'), 2);
    assert.equal(m.must('rivulet_connections_active'), 20);
    assert.match(b.output(), /connection refused .*max\.connections allows/);
    for (const s of held.slice(0, 5)) s.destroy();
    await waitFor('closed connections counted out', async () => (await activeConnections(b)) === 15);
    await assertStillServing(b);
    // The descriptors kept back serve the broker's own files: a new topic is created.
    const c = await WireClient.connect(b.port);
    const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('after-the-flood', 4));
    c.close();
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    for (const s of held) s.destroy();
  });
});

test('case 9: a connection over max.connections.per.ip is closed at once; other addresses are served', async () => {
  await withBroker({ 'max.connections.per.ip': 3 }, async (b) => {
    const held = await Promise.all(Array.from({ length: 3 }, () => rawSocket(b.port, '127.0.0.1')));
    await waitFor('3 connections accepted', async () => (await activeConnections(b)) === 3);
    const fourth = await rawSocket(b.port, '127.0.0.1');
    await closedWithin(fourth, 'the 4th connection from 127.0.0.1');
    assert.equal((await scrapeMetrics(b.httpPort)).must('rivulet_connections_refused_total{reason="max_connections_per_ip"}'), 1);
    assert.match(b.output(), /connection refused .*max\.connections\.per\.ip allows/);
    await assertStillServing(b, '127.0.0.2');
    held[0]!.destroy();
    await waitFor('a slot freed', async () => (await activeConnections(b)) === 2);
    await assertStillServing(b, '127.0.0.1');
    for (const s of held) s.destroy();
  });
});

test('case 11: a TLS ClientHello on the PLAINTEXT listener gets a TLS handshake_failure alert and a close, with a log line saying the listener is PLAINTEXT', async () => {
  await withBroker({}, async (b) => {
    const s = await rawSocket(b.port, undefined, false);
    const received: Buffer[] = [];
    s.on('data', (d: Buffer) => received.push(d));
    s.resume();
    // The first bytes of a TLS 1.2/1.3 ClientHello record: handshake, version 3.1, length 0x00a5.
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, ...Buffer.alloc(32)]));
    await closedWithin(s, 'the TLS connection');
    // An alert record (21), TLS 1.2, fatal (2) handshake_failure (40): what a TLS client can read and report.
    assert.deepEqual([...Buffer.concat(received)], [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
    assert.match(b.output(), /TLS handshake on a PLAINTEXT listener/);
    assert.equal((await scrapeMetrics(b.httpPort)).must('rivulet_connections_closed_bad_input_total{reason="tls_handshake"}'), 1);
    await assertStillServing(b);
  });
});

test('case 11: SaslHandshake on a PLAINTEXT listener is answered UNSUPPORTED_SASL_MECHANISM with no enabled mechanism, and ApiVersions announces it', async () => {
  await withBroker({}, async (b) => {
    const c = await WireClient.connect(b.port);
    try {
      const av = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
      const sasl = av.apiKeys.find((k: { apiKey: number }) => k.apiKey === ApiKey.SaslHandshake);
      assert.deepEqual(sasl && [sasl.minVersion, sasl.maxVersion], [0, 1]);
      for (const version of [0, 1]) {
        const res = await c.request(ApiKey.SaslHandshake, version, { mechanism: 'PLAIN' });
        assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
        assert.deepEqual(res.mechanisms, []);
      }
    } finally {
      c.close();
    }
    assert.match(b.output(), /SASL refused: the listener does not take SASL.*listener PLAINTEXT is PLAINTEXT and enables no SASL mechanism/);
    await assertStillServing(b);
  });
});
