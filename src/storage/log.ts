// The one interface the broker needs from a partition's log. partition-log.ts implements
// it on files and memory-log.ts in memory; test/unit/storage/log-contract.test.ts runs the
// same checks against both.

import type { LogConfig } from './log-config.js';
import type { ProducerStates } from './producer-state.js';

export type { LogConfig, ProducerStates };

/** An aborted transaction of one producer in this partition: its data lies in firstOffset..lastOffset (the ABORT marker). */
export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
}

export interface Log {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  /**
   * Where read_committed consumers stop: the first offset of the oldest transaction still
   * open in this partition, or the high watermark when none is.
   */
  readonly lastStableOffset: number;
  /**
   * Called synchronously whenever highWatermark, lastStableOffset or logStartOffset moves
   * (parked fetches and fetch sessions): in the turn a write completed, or with visibleWhen
   * 'durable' the turn an fsync completed; and when retention or DeleteRecords raise the start.
   */
  readonly advanceListeners: Set<() => void>;
  /** Called with the seconds each fsync of the log's data took (the broker's metrics). */
  readonly fsyncListeners: Set<(seconds: number) => void>;
  /** Called with the seconds each append took from append() until written to the file (the broker's metrics). */
  readonly writeListeners: Set<(seconds: number) => void>;
  config: LogConfig;
  /** Producer state: sequences, epochs and open transactions, updated by append() itself and restored at open. */
  readonly producers: ProducerStates;
  /** What recovery repaired at open, one sentence each, for the broker's log. */
  readonly recoveryNotes: readonly string[];
  append(batches: Buffer): { baseOffset: number; lastOffset: number; written: Promise<void> };
  flush(): Promise<void>;
  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (at least one batch) and,
   * when `upTo` is given, only batches that start below it (read_committed stops at the LSO).
   */
  read(offset: number, maxBytes: number, upTo?: number): Promise<Buffer[]>;
  /** Aborted transactions with data in [from, upTo), for read_committed fetches, ordered by firstOffset. */
  abortedTransactions(from: number, upTo: number): AbortedTransaction[];
  /** First record at or above the log start whose timestamp is >= `ts`, with that timestamp; null when none. */
  offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null>;
  /** First record holding the log's largest timestamp, with it; {-1, -1} when none. */
  maxTimestampInfo(): Promise<{ offset: number; timestamp: number }>;
  deleteRecordsBefore(offset: number): Promise<number>;
  /** Forgets producers whose last timestamp is older than `expirationMs` before `now` (producer.id.expiration.ms); never one with an open transaction. */
  expireProducers(now: number, expirationMs: number): void;
  enforceRetention(now: number): Promise<void>;
  sizeBytes(): number;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export type OpenLog = (dir: string, config: LogConfig) => Promise<Log>;
