// IncrementalAlterConfigs (key 44), v0-1. SET and DELETE change one topic override each;
// APPEND and SUBTRACT add to or remove from list-valued configs (cleanup.policy).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { topicConfigByName, effectiveTopicConfigs } from '../topic-config.js';
import { alterableTopic, applyOverrides, type AlterResult } from './33-alter-configs.js';
import { incrementalAlterConfigsServer } from '../../protocol/generated/incremental-alter-configs.js';

const Op = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

async function handle(ctx: RequestContext, req: IncrementalAlterConfigsRequest): Promise<IncrementalAlterConfigsResponse> {
  const responses = await Promise.all(
    req.resources.map(async (r) => {
      const res: AlterResult = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName };
      const topic = alterableTopic(ctx, r.resourceType, r.resourceName, res);
      if (!topic) return res;
      const overrides = { ...topic.overrides };
      const effective = effectiveTopicConfigs(ctx.config.topicDefaults, overrides);
      for (const c of r.configs) {
        const def = topicConfigByName.get(c.name);
        if (!def) {
          res.errorCode = ErrorCode.INVALID_CONFIG;
          res.errorMessage = `Unknown topic config name: ${c.name}`;
          return res;
        }
        if (c.configOperation === Op.SET) {
          if (c.value === null) {
            res.errorCode = ErrorCode.INVALID_REQUEST;
            res.errorMessage = `SET of ${c.name} needs a value`;
            return res;
          }
          overrides[c.name] = c.value;
        } else if (c.configOperation === Op.DELETE) {
          delete overrides[c.name];
        } else if (c.configOperation === Op.APPEND || c.configOperation === Op.SUBTRACT) {
          if (def.type !== 'list') {
            res.errorCode = ErrorCode.INVALID_CONFIG;
            res.errorMessage = `${c.name} is not a list: APPEND and SUBTRACT apply only to list configs`;
            return res;
          }
          const current = (overrides[c.name] ?? effective[c.name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
          const items = (c.value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
          const next = c.configOperation === Op.APPEND ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i));
          overrides[c.name] = next.join(',');
        } else {
          res.errorCode = ErrorCode.INVALID_REQUEST;
          res.errorMessage = `Unknown config operation ${c.configOperation}`;
          return res;
        }
      }
      return applyOverrides(ctx, topic, overrides, req.validateOnly, res);
    }),
  );
  return { throttleTimeMs: 0, responses };
}

export const incrementalAlterConfigs: HandlerEntry<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> = { codec: incrementalAlterConfigsServer, minVersion: 0, maxVersion: 1, handle };
