// The one interface the broker needs from a partition's log. src/storage/partition-log.ts
// implements it on files; anything else that does (a fault-injecting log in tests) can
// stand in for it.

export interface LogConfig {
  segmentBytes: number;
  segmentMs: number;
  retentionMs: number;
  retentionBytes: number;
  indexIntervalBytes: number;
  tailCacheBytes: number;
}

export interface Log {
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  onAdvance: (() => void) | null;
  config: LogConfig;
  append(batches: Buffer): { baseOffset: number; lastOffset: number; written: Promise<void> };
  flush(): Promise<void>;
  read(offset: number, maxBytes: number): Promise<Buffer[]>;
  offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null>;
  maxTimestampInfo(): { offset: number; timestamp: number };
  deleteRecordsBefore(offset: number): Promise<number>;
  enforceRetention(now: number): Promise<void>;
  sizeBytes(): number;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export type OpenLog = (dir: string, config: LogConfig) => Promise<Log>;
