// CreateAcls (key 30), v1-3. Stores each ACL (acls.json, fsynced) before answering; one that
// Kafka refuses (unknown or ANY resource type, a pattern type other than LITERAL or PREFIXED,
// ANY or UNKNOWN operation or permission, an empty name, a cluster not named kafka-cluster, a
// principal not of the form Type:name) gets INVALID_REQUEST with the reason, the others are
// created. An IP address host is stored canonical (acl.ts canonicalHost). Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED); with ACLs off every entry
// answers SECURITY_DISABLED.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { CreateAclsRequest, CreateAclsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { createAclsServer } from '../../protocol/generated/create-acls.js';
import { AclOperation, CLUSTER_NAME, ResourceType, type AclBinding } from '../acl/acl.js';
import { SECURITY_DISABLED_MESSAGE } from './29-describe-acls.js';
import { storageErrorCode } from './common.js';

async function handle(ctx: RequestContext, req: CreateAclsRequest): Promise<CreateAclsResponse> {
  const all = (errorCode: number, errorMessage: string): CreateAclsResponse => ({ throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode, errorMessage })) });
  if (!ctx.authz.enabled) return all(ErrorCode.SECURITY_DISABLED, SECURITY_DISABLED_MESSAGE);
  if (!ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'CreateAcls needs ALTER on the cluster');
  const bindings: AclBinding[] = req.creations.map((c) => ({
    resourceType: c.resourceType, resourceName: c.resourceName, patternType: c.resourcePatternType,
    principal: c.principal, host: c.host, operation: c.operation, permission: c.permissionType,
  }));
  let problems: (string | null)[];
  try {
    problems = await ctx.authz.create(bindings);
  } catch (e) {
    ctx.logger.error('storing ACLs failed', { error: e });
    return all(storageErrorCode(e), `the ACLs could not be stored: ${(e as Error).message}`);
  }
  return { throttleTimeMs: 0, results: problems.map((p) => (p === null ? { errorCode: ErrorCode.NONE, errorMessage: null } : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: p })) };
}

export const createAcls: HandlerEntry<CreateAclsRequest, CreateAclsResponse> = { codec: createAclsServer, minVersion: 1, maxVersion: 3, handle };
