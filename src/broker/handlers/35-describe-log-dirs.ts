// DescribeLogDirs (key 35), v1-5. One log directory, the data directory, with every
// requested partition (all when topics is null): its size on disk and its offset lag (log
// end offset minus high watermark: appends not yet visible because they wait for their
// fsync). v4+ add the volume's total and usable bytes (statfs; -1 when it cannot be read).
// Partitions that do not exist are left out, as Kafka does. Nothing is ever cordoned.
//
// ACLs: DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED, no log dirs).

import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { HandlerEntry, RequestContext } from './handler.js';
import type {
  DescribeLogDirsRequest,
  DescribeLogDirsResponse,
  DescribeLogDirsResponseDescribeLogDirsTopic as TopicResult,
} from '../../protocol/generated/describe-log-dirs.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Topic } from '../topics.js';
import { describeLogDirsServer } from '../../protocol/generated/describe-log-dirs.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

function describeTopic(topic: Topic, indexes: readonly number[] | null): TopicResult {
  const partitions = [];
  // A Set: the request may list as many indexes as the topic has partitions.
  const asked = indexes === null ? null : new Set(indexes);
  for (const p of topic.partitions) {
    if (asked !== null && !asked.has(p.index)) continue;
    const log = p.log;
    partitions.push({ partitionIndex: p.index, partitionSize: log.sizeBytes(), offsetLag: Math.max(0, log.logEndOffset - log.highWatermark), isFutureKey: false });
  }
  return { name: topic.name, partitions };
}

async function volume(dir: string): Promise<{ totalBytes: number; usableBytes: number }> {
  try {
    const s = await statfs(dir);
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
  } catch {
    return { totalBytes: -1, usableBytes: -1 };
  }
}

async function handle(ctx: RequestContext, req: DescribeLogDirsRequest): Promise<DescribeLogDirsResponse> {
  if (!ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
  const topics: TopicResult[] = [];
  if (req.topics === null) {
    for (const t of ctx.topics.byName.values()) topics.push(describeTopic(t, null));
  } else {
    for (const r of req.topics) {
      const t = ctx.topics.byName.get(r.topic);
      if (t === undefined) continue;
      const described = describeTopic(t, r.partitions);
      if (described.partitions.length > 0) topics.push(described);
    }
  }
  const { totalBytes, usableBytes } = await volume(ctx.config.dataDir);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    results: [{ errorCode: ErrorCode.NONE, logDir: resolve(ctx.config.dataDir), topics, totalBytes, usableBytes, isCordoned: false }],
  };
}

export const describeLogDirs: HandlerEntry<DescribeLogDirsRequest, DescribeLogDirsResponse> = { codec: describeLogDirsServer, minVersion: 1, maxVersion: 5, handle };
