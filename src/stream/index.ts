// rivulet/stream: the public entry of Rivulet Streams.
export * from './types.js';
export { serdes } from './serde.js';
export { pipeline, Pipeline, KStream, KTable, KGroupedStream, KGroupedTable } from './dsl.js';
export type { Narrowed, NodeSpec, TypedStoreSpec, StreamOptions, TableOptions, SinkOptions, Named, KeyByOptions, AggregateOptions, TableGroupByOptions, Change, Rec, KeyValue, Partitioner, TimestampExtractor, WatermarkOptions, MapAsyncOptions } from './dsl.js';
export { Operator, Task } from './operators/processor.js';
export { StoreCache } from './state/store-cache.js';
export { MemoryStore, MemoryStoreFactory } from './state/memory-store.js';
export { murmur2, partitionForKey } from './partitioner.js';
export { PartitionClock, taskWatermark, DEFAULT_IDLE_TIMEOUT_MS } from './event-time.js';
export { TestDriver } from './test-driver.js';
export type { TestDriverOptions, TestInput, TestOutput, OutputRecordOf, DeadLetter } from './test-driver.js';
export { tumbling, hopping, slidingWindows, sessionWindows, TimeWindows, SlidingWindows, SessionWindows } from './windows/windows.js';
export type { Window, Windowed, Windows } from './windows/windows.js';
export { timeWindowedSerde, sessionWindowedSerde } from './windows/window-key.js';
export { WindowedKStream, WindowedKTable } from './windows/windowed-stream.js';
export type { WindowedOptions, JoinWindowOptions } from './windows/windowed-stream.js';
export { count, sum, min, max, average, topN, aggregator, reducer } from './aggregates.js';
export type { Aggregate, AverageState } from './aggregates.js';
export type { EmitMode } from './windows/window-aggregation.js';
// The Kafka runtime (rivulet run calls startPipeline once per worker).
export { startPipeline, PoisonRecordError, RuntimeMetrics } from './runtime/index.js';
export type { RunningPipeline, RuntimeConfig, Guarantee, OnError, RuntimeLogger } from './runtime/index.js';
