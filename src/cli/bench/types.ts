// The shapes of `rivulet bench`: its flags (as commander hands them over) and the result
// --json prints (documented in ../bench.ts, JSON_HELP; fields are only ever added).

import type { ClientFlags } from '../client-common.js';

export interface CommonFlags extends ClientFlags {
  topic: string;
  json?: boolean;
  progress: boolean;
}

export interface ProducerFlags extends CommonFlags {
  messages?: number;
  duration?: number;
  size: number;
  rate?: number;
  acks: string;
  compression: string;
  partitions?: number;
  keyCardinality?: number;
  batchSize: number;
  linger: number;
  maxInFlight: number;
}

export type BenchProduceFlags = ProducerFlags;

export interface BenchE2eFlags extends ProducerFlags {
  idleTimeout: number;
}

export interface BenchConsumeFlags extends CommonFlags {
  messages?: number;
  fromBeginning?: boolean;
  idleTimeout: number;
}

/** The percentiles reported, in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** What --json prints (documented in bench.ts, JSON_HELP). */
export interface BenchResult {
  schema: 'rivulet.bench/1';
  mode: 'produce' | 'consume' | 'e2e';
  topic: string;
  config: Record<string, string | number | boolean | null>;
  requested: number | null;
  messages: number;
  produced: number | null;
  failed: number;
  bytes: number;
  durationMs: number;
  msgsPerSec: number;
  mbPerSec: number;
  latencyMs: LatencySummary | null;
  sendLatencyMs: LatencySummary | null;
}

export interface NexmarkGenerateFlags extends ClientFlags {
  seed: number;
  rate: number;
  events?: number;
  duration?: number;
  maxSpeed?: boolean;
  partitions: number;
  outOfOrderMs?: number;
  delayedFraction?: number;
  firstEventTime?: number;
  acks: string;
  batchSize: number;
  maxInFlight: number;
  json?: boolean;
  progress: boolean;
}
