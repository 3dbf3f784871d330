// The work behind `rivulet txn ...` (see txn.ts): transaction administration against any
// Kafka-protocol cluster, as Apache Kafka's kafka-transactions tool does it, through
// @platformatic/kafka's connections and raw API functions (the Admin client has no
// transaction calls): ListTransactions to every broker, DescribeTransactions at the
// transactional id's coordinator, DescribeProducers and WriteTxnMarkers at the partition's
// leader. The library has no WriteTxnMarkers, so its v1 request is defined here with the
// library's own writer and reader; so is ListTransactions, whose v2 reader in the library
// expects an error message the response does not carry (Kafka 4.3's definition has none) and
// misreads every answer. Loaded only when a txn command runs.

import {
  Admin,
  createAPI,
  FindCoordinatorKeyTypes,
  kGetApi,
  kGetConnection,
  Writer,
  type Reader,
  type describeProducersV0,
  type describeTransactionsV0,
} from '@platformatic/kafka';
import { CliError, connection, usageError, checkTopicName, type ClientFlags } from './client-common.js';
import { requireTopic, withAdmin } from '../client/admin.js';
import { findProtocolError } from '../client/errors.js';

interface ListResponse {
  throttleTimeMs: number;
  errorCode: number;
  unknownStateFilters: string[];
  transactionStates: { transactionalId: string; producerId: bigint; transactionState: string }[];
}
type DescribeResponse = describeTransactionsV0.DescribeTransactionsResponse;
type TxnDescription = describeTransactionsV0.DescribeTransactionsResponseTransactionState;
type ProducersResponse = describeProducersV0.DescribeProducersResponse;

// ---- output ----

/** Left-aligned columns separated by two spaces, like `rivulet group`. */
function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].map((l) => `${l}\n`).join('');
}

const num = (v: bigint | number): number => Number(v);

// ---- transaction states ----

/** Kafka's transaction state names, as brokers report them and ListTransactions filters by. */
export const TXN_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'PrepareEpochFence', 'Dead'];
const stateKey = (s: string): string => s.toLowerCase().replace(/[^a-z]/g, '');

function parseStates(v: string | undefined): string[] {
  if (v === undefined) return [];
  const out: string[] = [];
  for (const raw of v.split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    const name = TXN_STATES.find((n) => stateKey(n) === stateKey(s));
    if (!name) throw usageError(`unknown transaction state "${s}": use ${TXN_STATES.join(', ')}.`);
    if (!out.includes(name)) out.push(name);
  }
  if (out.length === 0) throw usageError('--state is empty: give one or more states, comma-separated.');
  return out;
}

// ---- raw requests through the library's connections ----

interface Node {
  nodeId: number;
  host: string;
  port: number;
}

type Api = ((connection: unknown, ...args: unknown[]) => void) & { version: number };
type Symbols = Record<symbol, (...a: unknown[]) => void>;

function connectionTo(admin: Admin, node: Node): Promise<unknown> {
  const sym = admin as unknown as Symbols;
  return new Promise<unknown>((res, rej) => sym[kGetConnection]!.call(admin, { host: node.host, port: node.port }, (e: Error | null, c?: unknown) => (e ? rej(e) : res(c))));
}

/** The library's implementation of `name` at the highest version both it and the cluster speak. */
function apiFor(admin: Admin, name: string): Promise<Api> {
  const sym = admin as unknown as Symbols;
  return new Promise<Api>((res, rej) => sym[kGetApi]!.call(admin, name, (e: Error | null, a?: Api) => (e ? rej(e) : res(a!))));
}

function call<T>(api: Api, conn: unknown, ...args: unknown[]): Promise<T> {
  return new Promise<T>((res, rej) => api(conn, ...args, (e: Error | null, r?: T) => (e ? rej(e) : res(r!))));
}

