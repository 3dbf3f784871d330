// ListTransactions (key 66), v0-2: the transactional ids this broker coordinates, with their
// producer id and state. Filters, all optional and combined: states (names compared without
// case or underscores; names that are no state come back in unknownStateFilters), producer
// ids, v1+ a duration (only transactions open longer than that many milliseconds: a
// transactional id with no transaction open has no duration and is left out), v2+ a regular
// expression the whole transactional id must match (INVALID_REGULAR_EXPRESSION when it does
// not compile). Ids in the Dead state are never listed, as Kafka does.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ListTransactionsRequest, ListTransactionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { TxnState } from '../txn/coordinator.js';
import { listTransactionsServer } from '../../protocol/generated/list-transactions.js';

const stateKey = (s: string): string => s.toLowerCase().replace(/[^a-z]/g, '');
const STATES = new Map(Object.values(TxnState).map((s) => [stateKey(s), s]));

function handle(ctx: RequestContext, req: ListTransactionsRequest): ListTransactionsResponse {
  const answer = (errorCode: number): ListTransactionsResponse => ({ throttleTimeMs: 0, errorCode, unknownStateFilters: [], transactionStates: [] });
  const states = new Set<string>();
  const unknownStateFilters: string[] = [];
  for (const s of req.stateFilters) {
    const known = STATES.get(stateKey(s));
    if (known === undefined) unknownStateFilters.push(s);
    else states.add(known);
  }
  // Only unknown names: nothing can match (Kafka answers no transactions then, too).
  if (req.stateFilters.length > 0 && states.size === 0) return { ...answer(ErrorCode.NONE), unknownStateFilters };
  const producerIds = new Set(req.producerIdFilters);
  const duration = req.durationFilter ?? -1;
  let pattern: RegExp | null = null;
  if (req.transactionalIdPattern) {
    try {
      pattern = new RegExp(`^(?:${req.transactionalIdPattern})$`);
    } catch {
      return answer(ErrorCode.INVALID_REGULAR_EXPRESSION);
    }
  }
  const now = Date.now();
  const transactionStates = [];
  for (const t of ctx.txns.txns.values()) {
    if (t.state === TxnState.Dead) continue;
    if (states.size > 0 && !states.has(t.state)) continue;
    if (producerIds.size > 0 && !producerIds.has(t.producerId)) continue;
    if (duration >= 0 && (t.startMs < 0 || now - t.startMs <= duration)) continue;
    if (pattern !== null && !pattern.test(t.id)) continue;
    transactionStates.push({ transactionalId: t.id, producerId: t.producerId, transactionState: t.state });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates };
}

export const listTransactions: HandlerEntry<ListTransactionsRequest, ListTransactionsResponse> = { codec: listTransactionsServer, minVersion: 0, maxVersion: 2, handle };
