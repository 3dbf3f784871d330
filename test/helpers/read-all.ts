// Reads a whole partition from offset 0 with plain Fetch requests (no consumer group),
// decoding records with the test decoder.

import { WireClient } from './wire-client.js';
import { decodeBatches, type DecodedRecord } from './batches.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { fetchBody } from './requests.js';

/**
 * Every record up to the high watermark, or, when `maxRecords` is given, until that many are
 * read: records answered with acks=0 or 1 become visible only once fsynced (under the default
 * fsync policy), so a reader that knows how many there are waits for them at the high watermark.
 */
export async function readPartition(port: number, topic: string, partition: number, maxRecords = Infinity): Promise<DecodedRecord[]> {
  const c = await WireClient.connect(port);
  const out: DecodedRecord[] = [];
  try {
    let offset = 0;
    let atEnd: boolean = false;
    let idleWaits = 0;
    for (let round = 0; round < 100_000; round++) {
      const maxWaitMs: number = atEnd ? 1000 : 0;
      const res = await c.request(ApiKey.Fetch, 12, fetchBody(topic, { partition, offset, maxBytes: 8 << 20, partitionMaxBytes: 4 << 20, maxWaitMs }));
      const p = res.responses[0].partitions[0];
      if (p.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset} failed with error ${p.errorCode}`);
      const records = decodeBatches(p.records ?? Buffer.alloc(0)).filter((r) => r.offset >= offset);
      out.push(...records);
      if (records.length > 0) offset = records[records.length - 1]!.offset + 1;
      if (out.length >= maxRecords) return out;
      atEnd = offset >= p.highWatermark;
      if (atEnd && maxRecords === Infinity) return out;
      idleWaits = records.length === 0 ? idleWaits + 1 : 0;
      if (records.length === 0 && (!atEnd || idleWaits > 30)) throw new Error(`no progress at ${topic}-${partition}@${offset}, high watermark ${p.highWatermark}, ${out.length} of ${maxRecords} records read`);
    }
    throw new Error('too many fetch rounds');
  } finally {
    c.close();
  }
}

/** Checks one partition's records: offsets contiguous from 0, and per key the sequence numbers rising by one. Returns values seen. */
export function checkKeyedPartition(records: DecodedRecord[]): { values: string[]; perKeyOrdered: boolean; contiguous: boolean } {
  const values = records.map((r) => r.value!.toString());
  const contiguous = records.every((r, i) => r.offset === i);
  const last = new Map<string, number>();
  let perKeyOrdered = true;
  for (const r of records) {
    const key = r.key!.toString();
    const seq = Number(r.value!.toString().split(':')[1]);
    const prev = last.get(key) ?? -1;
    if (seq <= prev) perKeyOrdered = false;
    last.set(key, seq);
  }
  return { values, perKeyOrdered, contiguous };
}
