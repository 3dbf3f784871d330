// Consumer groups of the new protocol (KIP-848: ConsumerGroupHeartbeat, ConsumerGroupDescribe),
// beside the classic coordinator. The broker assigns (assignors.ts); each member converges to
// its target assignment through epochs, one heartbeat at a time:
//   - the group epoch moves when membership, a subscription or a subscribed topic changes;
//   - the target assignment is recomputed for the new group epoch (the assignment epoch);
//   - a member moves to the assignment epoch once it has revoked what it must give up, and is
//     given a partition only once its previous owner's heartbeat shows it released it.
// Nobody stops the world: members not concerned by a change keep consuming throughout.
//
// State lives in memory and in an internal change log (one JSON record per group change, the
// whole group), replayed on start, so members that heartbeat after a restart keep their epoch
// and partitions. Every transition happens synchronously on the event loop; the answer to a
// heartbeat that changed something waits for its record to be stored.

import { ErrorCode } from '../../protocol/errors.js';
import type { Log } from '../../storage/log.js';
import { ChangeLog, type ChangeLogOptions } from '../internal/change-log.js';
import type { Logger } from '../logger.js';
import { assignors, DEFAULT_ASSIGNOR, type Assignment, type AssignorMember } from './assignors.js';

export const ConsumerGroupState = {
  Empty: 'Empty',
  Assigning: 'Assigning',
  Reconciling: 'Reconciling',
  Stable: 'Stable',
  Dead: 'Dead',
} as const;
export type ConsumerGroupState = (typeof ConsumerGroupState)[keyof typeof ConsumerGroupState];

/** Where a member stands in its reconciliation with the target assignment. */
export const MemberState = {
  Stable: 'stable',
  /** It still owns partitions it must give up; its epoch waits until it has. */
  UnrevokedPartitions: 'unrevoked_partitions',
  /** It is at the new epoch, but some partitions meant for it are still held by another member. */
  UnreleasedPartitions: 'unreleased_partitions',
} as const;
export type MemberState = (typeof MemberState)[keyof typeof MemberState];

/** Epochs with a meaning in a heartbeat request. */
const JOIN_EPOCH = 0;
const LEAVE_EPOCH = -1;
const STATIC_LEAVE_EPOCH = -2;

/** Settings of one group; see `ConsumerGroupCoordinator.settingsFor`. */
export interface ConsumerGroupSettings {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

export interface ConsumerGroupOptions {
  /** group.consumer.* values of one group (broker defaults until per-group configs exist). */
  settingsFor: (groupId: string) => ConsumerGroupSettings;
  /** group.max.size; 0 for no limit. */
  maxSize: number;
  /**
   * Whether a principal (from a host) may DESCRIBE a topic (ACLs): a regex subscription resolves
   * to the matching topics its member may see, as Kafka. Absent: every topic.
   */
  mayDescribeTopic?: (principal: string, host: string, topic: string) => boolean;
}

/** What the coordinator needs to know of topics: ids, names and partition counts. */
export interface TopicView {
  /** Every topic: name -> { id, partitions }. */
  topics(): Iterable<{ name: string; id: string; partitions: number }>;
  byName(name: string): { id: string; partitions: number } | undefined;
  byId(id: string): { name: string; partitions: number } | undefined;
}

/** The classic coordinator's side of a group id: a group id belongs to one protocol at a time. */
export interface ClassicGroups {
  /** Members of the classic group of this id, or -1 when there is none. */
  classicMembers(groupId: string): number;
  /** Drops an empty classic group, so the id can become a consumer group. */
  dropEmptyClassic(groupId: string): void;
}

export interface TopicPartitions {
  topicId: string;
  partitions: number[];
}

export interface HeartbeatRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions: TopicPartitions[] | null;
  clientId: string;
  clientHost: string;
  /** The request's principal and peer address, for the ACLs a regex subscription resolves with (absent: none). */
  principal?: string;
  principalHost?: string;
}

export interface HeartbeatAnswer {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** Sent when the member's assignment changed or it (re)joined; null otherwise. */
  assignment: TopicPartitions[] | null;
}

export class ConsumerMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  /** Who the member's heartbeats act as (ACLs of its regex subscription); null until it heartbeats after a restart. */
  principal: string | null;
  principalHost: string;
  serverAssignor: string | null;
  memberEpoch: number;
  previousMemberEpoch: number;
  state: MemberState;
  /** Partitions the member may use. */
  assigned: Assignment;
  /** Partitions it was asked to give up and has not yet shown it released. */
  pendingRevocation: Assignment;
  sessionTimer: NodeJS.Timeout | null;
  rebalanceTimer: NodeJS.Timeout | null;

  constructor(memberId: string) {
    this.memberId = memberId;
    this.instanceId = null;
    this.rackId = null;
    this.clientId = '';
    this.clientHost = '';
    this.rebalanceTimeoutMs = 300_000;
    this.subscribedTopicNames = [];
    this.subscribedTopicRegex = null;
    this.principal = null;
    this.principalHost = '';
    this.serverAssignor = null;
    this.memberEpoch = 0;
    this.previousMemberEpoch = -1;
    this.state = MemberState.Stable;
    this.assigned = new Map();
    this.pendingRevocation = new Map();
    this.sessionTimer = null;
    this.rebalanceTimer = null;
  }
}

