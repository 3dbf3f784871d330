// DescribeUserScramCredentials (key 50), v0: the users' SCRAM mechanisms and iterations (never
// salts or keys), as kafka-configs --describe --entity-type users and
// Admin.describeUserScramCredentials ask. No users named (null or empty): every user with a
// credential. As Kafka's ScramImage: a user without credentials is RESOURCE_NOT_FOUND, a user
// named twice DUPLICATE_RESOURCE.
//
// Authorization: DESCRIBE on CLUSTER, else CLUSTER_AUTHORIZATION_FAILED at the top level.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult } from '../../protocol/generated/describe-user-scram-credentials.js';
import { describeUserScramCredentialsServer } from '../../protocol/generated/describe-user-scram-credentials.js';
import { ErrorCode } from '../../protocol/errors.js';
import { scramType } from '../sasl/scram.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

type Result = DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult;

function handle(ctx: RequestContext, req: DescribeUserScramCredentialsRequest): DescribeUserScramCredentialsResponse {
  if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'DescribeUserScramCredentials needs DESCRIBE on the cluster', results: [] };
  }
  const store = ctx.scramCredentials;
  const named = new Map<string, boolean>();
  if (req.users === null || req.users.length === 0) {
    for (const u of store.userNames()) named.set(u, false);
  } else {
    for (const u of req.users) named.set(u.name, named.has(u.name));
  }
  const results: Result[] = [];
  for (const [user, twice] of named) {
    if (twice) {
      results.push({ user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request', credentialInfos: [] });
      continue;
    }
    const infos = store.describe(user);
    if (infos === undefined) {
      results.push({ user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] });
      continue;
    }
    results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: infos.map((i) => ({ mechanism: scramType(i.mechanism)!.type, iterations: i.iterations })) });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
}

export const describeUserScramCredentials: HandlerEntry<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse> = { codec: describeUserScramCredentialsServer, minVersion: 0, maxVersion: 0, handle };
