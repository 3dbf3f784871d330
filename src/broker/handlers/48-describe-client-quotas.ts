// DescribeClientQuotas (key 48), v0-1. Lists the client entities with quotas that match a
// filter, as Kafka's controller does: each component names an entity type and matches it
// exactly (match type 0, with a name), as the default entity (1), or as any named entity (2);
// an entity matches when it has every type the filter names, matched so; with strict it must
// also have no other type. An empty filter without strict lists every entity. A filter that
// names a type twice, pairs ip with user or client-id, or uses a match string that does not go
// with its match type is answered with INVALID_REQUEST and a message; an unknown entity type
// with UNSUPPORTED_VERSION.
//
// Authorization: DESCRIBE_CONFIGS on the cluster, as in Kafka; without it the answer is
// CLUSTER_AUTHORIZATION_FAILED (docs/security.md).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeClientQuotasRequest, DescribeClientQuotasResponse, DescribeClientQuotasResponseEntryData } from '../../protocol/generated/describe-client-quotas.js';
import { describeClientQuotasServer } from '../../protocol/generated/describe-client-quotas.js';
import { ErrorCode } from '../../protocol/errors.js';
import { EntityType, type QuotaEntity } from '../quotas.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

const MatchType = { EXACT: 0, DEFAULT: 1, SPECIFIED: 2 } as const;

/** The filter as exact names (null: the default) and types that must be named, or the error to answer. */
function parseFilter(req: DescribeClientQuotasRequest): { exact: Map<string, string | null>; specified: Set<string> } | { code: number; message: string } {
  const exact = new Map<string, string | null>();
  const specified = new Set<string>();
  for (const c of req.components) {
    const type = c.entityType;
    if (type === '') return { code: ErrorCode.INVALID_REQUEST, message: 'Invalid empty entity type.' };
    if (exact.has(type) || specified.has(type)) return { code: ErrorCode.INVALID_REQUEST, message: `Entity type ${type} cannot appear more than once in the filter.` };
    if (type !== EntityType.USER && type !== EntityType.CLIENT_ID && type !== EntityType.IP) return { code: ErrorCode.UNSUPPORTED_VERSION, message: `Unsupported entity type ${type} (the types are user, client-id and ip)` };
    if (c.matchType === MatchType.EXACT) {
      if (c.match === null) return { code: ErrorCode.INVALID_REQUEST, message: 'Request specified MATCH_TYPE_EXACT, but set match string to null.' };
      exact.set(type, c.match);
    } else if (c.matchType === MatchType.DEFAULT) {
      if (c.match !== null) return { code: ErrorCode.INVALID_REQUEST, message: 'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.' };
      exact.set(type, null);
    } else if (c.matchType === MatchType.SPECIFIED) {
      if (c.match !== null) return { code: ErrorCode.INVALID_REQUEST, message: 'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.' };
      specified.add(type);
    } else {
      return { code: ErrorCode.INVALID_REQUEST, message: `Unknown match type ${c.matchType} (0: exact, 1: default, 2: specified)` };
    }
  }
  const has = (t: string) => exact.has(t) || specified.has(t);
  if (has(EntityType.IP) && (has(EntityType.USER) || has(EntityType.CLIENT_ID))) {
    return { code: ErrorCode.INVALID_REQUEST, message: 'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.' };
  }
  return { exact, specified };
}

function matches(entity: QuotaEntity, exact: Map<string, string | null>, specified: Set<string>, strict: boolean): boolean {
  if (strict && entity.size !== exact.size + specified.size) return false;
  for (const [type, name] of exact) if (!entity.has(type) || entity.get(type) !== name) return false;
  for (const type of specified) if (!entity.has(type) || entity.get(type) === null) return false;
  return true;
}

function handle(ctx: RequestContext, req: DescribeClientQuotasRequest): DescribeClientQuotasResponse {
  if (!ctx.authorize(AclOperation.DESCRIBE_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Describing client quotas needs DESCRIBE_CONFIGS on the cluster', entries: null };
  }
  const filter = parseFilter(req);
  if ('code' in filter) return { throttleTimeMs: 0, errorCode: filter.code, errorMessage: filter.message, entries: null };
  const entries: DescribeClientQuotasResponseEntryData[] = [];
  for (const e of ctx.quotas.list()) {
    if (!matches(e.entity, filter.exact, filter.specified, req.strict)) continue;
    entries.push({
      entity: [...e.entity].map(([entityType, entityName]) => ({ entityType, entityName })),
      values: Object.entries(e.values).map(([key, value]) => ({ key, value })),
    });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
}

export const describeClientQuotas: HandlerEntry<DescribeClientQuotasRequest, DescribeClientQuotasResponse> = { codec: describeClientQuotasServer, minVersion: 0, maxVersion: 1, handle };
