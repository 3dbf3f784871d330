// InitProducerId (key 22), v0-5. Hands an idempotent producer a producer id never used
// before on this data directory, with epoch 0, whatever id and epoch it sends (v3+, KIP-360),
// as Kafka does: an id the broker cannot tie to its owner must never be handed to a second
// producer (both would write under one id and epoch, and one's records would be taken for
// the other's retries).
// A transactional id goes to the transaction coordinator, which bumps its epoch (fencing
// older instances) after aborting whatever the previous instance left open.
//
// ACLs: a transactional producer needs WRITE on its transactional id
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent one IDEMPOTENT_WRITE on the cluster or
// WRITE on some topic (KIP-679; CLUSTER_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { storageErrorCode } from './common.js';
import { initProducerIdServer } from '../../protocol/generated/init-producer-id.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: InitProducerIdRequest): Promise<InitProducerIdResponse> {
  const res: InitProducerIdResponse = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: -1, producerEpoch: -1 };
  if (req.transactionalId !== null) {
    if (req.transactionalId === '') {
      res.errorCode = ErrorCode.INVALID_REQUEST;
      return res;
    }
    if (!ctx.authorize(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) {
      res.errorCode = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
      return res;
    }
    try {
      Object.assign(res, await ctx.txns.initProducerId(req.transactionalId, req.transactionTimeoutMs, req.producerId ?? -1, req.producerEpoch ?? -1));
    } catch (e) {
      ctx.logger.error('transactional InitProducerId failed', { transactionalId: req.transactionalId, error: e });
      res.errorCode = storageErrorCode(e);
    }
    return res;
  }
  // KIP-679: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
  if (ctx.authz.enabled && !ctx.authorize(AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME, true) && !ctx.authz.authorizeAny(ctx.session, AclOperation.WRITE, ResourceType.TOPIC)) {
    ctx.denied(AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME);
    res.errorCode = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    return res;
  }
  try {
    res.producerId = await ctx.topics.allocateProducerId();
    res.producerEpoch = 0;
  } catch (e) {
    ctx.logger.error('producer id allocation failed', { error: e });
    res.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
  }
  return res;
}

export const initProducerId: HandlerEntry<InitProducerIdRequest, InitProducerIdResponse> = { codec: initProducerIdServer, minVersion: 0, maxVersion: 5, handle };
