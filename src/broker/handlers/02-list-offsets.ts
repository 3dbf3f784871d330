// ListOffsets (key 2), v1-10. Special timestamps: -1 latest (the high watermark, or for
// isolation level read_committed the last stable offset), -2 earliest, -3 max timestamp (KIP-734),
// -4 earliest local (the log start, as nothing is tiered), -5 earliest pending upload
// (none: -1). Any other value finds the first record whose timestamp is at or after it
// (read_committed: only below the last stable offset).
//
// ACLs: DESCRIBE on the topic (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ListOffsetsRequest, ListOffsetsResponse, ListOffsetsResponseListOffsetsPartitionResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Partition } from '../topics.js';
import { listOffsetsServer } from '../../protocol/generated/list-offsets.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const EARLIEST_PENDING_UPLOAD = -5;

const READ_COMMITTED = 1;

async function lookup(partition: Partition, timestamp: number, readCommitted: boolean, res: ListOffsetsResponseListOffsetsPartitionResponse): Promise<void> {
  const log = partition.log;
  switch (timestamp) {
    case LATEST:
      res.offset = readCommitted ? log.lastStableOffset : log.highWatermark;
      return;
    case EARLIEST:
    case EARLIEST_LOCAL:
      res.offset = log.logStartOffset;
      return;
    case EARLIEST_PENDING_UPLOAD:
      res.offset = -1;
      return;
    case MAX_TIMESTAMP: {
      const m = await log.maxTimestampInfo();
      if (readCommitted && m.offset >= log.lastStableOffset) return;
      res.offset = m.offset;
      res.timestamp = m.timestamp;
      return;
    }
    default: {
      if (timestamp < 0) {
        res.errorCode = ErrorCode.INVALID_REQUEST;
        return;
      }
      const found = await log.offsetForTimestamp(timestamp);
      if (found !== null && !(readCommitted && found.offset >= log.lastStableOffset)) {
        res.offset = found.offset;
        res.timestamp = found.timestamp;
      }
    }
  }
}

async function handle(ctx: RequestContext, req: ListOffsetsRequest): Promise<ListOffsetsResponse> {
  const readCommitted = req.isolationLevel === READ_COMMITTED;
  const waits: Promise<void>[] = [];
  const topics = req.topics.map((t) => {
    const denied = !ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, t.name);
    const topic = denied ? undefined : ctx.topics.byName.get(t.name);
    return {
      name: t.name,
      partitions: t.partitions.map((p) => {
        const res: ListOffsetsResponseListOffsetsPartitionResponse = {
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.NONE,
          timestamp: -1,
          offset: -1,
          leaderEpoch: 0,
        };
        const partition = topic?.partitions[p.partitionIndex];
        if (denied) res.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        else if (partition === undefined) res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if ((p.currentLeaderEpoch ?? -1) > 0) res.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH;
        else waits.push(lookup(partition, p.timestamp, readCommitted, res).catch(() => void (res.errorCode = ErrorCode.KAFKA_STORAGE_ERROR)));
        return res;
      }),
    };
  });
  await Promise.all(waits);
  return { throttleTimeMs: 0, topics };
}

export const listOffsets: HandlerEntry<ListOffsetsRequest, ListOffsetsResponse> = { codec: listOffsetsServer, minVersion: 1, maxVersion: 10, handle };
