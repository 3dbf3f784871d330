// ElectLeaders (key 43), v0-2: `kafka-leader-election`. This broker is the only replica and
// always the leader of every partition, which is both the preferred leader and a live one:
// every named partition answers ELECTION_NOT_NEEDED, as Kafka does for a partition already
// led by its preferred replica, and unknown ones UNKNOWN_TOPIC_OR_PARTITION. Asked for all
// partitions (topicPartitions null), Kafka lists only those it elected: none.
//
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ElectLeadersRequest, ElectLeadersResponse } from '../../protocol/generated/elect-leaders.js';
import { ErrorCode } from '../../protocol/errors.js';
import { electLeadersServer } from '../../protocol/generated/elect-leaders.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

function handle(ctx: RequestContext, req: ElectLeadersRequest): ElectLeadersResponse {
  const type = req.electionType ?? ElectionType.PREFERRED;
  if (type !== ElectionType.PREFERRED && type !== ElectionType.UNCLEAN) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
  }
  if (!ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
    const replicaElectionResults = (req.topicPartitions ?? []).map((t) => ({ topic: t.topic, partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Electing leaders needs ALTER on the cluster' })) }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, replicaElectionResults };
  }
  const replicaElectionResults = (req.topicPartitions ?? []).map((t) => {
    const topic = ctx.topics.byName.get(t.topic);
    return {
      topic: t.topic,
      partitionResult: t.partitions.map((partitionId) =>
        topic !== undefined && partitionId >= 0 && partitionId < topic.partitions.length
          ? { partitionId, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition' }
          : { partitionId, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' },
      ),
    };
  });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults };
}

export const electLeaders: HandlerEntry<ElectLeadersRequest, ElectLeadersResponse> = { codec: electLeadersServer, minVersion: 0, maxVersion: 2, handle };
