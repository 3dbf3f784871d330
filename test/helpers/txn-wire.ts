// Wire-level reads for the transaction tests, independent of any client library: end offsets
// by isolation level (ListOffsets v7: read_uncommitted gives the high watermark,
// read_committed the last stable offset) and a whole-partition read with either isolation
// level, where read_committed drops aborted records the way the Java consumer does (the
// aborted-transaction list of each Fetch response, matched by producer id, closed by the
// producer's ABORT marker).

import { WireClient } from './wire-client.js';
import { decodeBatches, type DecodedRecord } from './batches.js';
import { fetchBody } from './requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';

export const IsolationLevel = { READ_UNCOMMITTED: 0, READ_COMMITTED: 1 } as const;

const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

/** Partition errors a broker answers while it is starting (leaders not loaded yet); worth asking again. */
const LEADER_NOT_READY = new Set([5, 6]); // LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER

/** Runs `fn` again while it fails with one of LEADER_NOT_READY, up to `timeoutMs`. */
async function whileLeaderLoads<T>(fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof LeaderNotReady) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

class LeaderNotReady extends Error {}

/** Latest offsets of `partitions` of `topic`: the high watermarks, or under read_committed the last stable offsets. */
export function endOffsets(port: number, topic: string, partitions: number[], isolationLevel: number): Promise<number[]> {
  return whileLeaderLoads(() => endOffsetsOnce(port, topic, partitions, isolationLevel));
}

async function endOffsetsOnce(port: number, topic: string, partitions: number[], isolationLevel: number): Promise<number[]> {
  const c = await WireClient.connect(port);
  try {
    const res = await c.request(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel,
      topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1 })) }],
    });
    const byIndex = new Map<number, { errorCode: number; offset: number }>();
    for (const p of res.topics[0].partitions) byIndex.set(p.partitionIndex, p);
    return partitions.map((p) => {
      const r = byIndex.get(p);
      if (!r) throw new Error(`ListOffsets ${topic}-${p}: partition missing from the response`);
      if (r.errorCode !== 0) {
        const E = LEADER_NOT_READY.has(r.errorCode) ? LeaderNotReady : Error;
        throw new E(`ListOffsets ${topic}-${p} (isolation ${isolationLevel}) failed with error ${r.errorCode}`);
      }
      return Number(r.offset);
    });
  } finally {
    c.close();
  }
}

export interface TxnRecord extends DecodedRecord {
  producerId: number;
  transactional: boolean;
}

export interface PartitionRead {
  /** Data records returned to the application, in offset order. */
  records: TxnRecord[];
  /** Offsets taken by control batches (COMMIT and ABORT markers) in the range read. */
  controlOffsets: number[];
  /** Markers seen: 'commit' or 'abort' per control batch, with the producer id and offset. */
  markers: Array<{ offset: number; producerId: number; type: 'commit' | 'abort' }>;
  /** Records of aborted transactions that read_committed dropped (empty under read_uncommitted). */
  dropped: TxnRecord[];
  /** Where a consumer would fetch next: the end of the last batch read (the LSO or HW). */
  nextOffset: number;
  /** High watermark and last stable offset of the last Fetch response. */
  highWatermark: number;
  lastStableOffset: number;
}

/** Reads a partition from offset 0 up to its high watermark (read_uncommitted) or last stable offset (read_committed). */
export function readIsolated(port: number, topic: string, partition: number, isolationLevel: number): Promise<PartitionRead> {
  return whileLeaderLoads(() => readIsolatedOnce(port, topic, partition, isolationLevel));
}

