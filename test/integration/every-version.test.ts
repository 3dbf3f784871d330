// Every API the broker dispatches, at every version it serves: a minimal valid request
// encoded with the generated client-side writer for that version goes through the
// broker's real connection, and the answer carries the request's correlation id and
// decodes, to its last byte, with that version's response reader. This proves the
// connection looks codecs up by absolute version for every served version, whatever
// an API's lowest version is.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { Reader } from '../../src/protocol/reader.js';
import { encodeRequest, responseHeaderFlexible } from '../../src/protocol/header.js';
import { ApiKey, codecs } from '../../src/protocol/generated/index.js';
import { handlerTable } from '../../src/broker/handlers/index.js';
import type { HandlerEntry } from '../../src/broker/handlers/handler.js';

let broker: BrokerProcess;

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker.cleanup();
});

const served = handlerTable.filter((e): e is HandlerEntry => e !== undefined);

/**
 * Fields a minimal request needs beyond the generated defaults (writers fill every field
 * left out with its default): Produce must not use acks=0, which has no answer; Fetch must
 * not wait; ApiVersions v3+ names its client as the broker expects.
 */
const minimal: Partial<Record<number, object>> = {
  [ApiKey.Produce]: { acks: 1, timeoutMs: 1000, transactionalId: null, topicData: [] },
  [ApiKey.Fetch]: { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1024, topics: [] },
  [ApiKey.ApiVersions]: { clientSoftwareName: 'rivulet-test', clientSoftwareVersion: '1.0.0' },
  [ApiKey.Metadata]: { topics: [], allowAutoTopicCreation: false },
};

/** Raw response frames (size field removed) as they arrive on the connection, in order. */
class FrameQueue {
  private buffered = Buffer.alloc(0);
  private frames: Buffer[] = [];
  private waiters: ((f: Buffer | null) => void)[] = [];
  private closed = false;

  constructor(client: WireClient) {
    client.socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const size = this.buffered.readInt32BE(0);
        this.push(this.buffered.subarray(4, 4 + size));
        this.buffered = this.buffered.subarray(4 + size);
      }
    });
    client.socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }

  private push(f: Buffer): void {
    const w = this.waiters.shift();
    if (w) w(f);
    else this.frames.push(f);
  }

  /** The next frame, or null when the broker closed the connection first. */
  next(ms = 5000): Promise<Buffer | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no response within ${ms} ms`)), ms);
      this.waiters.push((frame) => {
        clearTimeout(t);
        resolve(frame);
      });
    });
  }
}

test('every served version has a generated reader and writer in both directions', () => {
  assert.ok(served.length >= 20, `only ${served.length} APIs in the dispatch table`);
  for (const e of served) {
    const codec = codecs[e.codec.key]!;
    assert.ok(e.minVersion >= codec.minVersion && e.maxVersion <= codec.maxVersion, `${codec.name} serves v${e.minVersion}-${e.maxVersion}, the definitions hold v${codec.minVersion}-${codec.maxVersion}`);
    for (let v = e.minVersion; v <= e.maxVersion; v++) {
      for (const table of [e.codec.readRequest, e.codec.writeResponse, codec.writeRequest, codec.readResponse]) {
        assert.equal(typeof table[v], 'function', `${codec.name} v${v}`);
      }
    }
  }
});

test('every API in the dispatch table answers every version it serves, through the real connection', async (t) => {
  let correlationId = 7000;
  for (const e of served) {
    const codec = codecs[e.codec.key]!;
    // One connection per API, so a failure names its API rather than closing the way for the rest.
    await t.test(`${codec.name} v${e.minVersion}-${e.maxVersion}`, async () => {
      const client = await WireClient.connect(broker.port);
      const frames = new FrameQueue(client);
      try {
        for (let v = e.minVersion; v <= e.maxVersion; v++) {
          const id = ++correlationId;
          const body = minimal[codec.key] ?? {};
          client.writeRaw(Buffer.concat(encodeRequest({ apiKey: codec.key, apiVersion: v, correlationId: id, clientId: 'every-version' }, codec.writeRequest[v]!, body)));
          const frame = await frames.next();
          assert.ok(frame, `${codec.name} v${v}: the broker closed the connection instead of answering:\n${broker.output().split('\n').slice(-5).join('\n')}`);
          assert.equal(frame.readInt32BE(0), id, `${codec.name} v${v}: correlation id`);
          const r = new Reader(frame, 4);
          if (responseHeaderFlexible(codec.key, v)) r.skipTaggedFields();
          const response = codec.readResponse[v]!(r);
          assert.equal(r.bad, false, `${codec.name} v${v}: ${r.reason}`);
          assert.equal(r.remaining, 0, `${codec.name} v${v}: the response has ${r.remaining} bytes its reader did not consume`);
          assert.equal(typeof response, 'object');
        }
      } finally {
        client.close();
      }
    });
  }
});
