// Sources: bytes from an input partition become typed records (deserialize, then the event
// time from the extractor). A record that fails either is a poison record and goes no further.
import type { InputRecord, Serde } from '../types.js';
import { PartitionClock, type WatermarkOptions } from '../event-time.js';
import { Operator, type Rec, type SourceEntry, type Task } from './processor.js';

export type TimestampExtractor<K, V> = (r: Rec<K, V>) => number;

interface MutableRec<K, V> {
  key: K;
  value: V;
  timestamp: number;
  headers: InputRecord['headers'];
}

export class SourceOperator<K, V> extends Operator<never, never, K, V> implements SourceEntry {
  private readonly clock: PartitionClock | null;

  constructor(
    task: Task,
    name: string,
    topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly extractor: TimestampExtractor<K, V> | undefined,
    /** null: not an event-time input (a table's topic): it does not hold the watermark. */
    watermark: WatermarkOptions | null,
  ) {
    super(task, name);
    task.addSource(topic, this);
    this.clock = watermark === null ? null : new PartitionClock(watermark, task.ctx.now());
    if (this.clock !== null) task.addClock(this.clock);
  }

  process(): void {
    throw new Error(`source ${this.name} has no parent; the task feeds it with receive()`);
  }

  receive(input: InputRecord): void {
    let key: K;
    let value: V;
    try {
      key = this.keySerde.deserialize(input.key);
      value = this.valueSerde.deserialize(input.value);
    } catch (e) {
      this.task.recordError('deserialize', e);
      return;
    }
    const r: MutableRec<K, V> = { key, value, timestamp: input.timestamp, headers: input.headers };
    if (this.extractor !== undefined) {
      let ts: number;
      try {
        ts = this.extractor(r);
      } catch (e) {
        this.task.recordError('timestamp', e);
        return;
      }
      if (typeof ts !== 'number' || !Number.isFinite(ts)) {
        this.task.recordError('timestamp', new Error(`the timestamp extractor of ${this.name} returned ${String(ts)}; it must return epoch milliseconds as a finite number`));
        return;
      }
      r.timestamp = ts;
    }
    if (this.clock !== null) this.clock.observe(r.timestamp, this.task.ctx.now());
    this.forward(r);
  }
}
