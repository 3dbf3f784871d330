// The work behind `rivulet group ...` (see group.ts): consumer-group administration against
// any Kafka-protocol cluster through @platformatic/kafka's Admin client (ListGroups,
// DescribeGroups, DeleteGroups, OffsetFetch, OffsetCommit, ListOffsets). Loaded only when a
// group command runs, so `rivulet start` does not pay for the client library.
//
// DescribeGroups is sent directly to the group's coordinator (as the Admin client does) so
// that the member metadata and assignment bytes can be decoded here, tolerantly: a group of
// another protocol type (e.g. Kafka Connect) or a member without an assignment yet must not
// make the command fail.

import {
  Admin,
  FindCoordinatorKeyTypes,
  kGetApi,
  kGetConnection,
  type describeGroupsV5,
} from '@platformatic/kafka';
import {
  checkTopicName,
  CliError,
  connection,
  explainError,
  usageError,
  type ClientFlags,
} from './client-common.js';
import { EARLIEST, LATEST, offsetsAt, requireTopic, withAdmin } from '../client/admin.js';
import { findProtocolError, leafErrors } from '../client/errors.js';
import { assignedPartitions, subscribedTopics, type TopicPartitions } from '../protocol/consumer-protocol.js';

type DescribeGroupsResponse = describeGroupsV5.DescribeGroupsResponse;
type RawGroup = describeGroupsV5.DescribeGroupsResponseGroup;


function checkGroupId(id: string): void {
  if (id === '') throw usageError('the group id must not be empty.');
}

const notFound = (id: string): CliError => new CliError(`consumer group "${id}" does not exist (list groups with: rivulet group list).`);

function toNumber(v: bigint | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
}

const show = (v: string | number | bigint | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : String(v));

/** Left-aligned columns separated by two spaces, like kafka-consumer-groups. */
function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].map((l) => `${l}\n`).join('');
}

// ---- group states ----

/** Kafka's state names; brokers and the client library differ in case and underscores. */
const STATE_NAMES = ['Stable', 'Empty', 'PreparingRebalance', 'CompletingRebalance', 'Dead', 'Assigning', 'Reconciling', 'NotReady', 'Unknown'];
const stateKey = (s: string): string => s.toLowerCase().replace(/[^a-z]/g, '');
const canonicalState = (s: string): string => STATE_NAMES.find((n) => stateKey(n) === stateKey(s)) ?? s;

function parseStates(v: string | undefined): Set<string> | null {
  if (v === undefined) return null;
  const out = new Set<string>();
  for (const raw of v.split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    const name = STATE_NAMES.find((n) => stateKey(n) === stateKey(s));
    if (!name) throw usageError(`unknown group state "${s}": use ${STATE_NAMES.join(', ')}.`);
    out.add(stateKey(name));
  }
  if (out.size === 0) throw usageError('--state is empty: give one or more states, comma-separated.');
  return out;
}

// ---- list ----

export interface ListFlags extends ClientFlags {
  state?: string;
  json?: boolean;
}

export async function listGroups(o: ListFlags): Promise<number> {
  const states = parseStates(o.state);
  return withAdmin(connection(o), async (admin) => {
    // Filtered here rather than by the broker: older brokers compare the state names case-sensitively.
    const all = await admin.listGroups({ states: [], types: [] });
    const rows = [...all.values()]
      .map((g) => ({ group: g.id, state: canonicalState(g.state), protocolType: g.protocolType, groupType: g.groupType || null }))
      .filter((g) => states === null || states.has(stateKey(g.state)))
      .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    if (o.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
    else if (states !== null) process.stdout.write(table(['GROUP', 'STATE'], rows.map((r) => [r.group, r.state])));
    else process.stdout.write(rows.map((r) => `${r.group}\n`).join(''));
    return 0;
  });
}

// ---- consumer protocol (ConsumerProtocolSubscription / ConsumerProtocolAssignment) ----

export type { TopicPartitions };

/** A member's assignment, partitions sorted; null when it is not a consumer assignment. */
export const decodeAssignment = assignedPartitions;

/** A member's subscribed topics; null when its metadata is not a consumer subscription. */
export const decodeSubscription = subscribedTopics;

// ---- coordinator requests ----

interface Coordinator {
  nodeId: number;
  host: string;
  port: number;
}

async function findCoordinator(admin: Admin, id: string): Promise<Coordinator> {
  const found = await admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: [id] });
  const c = found.find((x) => x.key === id) ?? found[0];
  if (!c || c.nodeId < 0) throw new CliError(`no coordinator is available for group "${id}".`);
  return { nodeId: c.nodeId, host: c.host, port: c.port };
}

