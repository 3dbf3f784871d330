// The producer of a stream task (or of a whole worker): transactional for exactly-once, or
// plain idempotent for at-least-once. Over @platformatic/kafka's Producer, with three fixes:
//  - a new instance takes over its transactional id: the first InitProducerId carries
//    producer id -1 / epoch -1, as Java's client sends (the library sends 0/0 and is fenced);
//  - records are queued and sent in batches, one request in flight (the library's idempotent
//    sequences are only right with one), so callers never await a record before the next;
//    each record's promise resolves with its offset;
//  - the consumed offsets of many partitions go in ONE TxnOffsetCommit carrying the group
//    member's id and epoch (KIP-447), sent directly to the group coordinator.
// Every fencing error (a newer instance, or a group generation that moved on) becomes a
// FencedError: the caller aborts and rebuilds its tasks.

import { murmur2, Producer, type BaseOptions, type MessageToProduce } from '@platformatic/kafka';
import { asFenced, ClientError, ClientErrorCode } from './errors.js';
import { CoordinatorClient, CoordinatorType, type AnyClient } from './kafka-api.js';

/** A record to produce; no partition: Kafka's default partitioner (murmur2 of the key; round robin without a key). */
export interface ProducerRecord {
  topic: string;
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  /** ms; the broker's clock when absent. */
  timestamp?: number;
  headers?: ReadonlyArray<readonly [string, Buffer]>;
}

/** An input position to commit: `offset` is the next offset to read (last processed + 1). */
export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: bigint;
}

/** The group member the offsets are committed for (see GroupMember.memberId / memberEpoch). */
export interface GroupMembership {
  groupId: string;
  memberId: string;
  memberEpoch: number;
}

export interface StreamProducerOptions {
  /** The library client options (see baseClientOptions in connection.ts). */
  client: BaseOptions;
  /** Exactly-once: one transactional id per producer instance lineage (e.g. "<application>-<task>"). Absent: idempotent, at-least-once. */
  transactionalId?: string;
  /** How long the coordinator lets a transaction stay open before aborting it (default 60 s). */
  transactionTimeoutMs?: number;
  /** Most records in one produce request (default 10000). */
  maxBatchRecords?: number;
  /**
   * Most bytes of keys, values and headers in one produce request (default 768 KiB), so that no
   * partition's batch exceeds the broker's message.max.bytes (1 MiB by default); a batch over it
   * is refused whole (MESSAGE_TOO_LARGE) and would be refused again on every retry.
   */
  maxBatchBytes?: number;
  log?: (line: string) => void;
}

interface Pending {
  message: MessageToProduce<Buffer, Buffer, Buffer, Buffer>;
  /** Absent for queueRecord(): nobody waits for the offset. */
  resolve: ((offset: bigint) => void) | undefined;
  reject: (e: unknown) => void;
}

/** A record's size in a batch, roughly: its key, value and headers plus ~20 bytes of framing. */
function recordBytes(m: MessageToProduce<Buffer, Buffer, Buffer, Buffer>): number {
  let n = 20 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  if (m.headers) for (const [k, v] of m.headers as Map<Buffer, Buffer>) n += k.length + v.length + 2;
  return n;
}

/** Kafka's default partitioner for keyed records: murmur2 of the key bytes, made positive. */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

export class StreamProducer {
  readonly transactionalId: string | undefined;
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly o: StreamProducerOptions;
  private queue: Pending[] = [];
  private inFlight: Promise<void> | undefined = undefined;
  /** The first error of a send since the last begin; commit refuses to commit over it. */
  private failed: unknown = undefined;
  private readonly partitionCounts = new Map<string, number>();
  private readonly roundRobin = new Map<string, number>();
  private initialized = false;
  private inTransaction = false;
  /** Set from commit() or abort() until the transaction ended: a send then belongs to no transaction. */
  private ending = false;
  /** Whether the open transaction holds anything (EndTxn on an empty one is refused by Kafka). */
  private touched = false;
  /**
   * A produce request failed since init: the broker may have written it anyway (its answer
   * lost), and the library only advances its sequence numbers on an answer, so they may lag
   * the broker's. The same producer id and epoch must then not write again (its next batch is
   * refused as OUT_OF_ORDER_SEQUENCE_NUMBER, or swallowed as a duplicate of the lost one): a
   * new producer (InitProducerId: a new epoch, sequences from 0) takes over.
   */
  private sequencesUnknown = false;
  private groupCoordinators = new Map<string, CoordinatorClient>();
  private groupsInTxn = new Set<string>();

