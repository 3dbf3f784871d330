// The Kafka runtime as `rivulet run` uses it: startPipeline(topology, config). Declared here
// from the contract (src/stream/README.md); the runtime module provides the implementation.

import type { Registry } from 'prom-client';
import type { Security } from '../../client/security.js';
import type { Topology } from '../types.js';
import type { Logger } from './log.js';

export const GUARANTEES = ['exactly_once', 'at_least_once'] as const;
export type Guarantee = (typeof GUARANTEES)[number];
export const ON_ERROR = ['dead-letter', 'stop'] as const;
export type OnError = (typeof ON_ERROR)[number];

export interface PipelineConfig {
  bootstrap: string;
  security?: Security;
  guarantee: Guarantee;
  commitIntervalMs: number;
  stateDir: string;
  /** This member's id: its group member and transactional id derive from it. */
  instanceId: string;
  deadLetterTopic?: string;
  onError: OnError;
  metricsRegistry?: Registry;
  logger?: Logger;
}

export interface RunningPipeline {
  /** Settles once every assigned task has restored its state and processes. */
  ready: Promise<void>;
  isReady(): boolean;
  isLive(): boolean;
  /** Finishes in-flight records, commits, leaves the group. */
  stop(): Promise<void>;
  /** Settles when the pipeline has stopped: resolves after stop(), rejects when it failed on its own. */
  closed: Promise<void>;
}

export type StartPipeline = (topology: Topology, config: PipelineConfig) => Promise<RunningPipeline>;
