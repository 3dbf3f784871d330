// A probe for "process start to first acknowledged produce": it knocks on a port until
// something listens, asks for a topic's metadata (auto-creating it) until the partition
// has a leader, then produces one record with acks=all until a produce is acknowledged.
// Retries are 2 ms apart, so the figure is the broker's, not a client's back-off policy.
// Used by `npm run bench:startup` and by bench:compare's w5 for both brokers.

import { WireClient } from '../test/helpers/wire-client.js';
import { buildBatch } from '../test/helpers/batches.js';

export interface FirstAck {
  /** performance.now() of this process at each step: compare with a performance.now() taken at spawn (Date.now() drifts from it). */
  connectedAt: number;
  ackedAt: number;
  /** Connection attempts refused before one was accepted. */
  refused: number;
}

const RETRY_MS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function firstAck(port: number, topic: string, deadlineMs: number): Promise<FirstAck> {
  const deadline = Date.now() + deadlineMs;
  const check = (what: string) => {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${deadlineMs} ms`);
  };
  let refused = 0;
  let c: WireClient;
  for (;;) {
    try {
      c = await WireClient.connect(port);
      break;
    } catch {
      refused++;
      check('listener');
      await sleep(RETRY_MS);
    }
  }
  const connectedAt = performance.now();
  try {
    for (;;) {
      const md = await c.request(3, 9, { topics: [{ name: topic }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
      const t = md.topics.find((x: { name: string }) => x.name === topic);
      if (t !== undefined && t.errorCode === 0 && t.partitions.length > 0 && t.partitions[0].errorCode === 0 && t.partitions[0].leaderId >= 0) break;
      check('leader');
      await sleep(RETRY_MS);
    }
    const records = buildBatch([{ key: null, value: Buffer.from('first') }]);
    for (;;) {
      const res = await c.request(0, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
      });
      const p = res.responses[0].partitionResponses[0];
      if (p.errorCode === 0) return { connectedAt, ackedAt: performance.now(), refused };
      check(`acknowledged produce (last error code ${p.errorCode})`);
      await sleep(RETRY_MS);
    }
  } finally {
    c.close();
  }
}