/** Every broker of the cluster, from fresh metadata. */
async function brokers(admin: Admin): Promise<Node[]> {
  const m = await admin.metadata({ topics: [], forceUpdate: true });
  return [...m.brokers].map(([nodeId, b]) => ({ nodeId, host: b.host, port: b.port })).sort((a, b) => a.nodeId - b.nodeId);
}

/** A partition's leader, from fresh metadata of its topic. */
async function leaderOf(admin: Admin, topic: string, partition: number): Promise<Node> {
  const t = await requireTopic(admin, topic);
  const p = t.partitions[partition];
  if (p === undefined) throw new CliError(`topic "${topic}" has no partition ${partition} (it has ${t.partitionsCount}).`);
  return nodeById(admin, p.leader, `the leader of ${topic}-${partition}`);
}

async function nodeById(admin: Admin, nodeId: number, what: string): Promise<Node> {
  const b = (await admin.metadata({ topics: [] })).brokers.get(nodeId);
  if (b === undefined) throw new CliError(`${what} (broker ${nodeId}) is not in the cluster's metadata; try again once the cluster has elected one.`);
  return { nodeId, host: b.host, port: b.port };
}

/** The coordinator of a transactional id, retried briefly while it is loading or moving. */
async function coordinatorOf(admin: Admin, id: string): Promise<Node> {
  const found = await admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.TRANSACTION, keys: [id] });
  const c = found.find((x) => x.key === id) ?? found[0];
  if (!c || c.nodeId < 0) throw new CliError(`no transaction coordinator is available for transactional id "${id}".`);
  return { nodeId: c.nodeId, host: c.host, port: c.port };
}

async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const retry = findProtocolError(e, 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'NOT_LEADER_OR_FOLLOWER');
      if (!retry || attempt >= 5) throw e;
      await new Promise((res) => setTimeout(res, 300));
    }
  }
}

/** The response a library ResponseError carries (the library throws on any error code inside). */
function responseOf<T>(e: unknown): T | undefined {
  return (e as { response?: T } | null)?.response;
}

// ---- WriteTxnMarkers v1 (not in the library) ----

interface MarkerRequest {
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  topics: { name: string; partitionIndexes: number[] }[];
}

interface MarkerResult {
  producerId: bigint;
  topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];
}

/*
  WriteTxnMarkers Request (Version: 1) => [markers] TAG_BUFFER
    markers => producer_id producer_epoch transaction_result [topics] coordinator_epoch TAG_BUFFER
      topics => name [partition_indexes] TAG_BUFFER
*/
function writeTxnMarkersRequest(markers: MarkerRequest[]): Writer {
  return Writer.create()
    .appendArray(markers, (w, m) => {
      w.appendInt64(m.producerId)
        .appendInt16(m.producerEpoch)
        .appendBoolean(m.commit)
        .appendArray(m.topics, (tw, t) => {
          tw.appendString(t.name).appendArray(t.partitionIndexes, (pw, p) => pw.appendInt32(p), true, false);
        })
        .appendInt32(m.coordinatorEpoch);
    })
    .appendTaggedFields();
}

/*
  WriteTxnMarkers Response (Version: 1) => [markers] TAG_BUFFER
    markers => producer_id [topics] TAG_BUFFER
      topics => name [partitions] TAG_BUFFER
        partitions => partition_index error_code TAG_BUFFER
*/
function writeTxnMarkersResponse(_correlationId: number, _apiKey: number, _apiVersion: number, reader: Reader): MarkerResult[] {
  const markers = reader.readArray((r) => ({
    producerId: r.readInt64(),
    topics: r.readArray((tr) => ({
      name: tr.readString(),
      partitions: tr.readArray((pr) => ({ partitionIndex: pr.readInt32(), errorCode: pr.readInt16() })),
    })),
  }));
  reader.readTaggedFields();
  return markers;
}

const writeTxnMarkersV1 = createAPI(27, 1, writeTxnMarkersRequest, writeTxnMarkersResponse) as unknown as Api;

