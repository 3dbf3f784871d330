// AddOffsetsToTxn (key 25), v0-4: the group's offsets join the transaction, so the
// TxnOffsetCommit that follows is committed or dropped with it.
//
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), READ on the group
// (GROUP_AUTHORIZATION_FAILED).

import { ErrorCode } from '../../protocol/errors.js';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../../protocol/generated/index.js';
import { addOffsetsToTxnServer } from '../../protocol/generated/add-offsets-to-txn.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: AddOffsetsToTxnRequest): Promise<AddOffsetsToTxnResponse> {
  if (!ctx.authorize(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
  if (!ctx.authorize(AclOperation.READ, ResourceType.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
  const errorCode = await ctx.txns.addGroup(req.transactionalId, req.producerId, req.producerEpoch, req.groupId);
  return { throttleTimeMs: 0, errorCode };
}

export const addOffsetsToTxn: HandlerEntry<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> = { codec: addOffsetsToTxnServer, minVersion: 0, maxVersion: 4, handle };
