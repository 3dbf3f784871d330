// The feature flags the broker announces in ApiVersions (KIP-584) and UpdateFeatures changes:
// which levels this broker supports and which one is finalized. Clients read them to choose a
// protocol (the Java producer uses transaction.version 2 for KIP-890 transactions; consumers
// use group.version 1 for the KIP-848 protocol). To support a new level of a feature, raise
// its `max` (and `initial`, for new data directories) here; nothing else needs to change.
//
// A level set through UpdateFeatures (kafka-features upgrade/downgrade) is stored in
// features.json in the data directory before it is announced, and wins over the setting that
// gave the initial level.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerConfig } from './config.js';
import { atomicWrite } from './meta-store.js';

export interface FeatureDef {
  readonly name: string;
  /** Lowest and highest level this broker supports (0 means off). */
  readonly min: number;
  readonly max: number;
  /** The level a data directory starts with. */
  readonly initial: (config: BrokerConfig) => number;
  /** Set when the level cannot change at runtime: why, for the client's error message. */
  readonly fixed?: string;
}

/** metadata.version 4.0-IV3: the Kafka 4.0 protocol this broker serves. */
export const METADATA_VERSION_LEVEL = 25;

export const featureDefs: readonly FeatureDef[] = [
  {
    name: 'metadata.version', min: METADATA_VERSION_LEVEL, max: METADATA_VERSION_LEVEL, initial: () => METADATA_VERSION_LEVEL,
    fixed: 'this broker has no KRaft metadata log; it serves the Kafka 4.0 protocol, metadata.version 4.0-IV3 (level 25), and no other',
  },
  // Only what the broker announces: the coordinator serves both transaction protocols, and
  // clients pick theirs from this level, so it may change at any time.
  { name: 'transaction.version', min: 0, max: 2, initial: (c) => c.transactionVersion },
  // Level 1: the KIP-848 consumer group protocol (ConsumerGroupHeartbeat), as Kafka 4 finalizes it.
  { name: 'group.version', min: 0, max: 1, initial: () => 1 },
  // Share groups (KIP-932, groups/share-group.ts) are served, always: level 1, as Kafka 4.1+
  // announces them. The broker does not turn them off, so the level cannot be lowered.
  { name: 'share.version', min: 1, max: 1, initial: () => 1, fixed: 'share groups (KIP-932) are always served by this broker: share.version is 1 and cannot change' },
];

const byName: ReadonlyMap<string, FeatureDef> = new Map(featureDefs.map((d) => [d.name, d]));

const FILE = 'features.json';

export const UpgradeType = { UPGRADE: 1, SAFE_DOWNGRADE: 2, UNSAFE_DOWNGRADE: 3 } as const;

/** The finalized levels and their epoch (which grows with every change, across restarts). */
export class FeatureTable {
  private levels = new Map<string, number>();
  private stored: Record<string, number> = {};
  /** Bumped on every change; clients keep the answer with the highest epoch. */
  epoch = 1;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataDir: string, config: BrokerConfig) {
    for (const d of featureDefs) this.levels.set(d.name, d.initial(config));
  }

  /** Applies the levels stored by earlier UpdateFeatures; returns the ones that differ from the settings, for the log. */
  async load(): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(join(this.dataDir, FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const saved = JSON.parse(text) as { epoch: number; levels: Record<string, number> };
    const notes: string[] = [];
    this.epoch = saved.epoch;
    for (const [name, level] of Object.entries(saved.levels)) {
      const def = byName.get(name);
      if (def === undefined || level < def.min || level > def.max) {
        notes.push(`${name} level ${level} stored by UpdateFeatures is not supported by this broker; using ${this.levels.get(name) ?? 'none'}`);
        continue;
      }
      this.stored[name] = level;
      if (this.levels.get(name) !== level) notes.push(`${name} is finalized at ${level} (stored by UpdateFeatures), not ${this.levels.get(name)} from the settings`);
      this.levels.set(name, level);
    }
    return notes;
  }

  level(name: string): number {
    return this.levels.get(name) ?? 0;
  }

  supported(): { name: string; minVersion: number; maxVersion: number }[] {
    return featureDefs.map((d) => ({ name: d.name, minVersion: d.min, maxVersion: d.max }));
  }

  /** Features at a level above 0, as ApiVersions lists them. */
  finalized(): { name: string; minVersionLevel: number; maxVersionLevel: number }[] {
    const out = [];
    for (const d of featureDefs) {
      const l = this.level(d.name);
      if (l > 0) out.push({ name: d.name, minVersionLevel: l, maxVersionLevel: l });
    }
    return out;
  }

  /** Why moving `name` to `level` with this upgrade type is refused, or null when it may. */
  problem(name: string, level: number, upgradeType: number): string | null {
    const def = byName.get(name);
    if (def === undefined) return `Unknown feature ${name}; this broker has ${featureDefs.map((d) => d.name).join(', ')}`;
    if (upgradeType < UpgradeType.UPGRADE || upgradeType > UpgradeType.UNSAFE_DOWNGRADE) return `Unknown upgrade type ${upgradeType}`;
    const current = this.level(name);
    if (level === current) return null;
    if (def.fixed !== undefined) return `${name} cannot change: ${def.fixed}`;
    if (upgradeType === UpgradeType.UPGRADE && level < current) return `Can't downgrade ${name} from ${current} to ${level} with an upgrade; use downgrade`;
    if (upgradeType !== UpgradeType.UPGRADE && level > current) return `Can't downgrade ${name} from ${current} to the higher level ${level}; use upgrade`;
    if (level < def.min || level > def.max) return `${name} level ${level} is not supported by this broker: it supports ${def.min} to ${def.max}`;
    return null;
  }

  /** Runs `fn` after every change begun before it, so a check and the update it leads to see no other change in between. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stores the new levels, then makes them current (a failed save changes nothing). */
  async update(changes: ReadonlyMap<string, number>): Promise<void> {
    const stored = { ...this.stored };
    for (const [name, level] of changes) stored[name] = level;
    const epoch = this.epoch + 1;
    await atomicWrite(this.dataDir, FILE, JSON.stringify({ epoch, levels: stored }));
    this.stored = stored;
    this.epoch = epoch;
    for (const [name, level] of changes) this.levels.set(name, level);
  }
}