/** Kafka's names of the error codes WriteTxnMarkers answers, with what each means here. */
const MARKER_ERRORS: Record<number, string> = {
  3: 'UNKNOWN_TOPIC_OR_PARTITION: the partition does not exist on its leader',
  6: 'NOT_LEADER_OR_FOLLOWER: the partition moved; run the command again',
  47: 'INVALID_PRODUCER_EPOCH: the partition knows this producer at a newer epoch (check --producer-epoch with: rivulet txn describe-producers)',
  52: 'TRANSACTION_COORDINATOR_FENCED: a newer coordinator epoch wrote to this partition (check --coordinator-epoch)',
  56: 'KAFKA_STORAGE_ERROR: the broker could not store the marker (disk full or failing); run the command again once it is fixed',
  31: 'CLUSTER_AUTHORIZATION_FAILED: writing markers needs the ClusterAction permission',
};

// ---- ListTransactions v0-2 (the library's v2 reader is wrong) ----

/*
  ListTransactions Request (Version: 0-2) => [state_filters] [producer_id_filters] duration_filter (v1+) transactional_id_pattern (v2+) TAG_BUFFER
*/
function listTransactionsRequest(version: number): (states: string[], producerIds: bigint[], durationMs: bigint, pattern: string | null) => Writer {
  return (states, producerIds, durationMs, pattern) => {
    const w = Writer.create()
      .appendArray(states, (x, s) => x.appendString(s), true, false)
      .appendArray(producerIds, (x, id) => x.appendInt64(id), true, false);
    if (version >= 1) w.appendInt64(durationMs);
    if (version >= 2) w.appendString(pattern);
    return w.appendTaggedFields();
  };
}

/*
  ListTransactions Response (Version: 0-2) => throttle_time_ms error_code [unknown_state_filters] [transaction_states] TAG_BUFFER
    transaction_states => transactional_id producer_id transaction_state TAG_BUFFER
*/
function listTransactionsResponse(_correlationId: number, _apiKey: number, _apiVersion: number, reader: Reader): ListResponse {
  const r: ListResponse = {
    throttleTimeMs: reader.readInt32(),
    errorCode: reader.readInt16(),
    unknownStateFilters: reader.readArray((x) => x.readString(), true, false),
    transactionStates: reader.readArray((x) => ({ transactionalId: x.readString(), producerId: x.readInt64(), transactionState: x.readString() })),
  };
  reader.readTaggedFields();
  return r;
}

const listTransactionsApis = [0, 1, 2].map((v) => createAPI(66, v, listTransactionsRequest(v), listTransactionsResponse) as unknown as Api);

// ---- list ----

export interface ListFlags extends ClientFlags {
  state?: string;
  minDurationMs?: number;
  producerId?: number[];
  pattern?: string;
  json?: boolean;
}

interface Listing {
  transactionalId: string;
  coordinator: number;
  producerId: number;
  state: string;
}

/** ListTransactions to every broker (each lists the ids it coordinates). */
async function listAll(admin: Admin, states: string[], producerIds: bigint[], minDurationMs: number, pattern: string | null): Promise<Listing[]> {
  // The library picks the version both sides speak; the request is sent with this module's codec.
  const api = listTransactionsApis[Math.min(2, (await apiFor(admin, 'ListTransactions')).version)]!;
  if (minDurationMs >= 0 && api.version < 1) throw new CliError('the cluster does not support filtering transactions by duration (ListTransactions v1, Kafka 3.8+); leave out --min-duration-ms.');
  if (pattern !== null && api.version < 2) throw new CliError('the cluster does not support filtering transactions by a transactional id pattern (ListTransactions v2, Kafka 4.1+); leave out --pattern.');
  const args: unknown[] = [states, producerIds];
  if (api.version >= 1) args.push(BigInt(minDurationMs));
  if (api.version >= 2) args.push(pattern);
  const out: Listing[] = [];
  for (const node of await brokers(admin)) {
    const r = await call<ListResponse>(api, await connectionTo(admin, node), ...args);
    if (r.errorCode === 128) throw usageError(`--pattern "${pattern}" is not a regular expression broker ${node.nodeId} accepts (INVALID_REGULAR_EXPRESSION).`);
    if (r.errorCode === 42 && pattern !== null) throw usageError(`broker ${node.nodeId} refused the request (INVALID_REQUEST); Rivulet brokers answer so to a --pattern longer than 1024 characters.`);
    if (r.errorCode !== 0) throw new CliError(`broker ${node.nodeId} could not list its transactions: error code ${r.errorCode}${r.errorCode === 15 ? ' (COORDINATOR_NOT_AVAILABLE: it is still starting)' : ''}.`);
    for (const t of r.transactionStates) out.push({ transactionalId: t.transactionalId, coordinator: node.nodeId, producerId: num(t.producerId), state: t.transactionState });
  }
  return out.sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0));
}