export class ConsumerGroup {
  readonly id: string;
  groupEpoch: number;
  /** The group epoch the target assignment was computed for. */
  assignmentEpoch: number;
  readonly members = new Map<string, ConsumerMember>();
  /** instance id -> member id of the static member holding it. */
  readonly staticMembers = new Map<string, string>();
  /** member id -> target assignment. */
  readonly target = new Map<string, Assignment>();
  /** `${topicId}:${partition}` -> member id that holds it (assigned or pending revocation). */
  readonly owners = new Map<string, string>();
  /** The subscribed topics (id:partitions) the current group epoch was computed with. */
  topicsSignature: string;
  assignorName: string;

  constructor(id: string) {
    this.id = id;
    this.groupEpoch = 0;
    this.assignmentEpoch = 0;
    this.topicsSignature = '';
    this.assignorName = DEFAULT_ASSIGNOR;
  }

  state(): ConsumerGroupState {
    if (this.members.size === 0) return ConsumerGroupState.Empty;
    if (this.groupEpoch > this.assignmentEpoch) return ConsumerGroupState.Assigning;
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== MemberState.Stable) return ConsumerGroupState.Reconciling;
    }
    return ConsumerGroupState.Stable;
  }
}

// ------------------------------------------------------------------ assignment helpers

function key(topicId: string, p: number): string {
  return `${topicId}:${p}`;
}

/** A client's list of partitions as an assignment: duplicates dropped, each topic's partitions sorted once (a topic may be named many times). */
function fromWire(tps: TopicPartitions[]): Assignment {
  const sets = new Map<string, Set<number>>();
  for (const tp of tps) {
    if (tp.partitions.length === 0) continue;
    let set = sets.get(tp.topicId);
    if (set === undefined) sets.set(tp.topicId, (set = new Set()));
    for (const p of tp.partitions) set.add(p);
  }
  const a: Assignment = new Map();
  for (const [t, set] of sets) a.set(t, [...set].sort((x, y) => x - y));
  return a;
}

export function toWire(a: Assignment): TopicPartitions[] {
  return [...a].map(([topicId, partitions]) => ({ topicId, partitions: [...partitions] }));
}

function sameAssignment(a: Assignment, b: Assignment): boolean {
  if (a.size !== b.size) return false;
  for (const [t, ps] of a) {
    const qs = b.get(t);
    if (qs === undefined || qs.length !== ps.length || ps.some((p, i) => qs[i] !== p)) return false;
  }
  return true;
}

/** Whether `owned` (null: not said, so assumed) still holds any of `partitions`. */
function ownsAny(owned: Assignment | null, partitions: Assignment): boolean {
  if (partitions.size === 0) return false;
  if (owned === null) return true;
  for (const [t, ps] of partitions) {
    const mine = owned.get(t);
    if (mine === undefined) continue;
    const held = new Set(mine);
    if (ps.some((p) => held.has(p))) return true;
  }
  return false;
}

function isSubset(a: Assignment, b: Assignment): boolean {
  for (const [t, ps] of a) {
    const qs = b.get(t);
    if (qs === undefined) {
      if (ps.length > 0) return false;
      continue;
    }
    const inB = new Set(qs);
    if (ps.some((p) => !inB.has(p))) return false;
  }
  return true;
}

function add(a: Assignment, t: string, p: number): void {
  const ps = a.get(t);
  if (ps === undefined) a.set(t, [p]);
  else ps.push(p);
}

// ------------------------------------------------------------------ regular expressions

type Re2Module = typeof import('re2js');
let re2: Re2Module | null = null;
let re2Loading: Promise<Re2Module> | null = null;

/** Loads re2js on first use of a regex subscription: most brokers never see one. */
export async function loadRe2(): Promise<void> {
  re2 ??= await (re2Loading ??= import('re2js'));
}

/** Longest regex accepted, as ListTransactions bounds its pattern. */
const MAX_REGEX_CHARS = 1024;

type Matcher = (topic: string) => boolean;

/** Compiled patterns kept at most. */
const MAX_CACHED_REGEXES = 1000;

