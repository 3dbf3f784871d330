// The one interface the broker needs from a partition's log. partition-log.ts implements
// it on files and memory-log.ts in memory; test/unit/storage/log-contract.test.ts runs the
// same checks against both.

import type { LogConfig } from './log-config.js';
import type { RecoveredProducerBatch } from './recovery.js';

export type { LogConfig, RecoveredProducerBatch };

export interface Log {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  /** Called synchronously, in the turn a write completed, whenever highWatermark advances (parked fetches, and later the transaction coordinator). */
  readonly advanceListeners: Set<() => void>;
  /** Called with the seconds each fsync of the log's data took (the broker's metrics). */
  readonly fsyncListeners: Set<(seconds: number) => void>;
  config: LogConfig;
  /** Idempotent producers' last batches found when the log was opened, to rebuild sequence state. */
  readonly recoveredProducerBatches: readonly RecoveredProducerBatch[];
  /** What recovery repaired at open, one sentence each, for the broker's log. */
  readonly recoveryNotes: readonly string[];
  append(batches: Buffer): { baseOffset: number; lastOffset: number; written: Promise<void> };
  flush(): Promise<void>;
  read(offset: number, maxBytes: number): Promise<Buffer[]>;
  /** First record at or above the log start whose timestamp is >= `ts`, with that timestamp; null when none. */
  offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null>;
  /** First record holding the log's largest timestamp, with it; {-1, -1} when none. */
  maxTimestampInfo(): Promise<{ offset: number; timestamp: number }>;
  deleteRecordsBefore(offset: number): Promise<number>;
  enforceRetention(now: number): Promise<void>;
  sizeBytes(): number;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export type OpenLog = (dir: string, config: LogConfig) => Promise<Log>;