type Api = (connection: unknown, ...args: unknown[]) => void;

/** DescribeGroups for one group at its coordinator, retried briefly while the coordinator is loading or moving. */
async function describeRaw(admin: Admin, id: string): Promise<{ coordinator: Coordinator; group: RawGroup | null }> {
  const sym = admin as unknown as Record<symbol, (...a: unknown[]) => void>;
  for (let attempt = 0; ; attempt++) {
    const coordinator = await findCoordinator(admin, id);
    try {
      const connection = await new Promise<unknown>((res, rej) =>
        sym[kGetConnection]!.call(admin, { host: coordinator.host, port: coordinator.port }, (e: Error | null, c?: unknown) => (e ? rej(e) : res(c))),
      );
      const api = await new Promise<Api>((res, rej) => sym[kGetApi]!.call(admin, 'DescribeGroups', (e: Error | null, a?: Api) => (e ? rej(e) : res(a!))));
      const r = await new Promise<DescribeGroupsResponse>((res, rej) => api(connection, [id], false, (e: Error | null, x?: DescribeGroupsResponse) => (e ? rej(e) : res(x!))));
      return { coordinator, group: r.groups.find((g) => g.groupId === id) ?? null };
    } catch (e) {
      if (findProtocolError(e, 'GROUP_ID_NOT_FOUND')) return { coordinator, group: null };
      const retry = findProtocolError(e, 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR');
      if (!retry || attempt >= 5) throw e;
      await new Promise((res) => setTimeout(res, 300));
    }
  }
}

/** Committed offsets of a group: topic -> partition -> offset (partitions without a committed offset left out). */
async function committedOffsets(admin: Admin, id: string): Promise<Map<string, Map<number, bigint>>> {
  const out = new Map<string, Map<number, bigint>>();
  let groups;
  try {
    groups = await admin.listConsumerGroupOffsets({ groups: [id] });
  } catch (e) {
    if (findProtocolError(e, 'GROUP_ID_NOT_FOUND')) return out;
    throw e;
  }
  for (const g of groups) {
    if (g.groupId !== id) continue;
    for (const t of g.topics) {
      for (const p of t.partitions) {
        if (p.committedOffset < 0n) continue;
        let m = out.get(t.name);
        if (!m) out.set(t.name, (m = new Map()));
        m.set(p.partitionIndex, p.committedOffset);
      }
    }
  }
  return out;
}

// ---- describe ----

export interface DescribeFlags extends ClientFlags {
  members?: boolean;
  json?: boolean;
}

interface MemberInfo {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  host: string;
  subscription: string[] | null;
  assignment: TopicPartitions[] | null;
}

interface PartitionRow {
  topic: string;
  partition: number;
  currentOffset: number | null;
  logEndOffset: number | null;
  lag: number | null;
  memberId: string | null;
  groupInstanceId: string | null;
  clientId: string | null;
  host: string | null;
}

export async function describeGroup(id: string, o: DescribeFlags): Promise<number> {
  checkGroupId(id);
  return withAdmin(connection(o), async (admin) => {
    const { coordinator, group } = await describeRaw(admin, id);
    const committed = await committedOffsets(admin, id);
    const state = group ? canonicalState(group.groupState) : 'Dead';
    if (state === 'Dead' && (group?.members.length ?? 0) === 0 && committed.size === 0) throw notFound(id);

    const isConsumer = !group || group.protocolType === 'consumer' || group.protocolType === '';
    const members: MemberInfo[] = (group?.members ?? []).map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? null,
      clientId: m.clientId,
      host: m.clientHost,
      subscription: isConsumer ? decodeSubscription(m.memberMetadata) : null,
      assignment: isConsumer ? decodeAssignment(m.memberAssignment) : null,
    }));

    // Every partition the group owns or has an offset for.
    const owners = new Map<string, MemberInfo>();
    const parts = new Map<string, Set<number>>();
    const add = (t: string, p: number): void => {
      let s = parts.get(t);
      if (!s) parts.set(t, (s = new Set()));
      s.add(p);
    };
    for (const m of members) for (const a of m.assignment ?? []) for (const p of a.partitions) {
      owners.set(`${a.topic}\0${p}`, m);
      add(a.topic, p);
    }
    for (const [t, m] of committed) for (const p of m.keys()) add(t, p);

    const notes: string[] = [];
    const rows: PartitionRow[] = [];
    for (const topic of [...parts.keys()].sort()) {
      const ps = [...parts.get(topic)!].sort((a, b) => a - b);
      let ends = new Map<number, bigint>();
      try {
        ends = await offsetsAt(admin, topic, ps, LATEST);
      } catch (e) {
        notes.push(`log end offsets of topic "${topic}" unavailable: ${explainError(e, o.bootstrapServer)}`);
      }
      for (const p of ps) {
        const cur = committed.get(topic)?.get(p);
        const end = ends.get(p);
        const owner = owners.get(`${topic}\0${p}`);
        rows.push({
          topic,
          partition: p,
          currentOffset: toNumber(cur),
          logEndOffset: toNumber(end !== undefined && end >= 0n ? end : undefined),
          lag: cur !== undefined && end !== undefined && end >= 0n ? toNumber(end > cur ? end - cur : 0n) : null,
          memberId: owner?.memberId ?? null,
          groupInstanceId: owner?.groupInstanceId ?? null,
          clientId: owner?.clientId ?? null,
          host: owner?.host ?? null,
        });
      }
    }

    if (o.json) {
      process.stdout.write(
        `${JSON.stringify({
          group: id,
          state,
          protocolType: group?.protocolType ?? '',
          protocol: group?.protocolData ?? '',
          coordinator: { id: coordinator.nodeId, host: coordinator.host, port: coordinator.port },
          members,
          partitions: rows,
        })}\n`,
      );
    } else {
      let out =
        `Group: ${id}\tState: ${state}\tProtocolType: ${group?.protocolType || '-'}\tProtocol: ${group?.protocolData || '-'}\t` +
        `Members: ${members.length}\tCoordinator: ${coordinator.host}:${coordinator.port} (${coordinator.nodeId})\n\n`;
      if (rows.length > 0) {
        out += table(
          ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
          rows.map((r) => [r.topic, String(r.partition), show(r.currentOffset), show(r.logEndOffset), show(r.lag), show(r.memberId), show(r.host), show(r.clientId)]),
        );
      } else {
        out += '(no partitions assigned and no committed offsets)\n';
      }
      if (o.members) {
        out += '\n';
        if (members.length > 0) {
          out += table(
            ['CONSUMER-ID', 'GROUP-INSTANCE-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'ASSIGNMENT'],
            members.map((m) => [
              m.memberId,
              show(m.groupInstanceId),
              m.host,
              m.clientId,
              m.assignment === null ? '-' : String(m.assignment.reduce((n, a) => n + a.partitions.length, 0)),
              m.assignment === null ? '-' : m.assignment.filter((a) => a.partitions.length > 0).map((a) => `${a.topic}(${a.partitions.join(',')})`).join(',') || '-',
            ]),
          );
        } else {
          out += '(no active members)\n';
        }
      }
      process.stdout.write(out);
    }
    for (const n of notes) process.stderr.write(`rivulet: note: ${n}\n`);
    return 0;
  });
}

