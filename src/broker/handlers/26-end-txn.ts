// EndTxn (key 26), v0-5: commits or aborts the transaction. v5+ is transaction version 2
// (KIP-890): the epoch is bumped by every end and the answer carries the id and epoch the
// producer continues with.
//
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).

import { ErrorCode } from '../../protocol/errors.js';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { EndTxnRequest, EndTxnResponse } from '../../protocol/generated/index.js';
import { endTxnServer } from '../../protocol/generated/end-txn.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: EndTxnRequest): Promise<EndTxnResponse> {
  if (!ctx.authorize(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
  const r = await ctx.txns.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed, ctx.version >= 5);
  return { throttleTimeMs: 0, errorCode: r.errorCode, producerId: r.producerId, producerEpoch: r.producerEpoch };
}

export const endTxn: HandlerEntry<EndTxnRequest, EndTxnResponse> = { codec: endTxnServer, minVersion: 0, maxVersion: 5, handle };
