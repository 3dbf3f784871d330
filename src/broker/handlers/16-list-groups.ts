// ListGroups (key 16), v0-5. Every group with members or committed offsets, every KIP-848
// group and every share group, optionally filtered by state (v4+) and type (v5+: "classic",
// "consumer" for KIP-848 groups, "share").
//
// ACLs: every group with DESCRIBE on the cluster, else only the groups the principal may DESCRIBE.

import type { HandlerEntry, RequestContext } from './handler.js';
import type { ListGroupsRequest, ListGroupsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { GroupState } from '../groups/group.js';
import { listGroupsServer } from '../../protocol/generated/list-groups.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../acl/acl.js';

function handle(ctx: RequestContext, req: ListGroupsRequest): ListGroupsResponse {
  const coordinator = ctx.groups;
  const ids = new Set([...coordinator.groups.keys(), ...coordinator.offsets.groupIds()]);
  const states = (req.statesFilter ?? []).map((s) => s.toLowerCase());
  const types = (req.typesFilter ?? []).map((s) => s.toLowerCase());
  const groups = [];
  // Every group with DESCRIBE on the cluster, else only those the principal may DESCRIBE (quietly, as Kafka).
  const filter = ctx.authz.enabled && !ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME, true);
  for (const id of ids) {
    const g = coordinator.groups.get(id);
    const state = g?.state ?? GroupState.Empty;
    if (state === GroupState.Dead) continue;
    if (states.length > 0 && !states.includes(state.toLowerCase())) continue;
    if (ctx.consumerGroups.groups.has(id)) continue;
    if (types.length > 0 && !types.includes('classic')) continue;
    groups.push({ groupId: id, protocolType: g?.protocolType ?? '', groupState: state, groupType: 'classic' });
  }
  for (const g of ctx.consumerGroups.groups.values()) {
    const state = g.state();
    if (states.length > 0 && !states.includes(state.toLowerCase())) continue;
    if (types.length > 0 && !types.includes('consumer')) continue;
    groups.push({ groupId: g.id, protocolType: 'consumer', groupState: state, groupType: 'consumer' });
  }
  for (const g of ctx.shares.groups.values()) {
    if (states.length > 0 && !states.includes(g.state.toLowerCase())) continue;
    if (types.length > 0 && !types.includes('share')) continue;
    groups.push({ groupId: g.id, protocolType: 'share', groupState: g.state, groupType: 'share' });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: filter ? groups.filter((g) => ctx.authorize(AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId, true)) : groups };
}

export const listGroups: HandlerEntry<ListGroupsRequest, ListGroupsResponse> = { codec: listGroupsServer, minVersion: 0, maxVersion: 5, handle };
