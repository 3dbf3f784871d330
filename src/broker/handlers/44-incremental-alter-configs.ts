// IncrementalAlterConfigs (key 44), v0-1. SET and DELETE change one override each; APPEND
// and SUBTRACT add to or remove from list-valued configs (cleanup.policy). The resources are
// those of AlterConfigs (33): topics, this broker and the cluster default, groups. The new set
// is computed from the current one inside the change, so concurrent changes do not lose each
// other's edits.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { effectiveTopicConfigs } from '../topic-config.js';
import { ResourceType } from './32-describe-configs.js';
import { applyChange, configTarget, type AlterResult, type ConfigTarget } from './33-alter-configs.js';
import { incrementalAlterConfigsServer } from '../../protocol/generated/incremental-alter-configs.js';

const Op = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

type Change = IncrementalAlterConfigsRequest['resources'][number]['configs'];

/** The new set of overrides after the operations, or why they cannot apply. */
function applyOps(target: ConfigTarget, current: Readonly<Record<string, string>>, ops: Change, defaults: Readonly<Record<string, string>>): Record<string, string> | string {
  const overrides = { ...current };
  for (const c of ops) {
    const type = target.typeOf(c.name);
    if (type === undefined) return target.unknown(c.name);
    if (c.configOperation === Op.SET) {
      if (c.value === null) return `SET of ${c.name} needs a value`;
      overrides[c.name] = c.value;
    } else if (c.configOperation === Op.DELETE) {
      delete overrides[c.name];
    } else if (c.configOperation === Op.APPEND || c.configOperation === Op.SUBTRACT) {
      if (type !== 'list') return `${c.name} is not a list: APPEND and SUBTRACT apply only to list configs`;
      const items = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
      const now = items(overrides[c.name] ?? defaults[c.name] ?? '');
      const given = items(c.value ?? '');
      overrides[c.name] = (c.configOperation === Op.APPEND ? [...now, ...given.filter((i) => !now.includes(i))] : now.filter((i) => !given.includes(i))).join(',');
    } else {
      return `Unknown config operation ${c.configOperation}`;
    }
  }
  return overrides;
}

async function handle(ctx: RequestContext, req: IncrementalAlterConfigsRequest): Promise<IncrementalAlterConfigsResponse> {
  const responses = await Promise.all(
    req.resources.map(async (r) => {
      const res: AlterResult = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName };
      const target = configTarget(ctx, r.resourceType, r.resourceName, res);
      if (!target) return res;
      const bad = r.configs.find((c) => c.configOperation < Op.SET || c.configOperation > Op.SUBTRACT || (c.configOperation === Op.SET && c.value === null));
      if (bad !== undefined) {
        res.errorCode = ErrorCode.INVALID_REQUEST;
        res.errorMessage = bad.configOperation === Op.SET ? `SET of ${bad.name} needs a value` : `Unknown config operation ${bad.configOperation}`;
        return res;
      }
      // APPEND and SUBTRACT start from the effective value when there is no override (topics' list configs).
      const defaults = r.resourceType === ResourceType.TOPIC ? effectiveTopicConfigs(ctx.config.topicDefaults, {}) : {};
      return applyChange(target, (current) => applyOps(target, current, r.configs, defaults), req.validateOnly, res);
    }),
  );
  return { throttleTimeMs: 0, responses };
}

export const incrementalAlterConfigs: HandlerEntry<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> = { codec: incrementalAlterConfigsServer, minVersion: 0, maxVersion: 1, handle };