async function readIsolatedOnce(port: number, topic: string, partition: number, isolationLevel: number): Promise<PartitionRead> {
  const c = await WireClient.connect(port);
  const out: PartitionRead = { records: [], controlOffsets: [], markers: [], dropped: [], nextOffset: 0, highWatermark: 0, lastStableOffset: 0 };
  try {
    let offset = 0;
    for (let round = 0; round < 100_000; round++) {
      const body = { ...fetchBody(topic, { partition, offset, maxBytes: 1 << 20 }), isolationLevel };
      const res = await c.request(ApiKey.Fetch, 12, body);
      const p = res.responses[0].partitions[0];
      if (p.errorCode !== 0) {
        const E = LEADER_NOT_READY.has(p.errorCode) ? LeaderNotReady : Error;
        throw new E(`fetch ${topic}-${partition}@${offset} failed with error ${p.errorCode}`);
      }
      out.highWatermark = Number(p.highWatermark);
      out.lastStableOffset = Number(p.lastStableOffset);
      const limit = isolationLevel === IsolationLevel.READ_COMMITTED ? out.lastStableOffset : out.highWatermark;
      if (offset >= limit) break;
      const aborted = [...(p.abortedTransactions ?? [])].map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) }))
        .sort((a, b) => a.firstOffset - b.firstOffset);
      if (isolationLevel === IsolationLevel.READ_UNCOMMITTED && aborted.length > 0) {
        throw new Error(`fetch ${topic}-${partition}@${offset}: read_uncommitted answer carries aborted transactions ${JSON.stringify(aborted)}`);
      }
      const abortedPids = new Set<number>();
      const buf: Buffer = p.records ?? Buffer.alloc(0);
      let progressed = false;
      for (let pos = 0; pos + 61 <= buf.length;) {
        const size = buf.readInt32BE(pos + 8) + 12;
        if (pos + size > buf.length) break; // a partial batch at the end, as Kafka may send
        const batch = buf.subarray(pos, pos + size);
        pos += size;
        const base = Number(batch.readBigInt64BE(0));
        const last = base + batch.readInt32BE(23);
        if (last < offset) continue;
        if (base >= limit) break;
        progressed = true;
        offset = last + 1;
        const attributes = batch.readInt16BE(21);
        const producerId = Number(batch.readBigInt64BE(43));
        while (aborted.length > 0 && aborted[0]!.firstOffset <= last) abortedPids.add(aborted.shift()!.producerId);
        if (attributes & ATTR_CONTROL) {
          const rec = decodeBatches(batch)[0]!;
          const type = rec.key!.readInt16BE(2) === 0 ? 'abort' : 'commit';
          for (let o = base; o <= last; o++) out.controlOffsets.push(o);
          out.markers.push({ offset: base, producerId, type });
          if (type === 'abort') abortedPids.delete(producerId);
          continue;
        }
        const transactional = (attributes & ATTR_TRANSACTIONAL) !== 0;
        const records = decodeBatches(batch).map((r) => ({ ...r, producerId, transactional }));
        if (transactional && abortedPids.has(producerId)) out.dropped.push(...records);
        else out.records.push(...records);
      }
      out.nextOffset = offset;
      if (offset >= limit) break;
      if (!progressed) throw new Error(`no progress reading ${topic}-${partition}@${offset} (high watermark ${out.highWatermark}, LSO ${out.lastStableOffset})`);
    }
    return out;
  } finally {
    c.close();
  }
}

/** Error codes a coordinator answers while it is starting or moving; worth asking again. */
const COORDINATOR_NOT_READY = new Set([14, 15, 16]); // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR
export const UNSTABLE_OFFSET_COMMIT = 88;

/**
 * A group's committed offsets for `partitions` of `topic` (-1 where none), read with OffsetFetch
 * v7 from the (single) broker. With `requireStable`, a partition whose offset is pending in an
 * open transaction carries UNSTABLE_OFFSET_COMMIT instead; without it the broker answers the
 * last committed offset. Retries while the group coordinator is loading, up to `timeoutMs`.
 */
export async function committedOffsets(port: number, group: string, topic: string, partitions: number[], requireStable = false, timeoutMs = 15_000):
Promise<Array<{ offset: number; errorCode: number }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await WireClient.connect(port);
    let res: any;
    try {
      res = await c.request(ApiKey.OffsetFetch, 7, { groupId: group, topics: [{ name: topic, partitionIndexes: partitions }], requireStable });
    } finally {
      c.close();
    }
    const parts = new Map<number, { committedOffset: number; errorCode: number }>();
    for (const t of res.topics ?? []) for (const p of t.partitions) parts.set(p.partitionIndex, p);
    const codes = [res.errorCode ?? 0, ...[...parts.values()].map((p) => p.errorCode)];
    if (codes.some((e) => COORDINATOR_NOT_READY.has(e)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (res.errorCode) throw new Error(`OffsetFetch ${group} failed with error ${res.errorCode}`);
    return partitions.map((p) => {
      const r = parts.get(p);
      if (!r) throw new Error(`OffsetFetch ${group} ${topic}-${p}: partition missing from the response`);
      return { offset: Number(r.committedOffset), errorCode: r.errorCode };
    });
  }
}

/**
 * Polls until every partition's last stable offset equals its high watermark (no transaction
 * open, every marker written; Kafka answers EndTxn before it writes the markers), and returns
 * the high watermarks. Fails after `timeoutMs` with both offsets and `describe()`.
 */
export async function waitStable(port: number, topic: string, partitions: number[], timeoutMs = 15_000, describe: () => string = () => ''): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hw = await endOffsets(port, topic, partitions, IsolationLevel.READ_UNCOMMITTED);
    const lso = await endOffsets(port, topic, partitions, IsolationLevel.READ_COMMITTED);
    if (lso.every((o, i) => o === hw[i])) return hw;
    if (Date.now() > deadline) throw new Error(`${topic}: LSO ${lso} still behind HW ${hw} after ${timeoutMs} ms\n${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
