// DeleteGroups (key 42), v0-2. Only groups without members can go (NON_EMPTY_GROUP
// otherwise); their committed offsets go with them. A share group goes with its
// share-partition state.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../protocol/generated/index.js';
import { storageErrorCode } from './common.js';
import { deleteGroupsServer } from '../../protocol/generated/delete-groups.js';

async function handle(ctx: RequestContext, req: DeleteGroupsRequest): Promise<DeleteGroupsResponse> {
  const results = [];
  for (const groupId of req.groupsNames) {
    let errorCode: number;
    try {
      errorCode = ctx.shares.groups.has(groupId) ? await ctx.shares.deleteGroup(groupId) : await ctx.groups.deleteGroup(groupId);
    } catch (e) {
      errorCode = storageErrorCode(e);
    }
    results.push({ groupId, errorCode });
  }
  return { throttleTimeMs: 0, results };
}

export const deleteGroups: HandlerEntry<DeleteGroupsRequest, DeleteGroupsResponse> = { codec: deleteGroupsServer, minVersion: 0, maxVersion: 2, handle };
