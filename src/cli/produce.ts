// `rivulet produce <topic>`: the command definition. The work is in client-produce.ts,
// imported when the command runs so other commands (start) stay fast.

import { Option, type Command } from 'commander';
import { addClientOptions, intParser, keyValueCollector, runClientAction, usageExitCodes } from './client-common.js';
import type { ProduceFlags } from './client-produce.js';

export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export function registerProduceCommand(program: Command): void {
  usageExitCodes(addClientOptions(program.command('produce'), 'rivulet-cli'))
    .description('write each line of stdin as one record to a topic')
    .argument('<topic>', 'topic name')
    .option('-k, --key-separator <sep>', 'split each line at the first <sep> into key and value')
    .option('-H, --header <key=value>', 'header added to every record (repeatable)', keyValueCollector('--header'), [])
    .option('-p, --partition <n>', 'write every record to this partition [by key hash; without a key, one partition per batch]', intParser('--partition', 0, 2_147_483_647))
    .addOption(new Option('--acks <acks>', 'acknowledgements to wait for: -1 (all in-sync replicas, fsynced), 1 (leader), 0 (none)').choices(['-1', '0', '1', 'all']).default('-1'))
    .addOption(new Option('--compression <codec>', 'batch compression').choices([...COMPRESSIONS]).default('none'))
    .option('--batch-size <n>', 'records per produce request at most', intParser('--batch-size', 1, 100_000), 1000)
    .option('--linger <ms>', 'how long a partial batch waits for more lines', intParser('--linger', 0, 60_000), 5)
    .addHelpText('after', '\nPrints a summary (records, time) to stderr. Exits 1 if any record was not acknowledged.')
    .action((topic: string, o: ProduceFlags) => runClientAction(o.bootstrapServer, async () => (await import('./client-produce.js')).produce(topic, o)));
}
