// ListConfigResources (key 74; ListClientMetricsResources in Kafka before 4.1), v0-1: the
// resources that have configs, as `kafka-configs --describe --entity-type <type>` lists them
// without a name. v0 asks for client metrics resources only; v1 names the types, all of them
// when the list is empty: every topic, this broker (BROKER and BROKER_LOGGER), every group
// that exists or has configs. There are no client metrics subscriptions (KIP-714) here.
//
// ACLs: DESCRIBE_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ListConfigResourcesRequest, ListConfigResourcesResponse } from '../../protocol/generated/list-config-resources.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ResourceType } from './32-describe-configs.js';
import { listConfigResourcesServer } from '../../protocol/generated/list-config-resources.js';
import { AclOperation, CLUSTER_NAME, ResourceType as AclResource } from '../acl/acl.js';

const CLIENT_METRICS = 16;
const SUPPORTED = [ResourceType.TOPIC, ResourceType.BROKER, ResourceType.BROKER_LOGGER, CLIENT_METRICS, ResourceType.GROUP] as const;

function names(ctx: RequestContext, type: number): string[] {
  switch (type) {
    case ResourceType.TOPIC:
      return [...ctx.topics.byName.keys()];
    case ResourceType.BROKER:
    case ResourceType.BROKER_LOGGER:
      return [String(ctx.cluster.nodeId)];
    case ResourceType.GROUP:
      return [...new Set([...ctx.groups.groups.keys(), ...ctx.groups.offsets.groupIds(), ...ctx.groupConfigs.groupIds()])];
    default:
      return [];
  }
}

function handle(ctx: RequestContext, req: ListConfigResourcesRequest): ListConfigResourcesResponse {
  if (!ctx.authorize(AclOperation.DESCRIBE_CONFIGS, AclResource.CLUSTER, CLUSTER_NAME)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, configResources: [] };
  const asked = ctx.version === 0 ? [CLIENT_METRICS] : (req.resourceTypes ?? []);
  const types = asked.length === 0 ? [...SUPPORTED] : asked;
  if (types.some((t) => !(SUPPORTED as readonly number[]).includes(t))) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, configResources: [] };
  }
  const configResources = [];
  for (const resourceType of types) for (const resourceName of names(ctx, resourceType)) configResources.push({ resourceName, resourceType });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, configResources };
}

export const listConfigResources: HandlerEntry<ListConfigResourcesRequest, ListConfigResourcesResponse> = { codec: listConfigResourcesServer, minVersion: 0, maxVersion: 1, handle };
