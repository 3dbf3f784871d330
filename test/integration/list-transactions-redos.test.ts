// ListTransactions v2's transactionalIdPattern is client input run against every transactional
// id. A backtracking engine takes exponential time on a pattern such as (a+)+ against an id of
// a's that ends in another letter, and the broker's one event loop would stop for every
// connection. The pattern is matched by an RE2 engine (time linear in the id): the answer is
// right, and another connection is answered meanwhile. Patterns RE2 cannot compile, or that
// pass the broker's bounds, answer an error code at once.
//
// Nothing here measures time: a broker that hangs fails the deadlines (answered()) instead.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { initTxnProducer } from '../helpers/txn-requests.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { ErrorCode } from '../../src/protocol/errors.js';

// Ids of a's: the catastrophic pattern matches these whole...
const MATCHING = Array.from({ length: 5 }, (_, i) => 'a'.repeat(1000 + i));
// ...and must give up on these, which is where backtracking explodes (2^1000 ways to split the a's).
const FAILING = Array.from({ length: 60 }, (_, i) => `${'a'.repeat(1000 + i)}b`);
const OTHERS = ['orders-1', 'orders-2', 'Payments-1'];

let broker: BrokerProcess;
let c: WireClient;

before(async () => {
  broker = await startBroker();
  c = await WireClient.connect(broker.port);
  for (const id of [...MATCHING, ...FAILING, ...OTHERS]) await initTxnProducer(c, id);
});

after(async () => {
  c?.close();
  await broker?.cleanup();
});

/** `p`, or a failure naming `what` after `ms`: a broker whose event loop is stuck never answers. */
function answered<T>(p: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
    }),
  ]);
}

type Listing = { errorCode: number; transactionStates: { transactionalId: string }[] };
const list = (client: WireClient, transactionalIdPattern: string | null): Promise<Listing> =>
  client.request(ApiKey.ListTransactions, 2, { stateFilters: [], producerIdFilters: [], durationFilter: -1, transactionalIdPattern });
const ids = (r: Listing): string[] => r.transactionStates.map((t) => t.transactionalId).sort();

test('a catastrophic-backtracking pattern lists the matching ids, and another connection is served meanwhile', { timeout: 60_000 }, async () => {
  const other = await WireClient.connect(broker.port);
  try {
    const listing = list(c, '(a+)+$');
    listing.catch(() => undefined); // awaited below; should the other request fail first, no unhandled rejection
    const versions = other.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    assert.equal((await answered(versions, 'ApiVersions on a second connection while the pattern runs')).errorCode, ErrorCode.NONE);
    const r = await answered(listing, 'ListTransactions with (a+)+$');
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(ids(r), [...MATCHING].sort());
    // Nested quantifiers over the whole id, and the same again anchored inside a group.
    assert.deepEqual(ids(await answered(list(c, '(a|aa)*b'), 'ListTransactions with (a|aa)*b')), [...FAILING].sort());
    assert.deepEqual(ids(await answered(list(c, '((a*)*)*c'), 'ListTransactions with ((a*)*)*c')), []);
  } finally {
    other.close();
  }
});

test('patterns RE2 cannot compile answer INVALID_REGULAR_EXPRESSION, and the broker goes on', { timeout: 60_000 }, async () => {
  // Bad syntax, a backreference, lookahead, lookbehind, a possessive quantifier, a repeat past 1000.
  for (const pattern of ['orders-(', '(a)\\1', 'orders(?=-1)', '(?<=orders)-1', 'a*+', 'a{1001}']) {
    const r = await answered(list(c, pattern), `ListTransactions with ${pattern}`);
    assert.equal(r.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION, pattern);
    assert.deepEqual(r.transactionStates, [], pattern);
  }
  assert.deepEqual(ids(await list(c, 'orders-.*')), ['orders-1', 'orders-2']);
});

test('a pattern over 1024 characters is INVALID_REQUEST; one that compiles to a large program is INVALID_REGULAR_EXPRESSION', { timeout: 60_000 }, async () => {
  const long = await answered(list(c, `orders-${'x?'.repeat(600)}1`), 'ListTransactions with a long pattern');
  assert.equal(long.errorCode, ErrorCode.INVALID_REQUEST);
  assert.deepEqual(long.transactionStates, []);
  const atBound = await list(c, `orders-1|${'z'.repeat(1024 - 'orders-1|'.length)}`);
  assert.equal(atBound.errorCode, ErrorCode.NONE, 'exactly 1024 characters is accepted');
  assert.deepEqual(ids(atBound), ['orders-1']);
  // 33 characters, but every [ab]{999} is a thousand instructions, each a step per character of every id.
  const large = await answered(list(c, '[ab]*a[ab]{999}[ab]{999}[ab]{999}'), 'ListTransactions with a large program');
  assert.equal(large.errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
});

test('ordinary patterns match the whole id, with RE2 syntax', { timeout: 60_000 }, async () => {
  assert.deepEqual(ids(await list(c, 'orders-[0-9]+')), ['orders-1', 'orders-2']);
  assert.deepEqual(ids(await list(c, 'orders')), [], 'a prefix alone does not match: matches(), not find()');
  assert.deepEqual(ids(await list(c, '.*-1')), ['Payments-1', 'orders-1']);
  assert.deepEqual(ids(await list(c, '(?i)payments-\\d')), ['Payments-1'], 'RE2 flags and classes');
  assert.deepEqual(ids(await list(c, 'orders-1|Payments-1')), ['Payments-1', 'orders-1'], 'an alternation at the top is inside the whole-id match');
  assert.equal((await list(c, '')).transactionStates.length, MATCHING.length + FAILING.length + OTHERS.length, 'an empty pattern filters nothing');
});
