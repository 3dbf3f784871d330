// `rivulet acl add|list|remove`: ACLs with kafka-acls' flags. The work is in client-acl.ts,
// imported when a command runs so other commands (start) stay fast.

import type { Command } from 'commander';
import { addClientOptions, collect, runClientAction, usageExitCodes } from './client-common.js';
import type { AclFlags } from './client-acl.js';

const impl = () => import('./client-acl.js');

const OPERATIONS = 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens, All';

function resourceOptions(cmd: Command): Command {
  return cmd
    .option('--topic <name>', 'topic (repeatable; * for every topic)', collect, [])
    .option('--group <name>', 'consumer group (repeatable; * for every group)', collect, [])
    .option('--transactional-id <id>', 'transactional id (repeatable; * for every one)', collect, [])
    .option('--cluster', 'the cluster itself (kafka-cluster)')
    .option('--operation <op>', `operation (repeatable): ${OPERATIONS}`, collect, []);
}

export function registerAclCommands(program: Command): void {
  const acl = usageExitCodes(program.command('acl').description('add, list and remove ACLs (CreateAcls, DescribeAcls, DeleteAcls) on any Kafka-protocol cluster, like kafka-acls'));
  const clientId = 'rivulet-cli';

  resourceOptions(addClientOptions(acl.command('add'), clientId))
    .description('allow or deny principals operations on resources')
    .option('--allow-principal <principal>', 'principal allowed, e.g. User:alice (repeatable)', collect, [])
    .option('--deny-principal <principal>', 'principal denied (repeatable)', collect, [])
    .option('--host <host>', 'client address the ACL applies to (repeatable) [*]', collect, [])
    .option('--allow-host <host>', 'like --host, for --allow-principal only (repeatable)', collect, [])
    .option('--deny-host <host>', 'like --host, for --deny-principal only (repeatable)', collect, [])
    .option('--resource-pattern-type <type>', 'literal (the name as given, or *) or prefixed (every name starting with it)', 'literal')
    .option('--producer', 'what a producer needs: Write, Describe, Create on --topic (Write, Describe on --transactional-id; IdempotentWrite on the cluster with --idempotent)')
    .option('--consumer', 'what a consumer needs: Read, Describe on --topic, Read on --group')
    .option('--idempotent', 'with --producer: IdempotentWrite on the cluster')
    .addHelpText('after', `
Examples:
  rivulet acl add --allow-principal User:alice --operation Read --operation Describe --topic orders
  rivulet acl add --allow-principal User:app --producer --topic orders --transactional-id app-tx
  rivulet acl add --allow-principal User:app --consumer --topic orders- --resource-pattern-type prefixed --group app
Adding an ACL that exists changes nothing, so the same command can run again (idempotent).`)
    .action((o: AclFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).addAcls(o)));

  resourceOptions(addClientOptions(acl.command('list'), clientId))
    .description('list ACLs as a table (all, or those matching the filters)')
    .option('--principal <principal>', 'only this principal (repeatable)', collect, [])
    .option('--host <host>', 'only this host (repeatable)', collect, [])
    .option('--resource-pattern-type <type>', 'any (default), match (every ACL that applies to the named resource), literal or prefixed', 'any')
    .option('--json', 'print a JSON array of bindings')
    .action((o: AclFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).listAcls(o)));

  resourceOptions(addClientOptions(acl.command('remove'), clientId))
    .description('remove the ACLs matching the filters (at least one resource, principal or operation)')
    .option('--allow-principal <principal>', 'only ALLOW ACLs of this principal (repeatable)', collect, [])
    .option('--deny-principal <principal>', 'only DENY ACLs of this principal (repeatable)', collect, [])
    .option('--principal <principal>', 'ACLs of this principal, allow or deny (repeatable)', collect, [])
    .option('--host <host>', 'only this host (repeatable)', collect, [])
    .option('--resource-pattern-type <type>', 'literal (default), prefixed, any or match', 'literal')
    .option('--producer', 'the ACLs acl add --producer creates')
    .option('--consumer', 'the ACLs acl add --consumer creates')
    .option('--idempotent', 'with --producer: IdempotentWrite on the cluster too')
    .action((o: AclFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).removeAcls(o)));
}
