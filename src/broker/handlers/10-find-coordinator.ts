// FindCoordinator (key 10), v0-6. This broker coordinates every group (classic and share)
// and every transactional id, and holds every share group's state (key type SHARE, v6+);
// batched lookups (v4+) get one answer per key.
//
// ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or the transactional id
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); a share-partition key (brokers only) CLUSTER_ACTION on
// the cluster (CLUSTER_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { FindCoordinatorRequest, FindCoordinatorResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { findCoordinatorServer } from '../../protocol/generated/find-coordinator.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

const KeyType = { GROUP: 0, TRANSACTION: 1, SHARE: 2 } as const;

function handle(ctx: RequestContext, req: FindCoordinatorRequest): FindCoordinatorResponse {
  const adv = ctx.cluster.advertisedAddress(ctx.session.listener);
  const keyType = req.keyType ?? KeyType.GROUP;
  const answer = (key: string) => {
    if (keyType !== KeyType.GROUP && keyType !== KeyType.TRANSACTION && keyType !== KeyType.SHARE) {
      return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown coordinator key type ${keyType}` };
    }
    const denied =
      keyType === KeyType.GROUP ? (ctx.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, key) ? 0 : ErrorCode.GROUP_AUTHORIZATION_FAILED)
        : keyType === KeyType.TRANSACTION ? (ctx.authorize(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, key) ? 0 : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
          : ctx.authorize(AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME) ? 0 : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    if (denied !== 0) return { key, nodeId: -1, host: '', port: -1, errorCode: denied, errorMessage: null as string | null };
    return { key, nodeId: ctx.cluster.nodeId, host: adv.host, port: adv.port, errorCode: ErrorCode.NONE, errorMessage: null as string | null };
  };
  if (ctx.version >= 4) {
    return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys ?? []).map(answer) };
  }
  const a = answer(req.key ?? '');
  return { throttleTimeMs: 0, errorCode: a.errorCode, errorMessage: a.errorMessage, nodeId: a.nodeId, host: a.host, port: a.port };
}

export const findCoordinator: HandlerEntry<FindCoordinatorRequest, FindCoordinatorResponse> = { codec: findCoordinatorServer, minVersion: 0, maxVersion: 6, handle };
