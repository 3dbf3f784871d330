// OffsetForLeaderEpoch (key 23), v2-4 (v0-1 are gone from Kafka 4's definitions). The only leader epoch is 0, so its end offset is
// the log end; clients use the answer to check that nothing they read was truncated
// (KIP-320). A newer epoch than ours is unknown; an older one cannot exist.
//
// ACLs: DESCRIBE on the topic (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { offsetForLeaderEpochServer } from '../../protocol/generated/offset-for-leader-epoch.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

function handle(ctx: RequestContext, req: OffsetForLeaderEpochRequest): OffsetForLeaderEpochResponse {
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => {
      const denied = !ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, t.topic);
      const topic = ctx.topics.byName.get(t.topic);
      return {
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const partition = topic?.partitions[p.partition];
          const res = { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
          if (denied) res.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          else if (partition === undefined) res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          else if ((p.currentLeaderEpoch ?? -1) > 0) res.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH;
          else if (p.leaderEpoch >= 0) {
            res.leaderEpoch = 0;
            res.endOffset = partition.log.logEndOffset;
          }
          return res;
        }),
      };
    }),
  };
}

export const offsetForLeaderEpoch: HandlerEntry<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = { codec: offsetForLeaderEpochServer, minVersion: 2, maxVersion: 4, handle };
