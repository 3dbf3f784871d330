// UpdateFeatures (key 57), v0-2: `kafka-features upgrade|downgrade|disable`. All updates of a
// request apply together or not at all; the levels this broker supports and which of them
// may change live are in ../features.ts. A refused update answers INVALID_UPDATE_VERSION
// with the reason (per feature in v0-1, at the top level in v2, where per-feature results
// are gone). validateOnly (v1+) checks without changing anything.
//
// ACLs: ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { UpdateFeaturesRequest, UpdateFeaturesResponse } from '../../protocol/generated/update-features.js';
import { ErrorCode } from '../../protocol/errors.js';
import { UpgradeType } from '../features.js';
import { updateFeaturesServer } from '../../protocol/generated/update-features.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

function handle(ctx: RequestContext, req: UpdateFeaturesRequest): Promise<UpdateFeaturesResponse> {
  const features = ctx.cluster.features;
  if (!ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
    const message = 'Updating features needs ALTER on the cluster';
    return Promise.resolve({ throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: message, results: req.featureUpdates.map((u) => ({ feature: u.feature, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: message })) });
  }
  return features.exclusive(async () => {
    const changes = new Map<string, number>();
    const problems = new Map<string, string>();
    for (const u of req.featureUpdates) {
      // v0 has allowDowngrade instead of an upgrade type.
      const type = ctx.version === 0 ? (u.allowDowngrade ? UpgradeType.SAFE_DOWNGRADE : UpgradeType.UPGRADE) : (u.upgradeType ?? UpgradeType.UPGRADE);
      const level = Math.max(u.maxVersionLevel, 0);
      const problem = changes.has(u.feature) ? `${u.feature} is named twice` : features.problem(u.feature, level, type);
      if (problem !== null) problems.set(u.feature, problem);
      else if (level !== features.level(u.feature)) changes.set(u.feature, level);
    }
    let error: { code: number; message: string } | null = null;
    if (problems.size > 0) {
      error = { code: ErrorCode.INVALID_UPDATE_VERSION, message: [...problems.values()].join('; ') };
    } else if (!req.validateOnly && changes.size > 0) {
      try {
        await features.update(changes);
        ctx.logger.info('features updated', Object.fromEntries(changes));
      } catch (e) {
        ctx.logger.error('storing feature levels failed', { error: e });
        error = { code: ErrorCode.KAFKA_STORAGE_ERROR, message: `The feature levels could not be stored: ${(e as Error).message}` };
      }
    }
    const results = req.featureUpdates.map((u) => {
      const own = problems.get(u.feature);
      if (error === null) return { feature: u.feature, errorCode: ErrorCode.NONE, errorMessage: null };
      return { feature: u.feature, errorCode: error.code, errorMessage: own ?? `Not applied: ${error.message}` };
    });
    if (ctx.version >= 2) return { throttleTimeMs: 0, errorCode: error?.code ?? ErrorCode.NONE, errorMessage: error?.message ?? null };
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  });
}

export const updateFeatures: HandlerEntry<UpdateFeaturesRequest, UpdateFeaturesResponse> = { codec: updateFeaturesServer, minVersion: 0, maxVersion: 2, handle };
