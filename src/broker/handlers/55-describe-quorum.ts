// DescribeQuorum (key 55), v0-2: `kafka-metadata-quorum describe --status|--replication`.
// Rivulet has no KRaft quorum: its metadata (topic catalogue, feature levels) is kept by the
// broker itself, in its data directory. The truthful answer is a quorum of one voter, this
// broker, always its leader (epoch 0, never re-elected), with no observers. That metadata is
// not a replicated log, so it has no offsets: the high watermark and the log end offset are
// -1, Kafka's "unknown"; the voter is always caught up (its timestamps are now). Anything but
// __cluster_metadata-0 answers UNKNOWN_TOPIC_OR_PARTITION.
//
// ACLs: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeQuorumRequest, DescribeQuorumResponse } from '../../protocol/generated/describe-quorum.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { describeQuorumServer } from '../../protocol/generated/describe-quorum.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

const METADATA_TOPIC = '__cluster_metadata';

function handle(ctx: RequestContext, req: DescribeQuorumRequest): DescribeQuorumResponse {
  if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Describing the quorum needs DESCRIBE on the cluster', topics: [], nodes: [] };
  const nodeId = ctx.cluster.nodeId;
  const now = Date.now();
  const self = { replicaId: nodeId, replicaDirectoryId: ZERO_UUID, logEndOffset: -1, lastFetchTimestamp: -1, lastCaughtUpTimestamp: now };
  const topics = req.topics.map((t) => ({
    topicName: t.topicName,
    partitions: t.partitions.map((p) => {
      if (t.topicName !== METADATA_TOPIC || p.partitionIndex !== 0) {
        return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `The metadata quorum is ${METADATA_TOPIC}-0`, leaderId: -1, leaderEpoch: -1, highWatermark: -1, currentVoters: [], observers: [] };
      }
      return { partitionIndex: 0, errorCode: ErrorCode.NONE, errorMessage: null, leaderId: nodeId, leaderEpoch: 0, highWatermark: -1, currentVoters: [self], observers: [] };
    }),
  }));
  const adv = ctx.cluster.advertisedAddress(ctx.session.listener);
  return { errorCode: ErrorCode.NONE, errorMessage: null, topics, nodes: [{ nodeId, listeners: [{ name: ctx.session.listener, host: adv.host, port: adv.port }] }] };
}

export const describeQuorum: HandlerEntry<DescribeQuorumRequest, DescribeQuorumResponse> = { codec: describeQuorumServer, minVersion: 0, maxVersion: 2, handle };
