// ListPartitionReassignments (key 46), v0: `kafka-reassign-partitions --list|--verify`. A
// reassignment on one broker completes the moment it is accepted (see key 45), so none is
// ever in progress: the answer lists no partitions, whatever was asked.
//
// ACLs: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse } from '../../protocol/generated/list-partition-reassignments.js';
import { ErrorCode } from '../../protocol/errors.js';
import { listPartitionReassignmentsServer } from '../../protocol/generated/list-partition-reassignments.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

export const listPartitionReassignments: HandlerEntry<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse> = {
  codec: listPartitionReassignmentsServer,
  minVersion: 0,
  maxVersion: 0,
  handle: (ctx: RequestContext) =>
    ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)
      ? { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] }
      : { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Listing reassignments needs DESCRIBE on the cluster', topics: [] },
};
