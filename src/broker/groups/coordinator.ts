// The group coordinator for the classic consumer group protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup), with static membership (KIP-345) and the member-id handshake
// (KIP-394). It stays agnostic of assignors: the leader's assignment bytes are passed
// through. Every transition happens synchronously on the event loop; waiting members are
// answered through the callbacks they left on their Member. Committed offsets live in
// the OffsetStore, and so does each group's metadata once a rebalance completes (its
// generation, protocol, leader, members and assignments): after a restart the group is back
// as it was, Stable, and a member that does not come back within its session is removed.

import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/errors.js';
import { subscribedTopics } from '../../protocol/consumer-protocol.js';
import { Group, GroupState, Member, type JoinAnswer, type Protocol, type SyncAnswer } from './group.js';
import type { OffsetStore, StoredClassicGroup } from './offset-store.js';
import type { Logger } from '../logger.js';

export interface GroupSettings {
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  maxSize: number;
  offsetsRetentionMs: number;
}

export interface JoinRequest {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  clientId: string;
  clientHost: string;
  /** v4+: a new dynamic member must first ask for a member id (MEMBER_ID_REQUIRED). */
  requireKnownMemberId: boolean;
  /** v9+: the leader may be told to skip assignment when a static leader rejoins. */
  supportsSkipAssignment: boolean;
}

const EMPTY = Buffer.alloc(0);

function joinError(errorCode: number, memberId = ''): JoinAnswer {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}

