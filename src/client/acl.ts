// ACL bindings as Kafka's kafka-acls tool builds them: names of operations, resource types and
// pattern types to the protocol's values and back, the --producer/--consumer conveniences, and
// a readable table. Over @platformatic/kafka's createAcls/describeAcls/deleteAcls. Values of
// the library's enumerations are copied here so that loading this module loads no client.

import { ClientError, ClientErrorCode } from './errors.js';

export const ResourceType = { ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
export const PatternType = { ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const Operation = {
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;
export const Permission = { ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** Kafka names the cluster resource "kafka-cluster". */
export const CLUSTER_NAME = 'kafka-cluster';

export interface AclBinding {
  resourceType: number;
  resourceName: string;
  resourcePatternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

export type AclBindingFilter = Omit<AclBinding, 'resourceName' | 'principal' | 'host'> & { resourceName: string | null; principal: string | null; host: string | null };

function invalid(message: string): ClientError {
  return new ClientError(message, { code: ClientErrorCode.invalidArgument });
}

const squash = (s: string): string => s.replace(/[-_\s]/g, '').toUpperCase();

function byName<T extends Record<string, number>>(table: T, v: string, what: string, allowed: string[]): number {
  const k = Object.keys(table).find((n) => squash(n) === squash(v));
  if (k === undefined || !allowed.includes(k)) throw invalid(`unknown ${what} "${v}": use one of ${allowed.map(kafkaName).join(', ')}.`);
  return table[k as keyof T]!;
}

/** Kafka's spelling in kafka-acls output: Read, IdempotentWrite, TransactionalId, ... */
export function kafkaName(constant: string): string {
  return constant.toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

function nameOf(table: Record<string, number>, v: number): string {
  const k = Object.keys(table).find((n) => table[n] === v);
  return k === undefined ? `Unknown(${v})` : kafkaName(k);
}

const OPERATIONS = Object.keys(Operation).filter((k) => k !== 'ANY');

/** An operation by Kafka's name in any case (Read, READ, idempotent-write, IdempotentWrite). */
export function parseOperation(v: string, allowAny = false): number {
  return byName(Operation, v, 'operation', allowAny ? ['ANY', ...OPERATIONS] : OPERATIONS);
}

export function parsePatternType(v: string, forFilter = false): number {
  return byName(PatternType, v, 'resource pattern type', forFilter ? ['ANY', 'MATCH', 'LITERAL', 'PREFIXED'] : ['LITERAL', 'PREFIXED']);
}

/** A principal is type:name (User:alice, User:CN=alice,OU=eng); the type is not checked beyond being there. */
export function checkPrincipal(p: string): string {
  if (!/^[^:\s]+:.+$/.test(p)) throw invalid(`principal "${p}" must be type:name, e.g. User:alice.`);
  return p;
}

export const operationName = (v: number): string => nameOf(Operation, v);
export const resourceTypeName = (v: number): string => nameOf(ResourceType, v);
export const patternTypeName = (v: number): string => nameOf(PatternType, v);
export const permissionName = (v: number): string => nameOf(Permission, v);

export interface ResourceSelection {
  topics: string[];
  groups: string[];
  transactionalIds: string[];
  cluster: boolean;
}

/** The resources named, as (type, name) pairs; '*' is Kafka's literal wildcard. */
export function resources(sel: ResourceSelection): Array<{ resourceType: number; resourceName: string }> {
  return [
    ...sel.topics.map((n) => ({ resourceType: ResourceType.TOPIC, resourceName: n })),
    ...sel.groups.map((n) => ({ resourceType: ResourceType.GROUP, resourceName: n })),
    ...sel.transactionalIds.map((n) => ({ resourceType: ResourceType.TRANSACTIONAL_ID, resourceName: n })),
    ...(sel.cluster ? [{ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_NAME }] : []),
  ];
}

export interface AclSpec extends ResourceSelection {
  allowPrincipals: string[];
  denyPrincipals: string[];
  allowHosts: string[];
  denyHosts: string[];
  operations: string[];
  patternType: string;
  producer: boolean;
  consumer: boolean;
  idempotent: boolean;
}

/**
 * The bindings `kafka-acls --add` would create: every principal x host x operation x resource,
 * where --producer adds Write, Describe and Create on the topics (and Write, Describe on the
 * transactional ids, IdempotentWrite on the cluster with --idempotent) and --consumer adds Read
 * and Describe on the topics and Read on the groups.
 */
export function bindingsToAdd(spec: AclSpec): AclBinding[] {
  const principals = [...spec.allowPrincipals.map((p) => [checkPrincipal(p), Permission.ALLOW] as const), ...spec.denyPrincipals.map((p) => [checkPrincipal(p), Permission.DENY] as const)];
  if (principals.length === 0) throw invalid('name who the ACL is for: --allow-principal User:NAME or --deny-principal User:NAME.');
  const pattern = parsePatternType(spec.patternType);
  const perResource = new Map<string, { resourceType: number; resourceName: string; ops: Set<number> }>();
  const add = (resourceType: number, resourceName: string, op: number): void => {
    const k = `${resourceType}\u0000${resourceName}`;
    let r = perResource.get(k);
    if (!r) perResource.set(k, (r = { resourceType, resourceName, ops: new Set() }));
    r.ops.add(op);
  };
  if (spec.producer || spec.consumer) {
    if (spec.operations.length > 0) throw invalid('--producer and --consumer choose the operations themselves: leave out --operation.');
    if (spec.topics.length === 0) throw invalid(`--${spec.producer ? 'producer' : 'consumer'} needs --topic.`);
    if (spec.consumer && spec.groups.length === 0) throw invalid('--consumer needs --group (the consumer group that reads).');
    for (const t of spec.topics) {
      if (spec.producer) for (const op of [Operation.WRITE, Operation.DESCRIBE, Operation.CREATE]) add(ResourceType.TOPIC, t, op);
      if (spec.consumer) for (const op of [Operation.READ, Operation.DESCRIBE]) add(ResourceType.TOPIC, t, op);
    }
    if (spec.consumer) for (const g of spec.groups) add(ResourceType.GROUP, g, Operation.READ);
    if (spec.producer) {
      for (const id of spec.transactionalIds) for (const op of [Operation.WRITE, Operation.DESCRIBE]) add(ResourceType.TRANSACTIONAL_ID, id, op);
      if (spec.idempotent || spec.cluster) add(ResourceType.CLUSTER, CLUSTER_NAME, Operation.IDEMPOTENT_WRITE);
    }
  } else {
    if (spec.idempotent) throw invalid('--idempotent goes with --producer.');
    const rs = resources(spec);
    if (rs.length === 0) throw invalid('name a resource: --topic, --group, --transactional-id or --cluster.');
    if (spec.operations.length === 0) throw invalid('name what to allow or deny: --operation (repeatable; e.g. Read, Write, Describe, All), or use --producer or --consumer.');
    const ops = spec.operations.map((o) => parseOperation(o));
    for (const r of rs) for (const op of ops) add(r.resourceType, r.resourceName, op);
  }
  const out: AclBinding[] = [];
  for (const r of perResource.values()) {
    for (const [principal, permissionType] of principals) {
      const hosts = permissionType === Permission.ALLOW ? spec.allowHosts : spec.denyHosts;
      for (const host of hosts.length > 0 ? hosts : ['*']) {
        for (const operation of r.ops) out.push({ resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: pattern, principal, host, operation, permissionType });
      }
    }
  }
  return out;
}

/** Filters for `acl list` and `acl remove`: each named resource (or any), narrowed by principal, host, operation and permission. */
export function filtersFor(sel: ResourceSelection & { principals: string[]; hosts: string[]; operations: string[]; patternType: string; permission?: number }): AclBindingFilter[] {
  const rs: Array<{ resourceType: number; resourceName: string | null }> = resources(sel);
  if (rs.length === 0) rs.push({ resourceType: ResourceType.ANY, resourceName: null });
  const principals: Array<string | null> = sel.principals.length > 0 ? sel.principals.map(checkPrincipal) : [null];
  const hosts: Array<string | null> = sel.hosts.length > 0 ? sel.hosts : [null];
  const ops = sel.operations.length > 0 ? sel.operations.map((o) => parseOperation(o, true)) : [Operation.ANY];
  const pattern = parsePatternType(sel.patternType, true);
  const out: AclBindingFilter[] = [];
  for (const r of rs) for (const principal of principals) for (const host of hosts) for (const operation of ops) {
    out.push({ resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: pattern, principal, host, operation, permissionType: sel.permission ?? Permission.ANY });
  }
  return out;
}

/** A table of bindings, sorted by resource then principal, as people read kafka-acls --list. */
export function aclTable(bindings: AclBinding[]): string {
  const rows = bindings
    .map((b) => [resourceTypeName(b.resourceType), b.resourceName, patternTypeName(b.resourcePatternType), b.principal, b.host, operationName(b.operation), permissionName(b.permissionType)])
    .sort((a, b) => a.join('\u0000').localeCompare(b.join('\u0000')));
  const head = ['RESOURCE TYPE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
