// DescribeAcls (key 29), v1-3. The ACLs one filter matches, grouped by resource pattern.
// Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED); with ACLs off it answers
// SECURITY_DISABLED, as Kafka without an authorizer does. A filter Kafka refuses (an unknown
// resource, pattern, operation or permission type) answers INVALID_REQUEST.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeAclsRequest, DescribeAclsResponse, DescribeAclsResponseDescribeAclsResource } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { describeAclsServer } from '../../protocol/generated/describe-acls.js';
import { AclOperation, CLUSTER_NAME, ResourceType, filterProblem, type AclFilter } from '../acl/acl.js';

export const SECURITY_DISABLED_MESSAGE = 'No authorizer is configured on the broker: set authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer to use ACLs';

function handle(ctx: RequestContext, req: DescribeAclsRequest): DescribeAclsResponse {
  const fail = (errorCode: number, errorMessage: string): DescribeAclsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
  if (!ctx.authz.enabled) return fail(ErrorCode.SECURITY_DISABLED, SECURITY_DISABLED_MESSAGE);
  if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'DescribeAcls needs DESCRIBE on the cluster');
  const filter: AclFilter = {
    resourceType: req.resourceTypeFilter, resourceName: req.resourceNameFilter, patternType: req.patternTypeFilter,
    principal: req.principalFilter, host: req.hostFilter, operation: req.operation, permission: req.permissionType,
  };
  const problem = filterProblem(filter);
  if (problem !== null) return fail(ErrorCode.INVALID_REQUEST, problem);
  const byResource = new Map<string, DescribeAclsResponseDescribeAclsResource>();
  for (const b of ctx.authz.describe(filter)) {
    const key = `${b.resourceType}\0${b.patternType}\0${b.resourceName}`;
    let r = byResource.get(key);
    if (r === undefined) byResource.set(key, (r = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] }));
    r.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permission });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...byResource.values()] };
}

export const describeAcls: HandlerEntry<DescribeAclsRequest, DescribeAclsResponse> = { codec: describeAclsServer, minVersion: 1, maxVersion: 3, handle };
