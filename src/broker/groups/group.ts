// One consumer group of the classic protocol: its members and the state it is in.
// The coordinator (coordinator.ts) drives the transitions; this file holds the data
// and the small rules that need nothing else.

export const GroupState = {
  Empty: 'Empty',
  PreparingRebalance: 'PreparingRebalance',
  CompletingRebalance: 'CompletingRebalance',
  Stable: 'Stable',
  Dead: 'Dead',
} as const;
export type GroupState = (typeof GroupState)[keyof typeof GroupState];

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface JoinAnswer {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncAnswer {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export class Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: Protocol[];
  assignment: Buffer;
  /** Set while the member waits in JoinGroup for the rebalance to complete. */
  joinWaiter: ((a: JoinAnswer) => void) | null;
  /** Set while the member waits in SyncGroup for the leader's assignment. */
  syncWaiter: ((a: SyncAnswer) => void) | null;
  sessionTimer: NodeJS.Timeout | null;

  constructor(memberId: string, groupInstanceId: string | null, clientId: string, clientHost: string, sessionTimeoutMs: number, rebalanceTimeoutMs: number, protocols: Protocol[]) {
    this.memberId = memberId;
    this.groupInstanceId = groupInstanceId;
    this.clientId = clientId;
    this.clientHost = clientHost;
    this.sessionTimeoutMs = sessionTimeoutMs;
    this.rebalanceTimeoutMs = rebalanceTimeoutMs;
    this.protocols = protocols;
    this.assignment = Buffer.alloc(0);
    this.joinWaiter = null;
    this.syncWaiter = null;
    this.sessionTimer = null;
  }

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? Buffer.alloc(0);
  }

  sameProtocols(protocols: Protocol[]): boolean {
    return protocols.length === this.protocols.length && protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }
}

export class Group {
  readonly id: string;
  state: GroupState;
  protocolType: string | null;
  protocolName: string | null;
  generationId: number;
  leaderId: string | null;
  readonly members: Map<string, Member>;
  /** group.instance.id -> member id of the static member holding it. */
  readonly staticMembers: Map<string, string>;
  /** Member ids handed out with MEMBER_ID_REQUIRED and not yet used, with their expiry timers. */
  readonly pendingMembers: Map<string, NodeJS.Timeout>;
  rebalanceTimer: NodeJS.Timeout | null;
  /** While the first members of an empty group gather (group.initial.rebalance.delay.ms). */
  initialDelayUntil: number;
  /** When the group entered its current state, for offset expiry. */
  stateSince: number;

  constructor(id: string, now: number) {
    this.id = id;
    this.state = GroupState.Empty;
    this.protocolType = null;
    this.protocolName = null;
    this.generationId = 0;
    this.leaderId = null;
    this.members = new Map();
    this.staticMembers = new Map();
    this.pendingMembers = new Map();
    this.rebalanceTimer = null;
    this.initialDelayUntil = 0;
    this.stateSince = now;
  }

  transition(state: GroupState, now: number): void {
    this.state = state;
    this.stateSince = now;
  }

  /** Protocols every member supports, in the order the first member listed them. */
  candidateProtocols(): string[] {
    let candidates: string[] | null = null;
    for (const m of this.members.values()) {
      const names = m.protocols.map((p) => p.name);
      candidates = candidates === null ? names : candidates.filter((n) => names.includes(n));
    }
    return candidates ?? [];
  }

  /** Whether a member offering these protocols can join (Kafka's supportsProtocols). */
  supports(protocolType: string, protocols: Protocol[]): boolean {
    if (this.members.size === 0 && this.pendingMembers.size === 0) return protocolType.length > 0 && protocols.length > 0;
    if (this.protocolType !== null && protocolType !== this.protocolType) return false;
    const candidates = this.candidateProtocols();
    return this.members.size === 0 || protocols.some((p) => candidates.includes(p.name));
  }

  /** The protocol most members list first among those all of them support. */
  selectProtocol(): string | null {
    const candidates = this.candidateProtocols();
    if (candidates.length === 0) return null;
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))!.name;
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  allJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (m.joinWaiter === null) return false;
    return true;
  }

  maxRebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }
}
