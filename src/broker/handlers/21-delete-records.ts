// DeleteRecords (key 21), v0-2. Moves a partition's log start offset forward (offset -1
// means the high watermark) and drops segments wholly below it. Answers the new low
// watermark.
//
// ACLs: DELETE on the topic (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DeleteRecordsRequest, DeleteRecordsResponse, DeleteRecordsResponseDeleteRecordsPartitionResult } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { deleteRecordsServer } from '../../protocol/generated/delete-records.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: DeleteRecordsRequest): Promise<DeleteRecordsResponse> {
  const waits: Promise<void>[] = [];
  const topics = req.topics.map((t) => {
    const denied = !ctx.authorize(AclOperation.DELETE, ResourceType.TOPIC, t.name);
    const topic = ctx.topics.byName.get(t.name);
    return {
      name: t.name,
      partitions: t.partitions.map((p) => {
        const res: DeleteRecordsResponseDeleteRecordsPartitionResult = { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.NONE };
        const partition = topic?.partitions[p.partitionIndex];
        if (denied) {
          res.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          return res;
        }
        if (partition === undefined) {
          res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          return res;
        }
        const log = partition.log;
        const target = p.offset === -1 ? log.highWatermark : p.offset;
        if (target < 0 || target > log.highWatermark) {
          res.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
          return res;
        }
        waits.push(
          log.deleteRecordsBefore(target).then(
            (low) => void (res.lowWatermark = low),
            (e) => {
              ctx.logger.error('delete records failed', { topic: t.name, partition: p.partitionIndex, error: e });
              res.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
            },
          ),
        );
        return res;
      }),
    };
  });
  await Promise.all(waits);
  return { throttleTimeMs: 0, topics };
}

export const deleteRecords: HandlerEntry<DeleteRecordsRequest, DeleteRecordsResponse> = { codec: deleteRecordsServer, minVersion: 0, maxVersion: 2, handle };
