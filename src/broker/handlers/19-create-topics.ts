// CreateTopics (key 19), v2-7 (v0-1 are gone from Kafka 4's definitions). One broker: replication factor must be 1 (or -1 for the
// default), and manual assignments may only name this broker. validateOnly checks
// everything and creates nothing. From v5 the answer carries the topic's configs.
//
// ACLs: CREATE on the cluster or the topic (TOPIC_AUTHORIZATION_FAILED); the configs in the answer
// need DESCRIBE_CONFIGS on the topic (else topicConfigErrorCode TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { CreateTopicsRequest, CreateTopicsResponse, CreateTopicsResponseCreatableTopicResult } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { PartitionLimitError, topicNameProblem } from '../topics.js';
import { validateTopicConfigs, effectiveTopicConfigs, topicConfigDefs } from '../topic-config.js';
import { ConfigSource } from './32-describe-configs.js';
import { createTopicsServer } from '../../protocol/generated/create-topics.js';
import { AclOperation, ResourceType } from '../acl/acl.js';
import { mayCreateTopic } from './common.js';
import { MutationQuota, THROTTLED_MESSAGE } from '../quotas.js';

const MAX_PARTITIONS = 100_000;

async function handle(ctx: RequestContext, req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
  const mq = new MutationQuota(ctx.quotas, ctx.session.principal, ctx.header.clientId ?? '', ctx.version >= 6);
  const seen = new Map<string, number>();
  for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
  const topics = await Promise.all(
    req.topics.map(async (t): Promise<CreateTopicsResponseCreatableTopicResult> => {
      const res: CreateTopicsResponseCreatableTopicResult = {
        name: t.name,
        topicId: ZERO_UUID,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topicConfigErrorCode: ErrorCode.NONE,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      };
      const fail = (code: number, message: string): CreateTopicsResponseCreatableTopicResult => {
        res.errorCode = code;
        res.errorMessage = message;
        return res;
      };
      if (!mayCreateTopic(ctx, t.name)) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `Creating topic ${t.name} needs CREATE on the cluster or on the topic`);
      if ((seen.get(t.name) ?? 0) > 1) return fail(ErrorCode.INVALID_REQUEST, `Topic ${t.name} appears more than once in the request`);
      const nameProblem = topicNameProblem(t.name);
      if (nameProblem) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
      if (ctx.topics.byName.has(t.name) || ctx.topics.isCreating(t.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
      // As Kafka does while a delete is in progress; the name is free once its directories are moved aside.
      if (ctx.topics.isDeleting(t.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' is marked for deletion.`);
      let partitions = t.numPartitions;
      if (t.assignments.length > 0) {
        if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
          return fail(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
        }
        const indexes = t.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
        if (indexes.some((p, i) => p !== i)) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions in the assignment must be numbered 0..n-1 without gaps');
        if (t.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.cluster.nodeId)) {
          return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `This cluster has one broker (id ${ctx.cluster.nodeId}); every partition must be assigned to it alone`);
        }
        partitions = t.assignments.length;
      } else {
        if (partitions === -1) partitions = ctx.config.numPartitions;
        if (partitions < 1 || partitions > MAX_PARTITIONS) return fail(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be from 1 to ${MAX_PARTITIONS}, not ${partitions}.`);
        if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
          return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor ${t.replicationFactor} is larger than the 1 available broker.`);
        }
      }
      const overrides: Record<string, string> = {};
      for (const c of t.configs) {
        if (c.value !== null) overrides[c.name] = c.value;
      }
      const configProblem = validateTopicConfigs(overrides);
      if (configProblem) return fail(ErrorCode.INVALID_CONFIG, configProblem);
      res.numPartitions = partitions;
      res.replicationFactor = 1;
      const effective = effectiveTopicConfigs(ctx.config.topicDefaults, overrides);
      // The configs are told only to a principal that may DESCRIBE_CONFIGS the topic, as Kafka.
      if (!ctx.authorize(AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, t.name, true)) res.topicConfigErrorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      else res.configs = topicConfigDefs.map((d) => ({
        name: d.name,
        value: effective[d.name] ?? null,
        readOnly: false,
        configSource: d.name in overrides ? ConfigSource.TOPIC_CONFIG : ConfigSource.DEFAULT_CONFIG,
        isSensitive: false,
      }));
      const limitProblem = ctx.topics.partitionLimitProblem(partitions);
      if (limitProblem !== null) return fail(ErrorCode.POLICY_VIOLATION, limitProblem);
      if (req.validateOnly) return res;
      if (!mq.admit(partitions)) {
        res.numPartitions = -1;
        res.replicationFactor = -1;
        res.configs = null;
        return fail(ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLED_MESSAGE);
      }
      try {
        const topic = await ctx.topics.create(t.name, partitions, overrides);
        res.topicId = topic.id;
      } catch (e) {
        if (e instanceof PartitionLimitError) return fail(ErrorCode.POLICY_VIOLATION, e.message);
        ctx.logger.error('topic creation failed', { topic: t.name, error: e });
        return fail(ErrorCode.KAFKA_STORAGE_ERROR, `Topic ${t.name} could not be created: ${(e as Error).message}`);
      }
      return res;
    }),
  );
  mq.apply(ctx);
  return { throttleTimeMs: 0, topics };
}

export const createTopics: HandlerEntry<CreateTopicsRequest, CreateTopicsResponse> = { codec: createTopicsServer, minVersion: 2, maxVersion: 7, handle };
