// DeleteAcls (key 31), v1-3. Removes every ACL each filter matches (MATCH and ANY filters as
// Kafka reads them) and answers, per filter, the ACLs it removed; stored before answering.
// A filter Kafka refuses answers INVALID_REQUEST for that filter. Needs ALTER on the cluster
// (CLUSTER_AUTHORIZATION_FAILED); with ACLs off every filter answers SECURITY_DISABLED.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DeleteAclsRequest, DeleteAclsResponse, DeleteAclsResponseDeleteAclsFilterResult } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { deleteAclsServer } from '../../protocol/generated/delete-acls.js';
import { AclOperation, CLUSTER_NAME, ResourceType, filterProblem, type AclFilter } from '../acl/acl.js';
import { SECURITY_DISABLED_MESSAGE } from './29-describe-acls.js';
import { storageErrorCode } from './common.js';

async function handle(ctx: RequestContext, req: DeleteAclsRequest): Promise<DeleteAclsResponse> {
  const all = (errorCode: number, errorMessage: string): DeleteAclsResponse => ({ throttleTimeMs: 0, filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })) });
  if (!ctx.authz.enabled) return all(ErrorCode.SECURITY_DISABLED, SECURITY_DISABLED_MESSAGE);
  if (!ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'DeleteAcls needs ALTER on the cluster');
  const filters: AclFilter[] = req.filters.map((f) => ({
    resourceType: f.resourceTypeFilter, resourceName: f.resourceNameFilter, patternType: f.patternTypeFilter,
    principal: f.principalFilter, host: f.hostFilter, operation: f.operation, permission: f.permissionType,
  }));
  const problems = filters.map(filterProblem);
  let removed: ReturnType<typeof ctx.authz.delete> extends Promise<infer R> ? R : never;
  try {
    removed = await ctx.authz.delete(filters.filter((_, i) => problems[i] === null));
  } catch (e) {
    ctx.logger.error('storing ACLs failed', { error: e });
    return all(storageErrorCode(e), `the ACLs could not be stored: ${(e as Error).message}`);
  }
  let next = 0;
  const filterResults: DeleteAclsResponseDeleteAclsFilterResult[] = problems.map((p) => {
    if (p !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: p, matchingAcls: [] };
    const acls = removed[next++]!;
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      matchingAcls: acls.map((b) => ({ errorCode: ErrorCode.NONE, errorMessage: null, resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permission })),
    };
  });
  return { throttleTimeMs: 0, filterResults };
}

export const deleteAcls: HandlerEntry<DeleteAclsRequest, DeleteAclsResponse> = { codec: deleteAclsServer, minVersion: 1, maxVersion: 3, handle };
