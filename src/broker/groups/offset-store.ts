// Committed offsets: kept in memory for lookups, and made durable in an internal log
// (`__consumer_offsets-0` in the data directory) that is replayed on start. Each change
// is one JSON record (see internal/change-log.ts) of the commits and deletions it makes.
//
// Transactional offsets (TxnOffsetCommit) are stored as pending under their producer id and
// become committed offsets only when that producer's transaction commits (a `txnEnd` change
// written by the transaction coordinator); an abort drops them. Until then OffsetFetch with
// requireStable answers UNSTABLE_OFFSET_COMMIT for those partitions.
//
// The same log holds the metadata of classic groups (generation, protocol, leader, members
// with their subscriptions and assignments), written when a rebalance completes, as Kafka
// keeps it in __consumer_offsets: after a restart the members of the last generation are
// known, so they go on heartbeating and committing (a transactional commit is checked
// against the generation) instead of being told ILLEGAL_GENERATION and rebalancing.

import type { Log } from '../../storage/log.js';
import { ChangeLog, type ChangeLogOptions } from '../internal/change-log.js';

export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestamp: number;
}

/** [group, topic, partition, offset, leaderEpoch, metadata, commitTimestamp] */
type CommitRow = [string, string, number, number, number, string | null, number];

/** A classic group's metadata as stored (Kafka's GroupMetadataValue); buffers in base64. */
export interface StoredClassicGroup {
  id: string;
  generation: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string | null;
  members: StoredClassicMember[];
}

export interface StoredClassicMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** [protocol name, metadata in base64] */
  protocols: [string, string][];
  /** base64 */
  assignment: string;
}

interface Change {
  v: 1;
  commits?: CommitRow[];
  /** [group, topic, partition] */
  deletes?: [string, string, number][];
  groups?: string[];
  /** Transactional offsets of a producer, committed only with its transaction. */
  pending?: { producerId: number; commits: CommitRow[] };
  /** A producer's transaction ended: its pending offsets are committed or dropped. */
  txnEnd?: { producerId: number; commit: boolean };
  /** A classic group's metadata, or its removal (group null). */
  classic?: { id: string; group: StoredClassicGroup | null };
}

export type OffsetStoreOptions = ChangeLogOptions;

const SNAPSHOT_CHUNK = 5000;

type Offsets = Map<string, Map<string, CommittedOffset>>;

interface State {
  /** group -> "topic\0partition" -> offset */
  groups: Offsets;
  /** producer id -> group -> "topic\0partition" -> offset */
  pending: Map<number, Offsets>;
  /** group -> classic group metadata */
  classic: Map<string, StoredClassicGroup>;
}

export class OffsetStore {
  private readonly state: State = { groups: new Map(), pending: new Map(), classic: new Map() };
  private readonly changes: ChangeLog<Change>;

  constructor(log: Log, options: OffsetStoreOptions) {
    this.changes = new ChangeLog(log, options);
  }

  /** Replays the log into memory. */
  load(): Promise<void> {
    return this.changes.replay((c) => applyChange(this.state, c));
  }

  /**
   * Stores a change, then applies it in memory: a commit is visible to OffsetFetch only once
   * it is in the log (and fsynced unless the fsync policy is never), so a commit the client
   * is told failed is never seen, before or after a restart.
   */
  private async write(c: Change): Promise<void> {
    await this.changes.write(c);
    applyChange(this.state, c);
    this.changes.maybeCompact(this.liveEntries(), () => this.snapshot());
  }

