// A consumer-group member on the KIP-848 consumer protocol (ConsumerGroupHeartbeat, API 68),
// for a stream runtime: the coordinator computes assignments; the member heartbeats on the
// interval the coordinator gives, and reconciles each new target assignment by awaiting the
// owner's onRevoke for the partitions it loses BEFORE its next heartbeat acknowledges them
// (so their offsets and transactions are committed before another member gets them), then
// onAssign for the new ones. Fenced (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID): onLost, rejoin
// at epoch 0. Coordinator moves and lost connections: found again, retried, logged.

import { randomBytes } from 'node:crypto';
import { ClientError, ClientErrorCode, findProtocolError, leafErrors } from './errors.js';
import { CoordinatorClient, CoordinatorType, delay, describeError, getApi, isCoordinatorRetriable, type AnyClient } from './kafka-api.js';

/** The part of the heartbeat answer the member reads. */
interface ConsumerGroupHeartbeatResponse {
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: Array<{ topicId: string; partitions: number[] }> } | null;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface GroupMemberOptions {
  /** A library client (an Admin will do) whose connections the member uses; the caller closes it. */
  client: AnyClient;
  groupId: string;
  topics: string[];
  /**
   * Static membership (KIP-848's group.instance.id): a member that leaves with close() keeps
   * its partitions for the session timeout, and a new member with the same instance id takes
   * them back without a rebalance (a rolling restart). One process per instance id.
   */
  instanceId?: string;
  /** How long the coordinator waits for this member to release revoked partitions (default 60 s). */
  rebalanceTimeoutMs?: number;
  /** The coordinator's assignor ('uniform' or 'range', as Kafka names them); the group's default when absent. */
  serverAssignor?: string;
  /** Partitions taken away: awaited before the revocation is acknowledged. Commit their work here. */
  onRevoke?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** Partitions given, after any revocation of the same reconciliation. */
  onAssign?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** The member was fenced (its epoch is gone): these partitions are no longer its own and nothing of theirs can commit. */
  onLost?: (partitions: TopicPartition[]) => void | Promise<void>;
  /** An error thrown by a hook (the member goes on); also a fatal error when there is no onFatal. */
  onError?: (e: unknown) => void;
  /** A fatal error after start: the member stopped heartbeating and owns nothing any more. */
  onFatal?: (e: unknown) => void;
  log?: (line: string) => void;
}

/** Errors that retrying cannot fix: the member stops and reports them. */
const FATAL = ['GROUP_AUTHORIZATION_FAILED', 'TOPIC_AUTHORIZATION_FAILED', 'INVALID_REQUEST', 'GROUP_MAX_SIZE_REACHED', 'UNSUPPORTED_ASSIGNOR', 'FENCED_INSTANCE_ID', 'GROUP_ID_NOT_FOUND', 'INCONSISTENT_GROUP_PROTOCOL', 'INVALID_GROUP_ID', 'UNSUPPORTED_VERSION'];
const FENCED = ['FENCED_MEMBER_EPOCH', 'UNKNOWN_MEMBER_ID'];

const UNSUPPORTED_HELP = 'the cluster does not serve the consumer group protocol of KIP-848 (ConsumerGroupHeartbeat, API 68). Apache Kafka 4.0 and later serve it by default (3.7-3.9 only with group.coordinator.rebalance.protocols=classic,consumer), Rivulet and Redpanda 25.1+ do too: upgrade the cluster or point the pipeline at one that does.';