  constructor(o: StreamProducerOptions) {
    this.o = o;
    this.transactionalId = o.transactionalId;
    this.producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      ...o.client,
      idempotent: true,
      ...(o.transactionalId === undefined ? {} : { transactionalId: o.transactionalId }),
      ...(o.transactionTimeoutMs === undefined ? {} : { timeout: o.transactionTimeoutMs }),
    });
  }

  /** The library producer's id and epoch (after init). */
  get producerId(): bigint | undefined {
    return this.producer.producerId;
  }
  get producerEpoch(): number | undefined {
    return this.producer.producerEpoch;
  }
  /**
   * Whether a produce request failed, so that the broker's sequence numbers for this producer
   * id and epoch may be ahead of this producer's: after the abort, close it and use a new
   * producer (init() bumps the epoch), as Kafka's Java client bumps the epoch.
   */
  get needsNewEpoch(): boolean {
    return this.sequencesUnknown;
  }
  /** The library client, for helpers that need a connection (CoordinatorClient, committedOffsets). */
  get client(): AnyClient {
    return this.producer as unknown as AnyClient;
  }

  /**
   * Transactional: takes over the transactional id (fencing any older instance, whose open
   * transaction the coordinator aborts) and begins the first transaction. Call once, first.
   */
  async init(): Promise<void> {
    if (this.transactionalId === undefined || this.initialized) return;
    await this.wrap('init', () => this.producer.beginTransaction({ producerId: -1n, producerEpoch: -1 }));
    this.initialized = true;
    this.inTransaction = true;
    this.touched = false;
  }

  /** Begins a transaction (after init; after each commit or abort). */
  async begin(): Promise<void> {
    this.requireTransactional('begin');
    if (!this.initialized) return this.init();
    if (this.inTransaction) throw new ClientError('a transaction is already open: commit or abort it first.', { code: ClientErrorCode.invalidArgument });
    this.failed = undefined;
    await this.wrap('begin', () => this.producer.beginTransaction());
    this.inTransaction = true;
    this.touched = false;
  }

  /**
   * Queues a record; the promise resolves with its offset once written. Do not await each
   * record: queued records go out together in the next request.
   */
  send(record: ProducerRecord): Promise<bigint> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise<bigint>((resolve, reject) => this.enqueue(record, resolve, reject));
  }

  /**
   * Queues a record as send() does, without a promise per record (for callers that only need
   * to hear of a failure, as a stream task's outputs: flush() reports it too): `onError` is
   * called, at most once, if the record is not written.
   */
  queueRecord(record: ProducerRecord, onError: (e: unknown) => void): void {
    const refused = this.refusal();
    if (refused !== undefined) {
      // As a rejected promise would, after the caller's turn.
      queueMicrotask(() => onError(refused));
      return;
    }
    this.enqueue(record, undefined, onError);
  }

  /** Why a send is refused now (transactional, with no transaction open to take it), if it is. */
  private refusal(): ClientError | undefined {
    if (this.transactionalId === undefined) return undefined;
    if (this.ending) {
      const e = new ClientError('send while the transaction is being committed or aborted: send after the next begin().', { code: ClientErrorCode.invalidArgument });
      // A commit under way must not go out without this record.
      this.failed ??= e;
      return e;
    }
    if (!this.inTransaction) {
      return new ClientError(`send outside a transaction: call ${this.initialized ? 'begin()' : 'init()'} first.`, { code: ClientErrorCode.invalidArgument });
    }
    return undefined;
  }

  private enqueue(record: ProducerRecord, resolve: ((offset: bigint) => void) | undefined, reject: (e: unknown) => void): void {
    let headers: Map<Buffer, Buffer> | undefined;
    if (record.headers !== undefined && record.headers.length > 0) {
      headers = new Map<Buffer, Buffer>();
      // Distinct Buffer keys keep repeated header names, which Kafka allows.
      for (const [k, v] of record.headers) headers.set(Buffer.from(k), v);
    }
    // No headers: the library writes none, as for an empty map.
    const message = {
      topic: record.topic,
      key: record.key ?? undefined,
      value: record.value ?? undefined,
      headers,
      partition: record.partition,
      timestamp: record.timestamp === undefined ? undefined : BigInt(record.timestamp),
    } as MessageToProduce<Buffer, Buffer, Buffer, Buffer>;
    this.queue.push({ message, resolve, reject });
    this.touched = true;
    if (this.inFlight === undefined) this.inFlight = this.drain();
  }

  /**
   * Resolves once every record queued so far is written; rejects with the first failure
   * since the last begin (transactional: the transaction must be aborted) or since the last
   * flush (idempotent: do not commit the offsets of what was lost).
   */
  async flush(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
    const failed = this.failed;
    if (failed === undefined) return;
    if (this.transactionalId === undefined) this.failed = undefined;
    throw failed;
  }

  /**
   * Adds the consumed positions of many partitions to the open transaction, in one
   * TxnOffsetCommit with the member's id and epoch: they commit with it, and a member the
   * group fenced cannot commit them (FencedError).
   */
  async sendOffsets(member: GroupMembership, offsets: OffsetToCommit[]): Promise<void> {
    this.requireTransactional('sendOffsets');
    if (!this.inTransaction) throw new ClientError('sendOffsets outside a transaction: call begin() first.', { code: ClientErrorCode.invalidArgument });
    if (offsets.length === 0) return;
    const tx = this.producer.transaction!;
    this.touched = true;
    if (!this.groupsInTxn.has(member.groupId)) {
      // AddOffsetsToTxn first: the transaction coordinator then commits or aborts the group's offsets with it.
      await this.wrap('AddOffsetsToTxn', () => tx.addConsumer({ groupId: member.groupId } as never));
      this.groupsInTxn.add(member.groupId);
    }
    const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }>>();
    for (const o of offsets) {
      (byTopic.get(o.topic) ?? byTopic.set(o.topic, []).get(o.topic)!).push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: null });
    }
    let coordinator = this.groupCoordinators.get(member.groupId);
    if (!coordinator) {
      coordinator = new CoordinatorClient(this.client, CoordinatorType.group, member.groupId, this.o.log);
      this.groupCoordinators.set(member.groupId, coordinator);
    }
    const c = coordinator;
    await this.wrap('TxnOffsetCommit', () => c.send('TxnOffsetCommit', [
      this.transactionalId, member.groupId, this.producer.producerId, this.producer.producerEpoch, member.memberEpoch, member.memberId, null,
      [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    ]));
  }

  /** Writes every queued record, then commits the transaction (records and offsets together). */
  async commit(): Promise<void> {
    this.requireTransactional('commit');
    if (!this.inTransaction) throw new ClientError('commit without an open transaction.', { code: ClientErrorCode.invalidArgument });
    this.ending = true;
    try {
      await this.flush();
      // A send refused while the flush ran: the transaction would miss it.
      if (this.failed !== undefined) throw this.failed;
      if (this.touched) await this.wrap('commit', () => this.producer.transaction!.commit());
      else await this.producer.transaction!.cancel();
      this.endTransaction();
    } finally {
      this.ending = false;
    }
  }

  /** Drops what is queued and aborts the transaction: nothing of it becomes visible. */
  async abort(): Promise<void> {
    this.requireTransactional('abort');
    if (!this.inTransaction) return;
    this.ending = true;
    try {
      this.rejectQueued(new ClientError('the transaction was aborted before this record was sent.', { code: ClientErrorCode.invalidArgument }));
      while (this.inFlight !== undefined) await this.inFlight.catch(() => undefined);
      const tx = this.producer.transaction;
      if (tx && this.touched) await this.wrap('abort', () => tx.abort());
      else if (tx) await tx.cancel();
      this.endTransaction();
    } finally {
      this.ending = false;
    }
  }

  async close(): Promise<void> {
    this.rejectQueued(new ClientError('the producer was closed before this record was sent.', { code: ClientErrorCode.invalidArgument }));
    while (this.inFlight !== undefined) await this.inFlight.catch(() => undefined);
    await this.producer.close().catch(() => undefined);
  }

  private endTransaction(): void {
    this.inTransaction = false;
    this.touched = false;
    this.groupsInTxn.clear();
  }

  private requireTransactional(what: string): void {
    if (this.transactionalId === undefined) throw new ClientError(`${what} needs a transactional producer (give transactionalId).`, { code: ClientErrorCode.invalidArgument });
  }

  private rejectQueued(e: unknown): void {
    const q = this.queue;
    this.queue = [];
    for (const p of q) p.reject(e);
  }

  /** Sends queued records, one request at a time, until the queue is empty. */
  private async drain(): Promise<void> {
    try {
      const maxRecords = this.o.maxBatchRecords ?? 10_000;
      const maxBytes = this.o.maxBatchBytes ?? 768 * 1024;
      while (this.queue.length > 0) {
        let n = 0;
        let bytes = 0;
        while (n < this.queue.length && n < maxRecords) {
          bytes += recordBytes(this.queue[n]!.message);
          // At least one record, even a large one: the broker says whether it fits.
          if (n > 0 && bytes > maxBytes) break;
          n++;
        }
        const batch = n === this.queue.length ? this.queue : this.queue.slice(0, n);
        this.queue = n === this.queue.length ? [] : this.queue.slice(n);
        await this.sendBatch(batch);
      }
    } finally {
      this.inFlight = undefined;
    }
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    try {
      await this.assignPartitions(batch);
      const messages = batch.map((p) => p.message);
      const tx = this.producer.transaction;
      const result = await this.wrap('send', () => (tx ? tx.send({ messages }) : this.producer.send({ messages })));
      // Offsets: the base offset of each partition's batch, then one per record in order.
      const next = new Map<string, Map<number, bigint>>();
      for (const o of result.offsets ?? []) {
        let byPartition = next.get(o.topic);
        if (byPartition === undefined) next.set(o.topic, (byPartition = new Map()));
        byPartition.set(o.partition, o.offset);
      }
      for (const p of batch) {
        const byPartition = next.get(p.message.topic);
        const offset = byPartition?.get(p.message.partition!);
        if (offset === undefined) {
          const e = new ClientError(`the produce answer has no offset for ${p.message.topic}-${p.message.partition}.`, { code: ClientErrorCode.unexpectedAnswer });
          // Whatever became of it, a commit must not count on this record.
          this.failed ??= e;
          p.reject(e);
          continue;
        }
        byPartition!.set(p.message.partition!, offset + 1n);
        p.resolve?.(offset);
      }
    } catch (e) {
      this.failed ??= e;
      this.sequencesUnknown = true;
      for (const p of batch) p.reject(e);
      // Once a send failed the transaction cannot commit; fail what is queued too.
      if (this.transactionalId !== undefined) this.rejectQueued(e);
    }
  }

  private async assignPartitions(batch: Pending[]): Promise<void> {
    for (const p of batch) {
      const m = p.message;
      if (m.partition !== undefined) continue;
      let count = this.partitionCounts.get(m.topic);
      if (count === undefined) {
        const meta = await this.producer.metadata({ topics: [m.topic] });
        count = meta.topics.get(m.topic)!.partitionsCount;
        this.partitionCounts.set(m.topic, count);
      }
      if (m.key) {
        m.partition = partitionForKey(m.key, count);
      } else {
        const n = this.roundRobin.get(m.topic) ?? 0;
        this.roundRobin.set(m.topic, n + 1);
        m.partition = n % count;
      }
    }
  }

  /** Runs a library call, turning fencing errors into a FencedError. */
  private async wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const who = this.transactionalId === undefined ? 'the idempotent producer' : `transactional id "${this.transactionalId}"`;
      throw asFenced(e, `${who} (${what})`) ?? e;
    }
  }
}
