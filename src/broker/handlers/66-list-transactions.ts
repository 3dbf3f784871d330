// ListTransactions (key 66), v0-2: the transactional ids this broker coordinates, with their
// producer id and state. Filters, all optional and combined: states (names compared without
// case or underscores; names that are no state come back in unknownStateFilters), producer
// ids, v1+ a duration (only transactions open longer than that many milliseconds: a
// transactional id with no transaction open has no duration and is left out), v2+ a regular
// expression the whole transactional id must match. Ids in the Dead state are never listed,
// as Kafka does.
//
// The pattern is RE2 syntax, matched in time linear in the id. Kafka (KIP-1152) compiles it
// with RE2/J and asks matches(); re2js is RE2/J ported to JavaScript, so the same patterns
// compile and match here. JavaScript's RegExp would backtrack: one pattern such as (a+)+$
// against a long id would hold the event loop, and every connection with it. A pattern that
// does not compile (bad syntax, or what RE2 lacks: backreferences, lookaround) is
// INVALID_REGULAR_EXPRESSION, as Kafka answers; so is one whose program is larger than
// MAX_PATTERN_PROGRAM. One longer than MAX_PATTERN_CHARS is INVALID_REQUEST (Kafka has no
// such bound). The response has no field for a message, so the reason goes to the debug log.
//
// ACLs: only the transactional ids the principal may DESCRIBE are listed.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ListTransactionsRequest, ListTransactionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { TxnState } from '../txn/coordinator.js';
import { listTransactionsServer } from '../../protocol/generated/list-transactions.js';
import { AclOperation, ResourceType } from '../acl/acl.js';

/** Longest transactionalIdPattern accepted, in characters. */
export const MAX_PATTERN_CHARS = 1024;
/**
 * Largest compiled pattern accepted, in RE2 instructions. Matching costs up to this many steps
 * per character of an id, and repetition lets a short pattern compile large ([ab]{999} is ~1000
 * instructions). 2048 holds any literal or alternation of ids that fits in MAX_PATTERN_CHARS.
 */
export const MAX_PATTERN_PROGRAM = 2048;

const stateKey = (s: string): string => s.toLowerCase().replace(/[^a-z]/g, '');
const STATES = new Map<string, TxnState | null>(Object.values(TxnState).map((s) => [stateKey(s), s]));
// Kafka's TransactionState.fromName knows PrepareEpochFence, so it is no unknown filter; this
// broker never stores the state (a fencing abort is PrepareAbort), so it matches nothing.
STATES.set(stateKey('PrepareEpochFence'), null);

// Loaded with the first pattern: most brokers never see one, and start-up need not parse it.
let re2: Promise<typeof import('re2js')> | null = null;

type Matcher = (id: string) => boolean;

/** The pattern as a whole-id matcher, or the error code that refuses it. */
async function compile(ctx: RequestContext, pattern: string): Promise<Matcher | number> {
  if (pattern.length > MAX_PATTERN_CHARS) {
    ctx.logger.debug('transactional id pattern refused: too long', { length: pattern.length, max: MAX_PATTERN_CHARS, client: ctx.header.clientId });
    return ErrorCode.INVALID_REQUEST;
  }
  const { RE2JS } = await (re2 ??= import('re2js'));
  let p: InstanceType<typeof RE2JS>;
  try {
    p = RE2JS.compile(pattern);
  } catch (e) {
    ctx.logger.debug('transactional id pattern refused: not an RE2 regular expression', { pattern, reason: (e as Error).message, client: ctx.header.clientId });
    return ErrorCode.INVALID_REGULAR_EXPRESSION;
  }
  if (p.programSize() > MAX_PATTERN_PROGRAM) {
    ctx.logger.debug('transactional id pattern refused: compiles too large', { pattern, programSize: p.programSize(), max: MAX_PATTERN_PROGRAM, client: ctx.header.clientId });
    return ErrorCode.INVALID_REGULAR_EXPRESSION;
  }
  return (id) => p.matches(id);
}

async function handle(ctx: RequestContext, req: ListTransactionsRequest): Promise<ListTransactionsResponse> {
  const answer = (errorCode: number): ListTransactionsResponse => ({ throttleTimeMs: 0, errorCode, unknownStateFilters: [], transactionStates: [] });
  const states = new Set<string>();
  const unknownStateFilters: string[] = [];
  for (const s of req.stateFilters) {
    const known = STATES.get(stateKey(s));
    if (known === undefined) unknownStateFilters.push(s);
    else if (known !== null) states.add(known);
  }
  // No name of a state that occurs (unknown ones, PrepareEpochFence): nothing can match (Kafka answers no transactions then, too).
  if (req.stateFilters.length > 0 && states.size === 0) return { ...answer(ErrorCode.NONE), unknownStateFilters };
  const producerIds = new Set(req.producerIdFilters);
  const duration = req.durationFilter ?? -1;
  let matches: Matcher | null = null;
  if (req.transactionalIdPattern) {
    const compiled = await compile(ctx, req.transactionalIdPattern);
    if (typeof compiled === 'number') return answer(compiled);
    matches = compiled;
  }
  const now = Date.now();
  const transactionStates = [];
  for (const t of ctx.txns.txns.values()) {
    if (t.state === TxnState.Dead) continue;
    if (states.size > 0 && !states.has(t.state)) continue;
    if (producerIds.size > 0 && !producerIds.has(t.producerId)) continue;
    if (duration >= 0 && (t.startMs < 0 || now - t.startMs <= duration)) continue;
    if (matches !== null && !matches(t.id)) continue;
    if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, t.id, true)) continue;
    transactionStates.push({ transactionalId: t.id, producerId: t.producerId, transactionState: t.state });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates };
}

export const listTransactions: HandlerEntry<ListTransactionsRequest, ListTransactionsResponse> = { codec: listTransactionsServer, minVersion: 0, maxVersion: 2, handle };
