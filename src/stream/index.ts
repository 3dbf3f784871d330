// rivulet/stream: the public entry of Rivulet Streams.
export * from './types.js';
export { serdes } from './serde.js';
export { pipeline, Pipeline, KStream, KTable, KGroupedStream } from './dsl.js';
export type { NodeSpec, TypedStoreSpec, StreamOptions, TableOptions, SinkOptions, Named, KeyByOptions, AggregateOptions, Rec, KeyValue, Partitioner, TimestampExtractor, WatermarkOptions, MapAsyncOptions } from './dsl.js';
export { Operator, Task } from './operators/processor.js';
export { StoreCache } from './state/store-cache.js';
export { MemoryStore, MemoryStoreFactory } from './state/memory-store.js';
export { murmur2, partitionForKey } from './partitioner.js';
export { PartitionClock, taskWatermark, DEFAULT_IDLE_TIMEOUT_MS } from './event-time.js';
export { TestDriver } from './test-driver.js';
export type { TestDriverOptions, TestInput, TestOutput, OutputRecordOf, DeadLetter } from './test-driver.js';