// ---- delete ----

export async function deleteGroups(ids: string[], o: ClientFlags): Promise<number> {
  for (const id of ids) checkGroupId(id);
  const unique = [...new Set(ids)];
  return withAdmin(connection(o), async (admin) => {
    let failed = 0;
    for (const id of unique) {
      try {
        await admin.deleteGroups({ groups: [id] });
        process.stdout.write(`deleted consumer group "${id}"\n`);
      } catch (e) {
        failed++;
        let msg: string;
        if (findProtocolError(e, 'NON_EMPTY_GROUP')) {
          msg = `consumer group "${id}" was not deleted: it is not empty (NON_EMPTY_GROUP); stop its consumers first.`;
        } else if (findProtocolError(e, 'GROUP_ID_NOT_FOUND', 'INVALID_GROUP_ID')) {
          msg = `consumer group "${id}" was not deleted: it does not exist (${findProtocolError(e)!.apiId}).`;
        } else {
          msg = `consumer group "${id}" was not deleted: ${explainError(e, o.bootstrapServer)}`;
          // Nothing answered at all: the other groups would fail the same way.
          if (leafErrors(e).every((x) => x.code === 'PLT_KFK_NETWORK')) throw new CliError(explainError(e, o.bootstrapServer));
        }
        process.stderr.write(`rivulet: ${msg}\n`);
      }
    }
    return failed > 0 ? 1 : 0;
  });
}

