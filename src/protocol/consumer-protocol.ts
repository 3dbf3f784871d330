// What groups and tools read of the consumer protocol's embedded messages (the subscription
// a member sends in JoinGroup, the assignment it gets in SyncGroup), over the generated
// codec. Tolerant on purpose: a message that does not decode at the version it names is read
// in the v0 layout, since @platformatic/kafka sends v1 subscriptions without the owned
// partitions v1 requires; anything else that does not decode gives null, never a throw.

import { Reader } from './reader.js';
import {
  consumerProtocolAssignmentReaders,
  consumerProtocolSubscriptionReaders,
  readConsumerProtocolAssignment,
  readConsumerProtocolSubscription,
} from './generated/consumer-protocol.js';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

/** Reads a whole message at the version it names, or else in the v0 layout; null when neither decodes. */
function tolerant<T>(bytes: Buffer | null | undefined, read: (r: Reader) => T, readV0: (r: Reader) => T): T | null {
  if (bytes === null || bytes === undefined || bytes.length < 2 || bytes.readInt16BE(0) < 0) return null;
  const r = new Reader(bytes);
  const m = read(r);
  if (!r.bad) return m;
  const v0 = new Reader(bytes.subarray(2));
  const m0 = readV0(v0);
  return v0.bad ? null : m0;
}

/** The topics a member subscribes to; null when the metadata is not a consumer subscription. */
export function subscribedTopics(metadata: Buffer | null | undefined): string[] | null {
  return tolerant(metadata, readConsumerProtocolSubscription, consumerProtocolSubscriptionReaders[0])?.topics ?? null;
}

/** The partitions a member was assigned, by topic, partitions sorted; null when the bytes are not a consumer assignment. */
export function assignedPartitions(assignment: Buffer | null | undefined): TopicPartitions[] | null {
  const m = tolerant(assignment, readConsumerProtocolAssignment, consumerProtocolAssignmentReaders[0]);
  return m?.assignedPartitions.map((t) => ({ topic: t.topic, partitions: [...t.partitions].sort((a, b) => a - b) })) ?? null;
}