/** Leaving with this epoch keeps a static member's partitions for its session timeout. */
const STATIC_LEAVE_EPOCH = -2;

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class GroupMember {
  /** The member id (made up by this client on ConsumerGroupHeartbeat v1+, by the coordinator on v0). */
  memberId = '';
  /** The member epoch; 0 until joined. TxnOffsetCommit and OffsetCommit carry it (KIP-447 fencing). */
  memberEpoch = 0;
  private readonly o: GroupMemberOptions;
  private readonly coordinator: CoordinatorClient;
  private readonly log: (line: string) => void;
  /** Owned partitions by "topic\0partition"; the topic ids are kept for the heartbeat. */
  private owned = new Map<string, TopicPartition & { topicId: string }>();
  private readonly topicNames = new Map<string, string>();
  private intervalMs = 3000;
  private closing = false;
  /** Aborted by close(): ends waits and retries. */
  private readonly wake = new AbortController();
  /** Aborted when a reconciliation finished: the heartbeat acknowledging it goes at once. */
  private ackNow = new AbortController();
  private loop: Promise<void> | undefined = undefined;
  /** The latest target assignment not yet reconciled. */
  private target: Array<{ topicId: string; partitions: number[] }> | undefined = undefined;
  /** The reconciliation running (hooks run one at a time, while heartbeats go on). */
  private reconciling: Promise<void> | undefined = undefined;

  constructor(o: GroupMemberOptions) {
    this.o = o;
    this.log = o.log ?? (() => undefined);
    this.coordinator = new CoordinatorClient(o.client, CoordinatorType.group, o.groupId, this.log);
  }

  /** The partitions this member owns now. */
  assignment(): TopicPartition[] {
    return [...this.owned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /**
   * Joins the group; resolves once the coordinator accepted the member (partitions come
   * through onAssign, possibly later). Rejects when the cluster lacks the consumer protocol.
   */
  async start(): Promise<void> {
    let api;
    try {
      api = await getApi(this.o.client, 'ConsumerGroupHeartbeat');
    } catch (e) {
      if (leafErrors(e).some((x) => x.code === 'PLT_KFK_UNSUPPORTED_API')) throw new ClientError(UNSUPPORTED_HELP, { code: ClientErrorCode.unsupported, cause: e });
      throw e;
    }
    // v1+ has the client make up its member id (a random UUID, as Kafka's clients do).
    if ((api as unknown as { version: number }).version >= 1) this.memberId = randomBytes(16).toString('base64url');
    const first = await this.heartbeatUntilAnswered();
    this.loop = this.run(first).catch((e) => {
      this.owned.clear();
      this.memberEpoch = -1;
      (this.o.onFatal ?? this.o.onError)?.(e);
    });
  }

  /**
   * Revokes everything it owns (awaiting onRevoke), then leaves the group: for good (member
   * epoch -1), or as a static member for the session timeout (-2), so that its successor with
   * the same instance id gets the same partitions back.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.wake.abort();
    await this.loop;
    await this.reconciling;
    if (this.owned.size > 0) await this.callHook('onRevoke', this.assignment());
    this.owned.clear();
    if (this.memberEpoch > 0) {
      try {
        const epoch = this.o.instanceId === undefined ? -1 : STATIC_LEAVE_EPOCH;
        await this.coordinator.send('ConsumerGroupHeartbeat', this.request(epoch), { timeoutMs: 5000 });
        this.log(this.o.instanceId === undefined ? `left group "${this.o.groupId}"` : `left group "${this.o.groupId}" as static member "${this.o.instanceId}" (its partitions wait for it until the session times out)`);
      } catch (e) {
        this.log(`leaving group "${this.o.groupId}" failed (${describeError(e)}); the coordinator drops the member when its session times out`);
      }
    }
    this.memberEpoch = -1;
  }

  private request(epoch: number): unknown[] {
    const byTopic = new Map<string, number[]>();
    for (const p of this.owned.values()) (byTopic.get(p.topicId) ?? byTopic.set(p.topicId, []).get(p.topicId)!).push(p.partition);
    return [
      this.o.groupId, this.memberId, epoch, this.o.instanceId ?? null, null, this.o.rebalanceTimeoutMs ?? 60_000, this.o.topics, null, this.o.serverAssignor ?? null,
      [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
    ];
  }

  /** One heartbeat, retried through coordinator moves; fencing and fatal errors thrown. */
  private async heartbeatUntilAnswered(): Promise<ConsumerGroupHeartbeatResponse> {
    let backoff = 200;
    for (;;) {
      try {
        return await this.coordinator.send<ConsumerGroupHeartbeatResponse>('ConsumerGroupHeartbeat', this.request(this.memberEpoch), { timeoutMs: Math.max(this.intervalMs, 5000), signal: this.wake.signal });
      } catch (e) {
        const fatal = findProtocolError(e, ...FATAL);
        if (fatal?.apiId === 'UNSUPPORTED_VERSION') throw new ClientError(UNSUPPORTED_HELP, { code: ClientErrorCode.unsupported, cause: e });
        if (fatal) throw new ClientError(`group "${this.o.groupId}": the coordinator refused the member (${describeError(e)}${fatal.serverErrorMessage ? `: ${fatal.serverErrorMessage}` : ''}).`, { code: ClientErrorCode.unexpectedAnswer, cause: e });
        if (findProtocolError(e, ...FENCED) || this.closing) throw e;
        const why = findProtocolError(e, 'UNRELEASED_INSTANCE_ID')
          ? `instance id "${this.o.instanceId}" is still held by a member that did not leave (a crashed process?); the coordinator frees it when that member's session times out`
          : isCoordinatorRetriable(e) ? 'coordinator unreachable or moved' : 'heartbeat failed';
        this.log(`group "${this.o.groupId}": ${why} (${describeError(e)}); retrying in ${backoff} ms`);
        this.coordinator.reset();
        await delay(backoff, this.wake.signal);
        if (this.closing) throw e;
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /**
   * Heartbeats on the coordinator's interval. Hooks run beside it (reconcile), so a long
   * onRevoke or onAssign does not stop the heartbeats that keep the member in the group; the
   * heartbeat lists what is owned, so revoked partitions count as released only once their
   * onRevoke finished.
   */
  private async run(first: ConsumerGroupHeartbeatResponse): Promise<void> {
    let resp: ConsumerGroupHeartbeatResponse | undefined = first;
    while (!this.closing) {
      if (resp === undefined) {
        // Reset before sending: a reconciliation that finishes while this heartbeat is out gets its own at once.
        if (this.ackNow.signal.aborted) this.ackNow = new AbortController();
        try {
          resp = await this.heartbeatUntilAnswered();
        } catch (e) {
          if (this.closing) return;
          if (findProtocolError(e, ...FENCED)) {
            await this.fenced(e);
            continue;
          }
          throw e;
        }
      }
      this.intervalMs = resp.heartbeatIntervalMs > 0 ? resp.heartbeatIntervalMs : this.intervalMs;
      if (resp.memberId) this.memberId = resp.memberId;
      this.memberEpoch = resp.memberEpoch;
      if (resp.assignment) {
        this.target = resp.assignment.topicPartitions;
        this.startReconcile();
      }
      resp = undefined;
      await delay(this.intervalMs, AbortSignal.any([this.wake.signal, this.ackNow.signal]));
    }
  }

  private startReconcile(): void {
    if (this.reconciling) return;
    this.reconciling = (async () => {
      while (this.target !== undefined && !this.closing) {
        const target = this.target;
        this.target = undefined;
        try {
          if (await this.reconcile(target)) this.ackNow.abort();
        } catch (e) {
          // Topic metadata could not be read: try again (the coordinator sends a target only once).
          this.log(`group "${this.o.groupId}": reconciling the assignment failed (${describeError(e)}); retrying`);
          this.target ??= target;
          await delay(500, this.wake.signal);
        }
      }
    })().finally(() => {
      this.reconciling = undefined;
    });
  }

  private async fenced(e: unknown): Promise<void> {
    // Let a running hook finish first: hooks never overlap.
    this.target = undefined;
    await this.reconciling;
    const lost = this.assignment();
    this.log(`group "${this.o.groupId}": member fenced (${describeError(e)}), epoch ${this.memberEpoch}; ${lost.length} partitions lost, rejoining`);
    this.owned.clear();
    this.target = undefined;
    this.memberEpoch = 0;
    if (lost.length > 0) await this.callHook('onLost', lost);
  }

  /** Applies a target assignment; true when it changed what the member owns. */
  private async reconcile(target: Array<{ topicId: string; partitions: number[] }>): Promise<boolean> {
    const next = new Map<string, TopicPartition & { topicId: string }>();
    for (const t of target) {
      const topic = await this.topicName(t.topicId);
      for (const partition of t.partitions) next.set(key(topic, partition), { topic, partition, topicId: t.topicId });
    }
    const revoked = [...this.owned].filter(([k]) => !next.has(k)).map(([, p]) => ({ topic: p.topic, partition: p.partition }));
    const added = [...next].filter(([k]) => !this.owned.has(k)).map(([, p]) => ({ topic: p.topic, partition: p.partition }));
    if (revoked.length === 0 && added.length === 0) return false;
    this.log(`group "${this.o.groupId}" epoch ${this.memberEpoch}: revoking ${revoked.length}, assigning ${added.length} partitions`);
    if (revoked.length > 0) {
      await this.callHook('onRevoke', revoked);
      for (const p of revoked) this.owned.delete(key(p.topic, p.partition));
      // Released at once: the next heartbeat tells the coordinator, another member can have them.
      this.ackNow.abort();
    }
    if (added.length > 0) {
      await this.callHook('onAssign', added);
      for (const [k, p] of next) this.owned.set(k, p);
    }
    return true;
  }

  private async callHook(name: 'onRevoke' | 'onAssign' | 'onLost', partitions: TopicPartition[]): Promise<void> {
    try {
      await this.o[name]?.(partitions);
    } catch (e) {
      this.log(`group "${this.o.groupId}": ${name} failed: ${describeError(e)}`);
      this.o.onError?.(e);
    }
  }

  private async topicName(topicId: string): Promise<string> {
    let name = this.topicNames.get(topicId);
    if (name === undefined) {
      const meta = await this.o.client.metadata({ topics: this.o.topics, forceUpdate: true });
      for (const [n, t] of meta.topics) this.topicNames.set(t.id, n);
      name = this.topicNames.get(topicId);
      if (name === undefined) throw new ClientError(`group "${this.o.groupId}": assigned topic id ${topicId} is none of the subscribed topics (${this.o.topics.join(', ')}).`, { code: ClientErrorCode.unexpectedAnswer });
    }
    return name;
  }
}
