// AlterClientQuotas (key 49), v0-1. Sets and removes quota values of client entities (user,
// client-id, user with client-id, ip; a null name is the default entity of its type), as
// Kafka's controller does: each entry is checked alone (entity types and combination, keys for
// the entity's kind, values above 0, integral for the byte and connection rates) and answered
// with its own error; the valid entries are stored together in the data directory, then take
// effect (quotas.ts). validateOnly checks without storing. An entity left with no value is
// removed.
//
// Authorization: ALTER_CONFIGS on the cluster, as in Kafka; without it every entry is answered
// CLUSTER_AUTHORIZATION_FAILED and nothing changes (docs/security.md).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { AlterClientQuotasRequest, AlterClientQuotasResponse, AlterClientQuotasResponseEntryData } from '../../protocol/generated/alter-client-quotas.js';
import { alterClientQuotasServer } from '../../protocol/generated/alter-client-quotas.js';
import { ErrorCode } from '../../protocol/errors.js';
import { EntityType, entityProblem, valueProblem, type QuotaEntity } from '../quotas.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: AlterClientQuotasRequest): Promise<AlterClientQuotasResponse> {
  if (!ctx.authorize(AclOperation.ALTER_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME)) {
    const message = 'Altering client quotas needs ALTER_CONFIGS on the cluster';
    return { throttleTimeMs: 0, entries: req.entries.map((e) => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: message, entity: e.entity.map((p) => ({ entityType: p.entityType, entityName: p.entityName })) })) };
  }
  const entries: AlterClientQuotasResponseEntryData[] = [];
  const changes: { entity: QuotaEntity; set: Record<string, number>; remove: string[] }[] = [];
  const applied: AlterClientQuotasResponseEntryData[] = [];
  for (const e of req.entries) {
    const res: AlterClientQuotasResponseEntryData = { errorCode: ErrorCode.NONE, errorMessage: null, entity: e.entity.map((p) => ({ entityType: p.entityType, entityName: p.entityName })) };
    entries.push(res);
    const problem = entityProblem(e.entity);
    if (problem !== null) {
      res.errorCode = ErrorCode[problem.code];
      res.errorMessage = problem.message;
      continue;
    }
    const isIp = e.entity.some((p) => p.entityType === EntityType.IP);
    const set: Record<string, number> = {};
    const remove: string[] = [];
    let bad: string | null = null;
    for (const op of e.ops) {
      // A removal names a key too: an unknown one is refused as when set (value 1 passes the value checks).
      bad = valueProblem(isIp, op.key, op.remove ? 1 : op.value);
      if (bad !== null) break;
      if (op.remove) {
        remove.push(op.key);
        delete set[op.key];
      } else {
        set[op.key] = op.value;
      }
    }
    if (bad !== null) {
      res.errorCode = ErrorCode.INVALID_REQUEST;
      res.errorMessage = bad;
      continue;
    }
    changes.push({ entity: new Map(e.entity.map((p) => [p.entityType, p.entityName])), set, remove });
    applied.push(res);
  }
  if (!req.validateOnly && changes.length > 0) {
    try {
      await ctx.quotas.alter(changes);
    } catch (err) {
      ctx.logger.error('client quotas not stored', { error: err });
      for (const res of applied) {
        res.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        res.errorMessage = `the quotas could not be written to the data directory (${(err as Error).message}); nothing changed, retry once the disk is writable`;
      }
    }
  }
  return { throttleTimeMs: 0, entries };
}

export const alterClientQuotas: HandlerEntry<AlterClientQuotasRequest, AlterClientQuotasResponse> = { codec: alterClientQuotasServer, minVersion: 0, maxVersion: 1, handle };
