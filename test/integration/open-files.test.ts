// Case 9 of the hardening issue, the segment half: every sealed segment used to keep a
// descriptor open, so one topic with small segments used up the process's limit for the
// whole broker. Sealed segments are now opened on demand through a bounded set
// (log.open.segments.max), least recently used closed first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { startBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { readPartition } from '../helpers/read-all.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { createTopicsBody, produceBody } from '../helpers/requests.js';

const openFiles = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

test("case 9: a topic with thousands of tiny segments keeps the broker's open descriptors under log.open.segments.max while every record reads back", async () => {
  const cap = 32;
  const segments = 2000;
  const broker = await startBroker({ args: ['--set', `log.open.segments.max=${cap}`] });
  try {
    const pid = broker.child.pid!;
    const c = await WireClient.connect(broker.port);
    // What the broker holds before the topic exists: listeners, the offsets log, this connection.
    const base = openFiles(pid);
    // Room for the partition's active segment and the moments a directory or index file is open.
    const bound = base + cap + 8;
    try {
      const created = await c.request(ApiKey.CreateTopics, 7, createTopicsBody('tiny', 1, { configs: [{ name: 'segment.bytes', value: '14' }] }));
      assert.equal(created.topics[0].errorCode, 0);
      // Every batch is larger than segment.bytes, so each one rolls a new segment.
      for (let i = 0; i < segments; i += 100) {
        const sent = Array.from({ length: 100 }, (_, k) =>
          c.request(ApiKey.Produce, 9, produceBody('tiny', buildBatch([{ key: null, value: Buffer.from(`r${i + k}`) }]), { acks: 1 })),
        );
        for (const res of await Promise.all(sent)) assert.equal(res.responses[0].partitionResponses[0].errorCode, 0);
      }
    } finally {
      c.close();
    }
    const afterProduce = openFiles(pid);
    assert.ok(afterProduce <= bound, `${afterProduce} descriptors open after rolling ${segments} segments (at most ${bound} expected)`);
    // Reading from the start opens every sealed segment in turn.
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, openFiles(pid))), 5);
    let values: string[];
    try {
      // acks=1 answers come before the records are visible (once fsynced): wait for all of them.
      values = (await readPartition(broker.port, 'tiny', 0, segments)).map((r) => r.value!.toString());
    } finally {
      clearInterval(sampler);
    }
    assert.equal(values.length, segments);
    assert.deepEqual(values, Array.from({ length: segments }, (_, i) => `r${i}`));
    most = Math.max(most, openFiles(pid));
    assert.ok(most <= bound, `${most} descriptors open while reading every segment (at most ${bound} expected)`);
    assert.equal(await broker.stop(), 0, broker.output());
  } finally {
    await broker.cleanup();
  }
});