export async function listTransactions(o: ListFlags): Promise<number> {
  const states = parseStates(o.state);
  if (o.pattern !== undefined) {
    // Brokers compile it with RE2 (Kafka with RE2/J), not JavaScript's syntax: check it the same way.
    const { RE2JS } = await import('re2js');
    try {
      RE2JS.compile(o.pattern);
    } catch (e) {
      throw usageError(`--pattern "${o.pattern}" is not a regular expression: ${(e as Error).message}.`);
    }
  }
  return withAdmin(connection(o), async (admin) => {
    const rows = await listAll(admin, states, (o.producerId ?? []).map(BigInt), o.minDurationMs ?? -1, o.pattern ?? null);
    if (o.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
    else process.stdout.write(table(['TransactionalId', 'Coordinator', 'ProducerId', 'TransactionState'], rows.map((r) => [r.transactionalId, String(r.coordinator), String(r.producerId), r.state])));
    return 0;
  });
}

// ---- describe ----

export interface DescribeFlags extends ClientFlags {
  json?: boolean;
}

/** DescribeTransactions at the coordinator; null when it does not know the id. */
async function describeRaw(admin: Admin, id: string): Promise<{ coordinator: Node; txn: TxnDescription | null }> {
  return retrying(async () => {
    const coordinator = await coordinatorOf(admin, id);
    const api = await apiFor(admin, 'DescribeTransactions');
    let r: DescribeResponse;
    try {
      r = await call<DescribeResponse>(api, await connectionTo(admin, coordinator), [id]);
    } catch (e) {
      const partial = responseOf<DescribeResponse>(e);
      if (findProtocolError(e, 'TRANSACTIONAL_ID_NOT_FOUND') && partial) r = partial;
      else throw e;
    }
    const txn = r.transactionStates.find((t) => t.transactionalId === id) ?? null;
    return { coordinator, txn: txn === null || txn.errorCode !== 0 ? null : txn };
  });
}

export async function describeTransaction(id: string, o: DescribeFlags): Promise<number> {
  if (id === '') throw usageError('the transactional id must not be empty.');
  return withAdmin(connection(o), async (admin) => {
    const { coordinator, txn } = await describeRaw(admin, id);
    if (txn === null) throw new CliError(`transactional id "${id}" is not known to its coordinator (broker ${coordinator.nodeId}): TRANSACTIONAL_ID_NOT_FOUND. List the ids with: rivulet txn list`);
    const start = num(txn.transactionStartTimeMs);
    const partitions = txn.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`));
    const durationMs = start >= 0 ? Math.max(0, Date.now() - start) : null;
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify({
          coordinator: coordinator.nodeId,
          transactionalId: id,
          producerId: num(txn.producerId),
          producerEpoch: txn.producerEpoch,
          state: txn.transactionState,
          timeoutMs: txn.transactionTimeoutMs,
          startTimeMs: start >= 0 ? start : null,
          durationMs,
          partitions: txn.topics.map((t) => ({ topic: t.topic, partitions: t.partitions })),
        })}\n`,
      );
    } else {
      process.stdout.write(
        table(
          ['CoordinatorId', 'TransactionalId', 'ProducerId', 'ProducerEpoch', 'TransactionState', 'TransactionTimeoutMs', 'CurrentTransactionStartTimeMs', 'TransactionDurationMs', 'TopicPartitions'],
          [[String(coordinator.nodeId), id, String(num(txn.producerId)), String(txn.producerEpoch), txn.transactionState, String(txn.transactionTimeoutMs), start >= 0 ? String(start) : 'None', durationMs === null ? 'None' : String(durationMs), partitions.join(',') || '-']],
        ),
      );
    }
    return 0;
  });
}

