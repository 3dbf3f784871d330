// AlterConfigs (key 33), v0-2. Replaces a topic's overrides with exactly the given set
// (the legacy, non-incremental semantics). Broker settings are static: refused.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { AlterConfigsRequest, AlterConfigsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { validateTopicConfigs } from '../topic-config.js';
import { ResourceType } from './32-describe-configs.js';
import type { BrokerServices } from './handler.js';
import type { Topic } from '../topics.js';
import { alterConfigsServer } from '../../protocol/generated/alter-configs.js';

export interface AlterResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/** Resolves a resource to a topic, or explains why its configs cannot change. */
export function alterableTopic(ctx: BrokerServices, resourceType: number, resourceName: string, res: AlterResult): Topic | null {
  if (resourceType === ResourceType.TOPIC) {
    const topic = ctx.topics.byName.get(resourceName);
    if (topic) return topic;
    res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    res.errorMessage = `Topic ${resourceName} does not exist`;
  } else if (resourceType === ResourceType.BROKER || resourceType === ResourceType.BROKER_LOGGER) {
    res.errorCode = ErrorCode.INVALID_REQUEST;
    res.errorMessage = 'Broker settings are static: set them with flags, RIVULET_* variables or the config file, then restart';
  } else {
    res.errorCode = ErrorCode.INVALID_REQUEST;
    res.errorMessage = `Resource type ${resourceType} has no configs here`;
  }
  return null;
}

/** Validates a topic's complete new set of overrides and, unless validateOnly, makes it current. */
export async function applyOverrides(ctx: BrokerServices, topic: Topic, overrides: Record<string, string>, validateOnly: boolean, res: AlterResult): Promise<AlterResult> {
  const problem = validateTopicConfigs(overrides);
  if (problem) {
    res.errorCode = ErrorCode.INVALID_CONFIG;
    res.errorMessage = problem;
    return res;
  }
  if (!validateOnly) await ctx.topics.setOverrides(topic, overrides);
  return res;
}

async function handle(ctx: RequestContext, req: AlterConfigsRequest): Promise<AlterConfigsResponse> {
  const responses = await Promise.all(
    req.resources.map(async (r) => {
      const res: AlterResult = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName };
      const topic = alterableTopic(ctx, r.resourceType, r.resourceName, res);
      if (!topic) return res;
      const overrides: Record<string, string> = {};
      for (const c of r.configs) if (c.value !== null) overrides[c.name] = c.value;
      return applyOverrides(ctx, topic, overrides, req.validateOnly, res);
    }),
  );
  return { throttleTimeMs: 0, responses };
}

export const alterConfigs: HandlerEntry<AlterConfigsRequest, AlterConfigsResponse> = { codec: alterConfigsServer, minVersion: 0, maxVersion: 2, handle };
