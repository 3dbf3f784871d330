// Share groups (KIP-932): membership through ShareGroupHeartbeat, the server-side assignment,
// share sessions (ShareFetch/ShareAcknowledge epochs), and each group's share partitions
// (share-partition.ts) with their lock timers and durable state (share-state-store.ts).
//
// Membership: a member joins with epoch 0 and its subscription; the coordinator computes the
// assignment and answers with the member's epoch and partitions. Members of a share group
// never own a partition exclusively, so there is no revocation round: a new assignment takes
// effect at the member's next heartbeat, which moves its epoch to the group's. A member
// that does not heartbeat within the session timeout is removed.
//
// Assignment, as Kafka's share-group "simple" assignor does in effect: per subscribed topic,
// when the members subscribing to it are no more than its partitions, each partition goes to
// one member (round robin); when they outnumber the partitions, every member gets a
// partition and partitions are shared (with one partition, every member gets it).
//
// Records a member holds are released when it leaves, its membership expires or it closes
// its share session; otherwise their lock expires (one timer per share partition, set to its
// earliest lock). Whatever makes records available again wakes the partition's parked
// fetches.

import { ErrorCode } from '../../protocol/errors.js';
import type { Logger } from '../logger.js';
import type { BrokerConfig } from '../config.js';
import type { Partition, Topic } from '../topics.js';
import type { Waiter } from '../wait-list.js';
import { SharePartition, type AcquiredRange, type SharePartitionLimits } from './share-partition.js';
import { shareGroupConfig, type ShareGroupConfig } from './share-config.js';
import { partitionKey, type ShareStateStore } from './share-state-store.js';

export const ShareGroupState = { Empty: 'Empty', Stable: 'Stable', Dead: 'Dead' } as const;

/** The topics the coordinator needs to see: by name for subscriptions, by id for fetches. */
export interface ShareTopics {
  readonly byName: ReadonlyMap<string, Topic>;
  readonly byId: ReadonlyMap<string, Topic>;
}

export class ShareMember {
  memberEpoch = 0;
  rackId: string | null = null;
  subscribed: string[] = [];
  /** topic id -> partitions */
  assignment = new Map<string, number[]>();
  timer: NodeJS.Timeout | null = null;

  constructor(
    readonly memberId: string,
    public clientId: string,
    public clientHost: string,
  ) {}
}

export class ShareGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ShareMember>();
  /** "topicId:partition" -> state */
  readonly partitions = new Map<string, SharePartition>();
  /** The limits every share partition of the group reads; refreshed from the group's config. */
  readonly limits: SharePartitionLimits;
  /** What the current assignment was computed from (members, subscriptions, partition counts). */
  inputs = '';

  constructor(readonly id: string, config: ShareGroupConfig) {
    this.limits = { lockDurationMs: config.recordLockDurationMs, maxDeliveries: config.deliveryCountLimit, maxLocks: config.maxRecordLocks };
  }

  get state(): string {
    return this.members.size === 0 ? ShareGroupState.Empty : ShareGroupState.Stable;
  }
}

/** A member's share session (like a KIP-227 fetch session): the partitions it fetches and the next epoch. */
export class ShareSession {
  epoch = 1;
  /** "topicId:partition" -> [topicId, partition], in the order they were added */
  readonly partitions = new Map<string, [string, number]>();
  /** The session's parked ShareFetch, woken when a newer request of the session arrives. */
  parked: Waiter | null = null;

  constructor(readonly groupId: string, readonly memberId: string) {}
}

export interface HeartbeatRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  rackId: string | null;
  subscribedTopicNames: string[] | null;
  clientId: string;
  clientHost: string;
}

export interface HeartbeatAnswer {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** topic id -> partitions, or null when unchanged since the member last heard it */
  assignment: Map<string, number[]> | null;
}

export interface AckBatch {
  firstOffset: number;
  lastOffset: number;
  acknowledgeTypes: number[];
}

const LEAVE_EPOCH = -1;