// ---- describe-producers ----

export interface ProducersFlags extends ClientFlags {
  topic: string;
  partition: number;
  json?: boolean;
}

interface ProducerRow {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  lastSequence: number;
  lastTimestamp: number;
  /** -1 when the producer has no transaction open in the partition. */
  currentTxnStartOffset: number;
}

/** DescribeProducers for partitions of one leader; a partition's error becomes its entry's error name. */
async function producersAt(admin: Admin, node: Node, partitions: { topic: string; partition: number }[]): Promise<Map<string, ProducerRow[] | { error: string }>> {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  const api = await apiFor(admin, 'DescribeProducers');
  let r: ProducersResponse;
  try {
    r = await call<ProducersResponse>(api, await connectionTo(admin, node), [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })));
  } catch (e) {
    const partial = responseOf<ProducersResponse>(e);
    if (partial === undefined || findProtocolError(e) === undefined) throw e;
    r = partial;
  }
  const out = new Map<string, ProducerRow[] | { error: string }>();
  for (const t of r.topics) {
    for (const p of t.partitions) {
      const key = `${t.name}\0${p.partitionIndex}`;
      if (p.errorCode !== 0) {
        out.set(key, { error: `${errorName(p.errorCode)}${p.errorMessage ? ` (${p.errorMessage})` : ''}` });
        continue;
      }
      out.set(
        key,
        p.activeProducers.map((a) => ({
          producerId: num(a.producerId),
          producerEpoch: a.producerEpoch,
          coordinatorEpoch: a.coordinatorEpoch,
          lastSequence: a.lastSequence,
          lastTimestamp: num(a.lastTimestamp),
          currentTxnStartOffset: num(a.currentTxnStartOffset),
        })),
      );
    }
  }
  return out;
}

const ERROR_NAMES: Record<number, string> = { 3: 'UNKNOWN_TOPIC_OR_PARTITION', 6: 'NOT_LEADER_OR_FOLLOWER', 29: 'TOPIC_AUTHORIZATION_FAILED', 56: 'KAFKA_STORAGE_ERROR' };
const errorName = (code: number): string => ERROR_NAMES[code] ?? `error ${code}`;

async function producersOf(admin: Admin, topic: string, partition: number): Promise<ProducerRow[]> {
  return retrying(async () => {
    const leader = await leaderOf(admin, topic, partition);
    const r = (await producersAt(admin, leader, [{ topic, partition }])).get(`${topic}\0${partition}`);
    if (r === undefined) throw new CliError(`broker ${leader.nodeId} left ${topic}-${partition} out of its DescribeProducers answer.`);
    if (!Array.isArray(r)) throw new CliError(`broker ${leader.nodeId} could not describe the producers of ${topic}-${partition}: ${r.error}.`);
    return r;
  });
}

const startOffsetText = (o: number): string => (o >= 0 ? String(o) : 'None');

export async function describeProducers(o: ProducersFlags): Promise<number> {
  checkTopicName(o.topic);
  return withAdmin(connection(o), async (admin) => {
    const rows = await producersOf(admin, o.topic, o.partition);
    if (o.json) process.stdout.write(`${JSON.stringify(rows.map((r) => ({ ...r, currentTxnStartOffset: r.currentTxnStartOffset >= 0 ? r.currentTxnStartOffset : null })))}\n`);
    else {
      process.stdout.write(
        table(
          ['ProducerId', 'ProducerEpoch', 'LatestCoordinatorEpoch', 'LastSequence', 'LastTimestamp', 'CurrentTransactionStartOffset'],
          rows.map((r) => [String(r.producerId), String(r.producerEpoch), String(r.coordinatorEpoch), String(r.lastSequence), String(r.lastTimestamp), startOffsetText(r.currentTxnStartOffset)]),
        ),
      );
    }
    return 0;
  });
}

