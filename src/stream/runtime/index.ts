// The Kafka runtime of Rivulet Streams: startPipeline runs a Topology as a consumer-group
// member with tasks, changelog-backed stores, commits (exactly-once or at-least-once),
// dead letters and metrics. See pipeline.ts for the loop and commit-cycle.ts for the commit cycle.

export { startPipeline, PoisonRecordError, type RunningPipeline } from './pipeline.js';
export type { RuntimeConfig, Guarantee, OnError, RuntimeLogger } from './config.js';
export { RuntimeMetrics } from './metrics.js';