export class ShareCoordinator {
  readonly groups = new Map<string, ShareGroup>();
  /** "group\0member" -> session */
  readonly sessions = new Map<string, ShareSession>();
  private readonly lockTimers = new Map<SharePartition, { timer: NodeJS.Timeout; at: number }>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly topics: ShareTopics,
    readonly store: ShareStateStore,
    private readonly log: Logger,
    /** True when a classic or consumer group holds this id. */
    private readonly otherGroupExists: (id: string) => boolean,
    /** A group's own configs (resource type GROUP); empty when none are set. */
    private readonly groupOverrides: (id: string) => Readonly<Record<string, string>> = () => ({}),
    private readonly now: () => number = Date.now,
  ) {}

  /** Brings back every group's share partitions from the store (no members: they rejoin). */
  restore(): void {
    for (const [groupId, states] of this.store.states) {
      const group = this.groupFor(groupId);
      for (const [key, state] of states) group.partitions.set(key, SharePartition.restore(state, group.limits));
    }
  }

  groupConfig(groupId: string): ShareGroupConfig {
    return shareGroupConfig(this.config, this.groupOverrides(groupId));
  }

  private groupFor(groupId: string): ShareGroup {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = new ShareGroup(groupId, this.groupConfig(groupId));
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** The share group of this id, created when absent (null when another kind of group holds the id). */
  shareGroup(groupId: string): ShareGroup | null {
    if (!this.groups.has(groupId) && this.otherGroupExists(groupId)) return null;
    return this.groupFor(groupId);
  }

  // ---------------------------------------------------------------- membership

  heartbeat(req: HeartbeatRequest): HeartbeatAnswer {
    const cfg = this.groupConfig(req.groupId);
    const fail = (errorCode: number, errorMessage: string): HeartbeatAnswer => ({ errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null });
    if (req.groupId === '') return fail(ErrorCode.INVALID_REQUEST, 'GroupId can not be empty.');
    if (req.memberId === '') return fail(ErrorCode.INVALID_REQUEST, 'MemberId can not be empty: the client generates it.');
    if (req.memberEpoch < LEAVE_EPOCH) return fail(ErrorCode.INVALID_REQUEST, `MemberEpoch ${req.memberEpoch} is invalid: use 0 to join, -1 to leave.`);
    if (!this.groups.has(req.groupId) && this.otherGroupExists(req.groupId)) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a share group: another kind of group uses this id.`);
    const existing = this.groups.get(req.groupId);
    if (req.memberEpoch === LEAVE_EPOCH) {
      const m = existing?.members.get(req.memberId);
      if (m !== undefined) this.removeMember(existing!, m, 'left');
      return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: req.memberId, memberEpoch: LEAVE_EPOCH, heartbeatIntervalMs: 0, assignment: null };
    }
    let member = existing?.members.get(req.memberId);
    if (req.memberEpoch !== 0) {
      if (member === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of share group ${req.groupId}: rejoin with epoch 0.`);
      if (req.memberEpoch !== member.memberEpoch) return fail(ErrorCode.FENCED_MEMBER_EPOCH, `Member epoch ${req.memberEpoch} is not the current ${member.memberEpoch}: rejoin with epoch 0.`);
    } else if (req.subscribedTopicNames === null || req.subscribedTopicNames.length === 0) {
      return fail(ErrorCode.INVALID_REQUEST, 'SubscribedTopicNames must be set in the first request of a member (epoch 0).');
    }
    // Only a valid join creates a group.
    const group = existing ?? this.groupFor(req.groupId);
    group.limits.lockDurationMs = cfg.recordLockDurationMs;
    group.limits.maxDeliveries = cfg.deliveryCountLimit;
    group.limits.maxLocks = cfg.maxRecordLocks;
    if (member === undefined) {
      if (group.members.size >= cfg.maxSize) return fail(ErrorCode.GROUP_MAX_SIZE_REACHED, `Share group ${req.groupId} has ${group.members.size} members, the most group.share.max.size allows.`);
      member = new ShareMember(req.memberId, req.clientId, req.clientHost);
      group.members.set(req.memberId, member);
      this.log.info('share group member joined', { group: group.id, memberId: req.memberId });
    }
    if (req.memberEpoch === 0) member.memberEpoch = 0; // a (re)join: it hears its whole assignment again
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    if (req.rackId !== null) member.rackId = req.rackId;
    if (req.subscribedTopicNames !== null) member.subscribed = [...new Set(req.subscribedTopicNames)].sort();
    this.keepAlive(group, member, cfg.sessionTimeoutMs);
    this.maybeReassign(group);
    let assignment: Map<string, number[]> | null = null;
    if (member.memberEpoch !== group.assignmentEpoch) {
      member.memberEpoch = group.assignmentEpoch;
      assignment = member.assignment;
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: member.memberEpoch, heartbeatIntervalMs: cfg.heartbeatIntervalMs, assignment };
  }

  private keepAlive(group: ShareGroup, member: ShareMember, timeoutMs: number): void {
    if (member.timer !== null) clearTimeout(member.timer);
    member.timer = setTimeout(() => {
      if (group.members.get(member.memberId) !== member) return;
      this.log.info('share group member session expired', { group: group.id, memberId: member.memberId, sessionTimeoutMs: timeoutMs });
      this.removeMember(group, member, 'expired');
    }, timeoutMs);
    member.timer.unref();
  }

  private removeMember(group: ShareGroup, member: ShareMember, why: string): void {
    if (member.timer !== null) clearTimeout(member.timer);
    member.timer = null;
    group.members.delete(member.memberId);
    this.sessions.delete(sessionKey(group.id, member.memberId));
    for (const [key, sp] of group.partitions) if (sp.releaseMember(member.memberId)) this.changed(group, key, sp);
    this.log.info(`share group member ${why}`, { group: group.id, memberId: member.memberId });
    this.maybeReassign(group);
    // A group with neither members nor state is forgotten (heartbeats with any id cannot pile up groups).
    if (group.members.size === 0 && group.partitions.size === 0) this.groups.delete(group.id);
  }

  /** Recomputes the assignment when members, subscriptions or partition counts changed. */
  private maybeReassign(group: ShareGroup): void {
    const members = [...group.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
    const names = [...new Set(members.flatMap((m) => m.subscribed))].sort();
    const inputs = JSON.stringify([members.map((m) => [m.memberId, m.subscribed]), names.map((n) => {
      const t = this.topics.byName.get(n);
      return t === undefined || t.deleted ? null : [t.id, t.partitions.length];
    })]);
    if (inputs === group.inputs) return;
    group.inputs = inputs;
    group.groupEpoch++;
    for (const m of members) m.assignment = new Map();
    for (const name of names) {
      const t = this.topics.byName.get(name);
      if (t === undefined || t.deleted || t.partitions.length === 0) continue;
      const ms = members.filter((m) => m.subscribed.includes(name));
      const n = t.partitions.length;
      const give = (m: ShareMember, p: number) => {
        let ps = m.assignment.get(t.id);
        if (ps === undefined) m.assignment.set(t.id, (ps = []));
        ps.push(p);
      };
      if (ms.length <= n) for (let p = 0; p < n; p++) give(ms[p % ms.length]!, p);
      else for (let j = 0; j < ms.length; j++) give(ms[j]!, j % n);
    }
    group.assignmentEpoch = group.groupEpoch;
    this.log.debug('share group assignment', { group: group.id, epoch: group.groupEpoch, members: members.length });
  }

  // ---------------------------------------------------------------- share sessions

  /**
   * Opens, continues or closes a member's share session per its epoch: 0 opens a new one
   * (replacing any), -1 closes it (the caller releases what the member holds), otherwise the
   * epoch must be the session's next. Returns the session or an error code.
   */
  session(groupId: string, memberId: string, epoch: number): ShareSession | number {
    const key = sessionKey(groupId, memberId);
    if (epoch === 0) {
      this.sessions.get(key)?.parked?.wake();
      const s = new ShareSession(groupId, memberId);
      this.sessions.set(key, s);
      return s;
    }
    const s = this.sessions.get(key);
    if (s === undefined) return ErrorCode.SHARE_SESSION_NOT_FOUND;
    if (epoch === LEAVE_EPOCH) {
      s.parked?.wake();
      return s;
    }
    if (epoch !== s.epoch) return ErrorCode.INVALID_SHARE_SESSION_EPOCH;
    s.parked?.wake();
    s.epoch = epoch === 0x7fffffff ? 1 : epoch + 1;
    return s;
  }

  /** Ends a session: the records its member holds on the session's partitions become available. */
  closeSession(session: ShareSession): void {
    const key = sessionKey(session.groupId, session.memberId);
    if (this.sessions.get(key) === session) this.sessions.delete(key);
    const group = this.groups.get(session.groupId);
    if (group === undefined) return;
    for (const k of session.partitions.keys()) {
      const sp = group.partitions.get(k);
      if (sp !== undefined && sp.releaseMember(session.memberId)) this.changed(group, k, sp);
    }
  }

  // ---------------------------------------------------------------- share partitions

  /**
   * The group's state on a partition, created on first use where share.auto.offset.reset
   * says (the log end for latest, the log start for earliest) and stored before it is used,
   * so a restart does not move it. Kept past the log start (retention, DeleteRecords).
   */
  async sharePartition(group: ShareGroup, partition: Partition): Promise<SharePartition> {
    const key = partitionKey(partition.topic.id, partition.index);
    let sp = group.partitions.get(key);
    const log = partition.log;
    if (sp === undefined) {
      const start = this.groupConfig(group.id).autoOffsetReset === 'earliest' ? log.logStartOffset : log.highWatermark;
      sp = new SharePartition(start, group.limits);
      group.partitions.set(key, sp);
      await this.store.save(group.id, partition.topic.id, partition.index, sp.state());
    }
    if (sp.startOffset < log.logStartOffset) sp.moveStartTo(log.logStartOffset);
    return sp;
  }

  /** Acquires records for a member and arms the partition's lock timer. */
  acquire(group: ShareGroup, partition: Partition, sp: SharePartition, memberId: string, from: number, upTo: number, maxRecords: number, strict: boolean): AcquiredRange[] {
    const got = sp.acquire(memberId, from, upTo, maxRecords, this.now(), strict);
    if (got.length > 0) this.armLockTimer(group, partitionKey(partition.topic.id, partition.index), sp);
    return got;
  }

  /**
   * Applies a member's acknowledgements to one partition and stores the partition's new
   * state; resolves to an error code once stored.
   */
  async acknowledge(group: ShareGroup, topicId: string, index: number, memberId: string, batches: readonly AckBatch[]): Promise<number> {
    const key = partitionKey(topicId, index);
    const sp = group.partitions.get(key);
    if (sp === undefined) return ErrorCode.INVALID_RECORD_STATE;
    const now = this.now();
    let error: number = ErrorCode.NONE;
    for (const b of batches) {
      const e = sp.acknowledge(memberId, b.firstOffset, b.lastOffset, b.acknowledgeTypes, now);
      if (e !== ErrorCode.NONE) error = e;
    }
    await this.changed(group, key, sp);
    return error;
  }

  /**
   * After a change: wakes the partition's parked fetches (records may be available again),
   * re-arms its lock timer and stores its state.
   */
  private changed(group: ShareGroup, key: string, sp: SharePartition): Promise<void> {
    const i = key.lastIndexOf(':');
    const topicId = key.slice(0, i);
    const index = Number(key.slice(i + 1));
    this.topics.byId.get(topicId)?.partitions[index]?.wake();
    this.armLockTimer(group, key, sp);
    return this.store.save(group.id, topicId, index, sp.state()).catch((e: unknown) => {
      // The change stays in memory; after a restart the records are offered again (at least once).
      this.log.warn('share-partition state not stored', { group: group.id, partition: key, error: e });
    });
  }

  private armLockTimer(group: ShareGroup, key: string, sp: SharePartition): void {
    const at = sp.nextExpiry();
    const t = this.lockTimers.get(sp);
    if (t !== undefined && t.at === at) return;
    if (t !== undefined) clearTimeout(t.timer);
    if (at === Infinity) {
      this.lockTimers.delete(sp);
      return;
    }
    const timer = setTimeout(() => {
      this.lockTimers.delete(sp);
      if (group.partitions.get(key) !== sp) return;
      if (sp.expireLocks(this.now())) void this.changed(group, key, sp);
      else this.armLockTimer(group, key, sp);
    }, Math.max(1, at - this.now()));
    timer.unref();
    this.lockTimers.set(sp, { timer, at });
  }

  // ---------------------------------------------------------------- admin

  /**
   * Sets the group's start offset on a partition (AlterShareGroupOffsets): the partition's
   * state starts afresh there, stored before the answer. The caller checks the group is empty.
   */
  async resetPartition(group: ShareGroup, partition: Partition, offset: number): Promise<void> {
    const key = partitionKey(partition.topic.id, partition.index);
    this.dropLockTimer(group.partitions.get(key));
    const sp = new SharePartition(offset, group.limits);
    await this.store.save(group.id, partition.topic.id, partition.index, sp.state());
    group.partitions.set(key, sp);
  }

  /** Forgets the group's state on every partition of a topic (DeleteShareGroupOffsets); the caller checks the group is empty. */
  async deleteTopicState(group: ShareGroup, topicId: string): Promise<void> {
    for (const [key, sp] of [...group.partitions]) {
      if (!key.startsWith(`${topicId}:`)) continue;
      this.dropLockTimer(sp);
      const index = Number(key.slice(topicId.length + 1));
      await this.store.deletePartition(group.id, topicId, index);
      group.partitions.delete(key);
    }
  }

  /** A topic was deleted: every share group forgets its state on it, stored so a restart does not bring it back. */
  async topicDeleted(topicId: string): Promise<void> {
    for (const group of [...this.groups.values()]) await this.deleteTopicState(group, topicId);
  }

  private dropLockTimer(sp: SharePartition | undefined): void {
    if (sp === undefined) return;
    const t = this.lockTimers.get(sp);
    if (t !== undefined) clearTimeout(t.timer);
    this.lockTimers.delete(sp);
  }

  /** Deletes an empty share group and its stored state; an error code. */
  async deleteGroup(groupId: string): Promise<number> {
    const group = this.groups.get(groupId);
    if (group === undefined) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    for (const sp of group.partitions.values()) this.dropLockTimer(sp);
    this.groups.delete(groupId);
    await this.store.deleteGroup(groupId);
    this.log.info('share group deleted', { group: groupId });
    return ErrorCode.NONE;
  }

  close(): void {
    for (const g of this.groups.values()) for (const m of g.members.values()) if (m.timer !== null) clearTimeout(m.timer);
    for (const t of this.lockTimers.values()) clearTimeout(t.timer);
    this.lockTimers.clear();
    for (const s of this.sessions.values()) s.parked?.wake();
  }
}

function sessionKey(groupId: string, memberId: string): string {
  return `${groupId}\0${memberId}`;
}