// ---- abort ----

export interface AbortFlags extends ClientFlags {
  topic: string;
  partition: number;
  producerId?: number;
  producerEpoch?: number;
  coordinatorEpoch?: number;
  startOffset?: number;
}

export async function abortTransaction(o: AbortFlags): Promise<number> {
  checkTopicName(o.topic);
  const byProducer = o.producerId !== undefined || o.producerEpoch !== undefined;
  if (o.startOffset !== undefined && byProducer) throw usageError('give either --start-offset or --producer-id with --producer-epoch, not both.');
  if (o.startOffset === undefined && (o.producerId === undefined || o.producerEpoch === undefined)) {
    throw usageError('name the transaction to abort: --producer-id and --producer-epoch (from: rivulet txn describe-producers), or --start-offset.');
  }
  return withAdmin(connection(o), async (admin) => {
    let producerId = o.producerId!;
    let producerEpoch = o.producerEpoch!;
    let coordinatorEpoch = o.coordinatorEpoch ?? 0;
    if (o.startOffset !== undefined) {
      const found = (await producersOf(admin, o.topic, o.partition)).find((p) => p.currentTxnStartOffset === o.startOffset);
      if (found === undefined) throw new CliError(`no transaction open in ${o.topic}-${o.partition} starts at offset ${o.startOffset} (see: rivulet txn describe-producers --topic ${o.topic} --partition ${o.partition}).`);
      producerId = found.producerId;
      producerEpoch = found.producerEpoch;
      if (o.coordinatorEpoch === undefined) coordinatorEpoch = found.coordinatorEpoch;
    }
    // A producer that never had a marker reports coordinator epoch -1; 0 is at most any real one (as Kafka's tool does).
    if (coordinatorEpoch < 0) coordinatorEpoch = 0;
    const result = await retrying(async () => {
      const leader = await leaderOf(admin, o.topic, o.partition);
      const conn = await connectionTo(admin, leader);
      const r = await call<MarkerResult[]>(writeTxnMarkersV1, conn, [
        { producerId: BigInt(producerId), producerEpoch, commit: false, coordinatorEpoch, topics: [{ name: o.topic, partitionIndexes: [o.partition] }] },
      ]);
      const code = r.flatMap((m) => m.topics).find((t) => t.name === o.topic)?.partitions.find((p) => p.partitionIndex === o.partition)?.errorCode;
      return { leader, code };
    });
    if (result.code === undefined) throw new CliError(`broker ${result.leader.nodeId} left ${o.topic}-${o.partition} out of its WriteTxnMarkers answer.`);
    if (result.code !== 0) {
      throw new CliError(`the transaction of producer ${producerId} (epoch ${producerEpoch}) on ${o.topic}-${o.partition} was not aborted: ${MARKER_ERRORS[result.code] ?? `error code ${result.code}`}.`);
    }
    process.stdout.write(`aborted the transaction of producer ${producerId} (epoch ${producerEpoch}) on ${o.topic}-${o.partition}: an ABORT marker was written by broker ${result.leader.nodeId}\n`);
    return 0;
  });
}

// ---- find-hanging ----

export interface HangingFlags extends ClientFlags {
  maxTransactionTimeoutMinutes: number;
  brokerId?: number;
  topic?: string;
  partition?: number;
  json?: boolean;
}

interface Hanging {
  topic: string;
  partition: number;
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  startOffset: number;
  lastTimestamp: number;
  durationMinutes: number;
}

/**
 * As kafka-transactions find-hanging: every producer whose transaction in a partition has
 * been open (by its last write) longer than the largest transaction timeout is a candidate;
 * it is hanging when no coordinator lists its producer id, or when its transactional id's
 * current transaction does not include that partition (the coordinator will never write a
 * marker there).
 */
