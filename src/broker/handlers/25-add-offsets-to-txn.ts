// AddOffsetsToTxn (key 25), v0-4: the group's offsets join the transaction, so the
// TxnOffsetCommit that follows is committed or dropped with it.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../../protocol/generated/index.js';
import { addOffsetsToTxnServer } from '../../protocol/generated/add-offsets-to-txn.js';

async function handle(ctx: RequestContext, req: AddOffsetsToTxnRequest): Promise<AddOffsetsToTxnResponse> {
  const errorCode = await ctx.txns.addGroup(req.transactionalId, req.producerId, req.producerEpoch, req.groupId);
  return { throttleTimeMs: 0, errorCode };
}

export const addOffsetsToTxn: HandlerEntry<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> = { codec: addOffsetsToTxnServer, minVersion: 0, maxVersion: 4, handle };
