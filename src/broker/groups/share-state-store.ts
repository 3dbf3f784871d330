// Share-partition state made durable (KIP-932's share coordinator state, on one broker): the
// SPSO and the in-flight ranges of every group's partitions, in an internal change log
// (`__share_group_state-0` in the data directory) replayed on start. Each change is one JSON
// record holding one partition's whole state (acquired records saved as available), so the
// newest change of a partition is its state; see internal/change-log.ts.

import type { Log } from '../../storage/log.js';
import { ChangeLog, type ChangeLogOptions } from '../internal/change-log.js';
import type { SharePartitionState } from './share-partition.js';

interface Change {
  v: 1;
  /** group id */
  g: string;
  /** topic id and partition of a state change; absent when the group was deleted */
  t?: string;
  p?: number;
  /** the partition's state; absent when the group's state on it was deleted */
  s?: SharePartitionState;
}

/** group -> "topicId:partition" -> state */
type States = Map<string, Map<string, SharePartitionState>>;

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

export class ShareStateStore {
  readonly states: States = new Map();
  private readonly changes: ChangeLog<Change>;

  constructor(log: Log, options: ChangeLogOptions) {
    this.changes = new ChangeLog(log, options);
  }

  load(): Promise<void> {
    return this.changes.replay((c) => apply(this.states, c));
  }

  /** Stores a partition's state; resolves once it is in the log (fsynced unless the fsync policy is never). */
  async save(group: string, topicId: string, partition: number, state: SharePartitionState): Promise<void> {
    const c: Change = { v: 1, g: group, t: topicId, p: partition, s: state };
    await this.changes.write(c);
    apply(this.states, c);
    this.changes.maybeCompact(this.liveEntries(), () => this.snapshot());
  }

  /** Forgets a group's state on a partition (DeleteShareGroupOffsets). */
  async deletePartition(group: string, topicId: string, partition: number): Promise<void> {
    const c: Change = { v: 1, g: group, t: topicId, p: partition };
    await this.changes.write(c);
    apply(this.states, c);
  }

  async deleteGroup(group: string): Promise<void> {
    const c: Change = { v: 1, g: group };
    await this.changes.write(c);
    apply(this.states, c);
  }

  private liveEntries(): number {
    let n = 0;
    for (const m of this.states.values()) n += m.size;
    return n;
  }

  private snapshot(): Change[] {
    const copy: States = new Map([...this.states].map(([g, m]) => [g, new Map(m)]));
    for (const c of this.changes.inflight) apply(copy, c);
    const out: Change[] = [];
    for (const [g, m] of copy) {
      for (const [k, s] of m) {
        const i = k.lastIndexOf(':');
        out.push({ v: 1, g, t: k.slice(0, i), p: Number(k.slice(i + 1)), s });
      }
    }
    return out;
  }

  close(): Promise<void> {
    return this.changes.close();
  }
}

function apply(states: States, c: Change): void {
  if (c.t === undefined || c.p === undefined) {
    states.delete(c.g);
    return;
  }
  if (c.s === undefined) {
    states.get(c.g)?.delete(partitionKey(c.t, c.p));
    return;
  }
  let m = states.get(c.g);
  if (m === undefined) states.set(c.g, (m = new Map()));
  m.set(partitionKey(c.t, c.p), c.s);
}