export async function findHanging(o: HangingFlags): Promise<number> {
  if (o.partition !== undefined && o.topic === undefined) throw usageError('--partition needs --topic.');
  if (o.topic !== undefined) checkTopicName(o.topic);
  const maxMs = o.maxTransactionTimeoutMinutes * 60_000;
  return withAdmin(connection(o), async (admin) => {
    const topics = o.topic !== undefined ? [o.topic] : [...(await admin.listTopics({ includeInternals: true }))];
    const byLeader = new Map<number, { topic: string; partition: number }[]>();
    for (const topic of topics) {
      const t = await requireTopic(admin, topic);
      t.partitions.forEach((p, partition) => {
        if (o.partition !== undefined && partition !== o.partition) return;
        if (o.brokerId !== undefined && !p.replicas.includes(o.brokerId)) return;
        const target = o.brokerId ?? p.leader;
        byLeader.set(target, [...(byLeader.get(target) ?? []), { topic, partition }]);
      });
    }
    if (o.partition !== undefined && byLeader.size === 0) throw new CliError(`topic "${o.topic}" has no partition ${o.partition}${o.brokerId === undefined ? '' : ` on broker ${o.brokerId}`}.`);
    const now = Date.now();
    const candidates: Hanging[] = [];
    const notes: string[] = [];
    for (const [nodeId, partitions] of byLeader) {
      const node = await nodeById(admin, nodeId, `broker ${nodeId}`);
      for (let i = 0; i < partitions.length; i += 500) {
        const states = await producersAt(admin, node, partitions.slice(i, i + 500));
        for (const [key, rows] of states) {
          const [topic, p] = key.split('\0') as [string, string];
          if (!Array.isArray(rows)) {
            notes.push(`producers of ${topic}-${p} unavailable on broker ${nodeId}: ${rows.error}`);
            continue;
          }
          for (const r of rows) {
            if (r.currentTxnStartOffset < 0 || now - r.lastTimestamp <= maxMs) continue;
            candidates.push({ topic, partition: Number(p), producerId: r.producerId, producerEpoch: r.producerEpoch, coordinatorEpoch: r.coordinatorEpoch, startOffset: r.currentTxnStartOffset, lastTimestamp: r.lastTimestamp, durationMinutes: Math.floor((now - r.lastTimestamp) / 60_000) });
          }
        }
      }
    }
    let hanging: Hanging[] = [];
    if (candidates.length > 0) {
      const ids = new Map<number, string>();
      for (const l of await listAll(admin, [], [...new Set(candidates.map((c) => BigInt(c.producerId)))], -1, null)) ids.set(l.producerId, l.transactionalId);
      const described = new Map<string, TxnDescription | null>();
      for (const id of new Set(ids.values())) described.set(id, (await describeRaw(admin, id)).txn);
      hanging = candidates.filter((c) => {
        const id = ids.get(c.producerId);
        const d = id === undefined ? null : described.get(id);
        if (d === null || d === undefined) return true;
        return !d.topics.some((t) => t.topic === c.topic && t.partitions.includes(c.partition));
      });
    }
    hanging.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition || a.startOffset - b.startOffset));
    if (o.json) process.stdout.write(`${JSON.stringify(hanging)}\n`);
    else {
      process.stdout.write(
        table(
          ['Topic', 'Partition', 'ProducerId', 'ProducerEpoch', 'CoordinatorEpoch', 'StartOffset', 'LastTimestamp', 'Duration(min)'],
          hanging.map((h) => [h.topic, String(h.partition), String(h.producerId), String(h.producerEpoch), String(h.coordinatorEpoch), String(h.startOffset), String(h.lastTimestamp), String(h.durationMinutes)]),
        ),
      );
    }
    for (const n of notes) process.stderr.write(`rivulet: note: ${n}\n`);
    return 0;
  });
}
