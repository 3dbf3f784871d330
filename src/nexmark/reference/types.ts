// What every reference implementation (reference/qN.ts) takes and returns, so check.ts can
// compare any query's output with it.

import type { NexmarkEvent } from '../model.js';

/** One output record: the key as text (model.ts: decimal ids) and the decoded JSON value. */
export interface QueryResult<V = unknown> {
  key: string;
  value: V;
}

export interface ReferenceOptions {
  /**
   * Windowed queries: only windows the watermark closed (end + graceMs <= watermark), as an
   * engine emits them; default: every window (all input seen, the watermark at +infinity).
   */
  watermark?: number;
  graceMs?: number;
}

/** A reference: the expected output of a query over `events` (in any order), as records. */
export type Reference = (events: readonly NexmarkEvent[], options?: ReferenceOptions) => QueryResult[];

/** True when a window [start, end) is closed for these options. */
export function windowClosed(end: number, options: ReferenceOptions | undefined): boolean {
  return options?.watermark === undefined || end + (options.graceMs ?? 0) <= options.watermark;
}
