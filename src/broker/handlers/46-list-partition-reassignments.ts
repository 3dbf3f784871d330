// ListPartitionReassignments (key 46), v0: `kafka-reassign-partitions --list|--verify`. A
// reassignment on one broker completes the moment it is accepted (see key 45), so none is
// ever in progress: the answer lists no partitions, whatever was asked.

import type { HandlerEntry } from './handler.js';
import type { ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse } from '../../protocol/generated/list-partition-reassignments.js';
import { ErrorCode } from '../../protocol/errors.js';
import { listPartitionReassignmentsServer } from '../../protocol/generated/list-partition-reassignments.js';

export const listPartitionReassignments: HandlerEntry<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse> = {
  codec: listPartitionReassignmentsServer,
  minVersion: 0,
  maxVersion: 0,
  handle: () => ({ throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] }),
};
