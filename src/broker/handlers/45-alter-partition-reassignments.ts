// AlterPartitionReassignments (key 45), v0-1: `kafka-reassign-partitions --execute|--cancel`.
// Every partition lives on this broker alone. A reassignment to exactly [this broker] is
// already complete (NONE, nothing to move); one naming any other broker is refused with
// INVALID_REPLICA_ASSIGNMENT, as Kafka refuses a broker that is not registered; a
// cancellation (replicas null) answers NO_REASSIGNMENT_IN_PROGRESS, since none ever is.
//
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse } from '../../protocol/generated/alter-partition-reassignments.js';
import { ErrorCode } from '../../protocol/errors.js';
import { alterPartitionReassignmentsServer } from '../../protocol/generated/alter-partition-reassignments.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

function check(ctx: RequestContext, topicName: string, index: number, replicas: number[] | null): { errorCode: number; errorMessage: string | null } {
  const topic = ctx.topics.byName.get(topicName);
  if (topic === undefined || index < 0 || index >= topic.partitions.length) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' };
  if (replicas === null) return { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: `No ongoing reassignment for ${topicName}-${index}.` };
  const nodeId = ctx.cluster.nodeId;
  const other = replicas.find((r) => r !== nodeId);
  if (other !== undefined) {
    return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: `The manual partition assignment includes broker ${other}, but no such broker is registered: this cluster is broker ${nodeId} alone.` };
  }
  if (replicas.length !== 1) {
    return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: replicas.length === 0 ? 'The manual partition assignment includes an empty replica list.' : 'The manual partition assignment includes duplicate replicas.' };
  }
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}

function handle(ctx: RequestContext, req: AlterPartitionReassignmentsRequest): AlterPartitionReassignmentsResponse {
  if (!ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
    return { throttleTimeMs: 0, allowReplicationFactorChange: req.allowReplicationFactorChange ?? true, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Reassigning partitions needs ALTER on the cluster', responses: [] };
  }
  const responses = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, ...check(ctx, t.name, p.partitionIndex, p.replicas) })),
  }));
  return { throttleTimeMs: 0, allowReplicationFactorChange: req.allowReplicationFactorChange ?? true, errorCode: ErrorCode.NONE, errorMessage: null, responses };
}

export const alterPartitionReassignments: HandlerEntry<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse> = {
  codec: alterPartitionReassignmentsServer, minVersion: 0, maxVersion: 1, handle,
};
