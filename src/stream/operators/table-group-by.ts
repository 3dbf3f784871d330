// KTable.groupBy: re-keys a table's updates for an aggregation with an adder and a subtractor
// (Kafka Streams' KGroupedTable). A table update replaces a key's value, so the aggregate of
// the group the old value went to must take it out before the new value goes in. Updates
// carry only the new value here, so this operator keeps each key's last value in its own
// store (`<name>-prev`) and sends a Change per update through the repartition topic:
//   - old and new value in the same group: one record { old, new } (the aggregate applies
//     both and emits once, so no half-updated result goes out);
//   - different groups: { old } to the old group first, then { new } to the new one.
import type { Serde } from '../types.js';
import type { StoreCache } from '../state/store-cache.js';
import { Operator, type Rec, type Task } from './processor.js';
import type { KeyValue } from './stateless.js';

/** What a re-grouped table update carries: the value leaving the group, the value entering it, or both. */
export interface Change<V> {
  old: V | undefined;
  new: V | undefined;
}

const HAS_OLD = 1;
const HAS_NEW = 2;

/** Change<V> on a topic: [flags: 1][old length: 4][old bytes][new bytes]. */
export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return {
    serialize(c: Change<V>): Buffer {
      const o = c.old === undefined ? null : (inner.serialize(c.old) ?? Buffer.alloc(0));
      const n = c.new === undefined ? null : (inner.serialize(c.new) ?? Buffer.alloc(0));
      const oldLength = o?.length ?? 0;
      const out = Buffer.allocUnsafe(5 + oldLength + (n?.length ?? 0));
      out[0] = (o === null ? 0 : HAS_OLD) | (n === null ? 0 : HAS_NEW);
      out.writeUInt32BE(oldLength, 1);
      if (o !== null) o.copy(out, 5);
      if (n !== null) n.copy(out, 5 + oldLength);
      return out;
    },
    deserialize(b: Buffer | null): Change<V> {
      if (b === null || b.length < 5) throw new Error(`expected a table change (5 bytes or more), got ${b === null ? 'null' : `${b.length} bytes`}; only KTable.groupBy writes this topic`);
      const flags = b[0]!;
      const oldLength = b.readUInt32BE(1);
      if (5 + oldLength > b.length) throw new Error(`table change says its old value has ${oldLength} bytes but only ${b.length - 5} follow`);
      return {
        old: (flags & HAS_OLD) === 0 ? undefined : inner.deserialize(b.subarray(5, 5 + oldLength)),
        new: (flags & HAS_NEW) === 0 ? undefined : inner.deserialize(b.subarray(5 + oldLength)),
      };
    },
  };
}

export class TableGroupByOperator<K, V, K2, V2> extends Operator<K, V | null, K2, Change<V2>> {
  private readonly prev: StoreCache<K, V>;

  constructor(
    task: Task,
    name: string,
    prevStore: string,
    keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly groupKeySerde: Serde<K2>,
    private readonly selector: (key: K, value: V) => KeyValue<K2, V2>,
  ) {
    super(task, name);
    this.prev = task.cache(prevStore, keySerde, valueSerde);
  }

  process(r: Rec<K, V | null>): void {
    if (r.key === null || r.key === undefined) {
      this.fail(new Error('a table update has no key; a table is indexed by its key'));
      return;
    }
    const old = this.prev.get(r.key);
    const value = r.value ?? undefined;
    // An update to the value the key already had changes no group (an aggregation that
    // re-emits an unchanged maximum, say): nothing to send.
    if (old !== undefined && value !== undefined && this.sameValue(old, value)) return;
    let from: KeyValue<K2, V2> | undefined;
    let to: KeyValue<K2, V2> | undefined;
    try {
      from = old === undefined ? undefined : this.selector(r.key, old);
      to = value === undefined ? undefined : this.selector(r.key, value);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (value === undefined) this.prev.delete(r.key);
    else this.prev.put(r.key, value);
    // A null group key leaves the value out of every group (as Kafka Streams drops it).
    if (from !== undefined && (from.key === null || from.key === undefined)) from = undefined;
    if (to !== undefined && (to.key === null || to.key === undefined)) to = undefined;
    if (from !== undefined && to !== undefined && this.sameKey(from.key, to.key)) {
      this.forward({ key: to.key, value: { old: from.value, new: to.value }, timestamp: r.timestamp, headers: r.headers });
      return;
    }
    if (from !== undefined) this.forward({ key: from.key, value: { old: from.value, new: undefined }, timestamp: r.timestamp, headers: r.headers });
    if (to !== undefined) this.forward({ key: to.key, value: { old: undefined, new: to.value }, timestamp: r.timestamp, headers: r.headers });
  }

  private sameValue(a: V, b: V): boolean {
    if (a === b) return true;
    const x = this.valueSerde.serialize(a);
    const y = this.valueSerde.serialize(b);
    return x !== null && y !== null && x.equals(y);
  }

  private sameKey(a: K2, b: K2): boolean {
    if (a === b) return true;
    if (typeof a !== 'object' || typeof b !== 'object') return false;
    const x = this.groupKeySerde.serialize(a);
    const y = this.groupKeySerde.serialize(b);
    return x !== null && y !== null && x.equals(y);
  }
}
