// CreatePartitions (key 37), v0-3. Grows a topic to `count` partitions; shrinking is
// refused, as in Kafka. Manual assignments may only name this broker.
//
// ACLs: ALTER on the topic (TOPIC_AUTHORIZATION_FAILED).

import { MutationQuota, THROTTLED_MESSAGE } from '../quotas.js';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { PartitionCountError, PartitionLimitError } from '../topics.js';
import { createPartitionsServer } from '../../protocol/generated/create-partitions.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

const MAX_PARTITIONS = 100_000;

async function handle(ctx: RequestContext, req: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
  const mq = new MutationQuota(ctx.quotas, ctx.session.principal, ctx.header.clientId ?? '', ctx.version >= 3);
  const results = await Promise.all(
    req.topics.map(async (t) => {
      const res = { name: t.name, errorCode: ErrorCode.NONE as number, errorMessage: null as string | null };
      const fail = (code: number, message: string) => {
        res.errorCode = code;
        res.errorMessage = message;
        return res;
      };
      if (!ctx.authorize(AclOperation.ALTER, ResourceType.TOPIC, t.name)) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `Adding partitions to ${t.name} needs ALTER on the topic`);
      const topic = ctx.topics.byName.get(t.name);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${t.name} does not exist`);
      const current = topic.partitions.length;
      if (t.count <= current) {
        return fail(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${current} partitions, which is higher than or equal to the requested ${t.count}.`);
      }
      if (t.count > MAX_PARTITIONS) return fail(ErrorCode.INVALID_PARTITIONS, `At most ${MAX_PARTITIONS} partitions`);
      if (t.assignments !== null) {
        if (t.assignments.length !== t.count - current) {
          return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Expected ${t.count - current} assignments for the new partitions, got ${t.assignments.length}`);
        }
        if (t.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.cluster.nodeId)) {
          return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `This cluster has one broker (id ${ctx.cluster.nodeId}); every partition must be assigned to it alone`);
        }
      }
      const limitProblem = ctx.topics.partitionLimitProblem(t.count - current);
      if (limitProblem !== null) return fail(ErrorCode.POLICY_VIOLATION, limitProblem);
      if (req.validateOnly) return res;
      if (!mq.admit(t.count - current)) return fail(ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLED_MESSAGE);
      try {
        await ctx.topics.addPartitions(topic, t.count);
      } catch (e) {
        if (e instanceof PartitionLimitError) return fail(ErrorCode.POLICY_VIOLATION, e.message);
        if (e instanceof PartitionCountError) return fail(ErrorCode.INVALID_PARTITIONS, e.message);
        // A delete of the topic that arrived meanwhile wins.
        if (topic.deleted) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${topic.name} was deleted while its partitions were being added`);
        return fail(ErrorCode.KAFKA_STORAGE_ERROR, `Partitions could not be created: ${(e as Error).message}`);
      }
      return res;
    }),
  );
  mq.apply(ctx);
  return { throttleTimeMs: 0, results };
}

export const createPartitions: HandlerEntry<CreatePartitionsRequest, CreatePartitionsResponse> = { codec: createPartitionsServer, minVersion: 0, maxVersion: 3, handle };
