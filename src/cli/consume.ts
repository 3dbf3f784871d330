// `rivulet consume <topic>`: the command definition. The work is in client-consume.ts,
// imported when the command runs so other commands (start) stay fast.

import { Option, type Command } from 'commander';
import { addClientOptions, intParser, runClientAction, usageExitCodes } from './client-common.js';
import type { ConsumeFlags } from './client-consume.js';

export function registerConsumeCommand(program: Command): void {
  usageExitCodes(addClientOptions(program.command('consume'), 'rivulet-cli'))
    .description('print the records of a topic (by default from the end offsets at start, stopping there)')
    .argument('<topic>', 'topic name')
    .option('--from-beginning', 'start at the earliest offset (with --group: when the group has no committed offset)')
    .option('--offset <n>', 'start at this offset in every partition read (clamped to the log)', intParser('--offset', 0))
    .option('--timestamp <time>', 'start at the first record at or after this time (ms since epoch or ISO date)')
    .option('-p, --partition <n>', 'read only this partition [all]', intParser('--partition', 0, 2_147_483_647))
    .option('-f, --follow', 'keep waiting for new records (stop with Ctrl-C)')
    .option('-n, --max-messages <n>', 'stop after this many records', intParser('--max-messages', 0))
    .addOption(new Option('--format <format>', 'value: the value; kv: key, separator, value; json: one object per line with topic, partition, offset, timestamp, key, value, headers').choices(['value', 'kv', 'json']).default('value'))
    .option('--separator <sep>', 'separator between key and value for --format kv', '\t')
    .option('--group <id>', 'consume as a member of this consumer group and commit offsets')
    .addHelpText('after', '\nKeys, values and headers are printed as UTF-8 text; null prints as null.\nWithout --group no consumer group is used: partitions are read directly from their leaders.')
    .action((topic: string, o: ConsumeFlags) => runClientAction(o.bootstrapServer, async () => (await import('./client-consume.js')).consume(topic, o)));
}
