// InitProducerId (key 22), v0-5. Hands an idempotent producer a producer id never used
// before on this data directory, with epoch 0. A producer that sends its current id and
// epoch (v3+, KIP-360) gets the epoch bumped instead, which resets its sequences.
// A transactional id goes to the transaction coordinator, which bumps its epoch (fencing
// older instances) after aborting whatever the previous instance left open.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { storageErrorCode } from './common.js';
import { initProducerIdServer } from '../../protocol/generated/init-producer-id.js';

const MAX_EPOCH = 32767;

async function handle(ctx: RequestContext, req: InitProducerIdRequest): Promise<InitProducerIdResponse> {
  const res: InitProducerIdResponse = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: -1, producerEpoch: -1 };
  if (req.transactionalId !== null) {
    if (req.transactionalId === '') {
      res.errorCode = ErrorCode.INVALID_REQUEST;
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
  const pid = req.producerId ?? -1;
  const epoch = req.producerEpoch ?? -1;
  if (pid >= 0 && epoch >= 0 && epoch < MAX_EPOCH - 1) {
    res.producerId = pid;
    res.producerEpoch = epoch + 1;
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
