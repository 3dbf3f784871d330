// DeleteGroups (key 42), v0-2. Only groups without members can go (NON_EMPTY_GROUP
// otherwise); their committed offsets go with them. A share group goes with its
// share-partition state.
//
// ACLs: DELETE on each group (GROUP_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../protocol/generated/index.js';
import { storageErrorCode } from './common.js';
import { ErrorCode } from '../../protocol/errors.js';
import { deleteGroupsServer } from '../../protocol/generated/delete-groups.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: DeleteGroupsRequest): Promise<DeleteGroupsResponse> {
  const results = [];
  for (const groupId of req.groupsNames) {
    let errorCode: number;
    if (!ctx.authorize(AclOperation.DELETE, ResourceType.GROUP, groupId)) {
      results.push({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED });
      continue;
    }
    try {
      if (ctx.shares.groups.has(groupId)) errorCode = await ctx.shares.deleteGroup(groupId);
      else {
        // A consumer-protocol group goes first (if empty); its offsets then go with the classic path.
        const consumer = await ctx.consumerGroups.deleteGroup(groupId);
        if (consumer !== null && consumer !== ErrorCode.NONE) errorCode = consumer;
        else {
          errorCode = await ctx.groups.deleteGroup(groupId);
          if (consumer === ErrorCode.NONE && errorCode === ErrorCode.GROUP_ID_NOT_FOUND) errorCode = ErrorCode.NONE;
        }
      }
    } catch (e) {
      errorCode = storageErrorCode(e);
    }
    results.push({ groupId, errorCode });
  }
  return { throttleTimeMs: 0, results };
}

export const deleteGroups: HandlerEntry<DeleteGroupsRequest, DeleteGroupsResponse> = { codec: deleteGroupsServer, minVersion: 0, maxVersion: 2, handle };
