// `rivulet topic create|list|describe|alter|delete`: the command definitions. The work is in
// client-topic.ts, imported when a command runs so other commands (start) stay fast.

import type { Command } from 'commander';
import { addClientOptions, collect, intParser, keyValueCollector, runClientAction, usageExitCodes, type ClientFlags } from './client-common.js';
import type { AlterFlags, CreateFlags } from './client-topic.js';

const impl = () => import('./client-topic.js');

export function registerTopicCommands(program: Command): void {
  const topic = usageExitCodes(program.command('topic').description('create, list, describe, alter and delete topics on any Kafka-protocol cluster'));
  const clientId = 'rivulet-cli';

  addClientOptions(topic.command('create'), clientId)
    .description('create a topic')
    .argument('<name>', 'topic name')
    .option('-p, --partitions <n>', 'number of partitions [broker default]', intParser('--partitions', 1, 1_000_000))
    .option('-r, --replication-factor <n>', 'replicas per partition [broker default]', intParser('--replication-factor', 1, 32767))
    .option('-c, --config <key=value>', 'topic setting, e.g. retention.ms=86400000 (repeatable)', keyValueCollector('--config'), [])
    .option('--if-not-exists', 'succeed if the topic already exists')
    .option('--validate-only', 'ask the cluster to check the request without creating anything')
    .action((name: string, o: CreateFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).createTopic(name, o)));

  addClientOptions(topic.command('list'), clientId)
    .description('list topic names, one per line')
    .option('--json', 'print a JSON array of {name, partitions}')
    .option('--internal', 'include internal topics')
    .action((o: ClientFlags & { json?: boolean; internal?: boolean }) => runClientAction(o.bootstrapServer, async () => (await impl()).listTopics(o)));

  addClientOptions(topic.command('describe'), clientId)
    .description('show a topic: id, partitions (leader, replicas, isr, offsets) and its own configs')
    .argument('<name>', 'topic name')
    .option('--json', 'print one JSON object')
    .action((name: string, o: ClientFlags & { json?: boolean }) => runClientAction(o.bootstrapServer, async () => (await impl()).describeTopic(name, o)));

  addClientOptions(topic.command('alter'), clientId)
    .description('add partitions or change topic configs')
    .argument('<name>', 'topic name')
    .option('--partitions <n>', 'new total number of partitions (can only grow)', intParser('--partitions', 1, 1_000_000))
    .option('--config <key=value>', 'set a topic config (repeatable)', keyValueCollector('--config'), [])
    .option('--delete-config <key>', 'remove a topic config override, back to the default (repeatable)', collect, [])
    .action((name: string, o: AlterFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).alterTopic(name, o)));

  addClientOptions(topic.command('delete'), clientId)
    .description('delete a topic and its data')
    .argument('<name>', 'topic name')
    .option('--if-exists', 'succeed if the topic does not exist')
    .action((name: string, o: ClientFlags & { ifExists?: boolean }) => runClientAction(o.bootstrapServer, async () => (await impl()).deleteTopic(name, o)));
}
