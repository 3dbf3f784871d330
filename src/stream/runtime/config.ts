// What startPipeline takes (src/stream/README.md): the broker, the guarantee, the commit
// interval, where local state lives, and what to do with a poison record.

import type { Registry } from 'prom-client';
import type { Security } from '../../client/security.js';
import type { StoreFactory } from '../types.js';

export type Guarantee = 'exactly_once' | 'at_least_once';
export type OnError = 'dead-letter' | 'stop';

/** Where the runtime writes its log lines; console-like. */
export interface RuntimeLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface RuntimeConfig {
  /** "host:port[,host:port]". */
  bootstrap: string;
  security?: Security;
  /** Default exactly_once. */
  guarantee?: Guarantee;
  /** Default 100 ms, as Kafka Streams under exactly-once. */
  commitIntervalMs?: number;
  /**
   * Also commit as soon as the input is drained (every input partition's fetched records
   * processed and its position at the partition's end) with work uncommitted, instead of waiting
   * for the interval; under load the interval alone paces commits. Default true under
   * exactly-once (outputs are visible to read_committed readers only once committed, so this is
   * what bounds their latency by a commit round trip rather than the interval), false under
   * at-least-once (outputs are visible when sent; an earlier offset commit only shortens what a
   * crash replays, for an OffsetCommit more per quiet spell).
   */
  commitOnDrain?: boolean;
  /**
   * The least time from the start of one commit to the start of a commit on drain (default 5 ms,
   * at most commitIntervalMs): a trickle of records does not make a transaction each.
   */
  commitOnDrainSpacingMs?: number;
  /** Local state (stores and their checkpoints). */
  stateDir: string;
  /** Unique per process or worker: the transactional id is `<application>-<instanceId>`. */
  instanceId: string;
  /** Default `<application>-dlq`. */
  deadLetterTopic?: string;
  /** Default 'dead-letter'. */
  onError?: OnError;
  /** Where metrics are registered; a private registry when absent. */
  metricsRegistry?: Registry;
  logger?: RuntimeLogger;
  /** Opens task stores; default LmdbStoreFactory under stateDir. */
  storeFactory?: StoreFactory;
  /**
   * Join the group as a static member with instanceId as group.instance.id (default false):
   * a graceful stop then keeps the partitions for the session timeout, and a restart with the
   * same instance id (a StatefulSet pod) gets them back without moving them to others.
   */
  staticMembership?: boolean;
  /**
   * Kafka Streams' `max.task.idle.ms`: a task with several input partitions takes their records
   * in timestamp order, and waits for an empty partition that still has records on the broker.
   * This is how long it also waits for a caught-up partition that may receive earlier records.
   * Default 0 (no wait for new records); -1: never wait, not even for records on the broker.
   */
  maxTaskIdleMs?: number;
}

export interface ResolvedConfig extends Required<Omit<RuntimeConfig, 'security' | 'metricsRegistry' | 'logger' | 'storeFactory'>> {
  security: Security | undefined;
  logger: RuntimeLogger;
}

/** commitOnDrainSpacingMs by default. */
export const DEFAULT_DRAIN_SPACING_MS = 5;

export const silentLogger: RuntimeLogger = { info() {}, warn() {}, error() {} };

export function resolveConfig(application: string, c: RuntimeConfig): ResolvedConfig {
  const guarantee = c.guarantee ?? 'exactly_once';
  if (guarantee !== 'exactly_once' && guarantee !== 'at_least_once') {
    throw new Error(`unknown processing guarantee "${String(guarantee)}": use exactly_once or at_least_once`);
  }
  const onError = c.onError ?? 'dead-letter';
  if (onError !== 'dead-letter' && onError !== 'stop') throw new Error(`unknown onError "${String(onError)}": use dead-letter or stop`);
  const commitIntervalMs = c.commitIntervalMs ?? 100;
  if (!(commitIntervalMs > 0)) throw new Error(`commitIntervalMs must be a positive number of milliseconds, got ${commitIntervalMs}`);
  const commitOnDrain = c.commitOnDrain ?? guarantee === 'exactly_once';
  const commitOnDrainSpacingMs = Math.min(c.commitOnDrainSpacingMs ?? DEFAULT_DRAIN_SPACING_MS, commitIntervalMs);
  if (!(commitOnDrainSpacingMs >= 0)) throw new Error(`commitOnDrainSpacingMs must be 0 or more milliseconds, got ${c.commitOnDrainSpacingMs}`);
  const maxTaskIdleMs = c.maxTaskIdleMs ?? 0;
  if (!Number.isSafeInteger(maxTaskIdleMs) || maxTaskIdleMs < -1) {
    throw new Error(`maxTaskIdleMs must be a whole number of milliseconds, 0 or more (or -1 to never wait for an empty input partition), got ${maxTaskIdleMs}`);
  }
  if (!c.instanceId) throw new Error('instanceId is required: a name unique to this process or worker (it makes the transactional id)');
  return {
    bootstrap: c.bootstrap,
    security: c.security,
    guarantee,
    commitIntervalMs,
    commitOnDrain,
    commitOnDrainSpacingMs,
    stateDir: c.stateDir,
    instanceId: c.instanceId,
    staticMembership: c.staticMembership ?? false,
    deadLetterTopic: c.deadLetterTopic ?? `${application}-dlq`,
    onError,
    maxTaskIdleMs,
    logger: c.logger ?? silentLogger,
  };
}
