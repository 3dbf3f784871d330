// Small pieces several handlers share.

import type { RequestContext } from './handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';
import type { Topic } from '../topics.js';
import { PartitionLimitError, topicNameProblem } from '../topics.js';
import { ErrorCode } from '../../protocol/errors.js';

/** authorizedOperations value meaning "not requested" (INT32_MIN). */
export const OPERATIONS_NOT_REQUESTED = -2147483648;

// authorizedOperations fields are bitfields of AclOperation codes, from ctx.authorizedOperations
// (acl/acl.ts operationsOf lists what each resource type has; without ACLs every one of them).

export type TopicLookup = { topic: Topic; error: 0 } | { topic: null; error: number };

/**
 * Finds a topic, creating it when auto-creation is on and the caller allows it. Errors:
 * INVALID_TOPIC_EXCEPTION for an illegal name, UNKNOWN_TOPIC_OR_PARTITION when absent.
 */
export async function findOrCreateTopic(ctx: RequestContext, name: string, allowCreate: boolean): Promise<TopicLookup> {
  const existing = ctx.topics.byName.get(name);
  if (existing) return { topic: existing, error: 0 };
  if (topicNameProblem(name) !== null) return { topic: null, error: ErrorCode.INVALID_TOPIC_EXCEPTION };
  if (!allowCreate || !ctx.config.autoCreateTopics) return { topic: null, error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  if (!mayCreateTopic(ctx, name)) return { topic: null, error: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
  try {
    const topic = await ctx.topics.create(name, ctx.config.numPartitions, {});
    return { topic, error: 0 };
  } catch (e) {
    if (e instanceof PartitionLimitError) {
      ctx.logger.warn('auto-creating a topic refused', { topic: name, reason: e.message });
      return { topic: null, error: ErrorCode.POLICY_VIOLATION };
    }
    ctx.logger.error('auto-creating a topic failed', { topic: name, error: e });
    return { topic: null, error: ErrorCode.KAFKA_STORAGE_ERROR };
  }
}

/** CREATE on the cluster or on the topic, as Kafka asks before creating a topic. */
export function mayCreateTopic(ctx: RequestContext, name: string): boolean {
  return ctx.authorize(AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME, true) || ctx.authorize(AclOperation.CREATE, ResourceType.TOPIC, name);
}

/**
 * ConsumerGroupDescribe and ShareGroupDescribe, as Kafka: a group is described only when the
 * principal may DESCRIBE every topic the answer would name: its members' assignments and target
 * assignments (by topic id) and their subscribed topic names (those that exist). False when one
 * is hidden (TOPIC_AUTHORIZATION_FAILED for the group); always true with ACLs off.
 */
export function mayDescribeGroupTopics(ctx: RequestContext, topicIds: Iterable<string>, topicNames: Iterable<string>): boolean {
  if (!ctx.authz.enabled) return true;
  const names = new Set<string>();
  for (const id of topicIds) {
    const name = ctx.topics.byId.get(id)?.name;
    if (name !== undefined) names.add(name);
  }
  for (const name of topicNames) if (ctx.topics.byName.has(name)) names.add(name);
  for (const name of names) if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, name)) return false;
  return true;
}

/** The Kafka error code for a failure from the log: its own when it carries one, else KAFKA_STORAGE_ERROR. */
export function storageErrorCode(e: unknown): number {
  const code = (e as { kafkaCode?: unknown } | null)?.kafkaCode;
  return typeof code === 'number' ? code : ErrorCode.KAFKA_STORAGE_ERROR;
}

/**
 * The error for a config resource (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs,
 * ListConfigResources) the principal may not `operation` (DESCRIBE_CONFIGS or ALTER_CONFIGS),
 * or 0: a topic's on the topic, a group's on the group, the broker's, its loggers' and client
 * metrics' on the cluster, as Kafka. Config resource types: TOPIC 2, BROKER 4, BROKER_LOGGER 8,
 * CLIENT_METRICS 16, GROUP 32.
 */
export function configDenied(ctx: RequestContext, configResourceType: number, name: string, operation: number): number {
  if (!ctx.authz.enabled) return 0;
  switch (configResourceType) {
    case 2:
      return ctx.authorize(operation, ResourceType.TOPIC, name) ? 0 : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
    case 32:
      return ctx.authorize(operation, ResourceType.GROUP, name) ? 0 : ErrorCode.GROUP_AUTHORIZATION_FAILED;
    case 4:
    case 8:
    case 16:
      return ctx.authorize(operation, ResourceType.CLUSTER, CLUSTER_NAME) ? 0 : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    default:
      return 0;
  }
}
