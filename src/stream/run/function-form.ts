// The function form of a pipeline: `export default (record) => output`. The event-driven
// function: each input record goes through the function, and what it returns is produced.
// It compiles to a one-sub-topology Topology (types.ts): tasks are the input partitions,
// records of a task go through the function one at a time, in offset order (an async
// function is awaited before the next record of its partition).

import type { Headers, InputRecord, OutputRecord, Serde, Topology, TaskContext, TaskProcessor } from '../types.js';

export const RECORD_FORMATS = ['json', 'string', 'bytes'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

/** What the function receives: the input record with key and value decoded by --key-format / --value-format. */
export interface FunctionRecord<K = unknown, V = unknown> {
  key: K;
  value: V;
  headers: Headers;
  /** Event time, ms. */
  timestamp: number;
  topic: string;
  partition: number;
  offset: bigint;
}

/**
 * One record to produce. `value` is required (null is a tombstone); `key` defaults to the
 * input's key, `timestamp` to the input's, `topic` to --output.
 */
export interface FunctionOutput<K = unknown, V = unknown> {
  key?: K;
  value: V;
  headers?: Headers;
  timestamp?: number;
  topic?: string;
}

export type FunctionResult = FunctionOutput | FunctionOutput[] | undefined | null | void;

export type RecordFunction = (record: FunctionRecord) => FunctionResult | Promise<FunctionResult>;

export interface FunctionTopologyOptions {
  application: string;
  inputs: string[];
  /** The default topic of outputs; without it every output must name its topic. */
  output?: string;
  keyFormat: RecordFormat;
  valueFormat: RecordFormat;
  /** How describe() names the function (the file it came from). */
  name: string;
}

export function formatSerde(format: RecordFormat): Serde<unknown> {
  switch (format) {
    case 'json':
      return {
        serialize: (v) => (v === null || v === undefined ? null : Buffer.from(JSON.stringify(v))),
        deserialize: (b) => (b === null ? null : JSON.parse(b.toString('utf8'))),
      };
    case 'string':
      return {
        serialize: (v) => (v === null || v === undefined ? null : Buffer.from(String(v))),
        deserialize: (b) => (b === null ? null : b.toString('utf8')),
      };
    case 'bytes':
      return {
        serialize: (v) => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array)),
        deserialize: (b) => b,
      };
  }
}

/** The Topology that runs `fn` on every record of `inputs`. */
export function functionTopology(fn: RecordFunction, o: FunctionTopologyOptions): Topology {
  if (o.inputs.length === 0) throw new Error('a function pipeline needs its input topics: give --input TOPIC (comma-separated for several).');
  const keySerde = formatSerde(o.keyFormat);
  const valueSerde = formatSerde(o.valueFormat);
  return {
    application: o.application,
    subtopologies: [{ id: 0, sources: [...o.inputs], createTask: (ctx) => functionTask(fn, ctx, o, keySerde, valueSerde) }],
    stores: [],
    internalTopics: [],
    sinks: o.output ? [o.output] : [],
    describe: () =>
      [
        `Topology of application ${o.application}`,
        `  Sub-topology 0 (tasks: one per partition of ${o.inputs.join(', ')})`,
        `    source: ${o.inputs.join(', ')} (key ${o.keyFormat}, value ${o.valueFormat})`,
        `    function: ${o.name}`,
        `    sink: ${o.output ?? '(the topic each output names)'} (key ${o.keyFormat}, value ${o.valueFormat})`,
      ].join('\n'),
  };
}

function functionTask(fn: RecordFunction, ctx: TaskContext, o: FunctionTopologyOptions, keySerde: Serde<unknown>, valueSerde: Serde<unknown>): TaskProcessor {
  let closed = false;

  const emit = (input: InputRecord, result: FunctionResult) => {
    if (result === undefined || result === null || closed) return;
    const outputs = Array.isArray(result) ? result : [result];
    const records: OutputRecord[] = [];
    // Serialize all first, so a bad output sends none of this input's outputs.
    for (const out of outputs) {
      if (out === null || typeof out !== 'object' || !('value' in out)) {
        throw new TypeError(`the function must return { value, key?, headers?, timestamp?, topic? }, an array of them, or undefined; it returned ${describeValue(out)}`);
      }
      const topic = out.topic ?? o.output;
      if (!topic) throw new TypeError('an output names no topic: give --output TOPIC, or return { topic, value }');
      const timestamp = out.timestamp ?? input.timestamp;
      records.push({
        topic,
        key: 'key' in out && out.key !== undefined ? keySerde.serialize(out.key) : input.key,
        value: valueSerde.serialize(out.value),
        timestamp,
        headers: out.headers,
      });
    }
    // Records in and out are counted by the runner; end-to-end latency only an operator knows.
    const now = ctx.now();
    for (const r of records) {
      ctx.send(r);
      ctx.metrics.endToEnd(now - r.timestamp, input.appendTime === undefined ? undefined : now - input.appendTime);
    }
  };

  const processOne = (input: InputRecord): void | Promise<void> => {
    let record: FunctionRecord;
    try {
      record = {
        key: keySerde.deserialize(input.key),
        value: valueSerde.deserialize(input.value),
        headers: input.headers,
        timestamp: input.timestamp,
        topic: input.topic,
        partition: input.partition,
        offset: input.offset,
      };
    } catch (error) {
      ctx.recordError({ operator: 'deserialize', error, input });
      return;
    }
    const fail = (error: unknown) => ctx.recordError({ operator: `function ${o.name}`, error, input });
    const handle = (r: FunctionResult) => {
      try {
        emit(input, r);
      } catch (error) {
        fail(error);
      }
    };
    let result: FunctionResult | Promise<FunctionResult>;
    try {
      result = fn(record);
    } catch (error) {
      fail(error);
      return;
    }
    if (isPromise(result)) return result.then(handle, fail);
    handle(result);
  };

  // The async function's pending call: the next record of the task waits for it (offset order).
  let inFlight: Promise<void> | undefined;
  const track = (p: Promise<void>): Promise<void> => {
    const tracked: Promise<void> = p.finally(() => {
      if (inFlight === tracked) inFlight = undefined;
    });
    inFlight = tracked;
    return tracked;
  };

  return {
    process(input) {
      if (inFlight) return track(inFlight.then(() => processOne(input)));
      const r = processOne(input);
      return r ? track(r) : undefined;
    },
    tick() {},
    async flush() {
      while (inFlight) await inFlight;
    },
    close() {
      closed = true;
    },
  };
}

function isPromise(v: unknown): v is Promise<FunctionResult> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return `a ${typeof v} (${String(v).slice(0, 40)})`;
  return `an object without "value" (${JSON.stringify(v)?.slice(0, 60) ?? '?'})`;
}