// ---- reset-offsets ----

export interface ResetFlags extends ClientFlags {
  topic: string[];
  allTopics?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toTimestamp?: string;
  toOffset?: number;
  shiftBy?: number;
  dryRun?: boolean;
  execute?: boolean;
  json?: boolean;
}

type Spec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'timestamp'; ts: bigint }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'shift'; by: bigint };

/** --to-timestamp: epoch milliseconds or an ISO 8601 date. */
function parseTimestamp(v: string): bigint {
  const s = v.trim();
  if (/^\d+$/.test(s)) return BigInt(s);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(s) ? Date.parse(s) : NaN;
  if (Number.isNaN(ms)) throw usageError(`--to-timestamp must be milliseconds since the epoch or an ISO date such as 2024-05-01T12:00:00Z, not "${v}".`);
  if (ms < 0) throw usageError(`--to-timestamp must not be before 1970, got "${v}".`);
  return BigInt(ms);
}

function parseSpec(o: ResetFlags): Spec {
  const specs: Spec[] = [];
  if (o.toEarliest) specs.push({ kind: 'earliest' });
  if (o.toLatest) specs.push({ kind: 'latest' });
  if (o.toTimestamp !== undefined) specs.push({ kind: 'timestamp', ts: parseTimestamp(o.toTimestamp) });
  if (o.toOffset !== undefined) specs.push({ kind: 'offset', offset: BigInt(o.toOffset) });
  if (o.shiftBy !== undefined) specs.push({ kind: 'shift', by: BigInt(o.shiftBy) });
  if (specs.length !== 1) {
    throw usageError(`give exactly one of --to-earliest, --to-latest, --to-timestamp, --to-offset, --shift-by${specs.length > 1 ? ' (several were given)' : ''}.`);
  }
  return specs[0]!;
}

/** `topic` or `topic:0,1,2`. */
function parseTopicArg(v: string): { topic: string; partitions: number[] | null } {
  const i = v.indexOf(':');
  const topic = i < 0 ? v : v.slice(0, i);
  checkTopicName(topic);
  if (i < 0) return { topic, partitions: null };
  const partitions: number[] = [];
  for (const raw of v.slice(i + 1).split(',')) {
    const s = raw.trim();
    if (!/^\d+$/.test(s) || Number(s) > 2_147_483_647) throw usageError(`--topic ${v}: partitions must be non-negative integers separated by commas, e.g. ${topic}:0,1.`);
    if (!partitions.includes(Number(s))) partitions.push(Number(s));
  }
  return { topic, partitions: partitions.sort((a, b) => a - b) };
}

interface PlanRow {
  topic: string;
  partition: number;
  currentOffset: number | null;
  newOffset: number;
}

