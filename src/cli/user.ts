// `rivulet user create|list|delete`: SCRAM users of the cluster (like kafka-configs
// --entity-type users --alter --add-config 'SCRAM-SHA-512=[...]'). The work is in
// client-user.ts, imported when a command runs so other commands (start) stay fast.

import { Option, type Command } from 'commander';
import { addClientOptions, intParser, runClientAction, usageExitCodes, type ClientFlags } from './client-common.js';
import type { CreateUserFlags, DeleteUserFlags } from './client-user.js';

const impl = () => import('./client-user.js');

export function registerUserCommands(program: Command): void {
  const user = usageExitCodes(program.command('user').description('create, list and delete SCRAM users (AlterUserScramCredentials, DescribeUserScramCredentials) on any Kafka-protocol cluster'));
  const clientId = 'rivulet-cli';
  const mechanism = () => new Option('--mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512');

  addClientOptions(user.command('create'), clientId)
    .description('create a SCRAM user, or replace its password for that mechanism')
    .argument('<name>', 'user name (the principal is User:<name>)')
    .addOption(mechanism().default('SCRAM-SHA-512'))
    .option('--iterations <n>', 'PBKDF2 iterations (Kafka accepts 4096 to 16384)', intParser('--iterations', 4096, 16384), 8192)
    .option('--password-file <file>', 'file holding the new password [env RIVULET_USER_PASSWORD, or a prompt on a terminal]')
    .addHelpText('after', '\nThe password never goes on the command line and never to the cluster: the client sends a random salt and\nPBKDF2(password, salt, iterations), as Kafka\'s AdminClient does. The connection options below are the\nadministrator\'s (e.g. --sasl-username admin --sasl-password-file admin.pass).')
    .action((name: string, o: CreateUserFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).createUser(name, o)));

  addClientOptions(user.command('list'), clientId)
    .description('list SCRAM users with their mechanisms and iterations')
    .option('--json', 'print a JSON array of {user, credentials: [{mechanism, iterations}]}')
    .action((o: ClientFlags & { json?: boolean }) => runClientAction(o.bootstrapServer, async () => (await impl()).listUsers(o)));

  addClientOptions(user.command('delete'), clientId)
    .description('delete a SCRAM user (every mechanism, or only --mechanism)')
    .argument('<name>', 'user name')
    .addOption(mechanism())
    .option('--if-exists', 'succeed if the user has no such credential')
    .action((name: string, o: DeleteUserFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).deleteUser(name, o)));
}