function syncError(errorCode: number): SyncAnswer {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

export class GroupCoordinator {
  readonly groups = new Map<string, Group>();
  private expiryTimer: NodeJS.Timeout | null = null;
  /** Whether a group id has members in another coordinator (consumer protocol): its offsets do not expire. */
  hasMembersElsewhere: (groupId: string) => boolean = () => false;

  constructor(
    readonly settings: GroupSettings,
    readonly offsets: OffsetStore,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Groups known only by their committed offsets appear as Empty groups. */
  groupOrOffsetsOnly(id: string): Group | undefined {
    const g = this.groups.get(id);
    if (g) return g;
    if (this.offsets.hasGroup(id)) {
      const ghost = new Group(id, this.now());
      return ghost;
    }
    return undefined;
  }

  /**
   * Rebuilds the groups stored (after OffsetStore.load), as Kafka loads them from
   * __consumer_offsets: the last generation with its members, Stable (Empty without members),
   * every member's session timer started anew.
   */
  restore(): void {
    for (const s of this.offsets.classicGroups()) {
      const group = new Group(s.id, this.now());
      group.generationId = s.generation;
      group.protocolType = s.protocolType;
      group.protocolName = s.protocolName;
      for (const m of s.members) {
        const protocols = m.protocols.map(([name, metadata]) => ({ name, metadata: Buffer.from(metadata, 'base64') }));
        const member = new Member(m.memberId, m.groupInstanceId, m.clientId, m.clientHost, m.sessionTimeoutMs, m.rebalanceTimeoutMs, protocols);
        member.assignment = Buffer.from(m.assignment, 'base64');
        group.members.set(m.memberId, member);
        if (m.groupInstanceId !== null) group.staticMembers.set(m.groupInstanceId, m.memberId);
      }
      if (group.members.size > 0) {
        group.leaderId = s.leader !== null && group.members.has(s.leader) ? s.leader : group.members.keys().next().value!;
        group.transition(GroupState.Stable, this.now());
        for (const m of group.members.values()) this.scheduleSession(group, m);
      } else {
        group.protocolName = null;
      }
      this.groups.set(s.id, group);
      this.log.info('group loaded', { group: s.id, generation: group.generationId, state: group.state, members: group.members.size });
    }
  }

  /** Stores the group's metadata as it is now; a failure is logged (the group then restarts from what was stored before). */
  private persist(group: Group): Promise<void> {
    const stored: StoredClassicGroup = {
      id: group.id,
      generation: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        protocols: m.protocols.map((p) => [p.name, p.metadata.toString('base64')] as [string, string]),
        assignment: m.assignment.toString('base64'),
      })),
    };
    return this.offsets.storeClassicGroup(group.id, stored).catch((e: unknown) => this.log.warn('group metadata could not be stored', { group: group.id, error: e }));
  }

  /** Forgets a group's stored metadata. */
  private unpersist(groupId: string): void {
    void this.offsets.storeClassicGroup(groupId, null).catch((e: unknown) => this.log.warn('group metadata could not be removed', { group: groupId, error: e }));
  }

  startExpiry(intervalMs: number): void {
    this.expiryTimer = setInterval(() => void this.expireOffsets(), intervalMs);
    this.expiryTimer.unref();
  }

  // ---------------------------------------------------------------- JoinGroup

  join(req: JoinRequest): Promise<JoinAnswer> {
    const s = this.settings;
    if (req.groupId === '') return Promise.resolve(joinError(ErrorCode.INVALID_GROUP_ID, req.memberId));
    if (req.sessionTimeoutMs < s.minSessionTimeoutMs || req.sessionTimeoutMs > s.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, req.memberId));
    }
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (req.memberId !== '') return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
      group = new Group(req.groupId, this.now());
      this.groups.set(req.groupId, group);
    }
    if (group.state === GroupState.Dead) return Promise.resolve(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, req.memberId));
    if (!group.supports(req.protocolType, req.protocols)) return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId));
    return new Promise((resolve) => {
      if (req.memberId === '') this.joinUnknownMember(group, req, resolve);
      else this.joinKnownMember(group, req, resolve);
    });
  }

  private joinUnknownMember(group: Group, req: JoinRequest, resolve: (a: JoinAnswer) => void): void {
    const newId = `${req.clientId || 'member'}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const oldId = group.staticMembers.get(req.groupInstanceId);
      if (oldId !== undefined && group.members.has(oldId)) {
        this.replaceStaticMember(group, group.members.get(oldId)!, newId, req, resolve);
        return;
      }
    } else if (req.requireKnownMemberId) {
      if (this.settings.maxSize > 0 && group.members.size + group.pendingMembers.size >= this.settings.maxSize) {
        resolve(joinError(ErrorCode.GROUP_MAX_SIZE_REACHED));
        return;
      }
      const timer = setTimeout(() => this.expirePending(group, newId), req.sessionTimeoutMs);
      timer.unref();
      group.pendingMembers.set(newId, timer);
      resolve(joinError(ErrorCode.MEMBER_ID_REQUIRED, newId));
      return;
    }
    this.addMemberAndRebalance(group, newId, req, resolve);
  }

  private joinKnownMember(group: Group, req: JoinRequest, resolve: (a: JoinAnswer) => void): void {
    // A static instance now held by another member id: this is the old process, fenced (as
    // Kafka answers), so it stops instead of rejoining with an empty id and fencing the new one.
    if (req.groupInstanceId !== null) {
      const holder = group.staticMembers.get(req.groupInstanceId);
      if (holder !== undefined && holder !== req.memberId) {
        resolve(joinError(ErrorCode.FENCED_INSTANCE_ID, req.memberId));
        return;
      }
    }
    const pending = group.pendingMembers.get(req.memberId);
    if (pending !== undefined) {
      clearTimeout(pending);
      group.pendingMembers.delete(req.memberId);
      this.addMemberAndRebalance(group, req.memberId, req, resolve);
      return;
    }
    const member = group.members.get(req.memberId);
    if (!member) {
      resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
      return;
    }
    if (req.groupInstanceId !== null && group.staticMembers.get(req.groupInstanceId) !== req.memberId) {
      resolve(joinError(ErrorCode.FENCED_INSTANCE_ID, req.memberId));
      return;
    }
    switch (group.state) {
      case GroupState.PreparingRebalance:
        this.updateMember(group, member, req, resolve);
        this.maybeCompleteJoin(group);
        return;
      case GroupState.CompletingRebalance:
        if (member.sameProtocols(req.protocols)) {
          resolve(this.currentGeneration(group, member, false));
        } else {
          this.updateMember(group, member, req, resolve);
          this.prepareRebalance(group, `member ${member.memberId} changed its protocols`);
        }
        return;
      case GroupState.Stable:
        if (member.memberId === group.leaderId || !member.sameProtocols(req.protocols)) {
          this.updateMember(group, member, req, resolve);
          this.prepareRebalance(group, `member ${member.memberId} rejoined`);
        } else {
          this.heartbeatReceived(group, member);
          resolve(this.currentGeneration(group, member, false));
        }
        return;
      default:
        resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
    }
  }

  /** A static member came back under a new member id: the old id is fenced, and in a stable group nothing rebalances. */
  private replaceStaticMember(group: Group, member: Member, newId: string, req: JoinRequest, resolve: (a: JoinAnswer) => void): void {
    const oldId = member.memberId;
    member.joinWaiter?.(joinError(ErrorCode.FENCED_INSTANCE_ID, oldId));
    member.joinWaiter = null;
    member.syncWaiter?.(syncError(ErrorCode.FENCED_INSTANCE_ID));
    member.syncWaiter = null;
    group.members.delete(oldId);
    member.memberId = newId;
    group.members.set(newId, member);
    group.staticMembers.set(member.groupInstanceId!, newId);
    if (group.leaderId === oldId) group.leaderId = newId;
    this.log.info('static member rejoined', { group: group.id, instance: member.groupInstanceId, memberId: newId });
    if (group.state === GroupState.Stable) {
      // As Kafka does: a restarted consumer's metadata differs (it owns nothing yet), but
      // unless that changes the protocol the group would select, nothing rebalances.
      const previous = member.protocols;
      member.protocols = req.protocols;
      if (group.selectProtocol() === group.protocolName) {
        member.clientId = req.clientId;
        member.clientHost = req.clientHost;
        member.sessionTimeoutMs = req.sessionTimeoutMs;
        member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
        this.heartbeatReceived(group, member);
        // The leader is told to keep the current assignment (v9 skipAssignment), once the new member id is stored.
        const answer = this.currentGeneration(group, member, req.supportsSkipAssignment && newId === group.leaderId);
        void this.persist(group).then(() => resolve(answer));
        return;
      }
      member.protocols = previous;
    }
    this.updateMember(group, member, req, resolve);
    if (group.state === GroupState.PreparingRebalance) this.maybeCompleteJoin(group);
    else this.prepareRebalance(group, `static member ${member.groupInstanceId} rejoined with new protocols`);
  }

  private addMemberAndRebalance(group: Group, memberId: string, req: JoinRequest, resolve: (a: JoinAnswer) => void): void {
    if (this.settings.maxSize > 0 && group.members.size >= this.settings.maxSize) {
      resolve(joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, memberId));
      return;
    }
    const member = new Member(memberId, req.groupInstanceId, req.clientId, req.clientHost, req.sessionTimeoutMs, req.rebalanceTimeoutMs, req.protocols);
    member.joinWaiter = resolve;
    group.members.set(memberId, member);
    if (req.groupInstanceId !== null) group.staticMembers.set(req.groupInstanceId, memberId);
    if (group.protocolType === null) group.protocolType = req.protocolType;
    if (group.leaderId === null) group.leaderId = memberId;
    this.scheduleSession(group, member);
    if (group.state === GroupState.PreparingRebalance) this.maybeCompleteJoin(group);
    else this.prepareRebalance(group, `member ${memberId} joined`);
  }

  private updateMember(group: Group, member: Member, req: JoinRequest, resolve: (a: JoinAnswer) => void): void {
    if (member.joinWaiter !== null && member.joinWaiter !== resolve) member.joinWaiter(joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    member.protocols = req.protocols;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.joinWaiter = resolve;
    this.scheduleSession(group, member);
  }

  private currentGeneration(group: Group, member: Member, skipAssignment: boolean): JoinAnswer {
    const isLeader = member.memberId === group.leaderId;
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment,
      memberId: member.memberId,
      members: isLeader ? this.memberList(group) : [],
    };
  }

  private memberList(group: Group): JoinAnswer['members'] {
    return [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(group.protocolName ?? '') }));
  }

  private prepareRebalance(group: Group, reason: string): void {
    if (group.state === GroupState.CompletingRebalance) {
      for (const m of group.members.values()) {
        m.syncWaiter?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        m.syncWaiter = null;
      }
    }
    const fromEmpty = group.state === GroupState.Empty;
    group.transition(GroupState.PreparingRebalance, this.now());
    this.log.debug('rebalance', { group: group.id, reason, generation: group.generationId });
    if (group.rebalanceTimer) clearTimeout(group.rebalanceTimer);
    if (fromEmpty && this.settings.initialRebalanceDelayMs > 0) {
      // Let the first members of an empty group gather before the first generation.
      const delay = Math.min(this.settings.initialRebalanceDelayMs, group.maxRebalanceTimeoutMs());
      group.initialDelayUntil = this.now() + delay;
      group.rebalanceTimer = setTimeout(() => this.completeJoin(group), delay);
      return;
    }
    group.initialDelayUntil = 0;
    group.rebalanceTimer = setTimeout(() => this.completeJoin(group), group.maxRebalanceTimeoutMs());
    this.maybeCompleteJoin(group);
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.state !== GroupState.PreparingRebalance) return;
    if (group.initialDelayUntil > this.now()) return;
    if (group.allJoined()) this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    if (group.state !== GroupState.PreparingRebalance) return;
    if (group.rebalanceTimer) clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = null;
    group.initialDelayUntil = 0;
    // Dynamic members that did not rejoin in time are dropped; static ones stay until their session expires.
    for (const m of [...group.members.values()]) {
      if (m.joinWaiter === null && m.groupInstanceId === null) this.removeMember(group, m);
    }
    group.generationId++;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.leaderId = null;
      group.transition(GroupState.Empty, this.now());
      this.log.info('group is empty', { group: group.id, generation: group.generationId });
      void this.persist(group);
      return;
    }
    group.protocolName = group.selectProtocol();
    if (group.leaderId === null || !group.members.has(group.leaderId) || group.members.get(group.leaderId)!.joinWaiter === null) {
      const joined = [...group.members.values()].find((m) => m.joinWaiter !== null);
      group.leaderId = (joined ?? group.members.values().next().value!).memberId;
    }
    group.transition(GroupState.CompletingRebalance, this.now());
    this.log.info('rebalance complete', { group: group.id, generation: group.generationId, members: group.members.size, protocol: group.protocolName, leader: group.leaderId });
    const all = this.memberList(group);
    for (const m of group.members.values()) {
      const waiter = m.joinWaiter;
      if (waiter === null) continue;
      m.joinWaiter = null;
      m.assignment = EMPTY;
      this.scheduleSession(group, m);
      waiter({
        errorCode: ErrorCode.NONE,
        generationId: group.generationId,
        protocolType: group.protocolType,
        protocolName: group.protocolName,
        leader: group.leaderId!,
        skipAssignment: false,
        memberId: m.memberId,
        members: m.memberId === group.leaderId ? all : [],
      });
    }
  }

  // ---------------------------------------------------------------- SyncGroup, Heartbeat, LeaveGroup

  private checkMember(group: Group | undefined, memberId: string, groupInstanceId: string | null, generationId: number): { member: Member; group: Group } | number {
    if (!group || group.state === GroupState.Dead) return ErrorCode.UNKNOWN_MEMBER_ID;
    const member = group.members.get(memberId);
    if (!member) {
      if (groupInstanceId !== null && group.staticMembers.has(groupInstanceId)) return ErrorCode.FENCED_INSTANCE_ID;
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (groupInstanceId !== null && group.staticMembers.get(groupInstanceId) !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return { member, group };
  }

  sync(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number, protocolType: string | null, protocolName: string | null, assignments: { memberId: string; assignment: Buffer }[]): Promise<SyncAnswer> {
    const checked = this.checkMember(this.groups.get(groupId), memberId, groupInstanceId, generationId);
    if (typeof checked === 'number') return Promise.resolve(syncError(checked));
    const { group, member } = checked;
    if ((protocolType !== null && protocolType !== group.protocolType) || (protocolName !== null && protocolName !== group.protocolName)) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    this.heartbeatReceived(group, member);
    switch (group.state) {
      case GroupState.PreparingRebalance:
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case GroupState.Stable:
        return Promise.resolve({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment });
      case GroupState.CompletingRebalance:
        return new Promise((resolve) => {
          member.syncWaiter?.(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.syncWaiter = resolve;
          if (member.memberId !== group.leaderId) return;
          const given = new Map(assignments.map((a) => [a.memberId, a.assignment]));
          for (const m of group.members.values()) m.assignment = Buffer.from(given.get(m.memberId) ?? EMPTY);
          group.transition(GroupState.Stable, this.now());
          // The members hear of their assignments once the generation is stored (as Kafka answers SyncGroup).
          const answers: [(a: SyncAnswer) => void, SyncAnswer][] = [];
          for (const m of group.members.values()) {
            const w = m.syncWaiter;
            if (w === null) continue;
            m.syncWaiter = null;
            answers.push([w, { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment }]);
          }
          void this.persist(group).then(() => {
            for (const [w, a] of answers) w(a);
          });
        });
      default:
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const checked = this.checkMember(this.groups.get(groupId), memberId, groupInstanceId, generationId);
    if (typeof checked === 'number') return checked;
    const { group, member } = checked;
    this.heartbeatReceived(group, member);
    if (group.state === GroupState.PreparingRebalance) return ErrorCode.REBALANCE_IN_PROGRESS;
    if (group.state === GroupState.Empty) return ErrorCode.UNKNOWN_MEMBER_ID;
    return ErrorCode.NONE;
  }

  /** Removes the named members; returns an error code per member in request order. */
  leave(groupId: string, members: { memberId: string; groupInstanceId: string | null }[]): number[] {
    const group = this.groups.get(groupId);
    return members.map(({ memberId, groupInstanceId }) => {
      if (!group || group.state === GroupState.Dead) return ErrorCode.UNKNOWN_MEMBER_ID;
      let id = memberId;
      if (groupInstanceId !== null) {
        const holder = group.staticMembers.get(groupInstanceId);
        if (holder === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
        if (memberId !== '' && holder !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
        id = holder;
      }
      const pending = group.pendingMembers.get(id);
      if (pending !== undefined) {
        clearTimeout(pending);
        group.pendingMembers.delete(id);
        this.maybeCompleteJoin(group);
        return ErrorCode.NONE;
      }
      const member = group.members.get(id);
      if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.log.info('member left', { group: group.id, memberId: id });
      this.removeMemberAndRebalance(group, member, `member ${id} left`);
      return ErrorCode.NONE;
    });
  }

  // ---------------------------------------------------------------- membership timers

  private heartbeatReceived(group: Group, member: Member): void {
    this.scheduleSession(group, member);
  }

  private scheduleSession(group: Group, member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = setTimeout(() => this.sessionExpired(group, member), member.sessionTimeoutMs);
    member.sessionTimer.unref();
  }

  private sessionExpired(group: Group, member: Member): void {
    if (group.members.get(member.memberId) !== member) return;
    // A member parked in JoinGroup or SyncGroup is alive: it is waiting for us.
    if (member.joinWaiter !== null || member.syncWaiter !== null) {
      this.scheduleSession(group, member);
      return;
    }
    this.log.info('member session expired', { group: group.id, memberId: member.memberId, sessionTimeoutMs: member.sessionTimeoutMs });
    this.removeMemberAndRebalance(group, member, `member ${member.memberId} session expired`);
  }

  private expirePending(group: Group, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return;
    this.maybeCompleteJoin(group);
    if (group.members.size === 0 && group.pendingMembers.size === 0 && group.state === GroupState.Empty) this.dropIfUnused(group);
  }

  private removeMember(group: Group, member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
    member.joinWaiter?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    member.joinWaiter = null;
    member.syncWaiter?.(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    member.syncWaiter = null;
    group.members.delete(member.memberId);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) group.staticMembers.delete(member.groupInstanceId);
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
  }

  private removeMemberAndRebalance(group: Group, member: Member, reason: string): void {
    this.removeMember(group, member);
    switch (group.state) {
      case GroupState.Stable:
      case GroupState.CompletingRebalance:
        this.prepareRebalance(group, reason);
        break;
      case GroupState.PreparingRebalance:
        this.maybeCompleteJoin(group);
        break;
      default:
        break;
    }
  }

  private dropIfUnused(group: Group): void {
    if (group.members.size === 0 && group.pendingMembers.size === 0 && group.state === GroupState.Empty && !this.offsets.hasGroup(group.id)) {
      this.groups.delete(group.id);
      this.unpersist(group.id);
    }
  }

  /** Forgets an empty group (its offsets stay): a consumer-protocol group takes its id. */
  dropEmpty(groupId: string): void {
    const g = this.groups.get(groupId);
    if (g === undefined || g.members.size > 0 || g.pendingMembers.size > 0) return;
    if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
    g.transition(GroupState.Dead, this.now());
    this.groups.delete(groupId);
    this.unpersist(groupId);
  }

  // ---------------------------------------------------------------- offsets, admin

  /**
   * Whether a commit with this generation and member may write (Kafka's rules); NONE when it may.
   * A transactional commit (TxnOffsetCommit) is not held back while the group completes a
   * rebalance: Kafka accepts it, and a Java producer takes REBALANCE_IN_PROGRESS there as fatal.
   */
  commitCheck(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, transactional = false): number {
    const group = this.groups.get(groupId);
    if (generationId < 0) {
      // A commit from outside any generation (an admin tool): allowed while nobody is a
      // member. Otherwise Kafka checks membership first: the admin's empty member id is
      // UNKNOWN_MEMBER_ID (what the Java Admin reports as "group has active members").
      if (!group || group.members.size === 0) return ErrorCode.NONE;
      if (group.state === GroupState.CompletingRebalance) return ErrorCode.REBALANCE_IN_PROGRESS;
      const checked = this.checkMember(group, memberId, groupInstanceId, generationId);
      return typeof checked === 'number' ? checked : ErrorCode.ILLEGAL_GENERATION;
    }
    if (!group || group.state === GroupState.Dead) return ErrorCode.ILLEGAL_GENERATION;
    if (group.state === GroupState.CompletingRebalance && !transactional) return ErrorCode.REBALANCE_IN_PROGRESS;
    const checked = this.checkMember(group, memberId, groupInstanceId, generationId);
    if (typeof checked === 'number') return checked;
    this.heartbeatReceived(group, checked.member);
    return ErrorCode.NONE;
  }

  /** Deletes a group that has no members, with its offsets. */
  async deleteGroup(groupId: string): Promise<number> {
    const group = this.groups.get(groupId);
    if (!group && !this.offsets.hasGroup(groupId)) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group && (group.members.size > 0 || group.pendingMembers.size > 0)) return ErrorCode.NON_EMPTY_GROUP;
    if (group) {
      group.transition(GroupState.Dead, this.now());
      this.groups.delete(groupId);
    }
    await this.offsets.deleteGroup(groupId);
    this.log.info('group deleted', { group: groupId });
    return ErrorCode.NONE;
  }

  /** Topics the group's consumer members subscribe to, from their subscription metadata. */
  subscribedTopics(group: Group): Set<string> {
    const topics = new Set<string>();
    if (group.protocolType !== 'consumer' || group.protocolName === null) return topics;
    for (const m of group.members.values()) {
      for (const t of decodeSubscriptionTopics(m.metadataFor(group.protocolName))) topics.add(t);
    }
    return topics;
  }

  /** Drops the offsets of groups that have been empty for longer than offsets.retention. */
  async expireOffsets(): Promise<void> {
    const now = this.now();
    for (const id of this.offsets.groupIds()) {
      const group = this.groups.get(id);
      if ((group && group.members.size > 0) || this.hasMembersElsewhere(id)) continue;
      const since = Math.max(group?.stateSince ?? 0, this.offsets.lastCommit(id));
      if (now - since < this.settings.offsetsRetentionMs) continue;
      this.log.info('committed offsets expired', { group: id });
      await this.offsets.deleteGroup(id).catch((e) => this.log.warn('offset expiry failed', { group: id, error: e }));
      if (group && group.state === GroupState.Empty) this.groups.delete(id);
    }
    // An empty group with no offsets left is forgotten, its stored metadata too (as Kafka's cleanup does).
    for (const group of [...this.groups.values()]) {
      if (group.state === GroupState.Empty && group.pendingMembers.size === 0 && !this.offsets.hasGroup(group.id)) {
        this.groups.delete(group.id);
        this.unpersist(group.id);
      }
    }
  }

  close(): void {
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    for (const g of this.groups.values()) {
      if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
      for (const t of g.pendingMembers.values()) clearTimeout(t);
      for (const m of g.members.values()) {
        if (m.sessionTimer) clearTimeout(m.sessionTimer);
        m.joinWaiter?.(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, m.memberId));
        m.joinWaiter = null;
        m.syncWaiter?.(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
        m.syncWaiter = null;
      }
    }
  }
}

/** Topic names of a member's ConsumerProtocolSubscription; none when it is not one. */
export function decodeSubscriptionTopics(metadata: Buffer): string[] {
  return subscribedTopics(metadata) ?? [];
}