export async function resetOffsets(id: string, o: ResetFlags): Promise<number> {
  checkGroupId(id);
  const spec = parseSpec(o);
  if (o.dryRun && o.execute) throw usageError('--dry-run and --execute cannot be combined.');
  if (o.topic.length === 0 && !o.allTopics) throw usageError('give the topics to reset: --topic <topic>[:partitions] (repeatable) or --all-topics.');
  if (o.topic.length > 0 && o.allTopics) throw usageError('--topic and --all-topics cannot be combined.');
  const wanted = new Map<string, number[] | null>();
  for (const t of o.topic) {
    const { topic, partitions } = parseTopicArg(t);
    const prev = wanted.get(topic);
    wanted.set(topic, prev === null || partitions === null ? null : [...new Set([...(prev ?? []), ...partitions])].sort((a, b) => a - b));
  }

  return withAdmin(connection(o), async (admin) => {
    const { group } = await describeRaw(admin, id);
    const state = group ? canonicalState(group.groupState) : 'Dead';
    if (state !== 'Empty' && state !== 'Dead') {
      throw new CliError(
        `offsets of group "${id}" can only be reset while the group is inactive (state Empty or Dead), but it is ${state}` +
          ` with ${group?.members.length ?? 0} member(s); stop its consumers first.`,
      );
    }
    const committed = await committedOffsets(admin, id);
    if (o.allTopics) {
      for (const t of [...committed.keys()].sort()) wanted.set(t, null);
      if (wanted.size === 0) throw new CliError(`group "${id}" has no committed offsets, so --all-topics selects nothing; name the topics with --topic.`);
    }

    const plan: PlanRow[] = [];
    const warnings: string[] = [];
    for (const [topic, only] of wanted) {
      const count = (await requireTopic(admin, topic)).partitionsCount;
      const bad = (only ?? []).filter((p) => p >= count);
      if (bad.length > 0) throw new CliError(`topic "${topic}" has ${count} partition(s) (0 to ${count - 1}); there is no partition ${bad.join(', ')}.`);
      const ps = only ?? Array.from({ length: count }, (_, i) => i);
      const earliest = await offsetsAt(admin, topic, ps, EARLIEST);
      const latest = await offsetsAt(admin, topic, ps, LATEST);
      const atTime = spec.kind === 'timestamp' ? await offsetsAt(admin, topic, ps, spec.ts) : null;
      for (const p of ps) {
        const lo = earliest.get(p) ?? 0n;
        const hi = latest.get(p) ?? 0n;
        const cur = committed.get(topic)?.get(p);
        const clamp = (n: bigint, what: string): bigint => {
          if (n < lo) {
            warnings.push(`${topic}-${p}: ${what} ${n} is before the earliest offset ${lo}; using ${lo}.`);
            return lo;
          }
          if (n > hi) {
            warnings.push(`${topic}-${p}: ${what} ${n} is after the log end offset ${hi}; using ${hi}.`);
            return hi;
          }
          return n;
        };
        let next: bigint;
        switch (spec.kind) {
          case 'earliest':
            next = lo;
            break;
          case 'latest':
            next = hi;
            break;
          case 'timestamp': {
            const at = atTime!.get(p);
            next = at === undefined || at < 0n ? hi : at;
            break;
          }
          case 'offset':
            next = clamp(spec.offset, 'offset');
            break;
          case 'shift':
            if (cur === undefined) throw new CliError(`cannot shift the offset of ${topic}-${p}: group "${id}" has no committed offset there.`);
            next = clamp(cur + spec.by, 'shifted offset');
            break;
        }
        plan.push({ topic, partition: p, currentOffset: toNumber(cur), newOffset: toNumber(next) ?? Number(next) });
      }
    }

    for (const w of warnings) process.stderr.write(`rivulet: warning: ${w}\n`);
    if (o.execute) {
      const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>();
      for (const r of plan) {
        let l = byTopic.get(r.topic);
        if (!l) byTopic.set(r.topic, (l = []));
        l.push({ partition: r.partition, offset: BigInt(r.newOffset) });
      }
      try {
        await admin.alterConsumerGroupOffsets({ groupId: id, topics: [...byTopic].map(([name, partitionOffsets]) => ({ name, partitionOffsets })) });
      } catch (e) {
        const active = findProtocolError(e, 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS', 'FENCED_MEMBER_EPOCH', 'STALE_MEMBER_EPOCH');
        if (active) {
          throw new CliError(`the offsets of group "${id}" were not reset: the group became active meanwhile (${active.apiId}); stop its consumers and try again.`);
        }
        throw e;
      }
    }
    if (o.json) {
      process.stdout.write(`${JSON.stringify(plan)}\n`);
    } else {
      process.stdout.write(
        table(
          ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
          plan.map((r) => [id, r.topic, String(r.partition), show(r.currentOffset), String(r.newOffset)]),
        ),
      );
    }
    process.stderr.write(
      o.execute
        ? `reset the offsets of ${plan.length} partition(s) of group "${id}"\n`
        : `dry run: nothing was changed; add --execute to commit these offsets\n`,
    );
    return 0;
  });
}
