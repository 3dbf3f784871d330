// WriteTxnMarkers (key 27), v1-2 (Kafka 4 removed v0; v2 only adds the marker's transaction
// version, which changes nothing here). Writes a COMMIT or ABORT control batch for a producer
// to each named partition, as a transaction coordinator does; administrators send it to
// abort a hanging transaction (`kafka-transactions abort`, `rivulet txn abort`), whose
// partitions' last stable offset then moves past it.
//
// Per partition: UNKNOWN_TOPIC_OR_PARTITION when it does not exist; INVALID_PRODUCER_EPOCH
// when the partition knows the producer at a newer epoch (the marker would end a
// transaction of an older instance); KAFKA_STORAGE_ERROR (or the log's own code) when the
// marker cannot be stored. The answer waits until each marker is stored as the fsync policy
// stores the coordinator's markers (fsynced unless fsync=never).
//
// ACLs: ALTER or CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED for every partition).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { WriteTxnMarkersRequest, WriteTxnMarkersResponse, WriteTxnMarkersResponseWritableTxnMarkerPartitionResult } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { buildControlBatch } from '../../protocol/control-batch.js';
import { FsyncPolicy } from '../config.js';
import { storageErrorCode } from './common.js';
import { writeTxnMarkersServer } from '../../protocol/generated/write-txn-markers.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

async function handle(ctx: RequestContext, req: WriteTxnMarkersRequest): Promise<WriteTxnMarkersResponse> {
  // ALTER on the cluster (kafka-transactions' abort, asked quietly first) or CLUSTER_ACTION, as Kafka.
  if (!ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME, true) && !ctx.authorize(AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME)) {
    return { markers: req.markers.map((m) => ({ producerId: m.producerId, topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })) })) })) };
  }
  const fsync = ctx.config.fsync !== FsyncPolicy.never;
  const waits: Promise<void>[] = [];
  const markers = req.markers.map((m) => ({
    producerId: m.producerId,
    topics: m.topics.map((t) => {
      const topic = ctx.topics.byName.get(t.name);
      return {
        name: t.name,
        partitions: t.partitionIndexes.map((index) => {
          const res: WriteTxnMarkersResponseWritableTxnMarkerPartitionResult = { partitionIndex: index, errorCode: ErrorCode.NONE };
          const partition = topic === undefined || topic.deleted ? undefined : topic.partitions[index];
          if (partition === undefined) {
            res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            return res;
          }
          const known = partition.producers.describe().find((p) => p.producerId === m.producerId);
          if (known !== undefined && m.producerEpoch < known.producerEpoch) {
            ctx.logger.warn('transaction marker refused: the partition knows a newer producer epoch', { topic: t.name, partition: index, producerId: m.producerId, markerEpoch: m.producerEpoch, currentEpoch: known.producerEpoch });
            res.errorCode = ErrorCode.INVALID_PRODUCER_EPOCH;
            return res;
          }
          const log = partition.log;
          let written: Promise<void>;
          try {
            const batch = buildControlBatch({ producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.transactionResult, coordinatorEpoch: m.coordinatorEpoch, timestamp: Date.now() });
            written = log.append(batch).written;
          } catch (e) {
            ctx.logger.error('transaction marker not written', { topic: t.name, partition: index, producerId: m.producerId, error: e });
            res.errorCode = storageErrorCode(e);
            return res;
          }
          ctx.logger.info('transaction marker written by request', { topic: t.name, partition: index, producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.transactionResult, client: ctx.header.clientId });
          waits.push(
            written
              .then(() => (fsync ? log.flush() : undefined))
              .catch((e: unknown) => {
                ctx.logger.error('transaction marker not stored', { topic: t.name, partition: index, producerId: m.producerId, error: e });
                res.errorCode = storageErrorCode(e);
              }),
          );
          return res;
        }),
      };
    }),
  }));
  await Promise.all(waits);
  return { markers };
}

function errorCodes(res: WriteTxnMarkersResponse, visit: (code: number) => void): void {
  for (const m of res.markers) for (const t of m.topics) for (const p of t.partitions) visit(p.errorCode);
}

export const writeTxnMarkers: HandlerEntry<WriteTxnMarkersRequest, WriteTxnMarkersResponse> = { codec: writeTxnMarkersServer, minVersion: 1, maxVersion: 2, handle, errorCodes };
