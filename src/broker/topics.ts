// The topic/partition registry: which topics exist, their ids, overrides and logs. All
// changes happen on the event loop; the catalogue on disk is rewritten after each one.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readdir, rename, rm } from 'node:fs/promises';
import type { Log, OpenLog } from '../storage/log.js';
import { ProducerStates } from './producer-state.js';
import { CatalogWriter, type Catalog, type TopicRecord } from './meta-store.js';
import { effectiveTopicConfigs, logConfigFrom } from './topic-config.js';
import type { BrokerConfig } from './config.js';
import type { Logger } from './logger.js';

const LEGAL_NAME = /^[a-zA-Z0-9._-]+$/;
const MAX_NAME_LENGTH = 249;
const PRODUCER_ID_BLOCK = 1000;
/** Internal logs live beside the topics in the data directory under these names. */
const RESERVED_NAMES = new Set(['__consumer_offsets', '__transaction_state']);

/** Returns why a topic name is not acceptable, or null (Kafka's rules). */
export function topicNameProblem(name: string | null): string | null {
  if (name === null || name.length === 0) return 'Topic name is empty';
  if (name === '.' || name === '..') return `Topic name cannot be "${name}"`;
  if (RESERVED_NAMES.has(name)) return `Topic name "${name}" is reserved for the broker's internal use`;
  if (name.length > MAX_NAME_LENGTH) return `Topic name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!LEGAL_NAME.test(name)) return `Topic name "${name}" is illegal: it may contain only ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

export class Partition {
  readonly topic: Topic;
  readonly index: number;
  readonly log: Log;
  readonly producers: ProducerStates;
  /** Parked fetches and other listeners, called when the high watermark moves or the partition goes away. */
  readonly waiters: Set<() => void>;

  constructor(topic: Topic, index: number, log: Log) {
    this.topic = topic;
    this.index = index;
    this.log = log;
    this.producers = new ProducerStates();
    this.waiters = new Set();
    log.advanceListeners.add(() => this.wake());
    // Rebuild idempotence state from the batches recovery found, so a producer retrying
    // across a broker restart is still recognised.
    for (const b of log.recoveredProducerBatches) this.producers.record(b.producerId, b.producerEpoch, b.baseSequence, b.lastSequence, b.baseOffset);
  }

  wake(): void {
    if (this.waiters.size === 0) return;
    for (const w of [...this.waiters]) w();
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
  deleted: boolean;

  constructor(name: string, id: string, overrides: Record<string, string>, brokerDefaults: Readonly<Record<string, string>>) {
    this.name = name;
    this.id = id;
    this.partitions = [];
    this.overrides = overrides;
    this.maxMessageBytes = 0;
    this.logAppendTime = false;
    this.deleted = false;
    this.setOverrides(overrides, brokerDefaults);
  }

  setOverrides(overrides: Record<string, string>, brokerDefaults: Readonly<Record<string, string>>): void {
    this.overrides = overrides;
    const effective = effectiveTopicConfigs(brokerDefaults, overrides);
    this.maxMessageBytes = Number(effective['max.message.bytes']);
    this.logAppendTime = effective['message.timestamp.type'] === 'LogAppendTime';
  }
}

export class TopicRegistry {
  readonly byName = new Map<string, Topic>();
  readonly byId = new Map<string, Topic>();
  private readonly creating = new Map<string, Promise<Topic>>();
  private readonly catalogWriter: CatalogWriter;
  /** Topic changes whose catalogue is being saved; applied in memory once it is. */
  private readonly unsaved = new Map<string, TopicRecord>();
  private producerIdNext = 0;
  private producerIdHigh = 0;
  private producerIdsSaved: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: BrokerConfig,
    private readonly openLog: OpenLog,
    private readonly log: Logger,
  ) {
    this.catalogWriter = new CatalogWriter(config.dataDir);
  }

  effectiveConfigs(topic: Topic): Record<string, string> {
    return effectiveTopicConfigs(this.config.topicDefaults, topic.overrides);
  }

  private partitionDir(topic: string, index: number): string {
    return join(this.config.dataDir, `${topic}-${index}`);
  }

  /** Opens every partition of the catalogue (recovering each log) and removes what deleted topics left behind. */
  async load(catalog: Catalog): Promise<void> {
    this.producerIdNext = catalog.producerIdHigh;
    this.producerIdHigh = catalog.producerIdHigh;
    const entries = await readdir(this.config.dataDir);
    await Promise.all(entries.filter((e) => e.endsWith('-delete')).map((e) => rm(join(this.config.dataDir, e), { recursive: true, force: true })));
    for (const t of catalog.topics) {
      const topic = new Topic(t.name, t.id, t.configs, this.config.topicDefaults);
      topic.partitions.push(...(await this.openPartitions(topic, 0, t.partitions)));
      this.byName.set(topic.name, topic);
      this.byId.set(topic.id, topic);
    }
  }

  /** Opens (recovering) the logs of partitions `from`..`count - 1`; the caller adds them to the topic. */
  private async openPartitions(topic: Topic, from: number, count: number): Promise<Partition[]> {
    const logConfig = logConfigFrom(this.effectiveConfigs(topic), this.config.tailCacheBytes);
    const logs = await Promise.all(
      Array.from({ length: count - from }, (_, i) => this.openLog(this.partitionDir(topic.name, from + i), { ...logConfig })),
    );
    return logs.map((l, i) => {
      for (const note of l.recoveryNotes) this.log.warn('log recovery', { topic: topic.name, partition: from + i, note });
      return new Partition(topic, from + i, l);
    });
  }

  /** A topic's catalogue entry, including a change that is being saved. */
  private record(topic: Topic): TopicRecord {
    return this.unsaved.get(topic.name) ?? { name: topic.name, id: topic.id, partitions: topic.partitions.length, configs: topic.overrides };
  }

  /** The catalogue with every change being saved, whether or not it is applied in memory yet. */
  private catalog(): Catalog {
    const topics = [...this.byName.values()].map((t) => this.record(t));
    for (const [name, r] of this.unsaved) if (!this.byName.has(name)) topics.push(r);
    return { topics, producerIdHigh: this.producerIdHigh };
  }

  private save(): Promise<void> {
    return this.catalogWriter.save(this.catalog());
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

  /** Creates a topic; concurrent calls for one name share the creation. The caller has validated name, count and configs. */
  create(name: string, partitions: number, overrides: Record<string, string>): Promise<Topic> {
    const existing = this.byName.get(name);
    if (existing) return Promise.resolve(existing);
    const pending = this.creating.get(name);
    if (pending) return pending;
    const p = (async () => {
      let id = randomBytes(16).toString('base64url');
      while (this.byId.has(id)) id = randomBytes(16).toString('base64url');
      const topic = new Topic(name, id, { ...overrides }, this.config.topicDefaults);
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
      this.log.info('topic created', { topic: name, partitions, id });
      return topic;
    })();
    this.creating.set(name, p);
    p.finally(() => this.creating.delete(name)).catch(() => undefined);
    return p;
  }

  isCreating(name: string): boolean {
    return this.creating.has(name);
  }

  async delete(topic: Topic): Promise<void> {
    if (topic.deleted) return;
    topic.deleted = true;
    this.byName.delete(topic.name);
    this.byId.delete(topic.id);
    for (const p of topic.partitions) p.wake();
    await this.save();
    // Close, move aside, then remove in the background: a crash in between leaves a -delete dir that start-up removes.
    for (const p of topic.partitions) {
      await p.log.close();
      const dir = this.partitionDir(topic.name, p.index);
      const aside = `${dir}.${topic.id}-delete`;
      await rename(dir, aside).catch(() => undefined);
      rm(aside, { recursive: true, force: true }).catch((e) => this.log.warn('could not remove a deleted partition', { dir: aside, error: e }));
    }
    this.log.info('topic deleted', { topic: topic.name });
  }

  async addPartitions(topic: Topic, count: number): Promise<void> {
    const added = await this.openPartitions(topic, topic.partitions.length, count);
    await this.saveThenApply({ ...this.record(topic), partitions: count }, () => topic.partitions.push(...added));
    this.log.info('partitions added', { topic: topic.name, partitions: count });
  }

  async setOverrides(topic: Topic, overrides: Record<string, string>): Promise<void> {
    const configs = { ...overrides };
    await this.saveThenApply({ ...this.record(topic), configs }, () => {
      topic.setOverrides(configs, this.config.topicDefaults);
      const logConfig = logConfigFrom(this.effectiveConfigs(topic), this.config.tailCacheBytes);
      for (const p of topic.partitions) p.log.config = { ...logConfig };
    });
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
   * Closes every partition's log, `num.recovery.threads.per.data.dir` at a time: all at once
   * would open a file per partition together (fsync's directory handle, the clean-shutdown
   * marker) and run out of descriptors with many partitions. A log that cannot close (full
   * disk, vanished directory) is logged and the rest still close; its next open recovers it
   * as after a crash (the last segment scanned with CRCs, its indexes rebuilt, nothing lost).
   */
  async closeAll(): Promise<void> {
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
