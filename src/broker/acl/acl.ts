// Kafka's ACL model: resource types, pattern types, operations and permissions, numbered as
// Kafka's ResourceType, PatternType, AclOperation and AclPermissionType (the numbers go on the
// wire in CreateAcls, DescribeAcls and DeleteAcls); a binding and a filter over bindings, with
// Kafka's rules for which filters match which bindings (AclBindingFilter.matches).

import { isIP } from 'node:net';

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

export const CLUSTER_NAME = 'kafka-cluster';
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';

const names = (o: Record<string, number>): string[] => {
  const out: string[] = [];
  for (const [k, v] of Object.entries(o)) out[v] = k;
  return out;
};
export const resourceTypeName = names(ResourceType);
export const operationName = names(AclOperation);
export const patternTypeName = names(PatternType);
export const permissionName = names(AclPermission);

/** One ACL, as Kafka's AclBinding (a resource pattern and an access control entry). */
export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

/** A filter over bindings (DescribeAcls, DeleteAcls): null names and the ANY values match anything. */
export interface AclFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

/** Operations each resource type has in Kafka (what authorizedOperations may hold). */
export const operationsOf: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [3, 4, 5, 6, 7, 8, 10, 11],
  [ResourceType.GROUP]: [3, 6, 8, 10, 11],
  [ResourceType.CLUSTER]: [5, 7, 8, 9, 10, 11, 12],
  [ResourceType.TRANSACTIONAL_ID]: [4, 8],
  [ResourceType.DELEGATION_TOKEN]: [8],
  [ResourceType.USER]: [13, 14],
};

/**
 * An ACL host as connections are compared with it: `*` and names as given; an IP address in the
 * form the broker sees peers (IPv4 dotted; IPv6 compressed and lower case, RFC 5952), an
 * IPv4-mapped IPv6 address as its IPv4 address (what aclHost makes of such a peer). So
 * `0:0:0:0:0:0:0:1`, `::FFFF:10.0.0.1` and `::ffff:a00:1` match `::1` and `10.0.0.1` peers.
 */
export function canonicalHost(host: string): string {
  const kind = isIP(host);
  if (kind === 4) return host;
  if (kind !== 6) return host;
  const v6 = new URL(`http://[${host}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (mapped === null) return v6;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** Why a binding cannot be created (CreateAcls), or null: Kafka's checks, which answer INVALID_REQUEST. */
export function bindingProblem(b: AclBinding): string | null {
  if (b.resourceType < ResourceType.TOPIC || b.resourceType > ResourceType.USER) return `resource type ${b.resourceType} is not one an ACL can name (TOPIC 2, GROUP 3, CLUSTER 4, TRANSACTIONAL_ID 5, DELEGATION_TOKEN 6, USER 7)`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return `pattern type ${patternTypeName[b.patternType] ?? b.patternType} cannot be stored: an ACL is LITERAL or PREFIXED`;
  if (b.operation < AclOperation.ALL || b.operation > AclOperation.DESCRIBE_TOKENS) return `operation ${b.operation} is not one an ACL can grant (ALL 2 to DESCRIBE_TOKENS 14)`;
  if (b.permission !== AclPermission.ALLOW && b.permission !== AclPermission.DENY) return `permission type ${b.permission} must be ALLOW (3) or DENY (2)`;
  if (b.resourceName === '') return 'the resource name must not be empty';
  if (b.patternType === PatternType.PREFIXED && b.resourceName === WILDCARD) return 'a PREFIXED pattern cannot be the wildcard *; use LITERAL * for every resource';
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) return `the cluster resource is named ${CLUSTER_NAME}, not ${b.resourceName}`;
  if (!/^[^:]+:.+$/.test(b.principal)) return `principal ${b.principal} must be of the form Type:name (e.g. User:alice or User:*)`;
  if (b.host === '') return 'the host must be * or an address';
  return null;
}

/** Why a filter is refused (DescribeAcls, DeleteAcls answer INVALID_REQUEST), or null. */
export function filterProblem(f: AclFilter): string | null {
  if (f.resourceType < ResourceType.ANY || f.resourceType > ResourceType.USER) return `resource type filter ${f.resourceType} is unknown (ANY 1, TOPIC 2 ... USER 7)`;
  if (f.patternType < PatternType.ANY || f.patternType > PatternType.PREFIXED) return `pattern type filter ${f.patternType} is unknown (ANY 1, MATCH 2, LITERAL 3, PREFIXED 4)`;
  if (f.operation < AclOperation.ANY || f.operation > AclOperation.DESCRIBE_TOKENS) return `operation filter ${f.operation} is unknown (ANY 1 ... DESCRIBE_TOKENS 14)`;
  if (f.permission < AclPermission.ANY || f.permission > AclPermission.ALLOW) return `permission type filter ${f.permission} is unknown (ANY 1, DENY 2, ALLOW 3)`;
  return null;
}

/** Whether a filter matches a stored binding, as Kafka's AclBindingFilter.matches (MATCH: every pattern that would apply to the name). */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  if (f.permission !== AclPermission.ANY && f.permission !== b.permission) return false;
  switch (f.patternType) {
    case PatternType.ANY:
      return f.resourceName === null || f.resourceName === b.resourceName;
    case PatternType.LITERAL:
    case PatternType.PREFIXED:
      return f.patternType === b.patternType && (f.resourceName === null || f.resourceName === b.resourceName);
    case PatternType.MATCH:
      if (f.resourceName === null) return true;
      if (b.patternType === PatternType.LITERAL) return b.resourceName === f.resourceName || b.resourceName === WILDCARD;
      return f.resourceName.startsWith(b.resourceName);
    default:
      return false;
  }
}

export function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return a.resourceType === b.resourceType && a.resourceName === b.resourceName && a.patternType === b.patternType && a.principal === b.principal && a.host === b.host && a.operation === b.operation && a.permission === b.permission;
}

/** `User:alice` READ on TOPIC LITERAL orders (ALLOW), for logs and errors. */
export function describeBinding(b: AclBinding): string {
  return `${b.principal} ${permissionName[b.permission]} ${operationName[b.operation]} from ${b.host} on ${resourceTypeName[b.resourceType]} ${patternTypeName[b.patternType]} ${b.resourceName}`;
}
