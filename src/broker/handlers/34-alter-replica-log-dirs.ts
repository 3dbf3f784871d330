// AlterReplicaLogDirs (key 34), v1-2: `kafka-reassign-partitions` with log_dirs in its plan.
// The broker has one log directory, the data directory: moving a partition there is a no-op
// (NONE); any other path answers LOG_DIR_NOT_FOUND, and partitions that do not exist
// UNKNOWN_TOPIC_OR_PARTITION.
//
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED for every partition).

import { resolve } from 'node:path';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse } from '../../protocol/generated/alter-replica-log-dirs.js';
import { ErrorCode } from '../../protocol/errors.js';
import { alterReplicaLogDirsServer } from '../../protocol/generated/alter-replica-log-dirs.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

function handle(ctx: RequestContext, req: AlterReplicaLogDirsRequest): AlterReplicaLogDirsResponse {
  if (!ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
    return { throttleTimeMs: 0, results: req.dirs.flatMap((d) => d.topics.map((t) => ({ topicName: t.name, partitions: t.partitions.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })) }))) };
  }
  const dataDir = resolve(ctx.config.dataDir);
  const results = [];
  for (const d of req.dirs) {
    const here = d.path !== '' && resolve(d.path) === dataDir;
    for (const t of d.topics) {
      const topic = ctx.topics.byName.get(t.name);
      results.push({
        topicName: t.name,
        partitions: t.partitions.map((partitionIndex) => ({
          partitionIndex,
          errorCode: topic === undefined || partitionIndex < 0 || partitionIndex >= topic.partitions.length
            ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : here ? ErrorCode.NONE : ErrorCode.LOG_DIR_NOT_FOUND,
        })),
      });
    }
  }
  return { throttleTimeMs: 0, results };
}

export const alterReplicaLogDirs: HandlerEntry<AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse> = { codec: alterReplicaLogDirsServer, minVersion: 1, maxVersion: 2, handle };
