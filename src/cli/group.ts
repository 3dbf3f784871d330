// `rivulet group list|describe|delete|reset-offsets`: the command definitions. The work is in
// client-group.ts, imported when a command runs so other commands (start) stay fast.

import type { Command } from 'commander';
import { addClientOptions, collect, intParser, runClientAction, usageExitCodes, type ClientFlags } from './client-common.js';
import type { DescribeFlags, ListFlags, ResetFlags } from './client-group.js';

const impl = () => import('./client-group.js');

export function registerGroupCommands(program: Command): void {
  const group = usageExitCodes(program.command('group').description('list, describe, delete consumer groups and reset their offsets on any Kafka-protocol cluster'));
  const clientId = 'rivulet-cli';

  addClientOptions(group.command('list'), clientId)
    .description('list consumer groups, one per line (with --state: name and state)')
    .option('--state <states>', 'only groups in these states, comma-separated (Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, ...)')
    .option('--json', 'print a JSON array of {group, state, protocolType, groupType}')
    .action((o: ListFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).listGroups(o)));

  addClientOptions(group.command('describe'), clientId)
    .description('show a group: state, protocol, and per partition the committed offset, log end offset, lag and owning member')
    .argument('<group>', 'group id')
    .option('--members', 'also list the members with their assignments')
    .option('--json', 'print one JSON object (members included)')
    .action((id: string, o: DescribeFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).describeGroup(id, o)));

  addClientOptions(group.command('delete'), clientId)
    .description('delete consumer groups and their committed offsets (only groups without active members)')
    .argument('<group...>', 'group ids')
    .action((ids: string[], o: ClientFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).deleteGroups(ids, o)));

  addClientOptions(group.command('reset-offsets'), clientId)
    .description('plan or apply new committed offsets for an inactive group (dry run unless --execute)')
    .argument('<group>', 'group id')
    .option('-t, --topic <topic[:p,p...]>', 'topic to reset, optionally only these partitions (repeatable)', collect, [])
    .option('--all-topics', 'every topic the group has committed offsets for')
    .option('--to-earliest', 'reset to the earliest offset')
    .option('--to-latest', 'reset to the log end offset')
    .option('--to-timestamp <time>', 'reset to the first record at or after this time (ms since epoch or ISO date)')
    .option('--to-offset <n>', 'reset to this offset (clamped to the log)', intParser('--to-offset', 0))
    .option('--shift-by <n>', 'move the committed offset by n (negative: back), clamped to the log', intParser('--shift-by', -Number.MAX_SAFE_INTEGER))
    .option('--dry-run', 'only print the plan (the default)')
    .option('--execute', 'commit the new offsets')
    .option('--json', 'print the plan as a JSON array of {topic, partition, currentOffset, newOffset}')
    .addHelpText('after', '\nLike kafka-consumer-groups --reset-offsets: the group must be inactive (state Empty or Dead),\nand nothing changes without --execute.')
    .action((id: string, o: ResetFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).resetOffsets(id, o)));
}
