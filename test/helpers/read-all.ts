// Reads a whole partition from offset 0 with plain Fetch requests (no consumer group),
// decoding records with the test decoder.

import { WireClient } from './wire-client.js';
import { decodeBatches, type DecodedRecord } from './batches.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { fetchBody } from './requests.js';

export async function readPartition(port: number, topic: string, partition: number, maxRecords = Infinity): Promise<DecodedRecord[]> {
  const c = await WireClient.connect(port);
  const out: DecodedRecord[] = [];
  try {
    let offset = 0;
    for (let round = 0; round < 100_000; round++) {
      const res = await c.request(ApiKey.Fetch, 12, fetchBody(topic, { partition, offset, maxBytes: 8 << 20, partitionMaxBytes: 4 << 20 }));
      const p = res.responses[0].partitions[0];
      if (p.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset} failed with error ${p.errorCode}`);
      const records = decodeBatches(p.records ?? Buffer.alloc(0)).filter((r) => r.offset >= offset);
      out.push(...records);
      if (records.length > 0) offset = records[records.length - 1]!.offset + 1;
      if (offset >= p.highWatermark || out.length >= maxRecords) return out;
      if (records.length === 0) throw new Error(`no progress at ${topic}-${partition}@${offset}, high watermark ${p.highWatermark}`);
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