/** The subscription regex as a whole-name matcher (RE2/J `matches()`, as Kafka), or why it is refused. */
function compileRegex(pattern: string): Matcher | string {
  if (pattern.length > MAX_REGEX_CHARS) return `SubscribedTopicRegex is longer than ${MAX_REGEX_CHARS} characters.`;
  if (re2 === null) return 'regular expressions are not loaded';
  try {
    const p = re2.RE2JS.compile(pattern);
    return (t) => p.matches(t);
  } catch (e) {
    return `SubscribedTopicRegex \`${pattern}\` is not a valid regular expression: ${(e as Error).message}.`;
  }
}

// ------------------------------------------------------------------ persisted form

interface MemberRecord {
  id: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  names: string[];
  regex: string | null;
  assignor: string | null;
  epoch: number;
  previousEpoch: number;
  state: MemberState;
  assigned: [string, number[]][];
  pending: [string, number[]][];
  /** The principal and peer address a regex subscription resolves with under ACLs (absent in older state files, and with ACLs off). */
  principal?: string;
  principalHost?: string;
}

interface GroupRecord {
  v: 1;
  group: string;
  /** null: the group is gone. */
  state: {
    groupEpoch: number;
    assignmentEpoch: number;
    topicsSignature: string;
    assignor: string;
    members: MemberRecord[];
    target: [string, [string, number[]][]][];
  } | null;
}

function snapshotGroup(g: ConsumerGroup): GroupRecord {
  return {
    v: 1,
    group: g.id,
    state: {
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      topicsSignature: g.topicsSignature,
      assignor: g.assignorName,
      members: [...g.members.values()].map(memberRecord),
      target: [...g.target].map(([id, a]) => [id, [...a]]),
    },
  };
}

function memberRecord(m: ConsumerMember): MemberRecord {
  return {
    id: m.memberId,
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    names: m.subscribedTopicNames,
    regex: m.subscribedTopicRegex,
    assignor: m.serverAssignor,
    epoch: m.memberEpoch,
    previousEpoch: m.previousMemberEpoch,
    state: m.state,
    assigned: [...m.assigned],
    pending: [...m.pendingRevocation],
    ...(m.principal === null ? {} : { principal: m.principal, principalHost: m.principalHost }),
  };
}

/**
 * What one heartbeat can change: the group's epochs and size, and the member itself (others
 * change only through a new epoch). Equal before and after: nothing to store.
 */
function fingerprint(g: ConsumerGroup, m: ConsumerMember | undefined): string {
  return `${g.groupEpoch}/${g.assignmentEpoch}/${g.members.size}/${m === undefined ? '' : JSON.stringify(memberRecord(m))}`;
}

function restoreGroup(r: GroupRecord): ConsumerGroup {
  const s = r.state!;
  const g = new ConsumerGroup(r.group);
  g.groupEpoch = s.groupEpoch;
  g.assignmentEpoch = s.assignmentEpoch;
  g.topicsSignature = s.topicsSignature;
  g.assignorName = s.assignor;
  for (const mr of s.members) {
    const m = new ConsumerMember(mr.id);
    m.instanceId = mr.instanceId;
    m.rackId = mr.rackId;
    m.clientId = mr.clientId;
    m.clientHost = mr.clientHost;
    m.rebalanceTimeoutMs = mr.rebalanceTimeoutMs;
    m.subscribedTopicNames = mr.names;
    m.subscribedTopicRegex = mr.regex;
    m.serverAssignor = mr.assignor;
    m.memberEpoch = mr.epoch;
    m.previousMemberEpoch = mr.previousEpoch;
    m.state = mr.state;
    m.assigned = new Map(mr.assigned);
    m.pendingRevocation = new Map(mr.pending);
    if (typeof mr.principal === 'string') {
      m.principal = mr.principal;
      m.principalHost = mr.principalHost ?? '';
    }
    g.members.set(m.memberId, m);
    if (m.instanceId !== null) g.staticMembers.set(m.instanceId, m.memberId);
    for (const a of [m.assigned, m.pendingRevocation]) for (const [t, ps] of a) for (const p of ps) g.owners.set(key(t, p), m.memberId);
  }
  for (const [id, a] of s.target) g.target.set(id, new Map(a));
  return g;
}

// ------------------------------------------------------------------ the coordinator

class Refusal {
  constructor(
    readonly errorCode: number,
    readonly message: string,
  ) {}
}

export class ConsumerGroupCoordinator {
  readonly groups = new Map<string, ConsumerGroup>();
  private readonly changes: ChangeLog<GroupRecord>;
  /** Compiled subscription regexes, shared by every member that uses one. */
  private readonly matchers = new Map<string, Matcher>();
  private closed = false;

  constructor(
    log: Log,
    logOptions: ChangeLogOptions,
    private readonly options: ConsumerGroupOptions,
    private readonly topics: TopicView,
    private readonly classic: ClassicGroups,
    private readonly logger: Logger,
  ) {
    this.changes = new ChangeLog(log, logOptions);
  }

