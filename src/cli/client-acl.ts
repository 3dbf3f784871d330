// The work behind `rivulet acl ...` (see acl.ts): kafka-acls' flags turned into bindings and
// filters by src/client/acl.ts, sent with @platformatic/kafka's createAcls, describeAcls and
// deleteAcls. Loaded only when an acl command runs.

import type { Admin } from '@platformatic/kafka';
import { withAdmin } from '../client/admin.js';
import { aclTable, bindingsToAdd, filtersFor, operationName, Permission, patternTypeName, permissionName, resourceTypeName, type AclBinding, type AclBindingFilter } from '../client/acl.js';
import { CliError, connection, type ClientFlags } from './client-common.js';

export interface AclFlags extends ClientFlags {
  topic: string[];
  group: string[];
  transactionalId: string[];
  cluster?: boolean;
  operation: string[];
  allowPrincipal?: string[];
  denyPrincipal?: string[];
  principal?: string[];
  host: string[];
  allowHost?: string[];
  denyHost?: string[];
  resourcePatternType: string;
  producer?: boolean;
  consumer?: boolean;
  idempotent?: boolean;
  json?: boolean;
}

function selection(o: AclFlags): { topics: string[]; groups: string[]; transactionalIds: string[]; cluster: boolean } {
  return { topics: o.topic, groups: o.group, transactionalIds: o.transactionalId, cluster: o.cluster === true };
}

async function describe(admin: Admin, f: AclBindingFilter): Promise<AclBinding[]> {
  const resources = await admin.describeAcls({ filter: f as never });
  return resources.flatMap((r) => r.acls.map((a) => ({ resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: r.resourcePatternType, principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType })));
}

const key = (b: AclBinding): string => [b.resourceType, b.resourceName, b.resourcePatternType, b.principal, b.host, b.operation, b.permissionType].join('\u0000');

function describeBinding(b: AclBinding): string {
  return `${permissionName(b.permissionType)} ${b.principal} ${operationName(b.operation)} on ${resourceTypeName(b.resourceType)} ${b.resourceName} (${patternTypeName(b.resourcePatternType)}) from ${b.host}`;
}

export async function addAcls(o: AclFlags): Promise<number> {
  const bindings = bindingsToAdd({
    ...selection(o),
    allowPrincipals: o.allowPrincipal ?? [],
    denyPrincipals: o.denyPrincipal ?? [],
    allowHosts: [...o.host, ...(o.allowHost ?? [])],
    denyHosts: [...o.host, ...(o.denyHost ?? [])],
    operations: o.operation,
    patternType: o.resourcePatternType,
    producer: o.producer === true,
    consumer: o.consumer === true,
    idempotent: o.idempotent === true,
  });
  return withAdmin(connection(o), async (admin) => {
    await admin.createAcls({ creations: bindings as never });
    for (const b of bindings) process.stdout.write(`added: ${describeBinding(b)}\n`);
    return 0;
  });
}

export async function listAcls(o: AclFlags): Promise<number> {
  const filters = filtersFor({ ...selection(o), principals: o.principal ?? [], hosts: o.host, operations: o.operation, patternType: o.resourcePatternType });
  return withAdmin(connection(o), async (admin) => {
    const seen = new Map<string, AclBinding>();
    for (const f of filters) for (const b of await describe(admin, f)) seen.set(key(b), b);
    const all = [...seen.values()];
    if (o.json) {
      process.stdout.write(`${JSON.stringify(all.map((b) => ({ resourceType: resourceTypeName(b.resourceType), name: b.resourceName, patternType: patternTypeName(b.resourcePatternType), principal: b.principal, host: b.host, operation: operationName(b.operation), permission: permissionName(b.permissionType) })))}\n`);
    } else if (all.length === 0) {
      process.stderr.write('no ACLs match\n');
    } else {
      process.stdout.write(aclTable(all));
    }
    return 0;
  });
}

export async function removeAcls(o: AclFlags): Promise<number> {
  let filters: AclBindingFilter[];
  if (o.producer || o.consumer) {
    // The bindings `acl add --producer/--consumer` made, removed one by one.
    filters = bindingsToAdd({
      ...selection(o),
      allowPrincipals: [...(o.allowPrincipal ?? []), ...(o.principal ?? [])],
      denyPrincipals: o.denyPrincipal ?? [],
      allowHosts: o.host,
      denyHosts: o.host,
      operations: o.operation,
      patternType: o.resourcePatternType,
      producer: o.producer === true,
      consumer: o.consumer === true,
      idempotent: o.idempotent === true,
    });
  } else {
    const sel = selection(o);
    const anyResource = sel.topics.length + sel.groups.length + sel.transactionalIds.length > 0 || sel.cluster;
    const principals = [...(o.allowPrincipal ?? []), ...(o.denyPrincipal ?? []), ...(o.principal ?? [])];
    if (!anyResource && principals.length === 0) {
      throw new CliError('name what to remove: a resource (--topic, --group, --transactional-id, --cluster) or a principal; rivulet acl list shows the ACLs.', { exitCode: 2 });
    }
    const base = { ...sel, hosts: o.host, operations: o.operation, patternType: o.resourcePatternType };
    filters = [];
    if ((o.principal ?? []).length > 0 || principals.length === 0) filters.push(...filtersFor({ ...base, principals: o.principal ?? [] }));
    if ((o.allowPrincipal ?? []).length > 0) filters.push(...filtersFor({ ...base, principals: o.allowPrincipal!, permission: Permission.ALLOW }));
    if ((o.denyPrincipal ?? []).length > 0) filters.push(...filtersFor({ ...base, principals: o.denyPrincipal!, permission: Permission.DENY }));
  }
  return withAdmin(connection(o), async (admin) => {
    const removed = await admin.deleteAcls({ filters: filters as never });
    if (removed.length === 0) process.stderr.write('no ACLs matched; nothing removed\n');
    for (const b of removed as AclBinding[]) process.stdout.write(`removed: ${describeBinding(b)}\n`);
    return 0;
  });
}