  commit(group: string, entries: { topic: string; partition: number; offset: CommittedOffset }[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.write({ v: 1, commits: rows(group, entries) });
  }

  /** Stores offsets a transaction commits; they count once the producer's transaction commits. */
  commitPending(producerId: number, group: string, entries: { topic: string; partition: number; offset: CommittedOffset }[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.write({ v: 1, pending: { producerId, commits: rows(group, entries) } });
  }

  /** Ends a producer's transaction: its pending offsets are committed (commit) or dropped. */
  endTransaction(producerId: number, commit: boolean): Promise<void> {
    if (!this.state.pending.has(producerId)) return Promise.resolve();
    return this.write({ v: 1, txnEnd: { producerId, commit } });
  }

  /** A transaction has a pending commit for this group's partition (OffsetFetch requireStable). */
  hasPending(group: string, topic: string, partition: number): boolean {
    const k = key(topic, partition);
    for (const byGroup of this.state.pending.values()) if (byGroup.get(group)?.has(k)) return true;
    return false;
  }

  /** Stores a classic group's metadata (null: forgets it). */
  storeClassicGroup(id: string, group: StoredClassicGroup | null): Promise<void> {
    if (group === null && !this.state.classic.has(id) && ![...this.changes.inflight].some((c) => c.classic?.id === id)) return Promise.resolve();
    return this.write({ v: 1, classic: { id, group } });
  }

  /** The classic groups stored, as the last rebalance of each left them. */
  classicGroups(): StoredClassicGroup[] {
    return [...this.state.classic.values()];
  }

  deleteOffsets(group: string, entries: { topic: string; partition: number }[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.write({ v: 1, deletes: entries.map((e) => [group, e.topic, e.partition]) });
  }

  deleteGroup(group: string): Promise<void> {
    return this.write({ v: 1, groups: [group] });
  }

  get(group: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.state.groups.get(group)?.get(key(topic, partition));
  }

  /** Every committed offset of a group, as [topic, partition, offset]. */
  all(group: string): [string, number, CommittedOffset][] {
    const m = this.state.groups.get(group);
    if (!m) return [];
    return [...m.entries()].map(([k, o]) => {
      const [topic, partition] = unkey(k);
      return [topic, partition, o];
    });
  }

  hasGroup(group: string): boolean {
    return this.state.groups.has(group);
  }

  groupIds(): string[] {
    return [...this.state.groups.keys()];
  }

  /** Newest commit time of a group's offsets, or -1. */
  lastCommit(group: string): number {
    let last = -1;
    for (const o of this.state.groups.get(group)?.values() ?? []) if (o.commitTimestamp > last) last = o.commitTimestamp;
    return last;
  }

  private liveEntries(): number {
    let live = 0;
    for (const m of this.state.groups.values()) live += m.size;
    for (const p of this.state.pending.values()) for (const m of p.values()) live += m.size;
    return live + this.state.classic.size;
  }

  /** The live state, with the changes still in flight applied (their records lie before the snapshot), as changes. */
  private snapshot(): Change[] {
    const copy = (o: Offsets): Offsets => new Map([...o].map(([g, m]) => [g, new Map(m)]));
    const state: State = { groups: copy(this.state.groups), pending: new Map([...this.state.pending].map(([id, o]) => [id, copy(o)])), classic: new Map(this.state.classic) };
    for (const c of this.changes.inflight) applyChange(state, c);
    const out: Change[] = [];
    const commits = offsetRows(state.groups);
    for (let i = 0; i < commits.length; i += SNAPSHOT_CHUNK) out.push({ v: 1, commits: commits.slice(i, i + SNAPSHOT_CHUNK) });
    for (const [producerId, o] of state.pending) out.push({ v: 1, pending: { producerId, commits: offsetRows(o) } });
    for (const [id, group] of state.classic) out.push({ v: 1, classic: { id, group } });
    return out;
  }

  /** Writes the live state at the tail and drops the log before it (also done on its own as the log grows). */
  compact(): Promise<void> {
    return this.changes.compact(this.snapshot());
  }

  close(): Promise<void> {
    return this.changes.close();
  }
}

function rows(group: string, entries: { topic: string; partition: number; offset: CommittedOffset }[]): CommitRow[] {
  return entries.map((e) => [group, e.topic, e.partition, e.offset.offset, e.offset.leaderEpoch, e.offset.metadata, e.offset.commitTimestamp]);
}

function offsetRows(o: Offsets): CommitRow[] {
  const out: CommitRow[] = [];
  for (const [g, m] of o) {
    for (const [k, c] of m) {
      const [topic, partition] = unkey(k);
      out.push([g, topic, partition, c.offset, c.leaderEpoch, c.metadata, c.commitTimestamp]);
    }
  }
  return out;
}

function put(o: Offsets, [g, t, p, offset, leaderEpoch, metadata, commitTimestamp]: CommitRow): void {
  let m = o.get(g);
  if (!m) o.set(g, (m = new Map()));
  m.set(key(t, p), { offset, leaderEpoch, metadata, commitTimestamp });
}

function applyChange(s: State, c: Change): void {
  for (const row of c.commits ?? []) put(s.groups, row);
  for (const [g, t, p] of c.deletes ?? []) {
    const m = s.groups.get(g);
    if (m) {
      m.delete(key(t, p));
      if (m.size === 0) s.groups.delete(g);
    }
  }
  for (const g of c.groups ?? []) {
    s.groups.delete(g);
    s.classic.delete(g);
  }
  if (c.pending) {
    let o = s.pending.get(c.pending.producerId);
    if (!o) s.pending.set(c.pending.producerId, (o = new Map()));
    for (const row of c.pending.commits) put(o, row);
  }
  if (c.txnEnd) {
    const o = s.pending.get(c.txnEnd.producerId);
    s.pending.delete(c.txnEnd.producerId);
    if (o && c.txnEnd.commit) for (const row of offsetRows(o)) put(s.groups, row);
  }
  if (c.classic) {
    if (c.classic.group === null) s.classic.delete(c.classic.id);
    else s.classic.set(c.classic.id, c.classic.group);
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

function unkey(k: string): [string, number] {
  const i = k.lastIndexOf('\0');
  return [k.slice(0, i), Number(k.slice(i + 1))];
}
