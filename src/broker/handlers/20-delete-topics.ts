// DeleteTopics (key 20), v1-6 (v0 is gone from Kafka 4's definitions). By name, or by topic id from v6. The topic disappears from
// metadata at once; the answer waits until its directories are moved aside (until then CreateTopics of the name is refused
// as "marked for deletion" and auto-creation waits), and they are removed in the background.
//
// ACLs: DELETE on each topic (TOPIC_AUTHORIZATION_FAILED).

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DeleteTopicsRequest, DeleteTopicsResponse, DeleteTopicsResponseDeletableTopicResult } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/reader.js';
import { deleteTopicsServer } from '../../protocol/generated/delete-topics.js';
import { AclOperation, ResourceType } from '../acl/acl.js';
import { MutationQuota, THROTTLED_MESSAGE } from '../quotas.js';

async function handle(ctx: RequestContext, req: DeleteTopicsRequest): Promise<DeleteTopicsResponse> {
  const wanted = ctx.version >= 6 ? (req.topics ?? []) : (req.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
  const mq = new MutationQuota(ctx.quotas, ctx.session.principal, ctx.header.clientId ?? '', ctx.version >= 5);
  const responses = await Promise.all(
    wanted.map(async (w): Promise<DeleteTopicsResponseDeletableTopicResult> => {
      const byId = w.name === null || w.name === undefined;
      const topic = byId ? ctx.topics.byId.get(w.topicId ?? ZERO_UUID) : ctx.topics.byName.get(w.name!);
      const res: DeleteTopicsResponseDeletableTopicResult = { name: w.name ?? null, topicId: w.topicId ?? ZERO_UUID, errorCode: ErrorCode.NONE, errorMessage: null };
      if (topic !== undefined ? !ctx.authorize(AclOperation.DELETE, ResourceType.TOPIC, topic.name) : !byId && !ctx.authorize(AclOperation.DELETE, ResourceType.TOPIC, w.name!)) {
        res.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        res.errorMessage = 'Deleting a topic needs DELETE on it';
        if (byId) res.name = null;
        return res;
      }
      if (!topic) {
        res.errorCode = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        res.errorMessage = byId ? `No topic has id ${w.topicId}` : `Topic ${w.name} does not exist`;
        return res;
      }
      res.name = topic.name;
      res.topicId = topic.id;
      if (!mq.admit(topic.partitions.length)) {
        res.errorCode = ErrorCode.THROTTLING_QUOTA_EXCEEDED;
        res.errorMessage = THROTTLED_MESSAGE;
        return res;
      }
      try {
        await ctx.topics.delete(topic);
        // Share groups forget their state on it (a topic of the same name gets a new id).
        await ctx.shares.topicDeleted(topic.id).catch((e: unknown) => ctx.logger.warn('share-group state of a deleted topic not removed', { topic: topic.name, error: e }));
      } catch (e) {
        res.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        res.errorMessage = (e as Error).message;
      }
      return res;
    }),
  );
  mq.apply(ctx);
  return { throttleTimeMs: 0, responses };
}

export const deleteTopics: HandlerEntry<DeleteTopicsRequest, DeleteTopicsResponse> = { codec: deleteTopicsServer, minVersion: 1, maxVersion: 6, handle };
