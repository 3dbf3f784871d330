// AlterConfigs (key 33), v0-2. Replaces a resource's set of overrides with exactly the given
// one (the legacy, non-incremental semantics): a topic's configs, this broker's dynamic
// configs (BROKER "0"), the cluster-wide dynamic defaults (BROKER ""), or a group's configs
// (GROUP). configTarget() is the one place that resolves a resource for both alter APIs.
//
// ACLs (here for both alter APIs): ALTER_CONFIGS on the topic (TOPIC_AUTHORIZATION_FAILED), the
// group (GROUP_AUTHORIZATION_FAILED) or, for the broker, the cluster (CLUSTER_AUTHORIZATION_FAILED).

import { AclOperation } from '../acl/acl.js';
import { configDenied } from './common.js';
import type { HandlerEntry, RequestContext } from './handler.js';
import type { AlterConfigsRequest, AlterConfigsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { topicConfigByName, validateTopicConfigs, type ConfigType } from '../topic-config.js';
import { dynamicKeys, REPLICATION_THROTTLES } from '../dynamic-config.js';
import { groupConfigByName } from '../groups/group-config.js';
import { ResourceType } from './32-describe-configs.js';
import { alterConfigsServer } from '../../protocol/generated/alter-configs.js';

export interface AlterResult {
  errorCode: number;
  errorMessage: string | null;
  resourceType: number;
  resourceName: string;
}

/** A resource whose overrides can change: its current set, its configs' types, and the change itself. */
export interface ConfigTarget {
  readonly current: Readonly<Record<string, string>>;
  /** A config's type, or undefined when the resource has no config of that name. */
  typeOf(name: string): ConfigType | undefined;
  /** Why a config name is not one this resource can change. */
  unknown(name: string): string;
  /** Applies the new set computed from the current one; returns an error code and message, or null. */
  change(next: (current: Readonly<Record<string, string>>) => Record<string, string> | string, validateOnly: boolean): Promise<{ code: number; message: string } | null>;
}

const invalid = (message: string | null) => (message === null ? null : { code: ErrorCode.INVALID_CONFIG, message });

/** Resolves a resource to what can change, or fills `res` with why it cannot. */
export function configTarget(ctx: RequestContext, resourceType: number, resourceName: string, res: AlterResult): ConfigTarget | null {
  const denied = configDenied(ctx, resourceType, resourceName, AclOperation.ALTER_CONFIGS);
  if (denied !== 0) {
    res.errorCode = denied;
    res.errorMessage = 'Changing these configs needs ALTER_CONFIGS';
    return null;
  }
  if (resourceType === ResourceType.TOPIC) {
    const topic = ctx.topics.byName.get(resourceName);
    if (topic === undefined) {
      res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      res.errorMessage = `Topic ${resourceName} does not exist`;
      return null;
    }
    return {
      current: topic.overrides,
      typeOf: (name) => topicConfigByName.get(name)?.type,
      unknown: (name) => `Unknown topic config name: ${name}`,
      change: async (next, validateOnly) => {
        const overrides = next(topic.overrides);
        if (typeof overrides === 'string') return { code: ErrorCode.INVALID_CONFIG, message: overrides };
        const problem = validateTopicConfigs(overrides);
        if (problem !== null) return { code: ErrorCode.INVALID_CONFIG, message: problem };
        if (!validateOnly) await ctx.topics.setOverrides(topic, overrides);
        return null;
      },
    };
  }
  if (resourceType === ResourceType.BROKER) {
    if (resourceName !== '' && resourceName !== String(ctx.cluster.nodeId)) {
      res.errorCode = ErrorCode.INVALID_REQUEST;
      res.errorMessage = `This is broker ${ctx.cluster.nodeId}, not ${resourceName}`;
      return null;
    }
    const scope = resourceName === '' ? 'default' : 'broker';
    return {
      current: ctx.brokerConfigs.overrides(scope),
      typeOf: (name) => dynamicKeys.get(name)?.type ?? (REPLICATION_THROTTLES.has(name) ? 'long' : undefined),
      unknown: (name) => `${name} cannot change at runtime on this broker (dynamic: ${[...dynamicKeys.keys()].join(', ')}); set it with a flag, a RIVULET_* variable or the config file and restart`,
      change: async (next, validateOnly) => invalid(await ctx.brokerConfigs.change(scope, next, validateOnly)),
    };
  }
  if (resourceType === ResourceType.GROUP) {
    if (resourceName === '') {
      res.errorCode = ErrorCode.INVALID_GROUP_ID;
      res.errorMessage = 'A group config needs a group id';
      return null;
    }
    return {
      current: ctx.groupConfigs.overrides(resourceName),
      typeOf: (name) => groupConfigByName.get(name)?.type,
      unknown: (name) => `Unknown group config name: ${name}`,
      change: async (next, validateOnly) => invalid(await ctx.groupConfigs.change(resourceName, next, validateOnly)),
    };
  }
  res.errorCode = ErrorCode.INVALID_REQUEST;
  res.errorMessage = resourceType === ResourceType.BROKER_LOGGER
    ? 'Broker log levels are set with the log.level setting at start'
    : `Resource type ${resourceType} has no configs here`;
  return null;
}

/** Runs a target's change and records its outcome in `res`. */
export async function applyChange(target: ConfigTarget, next: Parameters<ConfigTarget['change']>[0], validateOnly: boolean, res: AlterResult): Promise<AlterResult> {
  const error = await target.change(next, validateOnly);
  if (error !== null) {
    res.errorCode = error.code;
    res.errorMessage = error.message;
  }
  return res;
}

async function handle(ctx: RequestContext, req: AlterConfigsRequest): Promise<AlterConfigsResponse> {
  const responses = await Promise.all(
    req.resources.map(async (r) => {
      const res: AlterResult = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName };
      const target = configTarget(ctx, r.resourceType, r.resourceName, res);
      if (!target) return res;
      const overrides: Record<string, string> = {};
      for (const c of r.configs) if (c.value !== null) overrides[c.name] = c.value;
      return applyChange(target, () => overrides, req.validateOnly, res);
    }),
  );
  return { throttleTimeMs: 0, responses };
}

export const alterConfigs: HandlerEntry<AlterConfigsRequest, AlterConfigsResponse> = { codec: alterConfigsServer, minVersion: 0, maxVersion: 2, handle };
