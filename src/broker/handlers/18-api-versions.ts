// ApiVersions (key 18), v0-4. Lists every API this broker serves with its version range,
// built once from the handler table. An unsupported ApiVersions version is answered by
// the connection itself (v0, UNSUPPORTED_VERSION), as KIP-511 asks.

import type { HandlerEntry } from './handler.js';
import type { ApiVersionsRequest, ApiVersionsResponse } from '../../protocol/generated/api-versions.js';
import { ErrorCode } from '../../protocol/errors.js';
import { apiVersionsServer } from '../../protocol/generated/api-versions.js';

export const apiVersions: HandlerEntry<ApiVersionsRequest, ApiVersionsResponse> = {
  codec: apiVersionsServer,
  minVersion: 0,
  maxVersion: 4,
  handle: (ctx) => ctx.cluster.apiVersionsResponse(ErrorCode.NONE),
};
