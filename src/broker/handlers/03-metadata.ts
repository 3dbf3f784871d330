// Metadata (key 3), v0-12. One broker leads every partition, with leader epoch 0 and
// itself as the only replica. Topics that do not exist are created on the spot when
// auto.create.topics.enable is on and the client allows it (v4+), so the first answer
// already carries them.
//
// ACLs, as Kafka: a listing of all topics shows only those the principal may DESCRIBE; a
// topic named (or an id given) that it may not DESCRIBE answers TOPIC_AUTHORIZATION_FAILED;
// auto-creation needs CREATE on the cluster or the topic (TOPIC_AUTHORIZATION_FAILED).
// topicAuthorizedOperations and clusterAuthorizedOperations are the principal's own.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { MetadataRequest, MetadataResponse, MetadataResponseMetadataResponseTopic } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { OPERATIONS_NOT_REQUESTED, findOrCreateTopic } from './common.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';
import type { Topic } from '../topics.js';
import { metadataServer } from '../../protocol/generated/metadata.js';

function describeTopic(ctx: RequestContext, topic: Topic, withOps: boolean): MetadataResponseMetadataResponseTopic {
  const nodeId = ctx.cluster.nodeId;
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.id,
    isInternal: false,
    partitions: topic.partitions.map((p) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: p.index,
      leaderId: nodeId,
      leaderEpoch: 0,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: withOps ? ctx.authorizedOperations(ResourceType.TOPIC, topic.name) : OPERATIONS_NOT_REQUESTED,
  };
}

function missing(name: string | null, id: string, errorCode: number): MetadataResponseMetadataResponseTopic {
  return { errorCode, name, topicId: id, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_NOT_REQUESTED };
}

/** Topics one Metadata request auto-creates at the same time. */
const CREATIONS_AT_ONCE = 64;

async function handle(ctx: RequestContext, req: MetadataRequest): Promise<MetadataResponse> {
  const version = ctx.version;
  const withOps = req.includeTopicAuthorizedOperations ?? false;
  const allTopics = req.topics === null || (version === 0 && req.topics.length === 0);
  let topics: MetadataResponseMetadataResponseTopic[];
  if (allTopics) {
    topics = [];
    const filter = ctx.authz.enabled;
    for (const t of ctx.topics.byName.values()) {
      if (filter && !ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, t.name, true)) continue;
      topics.push(describeTopic(ctx, t, withOps));
    }
  } else {
    // One pass over the request: known topics are answered at once; unknown names are
    // created (or refused) a few at a time, so a request naming thousands of new topics
    // neither holds thousands of creations open nor keeps other clients waiting.
    const allowCreate = version < 4 ? true : (req.allowAutoTopicCreation ?? true);
    const requested = req.topics!;
    topics = new Array<MetadataResponseMetadataResponseTopic>(requested.length);
    const unknown: number[] = [];
    for (let i = 0; i < requested.length; i++) {
      const t = requested[i]!;
      // By topic id: a null name, or the empty name the Java client sends beside an id (consumers
      // of KIP-848 groups look up the topics of their assignment this way).
      if (t.name === null || t.name === undefined || (t.name === '' && t.topicId !== undefined && t.topicId !== ZERO_UUID)) {
        const byId = ctx.topics.byId.get(t.topicId ?? ZERO_UUID);
        if (byId !== undefined && !ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, byId.name)) topics[i] = missing(null, t.topicId ?? ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        else topics[i] = byId ? describeTopic(ctx, byId, withOps) : missing(null, t.topicId ?? ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_ID);
        continue;
      }
      if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.TOPIC, t.name)) {
        topics[i] = missing(t.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        continue;
      }
      const existing = ctx.topics.byName.get(t.name);
      if (existing) topics[i] = describeTopic(ctx, existing, withOps);
      else unknown.push(i);
    }
    for (let k = 0; k < unknown.length; k += CREATIONS_AT_ONCE) {
      await Promise.all(
        unknown.slice(k, k + CREATIONS_AT_ONCE).map(async (i) => {
          const name = requested[i]!.name!;
          const found = await findOrCreateTopic(ctx, name, allowCreate);
          topics[i] = found.topic ? describeTopic(ctx, found.topic, withOps) : missing(name, ZERO_UUID, found.error);
        }),
      );
    }
  }
  const adv = ctx.cluster.advertisedAddress(ctx.session.listener);
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: ctx.cluster.nodeId, host: adv.host, port: adv.port, rack: null }],
    clusterId: ctx.cluster.clusterId,
    controllerId: ctx.cluster.nodeId,
    topics,
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? ctx.authorizedOperations(ResourceType.CLUSTER, CLUSTER_NAME) : OPERATIONS_NOT_REQUESTED,
  };
}

export const metadata: HandlerEntry<MetadataRequest, MetadataResponse> = { codec: metadataServer, minVersion: 0, maxVersion: 12, handle };