  /** Replays the stored groups; members get a fresh session timeout from now. */
  async load(): Promise<void> {
    const records = new Map<string, GroupRecord>();
    await this.changes.replay((r) => void records.set(r.group, r));
    for (const r of records.values()) {
      if (r.state === null) continue;
      const g = restoreGroup(r);
      this.groups.set(g.id, g);
    }
    if ([...this.groups.values()].some((g) => [...g.members.values()].some((m) => m.subscribedTopicRegex !== null))) await loadRe2();
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        if (m.subscribedTopicRegex !== null) this.matcher(m.subscribedTopicRegex);
        this.scheduleSession(g, m);
      }
    }
    // Topics may have changed while the broker was down.
    this.topicsChanged();
  }

  /** The settings in effect for a group: the one place they are read. */
  settingsFor(groupId: string): ConsumerGroupSettings {
    return this.options.settingsFor(groupId);
  }

  // ---------------------------------------------------------------- heartbeat

  async heartbeat(req: HeartbeatRequest): Promise<HeartbeatAnswer> {
    const settings = this.settingsFor(req.groupId);
    const refuse = (code: number, message: string): HeartbeatAnswer => ({ errorCode: code, errorMessage: message, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null });
    if (req.subscribedTopicRegex !== null) await loadRe2();
    let result: { answer: HeartbeatAnswer; group: ConsumerGroup | null; record: GroupRecord | null };
    try {
      result = this.heartbeatNow(req, settings);
    } catch (e) {
      if (e instanceof Refusal) return refuse(e.errorCode, e.message);
      throw e;
    }
    if (result.record !== null) {
      try {
        await this.store(result.record);
      } catch (e) {
        this.logger.error('consumer group state not stored', { group: req.groupId, error: e });
        return refuse(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The group state could not be stored; retry.');
      }
    }
    return result.answer;
  }

  /** The synchronous part: validation, membership, epochs, assignment, reconciliation. */
  private heartbeatNow(req: HeartbeatRequest, settings: ConsumerGroupSettings): { answer: HeartbeatAnswer; group: ConsumerGroup | null; record: GroupRecord | null } {
    this.validate(req);
    let group = this.groups.get(req.groupId);
    if (req.memberEpoch === LEAVE_EPOCH || req.memberEpoch === STATIC_LEAVE_EPOCH) return this.leave(group, req);
    if (group === undefined) {
      if (req.memberEpoch !== JOIN_EPOCH) throw new Refusal(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}; rejoin with epoch 0.`);
      const classicMembers = this.classic.classicMembers(req.groupId);
      if (classicMembers > 0) throw new Refusal(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a consumer group: it uses the classic protocol and has members. Use another group id, or wait until its members leave.`);
      if (classicMembers === 0) this.classic.dropEmptyClassic(req.groupId);
      group = new ConsumerGroup(req.groupId);
      this.groups.set(group.id, group);
      this.logger.info('consumer group created', { group: group.id });
    }
    const g = group;
    let member = g.members.get(req.memberId);
    const before = fingerprint(g, member);
    if (member !== undefined && req.instanceId !== null && member.instanceId !== null && req.instanceId !== member.instanceId) {
      throw new Refusal(ErrorCode.FENCED_INSTANCE_ID, `Member ${member.memberId} holds instance id ${member.instanceId}, not ${req.instanceId}.`);
    }
    let bump = false;
    if (req.memberEpoch === JOIN_EPOCH) {
      if (member === undefined) {
        const joined = this.joinMember(g, req);
        member = joined.member;
        // A static member taking its instance's place changes nothing the assignor sees.
        bump = !joined.replaced;
      }
    } else {
      if (member === undefined) throw new Refusal(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${g.id}; rejoin with epoch 0.`);
      this.checkEpoch(g, member, req);
    }
    if (this.updateMember(member, req)) bump = true;
    // Topic changes reach the group through topicsChanged(); here only a new subscription can change what it reads.
    if (bump) {
      this.refreshTopics(g);
      g.groupEpoch++;
    }
    if (g.groupEpoch > g.assignmentEpoch) this.computeTarget(g);
    const owned = req.topicPartitions === null ? null : fromWire(req.topicPartitions);
    const assignedBefore = member.assigned;
    this.reconcile(g, member, owned);
    this.scheduleSession(g, member);
    const send = req.memberEpoch === JOIN_EPOCH || !sameAssignment(assignedBefore, member.assigned) || (owned !== null && !sameAssignment(owned, member.assigned) && member.state !== MemberState.UnrevokedPartitions);
    const changed = fingerprint(g, member) !== before;
    const answer: HeartbeatAnswer = {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      assignment: send ? toWire(member.assigned) : null,
    };
    return { answer, group: g, record: changed ? snapshotGroup(g) : null };
  }

  private validate(req: HeartbeatRequest): void {
    const invalid = (m: string) => new Refusal(ErrorCode.INVALID_REQUEST, m);
    if (req.groupId === '') throw new Refusal(ErrorCode.INVALID_GROUP_ID, 'GroupId can\'t be empty.');
    if (req.memberId === '') throw invalid('MemberId can\'t be empty.');
    if (req.instanceId === '') throw invalid('InstanceId can\'t be empty.');
    if (req.rackId === '') throw invalid('RackId can\'t be empty.');
    if (req.memberEpoch < STATIC_LEAVE_EPOCH) throw invalid(`MemberEpoch ${req.memberEpoch} is invalid.`);
    if (req.memberEpoch === STATIC_LEAVE_EPOCH && req.instanceId === null) throw invalid('InstanceId can\'t be null when leaving with epoch -2.');
    if (req.memberEpoch === JOIN_EPOCH) {
      if (req.rebalanceTimeoutMs === -1) throw invalid('RebalanceTimeoutMs must be provided in first request.');
      if (req.topicPartitions === null || req.topicPartitions.some((t) => t.partitions.length > 0)) throw invalid('TopicPartitions must be empty when (re-)joining.');
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) throw invalid('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
    }
    if (req.rebalanceTimeoutMs < -1) throw invalid(`RebalanceTimeoutMs ${req.rebalanceTimeoutMs} is invalid.`);
    if (req.serverAssignor !== null && !assignors.has(req.serverAssignor)) {
      throw new Refusal(ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${req.serverAssignor} is not supported. Supported assignors: ${[...assignors.keys()].join(', ')}.`);
    }
    if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== '') {
      const m = this.matcher(req.subscribedTopicRegex);
      if (typeof m === 'string') throw new Refusal(ErrorCode.INVALID_REGULAR_EXPRESSION, m);
    }
  }

  private matcher(pattern: string): Matcher | string {
    const cached = this.matchers.get(pattern);
    if (cached !== undefined) return cached;
    const m = compileRegex(pattern);
    if (typeof m === 'string') return m;
    // Bounded: clients may send any number of patterns; members' patterns compile again on demand.
    if (this.matchers.size >= MAX_CACHED_REGEXES) this.matchers.clear();
    this.matchers.set(pattern, m);
    return m;
  }

  /** A new member, or a static member taking the place of the instance's previous member. */
  private joinMember(g: ConsumerGroup, req: HeartbeatRequest): { member: ConsumerMember; replaced: boolean } {
    if (req.instanceId !== null) {
      const heldBy = g.staticMembers.get(req.instanceId);
      const previous = heldBy === undefined ? undefined : g.members.get(heldBy);
      if (previous !== undefined) {
        if (previous.memberEpoch !== STATIC_LEAVE_EPOCH) {
          throw new Refusal(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${previous.memberId} with instance id ${req.instanceId} is still in the group; it must leave first (epoch -2).`);
        }
        return { member: this.replaceStaticMember(g, previous, req.memberId), replaced: true };
      }
    }
    const max = this.options.maxSize;
    if (max > 0 && g.members.size >= max) throw new Refusal(ErrorCode.GROUP_MAX_SIZE_REACHED, `Group ${g.id} has reached its maximum size of ${max} members (group.max.size).`);
    const m = new ConsumerMember(req.memberId);
    m.instanceId = req.instanceId;
    m.memberEpoch = 0;
    g.members.set(m.memberId, m);
    if (m.instanceId !== null) g.staticMembers.set(m.instanceId, m.memberId);
    this.logger.info('consumer group member joined', { group: g.id, memberId: m.memberId, instance: m.instanceId });
    return { member: m, replaced: false };
  }

  /**
   * The restarted instance takes over the previous member's epoch, assignment and target
   * under its new member id: nothing is reassigned, as KIP-848 asks of static members.
   */
  private replaceStaticMember(g: ConsumerGroup, previous: ConsumerMember, newId: string): ConsumerMember {
    this.clearTimers(previous);
    g.members.delete(previous.memberId);
    const oldId = previous.memberId;
    previous.memberId = newId;
    previous.memberEpoch = previous.previousMemberEpoch;
    g.members.set(newId, previous);
    g.staticMembers.set(previous.instanceId!, newId);
    const t = g.target.get(oldId);
    g.target.delete(oldId);
    if (t !== undefined) g.target.set(newId, t);
    for (const a of [previous.assigned, previous.pendingRevocation]) for (const [tp, ps] of a) for (const p of ps) g.owners.set(key(tp, p), newId);
    this.logger.info('static member rejoined', { group: g.id, instance: previous.instanceId, memberId: newId, previousMemberId: oldId, epoch: previous.memberEpoch });
    return previous;
  }

  /** Kafka's rule: a lower epoch is accepted only as the answer to a lost response (the previous epoch, owning no more than assigned). */
  private checkEpoch(g: ConsumerGroup, m: ConsumerMember, req: HeartbeatRequest): void {
    if (req.memberEpoch === m.memberEpoch) return;
    const owned = req.topicPartitions === null ? null : fromWire(req.topicPartitions);
    if (req.memberEpoch < m.memberEpoch && req.memberEpoch === m.previousMemberEpoch && owned !== null && isSubset(owned, m.assigned)) return;
    throw new Refusal(ErrorCode.FENCED_MEMBER_EPOCH, `The member epoch ${req.memberEpoch} of member ${m.memberId} is fenced: the group knows it at epoch ${m.memberEpoch}. Rejoin with epoch 0.`);
  }

  /** Applies what the heartbeat changed; true when the subscription changed (the group epoch moves). */
  private updateMember(m: ConsumerMember, req: HeartbeatRequest): boolean {
    let changed = false;
    if (req.rackId !== null) m.rackId = req.rackId;
    if (req.rebalanceTimeoutMs !== -1) m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    if (req.clientId !== '' || m.clientId === '') m.clientId = req.clientId;
    m.clientHost = req.clientHost;
    if (req.principal !== undefined && (req.principal !== m.principal || req.principalHost !== m.principalHost)) {
      m.principal = req.principal;
      m.principalHost = req.principalHost ?? '';
      if (m.subscribedTopicRegex !== null) changed = true;
    }
    if (req.subscribedTopicNames !== null) {
      const names = [...new Set(req.subscribedTopicNames)].sort();
      if (names.join('\0') !== m.subscribedTopicNames.join('\0')) changed = true;
      m.subscribedTopicNames = names;
    }
    if (req.subscribedTopicRegex !== null) {
      const regex = req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex;
      if (regex !== m.subscribedTopicRegex) changed = true;
      m.subscribedTopicRegex = regex;
    }
    if (req.serverAssignor !== null && req.serverAssignor !== m.serverAssignor) {
      m.serverAssignor = req.serverAssignor;
      changed = true;
    }
    return changed;
  }

  /** Topic ids a member subscribes to, by name or by regex, among the topics that exist. */
  private memberTopicIds(m: ConsumerMember): Set<string> {
    const ids = new Set<string>();
    for (const n of m.subscribedTopicNames) {
      const t = this.topics.byName(n);
      if (t !== undefined) ids.add(t.id);
    }
    if (m.subscribedTopicRegex !== null) {
      const match = this.matcher(m.subscribedTopicRegex);
      // Under ACLs a member whose principal is not known (restored from a state file that did
      // not keep it) sees no topic until its next heartbeat tells who it is.
      const may = this.options.mayDescribeTopic;
      const principal = m.principal;
      if (typeof match !== 'string') for (const t of this.topics.topics()) if (match(t.name) && (may === undefined || (principal !== null && may(principal, m.principalHost, t.name)))) ids.add(t.id);
    }
    return ids;
  }

  /** Recomputes what the group subscribes to; true when it differs from what the group epoch was computed with. */
  private refreshTopics(g: ConsumerGroup): boolean {
    const ids = new Set<string>();
    for (const m of g.members.values()) for (const id of this.memberTopicIds(m)) ids.add(id);
    const signature = [...ids].sort().map((id) => `${id}:${this.topics.byId(id)?.partitions ?? 0}`).join(',');
    if (signature === g.topicsSignature) return false;
    g.topicsSignature = signature;
    return true;
  }

  /** The target assignment of the group epoch, by the assignor most members ask for. */
  private computeTarget(g: ConsumerGroup): void {
    const votes = new Map<string, number>();
    for (const m of g.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let name = DEFAULT_ASSIGNOR;
    let best = 0;
    for (const [n, v] of [...votes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (v > best) {
        best = v;
        name = n;
      }
    }
    g.assignorName = name;
    const counts = new Map<string, number>();
    const specs: AssignorMember[] = [];
    for (const m of g.members.values()) {
      const topics = this.memberTopicIds(m);
      for (const id of topics) counts.set(id, this.topics.byId(id)?.partitions ?? 0);
      specs.push({ memberId: m.memberId, topics, previous: g.target.get(m.memberId) ?? new Map() });
    }
    const result = assignors.get(name)!(specs, counts);
    g.target.clear();
    for (const [id, a] of result) g.target.set(id, a);
    g.assignmentEpoch = g.groupEpoch;
    this.logger.debug('consumer group target assignment', { group: g.id, epoch: g.groupEpoch, assignor: name, members: g.members.size });
  }

  /**
   * Moves a member toward its target (Kafka's CurrentAssignmentBuilder): partitions to give up
   * are revoked first, with the member's epoch held back until its heartbeat shows them
   * released; partitions still held by another member are given only once released.
   */
  reconcile(g: ConsumerGroup, m: ConsumerMember, owned: Assignment | null): void {
    if (m.memberEpoch === STATIC_LEAVE_EPOCH) return;
    switch (m.state) {
      case MemberState.Stable:
        if (m.memberEpoch === g.assignmentEpoch) return;
        break;
      case MemberState.UnrevokedPartitions:
        if (ownsAny(owned, m.pendingRevocation)) return;
        break;
      case MemberState.UnreleasedPartitions:
        break;
    }
    const target = g.target.get(m.memberId) ?? new Map<string, number[]>();
    const assigned: Assignment = new Map();
    const pending: Assignment = new Map();
    let unreleased = false;
    for (const t of new Set([...target.keys(), ...m.assigned.keys()])) {
      const want = target.get(t) ?? [];
      const have = m.assigned.get(t) ?? [];
      const wanted = new Set(want);
      const had = new Set(have);
      for (const p of have) {
        if (wanted.has(p)) add(assigned, t, p);
        else add(pending, t, p);
      }
      for (const p of want) {
        if (had.has(p)) continue;
        const holder = g.owners.get(key(t, p));
        if (holder === undefined || holder === m.memberId) add(assigned, t, p);
        else unreleased = true;
      }
    }
    for (const a of [assigned, pending]) for (const ps of a.values()) ps.sort((x, y) => x - y);
    this.setOwnership(g, m, assigned, pending);
    if (pending.size > 0 && ownsAny(owned, pending)) {
      // Revoke first: the epoch stays until the member shows it released the partitions.
      if (m.state !== MemberState.UnrevokedPartitions) this.scheduleRebalanceTimeout(g, m);
      m.state = MemberState.UnrevokedPartitions;
      return;
    }
    this.clearRebalanceTimer(m);
    if (m.memberEpoch !== g.assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = g.assignmentEpoch;
    }
    m.state = unreleased ? MemberState.UnreleasedPartitions : MemberState.Stable;
  }

  private setOwnership(g: ConsumerGroup, m: ConsumerMember, assigned: Assignment, pending: Assignment): void {
    for (const a of [m.assigned, m.pendingRevocation]) for (const [t, ps] of a) for (const p of ps) if (g.owners.get(key(t, p)) === m.memberId) g.owners.delete(key(t, p));
    m.assigned = assigned;
    m.pendingRevocation = pending;
    for (const a of [assigned, pending]) for (const [t, ps] of a) for (const p of ps) g.owners.set(key(t, p), m.memberId);
  }

  private leave(group: ConsumerGroup | undefined, req: HeartbeatRequest): { answer: HeartbeatAnswer; group: ConsumerGroup | null; record: GroupRecord | null } {
    const m = group?.members.get(req.memberId);
    if (group === undefined || m === undefined) throw new Refusal(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}.`);
    const answer = (epoch: number): HeartbeatAnswer => ({ errorCode: ErrorCode.NONE, errorMessage: null, memberId: m.memberId, memberEpoch: epoch, heartbeatIntervalMs: 0, assignment: null });
    if (req.memberEpoch === STATIC_LEAVE_EPOCH && m.instanceId !== null) {
      // The instance will come back: it keeps its partitions until its session runs out.
      this.clearRebalanceTimer(m);
      if (m.memberEpoch !== STATIC_LEAVE_EPOCH) m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = STATIC_LEAVE_EPOCH;
      this.logger.info('static member left temporarily', { group: group.id, memberId: m.memberId, instance: m.instanceId });
      return { answer: answer(STATIC_LEAVE_EPOCH), group, record: snapshotGroup(group) };
    }
    this.removeMember(group, m, 'left');
    return { answer: answer(LEAVE_EPOCH), group, record: snapshotGroup(group) };
  }

  /** Takes a member out: its partitions are free at once and the group epoch moves. */
  private removeMember(g: ConsumerGroup, m: ConsumerMember, why: string): void {
    this.clearTimers(m);
    this.setOwnership(g, m, new Map(), new Map());
    g.members.delete(m.memberId);
    g.target.delete(m.memberId);
    if (m.instanceId !== null && g.staticMembers.get(m.instanceId) === m.memberId) g.staticMembers.delete(m.instanceId);
    this.logger.info(`consumer group member ${why}`, { group: g.id, memberId: m.memberId, instance: m.instanceId });
    this.refreshTopics(g);
    g.groupEpoch++;
    this.computeTarget(g);
  }

  // ---------------------------------------------------------------- timers

  private scheduleSession(g: ConsumerGroup, m: ConsumerMember): void {
    if (this.closed) return;
    if (m.sessionTimer) clearTimeout(m.sessionTimer);
    const ms = this.settingsFor(g.id).sessionTimeoutMs;
    m.sessionTimer = setTimeout(() => this.expire(g, m, `session expired after ${ms} ms without a heartbeat`), ms);
    m.sessionTimer.unref();
  }

  private scheduleRebalanceTimeout(g: ConsumerGroup, m: ConsumerMember): void {
    this.clearRebalanceTimer(m);
    if (this.closed) return;
    const epoch = m.memberEpoch;
    m.rebalanceTimer = setTimeout(() => {
      if (m.state === MemberState.UnrevokedPartitions && m.memberEpoch === epoch) this.expire(g, m, `did not revoke its partitions within its rebalance timeout of ${m.rebalanceTimeoutMs} ms`);
    }, m.rebalanceTimeoutMs);
    m.rebalanceTimer.unref();
  }

  private clearRebalanceTimer(m: ConsumerMember): void {
    if (m.rebalanceTimer) clearTimeout(m.rebalanceTimer);
    m.rebalanceTimer = null;
  }

  private clearTimers(m: ConsumerMember): void {
    if (m.sessionTimer) clearTimeout(m.sessionTimer);
    m.sessionTimer = null;
    this.clearRebalanceTimer(m);
  }

  private expire(g: ConsumerGroup, m: ConsumerMember, why: string): void {
    if (this.groups.get(g.id) !== g || g.members.get(m.memberId) !== m) return;
    this.removeMember(g, m, `fenced: ${why}`);
    this.storeInBackground(g);
  }

  // ---------------------------------------------------------------- topics

  /** Topics were created, deleted or grew, or ACLs changed: groups whose subscribed topics changed get a new epoch. */
  topicsChanged(): void {
    for (const g of this.groups.values()) {
      if (g.members.size === 0 || !this.refreshTopics(g)) continue;
      g.groupEpoch++;
      this.computeTarget(g);
      this.logger.info('consumer group subscribed topics changed', { group: g.id, epoch: g.groupEpoch });
      this.storeInBackground(g);
    }
  }

  // ---------------------------------------------------------------- storage

  private async store(r: GroupRecord): Promise<void> {
    await this.changes.write(r);
    this.changes.maybeCompact(this.groups.size, () => [...this.groups.values()].map(snapshotGroup));
  }

  private storeInBackground(g: ConsumerGroup): void {
    this.store(snapshotGroup(g)).catch((e) => this.logger.error('consumer group state not stored', { group: g.id, error: e }));
  }

  // ---------------------------------------------------------------- other APIs

  /** Whether a classic JoinGroup may use this id: a consumer group with members refuses it; an empty one gives the id up. */
  async releaseForClassic(groupId: string): Promise<boolean> {
    const g = this.groups.get(groupId);
    if (g === undefined) return true;
    if (g.members.size > 0) return false;
    this.groups.delete(groupId);
    await this.changes.write({ v: 1, group: groupId, state: null });
    this.logger.info('empty consumer group converted to a classic group', { group: groupId });
    return true;
  }

  /** OffsetCommit / OffsetFetch by a consumer group's member (KIP-848 rules); NONE when allowed. */
  offsetCheck(groupId: string, memberId: string, memberEpoch: number, apiVersion: number, isCommit: boolean): number {
    const g = this.groups.get(groupId);
    if (g === undefined) return ErrorCode.NONE;
    // From outside the group (admin tools, assign()): allowed when the group is empty (commit) or always (fetch).
    if (memberEpoch < 0 && memberId === '') return !isCommit || g.members.size === 0 ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    const m = g.members.get(memberId);
    if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch === m.memberEpoch) return ErrorCode.NONE;
    if (memberEpoch > m.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH;
    // An older epoch: v9+ clients understand STALE_MEMBER_EPOCH; older ones only ILLEGAL_GENERATION.
    return apiVersion >= 9 ? ErrorCode.STALE_MEMBER_EPOCH : ErrorCode.ILLEGAL_GENERATION;
  }

  /** Names of the topics a group's members subscribe to (by name or regex), for OffsetDelete. */
  subscribedTopicNames(groupId: string): Set<string> {
    const names = new Set<string>();
    const g = this.groups.get(groupId);
    if (g === undefined) return names;
    for (const m of g.members.values()) {
      for (const id of this.memberTopicIds(m)) {
        const t = this.topics.byId(id);
        if (t !== undefined) names.add(t.name);
      }
    }
    return names;
  }

  /** Whether the group has members: its committed offsets do not expire then. */
  hasMembers(groupId: string): boolean {
    return (this.groups.get(groupId)?.members.size ?? 0) > 0;
  }

  /** Deletes an empty consumer group; offsets are the caller's. */
  async deleteGroup(groupId: string): Promise<number | null> {
    const g = this.groups.get(groupId);
    if (g === undefined) return null;
    if (g.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    this.groups.delete(groupId);
    await this.changes.write({ v: 1, group: groupId, state: null });
    return ErrorCode.NONE;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const g of this.groups.values()) for (const m of g.members.values()) this.clearTimers(m);
    return this.changes.close();
  }
}
