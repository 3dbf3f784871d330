// DescribeCluster (key 60), v0-1. The cluster is this broker, which is also its own
// controller as far as clients can tell.
//
// ACLs: none needed (as Kafka); clusterAuthorizedOperations is the principal's own.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { DescribeClusterRequest, DescribeClusterResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { OPERATIONS_NOT_REQUESTED } from './common.js';
import { describeClusterServer } from '../../protocol/generated/describe-cluster.js';
import { CLUSTER_NAME, ResourceType } from '../acl/acl.js';

const EndpointType = { BROKERS: 1, CONTROLLERS: 2 } as const;

function handle(ctx: RequestContext, req: DescribeClusterRequest): DescribeClusterResponse {
  const adv = ctx.cluster.advertisedAddress(ctx.session.listener);
  const endpointType = req.endpointType ?? EndpointType.BROKERS;
  const res: DescribeClusterResponse = {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    endpointType,
    clusterId: ctx.cluster.clusterId,
    controllerId: ctx.cluster.nodeId,
    brokers: [{ brokerId: ctx.cluster.nodeId, host: adv.host, port: adv.port, rack: null }],
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? ctx.authorizedOperations(ResourceType.CLUSTER, CLUSTER_NAME) : OPERATIONS_NOT_REQUESTED,
  };
  if (endpointType !== EndpointType.BROKERS) {
    res.errorCode = ErrorCode.MISMATCHED_ENDPOINT_TYPE;
    res.errorMessage = 'This broker answers for brokers only (endpoint type 1)';
    res.brokers = [];
  }
  return res;
}

export const describeCluster: HandlerEntry<DescribeClusterRequest, DescribeClusterResponse> = { codec: describeClusterServer, minVersion: 0, maxVersion: 1, handle };
