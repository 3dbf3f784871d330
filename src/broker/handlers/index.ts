// The dispatch table: handler by API key. ApiVersions announces exactly these ranges.

import type { HandlerEntry } from '../connection.js';
import { produce } from './00-produce.js';
import { fetch } from './01-fetch.js';
import { listOffsets } from './02-list-offsets.js';
import { metadata } from './03-metadata.js';
import { apiVersions } from './18-api-versions.js';
import { offsetForLeaderEpoch } from './23-offset-for-leader-epoch.js';

const entries: HandlerEntry[] = [produce, fetch, listOffsets, metadata, apiVersions, offsetForLeaderEpoch];

export const handlerTable: readonly (HandlerEntry | undefined)[] = (() => {
  const t: (HandlerEntry | undefined)[] = [];
  for (const e of entries) t[e.apiKey] = e;
  return t;
})();
