// The topic/partition registry: which topics exist, their ids, overrides and logs. All
// changes happen on the event loop; the catalogue on disk is rewritten after each one.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { open, readdir, rename, rm } from 'node:fs/promises';
import type { Log, OpenLog, ProducerStates } from '../storage/log.js';
import { CatalogWriter, RivuletError, type Catalog, type TopicRecord } from './meta-store.js';
import { cleanupPolicy, effectiveTopicConfigs, logConfigFrom, visibleWhenFor } from './topic-config.js';
import type { BrokerConfig } from './config.js';
import type { Logger } from './logger.js';
import { WaitList } from './wait-list.js';

const LEGAL_NAME = /^[a-zA-Z0-9._-]+$/;
const MAX_NAME_LENGTH = 249;
const PRODUCER_ID_BLOCK = 1000;
/** Internal logs live beside the topics in the data directory under these names. */
const RESERVED_NAMES = new Set(['__consumer_offsets', '__transaction_state', '__consumer_group_state', '__share_group_state']);
/** A partition directory's name: `<topic>-<index>`, the index without leading zeros. */
const PARTITION_DIR = /^(.+)-(0|[1-9][0-9]*)$/;

/** Returns why a topic name is not acceptable, or null (Kafka's rules). */
export function topicNameProblem(name: string | null): string | null {
  if (name === null || name.length === 0) return 'Topic name is empty';
  if (name === '.' || name === '..') return `Topic name cannot be "${name}"`;
  if (RESERVED_NAMES.has(name)) return `Topic name "${name}" is reserved for the broker's internal use`;
  if (name.length > MAX_NAME_LENGTH) return `Topic name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!LEGAL_NAME.test(name)) return `Topic name "${name}" is illegal: it may contain only ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

/** A change that would take the broker past max.partitions. */
export class PartitionLimitError extends RivuletError {
  constructor(wanted: number, total: number, max: number) {
    super('RIV_ERR_PARTITION_LIMIT', `${wanted} more partition(s) would take this broker past max.partitions (${max}); it holds ${total}. Delete topics you no longer need, or raise max.partitions if memory and open files allow.`);
  }
}

/** CreatePartitions asking for no more partitions than the topic has (once the additions before it are done). */
export class PartitionCountError extends Error {
  constructor(topic: string, current: number, wanted: number) {
    super(`Topic ${topic} currently has ${current} partitions, which is higher than or equal to the requested ${wanted}.`);
  }
}

export class Partition {
  readonly topic: Topic;
  readonly index: number;
  readonly log: Log;
  /** Parked fetches, woken when the high watermark moves or the partition goes away. */
  readonly waiters: WaitList;

  constructor(topic: Topic, index: number, log: Log) {
    this.topic = topic;
    this.index = index;
    this.log = log;
    this.waiters = new WaitList();
    log.advanceListeners.add(() => this.wake());
  }

  /** Idempotence and transaction state: the log keeps it (appends update it, recovery restores it). */
  get producers(): ProducerStates {
    return this.log.producers;
  }

  wake(): void {
    this.waiters.wakeAll();
  }
}

export class Topic {
  readonly name: string;
  readonly id: string;
  readonly partitions: Partition[];
  /** Topic configs set on this topic; the rest come from the broker's defaults. */
  overrides: Record<string, string>;
  /** max.message.bytes in effect, parsed once per config change rather than per produce. */
  maxMessageBytes: number;
  /** message.timestamp.type=LogAppendTime is in effect. */
  logAppendTime: boolean;
  /** message.timestamp.after.max.ms in effect: how far ahead of the broker clock a CreateTime record may be. */
  timestampAfterMaxMs: number;
  /** cleanup.policy holds compact: produce refuses records without a key. */
  compacted: boolean;
  deleted: boolean;

  constructor(name: string, id: string, overrides: Record<string, string>, brokerDefaults: Readonly<Record<string, string>>) {
    this.name = name;
    this.id = id;
    this.partitions = [];
    this.overrides = overrides;
    this.maxMessageBytes = 0;
    this.logAppendTime = false;
    this.timestampAfterMaxMs = 0;
    this.compacted = false;
    this.deleted = false;
    this.setOverrides(overrides, brokerDefaults);
  }

  setOverrides(overrides: Record<string, string>, brokerDefaults: Readonly<Record<string, string>>): void {
    this.overrides = overrides;
    const effective = effectiveTopicConfigs(brokerDefaults, overrides);
    this.maxMessageBytes = Number(effective['max.message.bytes']);
    this.logAppendTime = effective['message.timestamp.type'] === 'LogAppendTime';
    this.timestampAfterMaxMs = Number(effective['message.timestamp.after.max.ms']);
    this.compacted = cleanupPolicy(effective['cleanup.policy'] ?? '').compact;
  }
}

export class TopicRegistry {
  readonly byName = new Map<string, Topic>();
  readonly byId = new Map<string, Topic>();
  private readonly creating = new Map<string, Promise<Topic>>();
  /** Names whose deleted topic's directories are not yet moved aside; the name cannot be used until they are. */
  private readonly deleting = new Map<string, Promise<void>>();
  /** Names whose deleted topic's directories could not be moved aside nor removed: unusable until a restart sweeps them. */
  private readonly stuck = new Set<string>();
  private readonly catalogWriter: CatalogWriter;
  /** Partitions of every topic, plus those being created (max.partitions bounds it). */
  private partitionsHeld = 0;
  /** Topic changes whose catalogue is being saved; applied in memory once it is. */
  private readonly unsaved = new Map<string, TopicRecord>();
  /** Partitions being added, per topic: a delete of the topic waits for them. */
  private readonly adding = new Map<Topic, Promise<void>>();
  /** Ids of the topics being created. */
  private readonly creatingIds = new Set<string>();
  private producerIdNext = 0;
  private producerIdHigh = 0;
  private producerIdsSaved: Promise<void> = Promise.resolve();
  /** Called after a topic appears, disappears or gains partitions (consumer groups refresh their subscriptions). */
  readonly changeListeners = new Set<() => void>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly openLog: OpenLog,
    private readonly log: Logger,
  ) {
    this.catalogWriter = new CatalogWriter(config.dataDir, () => this.catalog());
  }

  effectiveConfigs(topic: Topic): Record<string, string> {
    return effectiveTopicConfigs(this.config.topicDefaults, topic.overrides);
  }

  private partitionDir(topic: string, index: number): string {
    return join(this.config.dataDir, `${topic}-${index}`);
  }

  /**
   * Removes what deleted topics left behind, then opens every partition of the catalogue
   * (recovering each log). A partition directory the catalogue does not list (a crash in
   * the middle of a delete, or of a create that was never answered) is moved aside and
   * removed first, so no topic of that name can ever open it and serve its records.
   */
  async load(catalog: Catalog): Promise<void> {
    this.producerIdNext = catalog.producerIdHigh;
    this.producerIdHigh = catalog.producerIdHigh;
    await this.sweep(catalog);
    for (const t of catalog.topics) {
      const topic = new Topic(t.name, t.id, t.configs, this.config.topicDefaults);
      topic.partitions.push(...(await this.openPartitions(topic, 0, t.partitions)));
      this.partitionsHeld += t.partitions;
      this.byName.set(topic.name, topic);
      this.byId.set(topic.id, topic);
    }
  }

  private async sweep(catalog: Catalog): Promise<void> {
    const dataDir = this.config.dataDir;
    const listed = new Map(catalog.topics.map((t) => [t.name, t.partitions]));
    const entries = await readdir(dataDir, { withFileTypes: true });
    const doomed: string[] = [];
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name.endsWith('-delete')) {
        doomed.push(e.name);
        continue;
      }
      const m = PARTITION_DIR.exec(e.name);
      if (m === null || topicNameProblem(m[1]!) !== null) continue;
      if (Number(m[2]) < (listed.get(m[1]!) ?? 0)) continue;
      const aside = `${e.name}.${randomBytes(8).toString('hex')}-delete`;
      await rename(join(dataDir, e.name), join(dataDir, aside));
      this.log.warn('moved aside a partition directory the catalogue does not list', { dir: e.name });
      doomed.push(aside);
    }
    if (doomed.length === 0) return;
    await syncDir(dataDir);
    await Promise.all(doomed.map((d) => rm(join(dataDir, d), { recursive: true, force: true })));
  }

  /**
   * Opens (recovering) the logs of partitions `from`..`count - 1`, `num.recovery.threads.per.data.dir`
   * at a time (bounds open files and keeps other clients served); the caller adds them to the topic.
   */
  private async openPartitions(topic: Topic, from: number, count: number): Promise<Partition[]> {
    const logConfig = logConfigFrom(this.effectiveConfigs(topic), this.config.tailCacheBytes, visibleWhenFor(this.config.fsync));
    const opened: Partition[] = [];
    try {
      const atOnce = this.config.numRecoveryThreadsPerDataDir;
      for (let first = from; first < count; first += atOnce) {
        const indexes = Array.from({ length: Math.min(atOnce, count - first) }, (_, i) => first + i);
        const logs = await Promise.all(indexes.map((index) => this.openLog(this.partitionDir(topic.name, index), { ...logConfig })));
        logs.forEach((l, i) => {
          for (const note of l.recoveryNotes) this.log.warn('log recovery', { topic: topic.name, partition: indexes[i], note });
          opened.push(new Partition(topic, indexes[i]!, l));
        });
      }
    } catch (e) {
      await Promise.allSettled(opened.map((p) => p.log.close()));
      throw e;
    }
    return opened;
  }

  /** A topic's catalogue entry, including a change that is being saved. */
  private record(topic: Topic): TopicRecord {
    const u = this.unsaved.get(topic.name);
    return u !== undefined && u.id === topic.id ? u : { name: topic.name, id: topic.id, partitions: topic.partitions.length, configs: topic.overrides };
  }

  /**
   * The catalogue with every change being saved, whether or not it is applied in memory yet.
   * A change to a topic that is no longer in memory counts only when it is a creation:
   * a late change to a deleted topic must not put it back.
   */
  private catalog(): Catalog {
    const topics = [...this.byName.values()].map((t) => this.record(t));
    for (const [name, r] of this.unsaved) if (!this.byName.has(name) && this.creatingIds.has(r.id)) topics.push(r);
    return { topics, producerIdHigh: this.producerIdHigh };
  }

  private save(): Promise<void> {
    return this.catalogWriter.save();
  }

  /**
   * Saves a topic's new catalogue entry, then applies the change in memory: nothing a
   * client can see (a topic, a partition, a config) is lost to a crash after its answer.
   */
  private async saveThenApply(change: TopicRecord, apply: () => void): Promise<void> {
    this.unsaved.set(change.name, change);
    try {
      await this.save();
      apply();
    } finally {
      if (this.unsaved.get(change.name) === change) this.unsaved.delete(change.name);
    }
  }

  /** Why `n` more partitions would be refused (past max.partitions), or null; for answers that must not create anything (validateOnly). */
  partitionLimitProblem(n: number): string | null {
    return this.partitionsHeld + n > this.config.maxPartitions ? new PartitionLimitError(n, this.partitionsHeld, this.config.maxPartitions).message : null;
  }

  /** Counts `n` partitions about to be created against max.partitions, or throws PartitionLimitError. */
  private reservePartitions(n: number): void {
    if (this.partitionsHeld + n > this.config.maxPartitions) throw new PartitionLimitError(n, this.partitionsHeld, this.config.maxPartitions);
    this.partitionsHeld += n;
  }

  /**
   * Creates a topic; concurrent calls for one name share the creation. The caller has validated
   * name, count and configs. A name whose deleted topic's directories are still in place
   * waits until the delete has moved them aside (the CreateTopics handler refuses instead).
   */
  create(name: string, partitions: number, overrides: Record<string, string>): Promise<Topic> {
    const existing = this.byName.get(name);
    if (existing) return Promise.resolve(existing);
    const pending = this.creating.get(name);
    if (pending) return pending;
    try {
      this.reservePartitions(partitions);
    } catch (e) {
      return Promise.reject(e);
    }
    const p = (async () => {
      const deleting = this.deleting.get(name);
      if (deleting !== undefined) await deleting;
      // A delete that failed puts its topic back.
      const back = this.byName.get(name);
      if (back) {
        this.partitionsHeld -= partitions; // nothing was created
        return back;
      }
      if (this.stuck.has(name)) {
        throw new Error(`the directories of the deleted topic ${name} could not be removed; the name can be used again after a restart`);
      }
      let id = randomBytes(16).toString('base64url');
      while (this.byId.has(id)) id = randomBytes(16).toString('base64url');
      const topic = new Topic(name, id, { ...overrides }, this.config.topicDefaults);
      this.creatingIds.add(id);
      try {
        topic.partitions.push(...(await this.openPartitions(topic, 0, partitions)));
        try {
          await this.saveThenApply({ name, id, partitions, configs: topic.overrides }, () => {
            this.byName.set(name, topic);
            this.byId.set(id, topic);
          });
        } catch (e) {
          await Promise.allSettled(topic.partitions.map((p) => p.log.close()));
          throw e;
        }
      } finally {
        this.creatingIds.delete(id);
      }
      this.log.info('topic created', { topic: name, partitions, id });
      this.changed();
      return topic;
    })();
    p.catch(() => (this.partitionsHeld -= partitions));
    this.creating.set(name, p);
    p.finally(() => this.creating.delete(name)).catch(() => undefined);
    return p;
  }

  isCreating(name: string): boolean {
    return this.creating.has(name);
  }

  /** A delete of this name is moving its directories aside; the name cannot be created yet. */
  isDeleting(name: string): boolean {
    return this.deleting.has(name);
  }

  /**
   * Deletes a topic: it leaves memory at once (nothing serves it), the catalogue is saved
   * without it, then each partition is closed and its directory renamed to a name unique
   * to this topic's id (`<dir>.<id>-delete`), removed in the background. The name stays
   * unusable until every directory is renamed, so a new topic of that name can never open
   * an old directory, and background removal never touches a path a new topic may use.
   * A catalogue save that fails puts the topic back (the client is told the delete failed);
   * a crash after the save leaves directories that start-up moves aside (see load).
   */
  delete(topic: Topic): Promise<void> {
    if (topic.deleted) return this.deleting.get(topic.name) ?? Promise.resolve();
    topic.deleted = true;
    this.byName.delete(topic.name);
    this.partitionsHeld -= topic.partitions.length;
    this.byId.delete(topic.id);
    for (const p of topic.partitions) p.wake();
    this.changed();
    const done = this.doDelete(topic);
    const settled = done.catch(() => undefined);
    this.deleting.set(topic.name, settled);
    void settled.then(() => {
      if (this.deleting.get(topic.name) === settled) this.deleting.delete(topic.name);
    });
    return done;
  }

  private async doDelete(topic: Topic): Promise<void> {
    try {
      await this.save();
    } catch (e) {
      topic.deleted = false;
      this.byName.set(topic.name, topic);
      this.partitionsHeld += topic.partitions.length;
      this.byId.set(topic.id, topic);
      this.changed();
      throw e;
    }
    await this.adding.get(topic);
    const moved: string[] = [];
    const failures: unknown[] = [];
    await Promise.all(
      topic.partitions.map(async (p) => {
        await p.log.close().catch((e) => this.log.warn('closing a deleted partition failed', { topic: topic.name, partition: p.index, error: e }));
        const dir = this.partitionDir(topic.name, p.index);
        const aside = `${dir}.${topic.id}-delete`;
        try {
          await rename(dir, aside);
          moved.push(aside);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
          // Not moved: remove it in place before the name can be used again.
          try {
            await rm(dir, { recursive: true, force: true });
          } catch (e2) {
            failures.push(e2);
          }
        }
      }),
    );
    if (moved.length > 0) await syncDir(this.config.dataDir).catch((e) => this.log.warn('could not fsync the data directory', { error: e }));
    for (const aside of moved) rm(aside, { recursive: true, force: true }).catch((e) => this.log.warn('could not remove a deleted partition', { dir: aside, error: e }));
    if (failures.length > 0) {
      this.stuck.add(topic.name);
      this.log.error('the directories of a deleted topic could not be moved aside or removed; its name is unusable until a restart', { topic: topic.name, error: failures[0] });
      throw failures[0];
    }
    this.log.info('topic deleted', { topic: topic.name });
  }

  /**
   * Adds partitions. Additions to one topic run one after another (two at once would open
   * the same new directories twice); a delete of the topic meanwhile waits for them and wins
   * (the new directories are removed).
   */
  addPartitions(topic: Topic, count: number): Promise<void> {
    const before = this.adding.get(topic) ?? Promise.resolve();
    const p = before.then(() => this.doAddPartitions(topic, count));
    const settled = p.catch(() => undefined);
    this.adding.set(topic, settled);
    void settled.then(() => {
      if (this.adding.get(topic) === settled) this.adding.delete(topic);
    });
    return p;
  }

  private async doAddPartitions(topic: Topic, count: number): Promise<void> {
    if (topic.deleted) throw new Error(`topic ${topic.name} was deleted`);
    const from = topic.partitions.length;
    if (count <= from) throw new PartitionCountError(topic.name, from, count);
    this.reservePartitions(count - from);
    let added: Partition[] = [];
    try {
      added = await this.openPartitions(topic, from, count);
      if (topic.deleted) throw new Error(`topic ${topic.name} was deleted`);
      await this.saveThenApply({ ...this.record(topic), partitions: count }, () => {
        if (topic.deleted) throw new Error(`topic ${topic.name} was deleted`);
        topic.partitions.push(...added);
      });
    } catch (e) {
      this.partitionsHeld -= count - from;
      // Never visible: their directories go, so no later topic of the name finds them.
      await Promise.allSettled(added.map((p) => p.log.destroy()));
      throw e;
    }
    this.log.info('partitions added', { topic: topic.name, partitions: count });
    this.changed();
  }

  private changed(): void {
    for (const l of this.changeListeners) l();
  }

  async setOverrides(topic: Topic, overrides: Record<string, string>): Promise<void> {
    const configs = { ...overrides };
    await this.saveThenApply({ ...this.record(topic), configs }, () => {
      topic.setOverrides(configs, this.config.topicDefaults);
      const logConfig = logConfigFrom(this.effectiveConfigs(topic), this.config.tailCacheBytes, visibleWhenFor(this.config.fsync));
      for (const p of topic.partitions) p.log.config = { ...logConfig };
    });
  }

  /** Re-reads the broker defaults into every topic and its logs, after a dynamic broker config changed them. */
  brokerDefaultsChanged(): void {
    for (const topic of this.byName.values()) {
      topic.setOverrides(topic.overrides, this.config.topicDefaults);
      const logConfig = logConfigFrom(this.effectiveConfigs(topic), this.config.tailCacheBytes, visibleWhenFor(this.config.fsync));
      for (const p of topic.partitions) p.log.config = { ...logConfig };
    }
  }

  /** A producer id never handed out before, even across restarts: the high mark is saved a block ahead. */
  async allocateProducerId(): Promise<number> {
    if (this.producerIdNext >= this.producerIdHigh) {
      this.producerIdHigh = this.producerIdNext + PRODUCER_ID_BLOCK;
      this.producerIdsSaved = this.save();
    }
    const id = this.producerIdNext++;
    await this.producerIdsSaved;
    return id;
  }

  /**
   * Closes every partition's log, after the deletes in progress have moved their directories
   * aside, `num.recovery.threads.per.data.dir` at a time: all at once
   * would open a file per partition together (fsync's directory handle, the clean-shutdown
   * marker) and run out of descriptors with many partitions. A log that cannot close (full
   * disk, vanished directory) is logged and the rest still close; its next open recovers it
   * as after a crash (the last segment scanned with CRCs, its indexes rebuilt, nothing lost).
   */
  async closeAll(): Promise<void> {
    await Promise.all(this.deleting.values());
    const all: Partition[] = [];
    for (const t of this.byName.values()) all.push(...t.partitions);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < all.length) {
        const p = all[next++]!;
        try {
          await p.log.close();
        } catch (e) {
          this.log.warn('log not closed cleanly; the next start recovers it', { topic: p.topic.name, partition: p.index, error: e });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.numRecoveryThreadsPerDataDir, all.length) }, worker));
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
