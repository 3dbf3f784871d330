// `rivulet txn list|describe|describe-producers|abort|find-hanging`: the command definitions,
// after Apache Kafka's kafka-transactions tool. The work is in client-txn.ts, imported when a
// command runs so other commands (start) stay fast.

import type { Command } from 'commander';
import { addClientOptions, intParser, runClientAction, usageExitCodes } from './client-common.js';
import type { AbortFlags, DescribeFlags, HangingFlags, ListFlags, ProducersFlags } from './client-txn.js';

const impl = () => import('./client-txn.js');

const STATES = 'Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, PrepareEpochFence';

export function registerTxnCommands(program: Command): void {
  const txn = usageExitCodes(
    program
      .command('txn')
      .description('list and describe transactions, show producers, find and abort hanging transactions on any Kafka-protocol cluster (like kafka-transactions)'),
  );
  const clientId = 'rivulet-cli';
  const int32 = (name: string, min: number) => intParser(name, min, 2_147_483_647);
  const producerIds = (v: string, prev: number[]): number[] => [...prev, intParser('--producer-id', 0)(v)];

  addClientOptions(txn.command('list'), clientId)
    .description('list transactional ids with their coordinator, producer id and state (every broker is asked)')
    .option('--state <states>', `only these states, comma-separated (${STATES})`)
    .option('--min-duration-ms <n>', 'only transactions open longer than this many milliseconds', intParser('--min-duration-ms', 0))
    .option('--producer-id <id>', 'only the transactional id holding this producer id (repeatable)', producerIds, [])
    .option('--pattern <regex>', 'only transactional ids the whole of which match this regular expression (RE2 syntax, as brokers use)')
    .option('--json', 'print a JSON array of {transactionalId, coordinator, producerId, state}')
    .action((o: ListFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).listTransactions(o)));

  addClientOptions(txn.command('describe'), clientId)
    .description('show a transactional id: producer id and epoch, state, timeout, start time and duration of the open transaction, its partitions')
    .argument('<transactional-id>', 'transactional id')
    .option('--json', 'print one JSON object')
    .action((id: string, o: DescribeFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).describeTransaction(id, o)));

  addClientOptions(txn.command('describe-producers'), clientId)
    .description('show the producers a partition\'s leader keeps state for: epoch, last sequence and timestamp, start offset of the open transaction')
    .requiredOption('-t, --topic <topic>', 'topic')
    .requiredOption('-p, --partition <n>', 'partition', int32('--partition', 0))
    .option('--json', 'print a JSON array (currentTxnStartOffset null when no transaction is open)')
    .action((o: ProducersFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).describeProducers(o)));

  addClientOptions(txn.command('abort'), clientId)
    .description('abort a hanging transaction in one partition: writes an ABORT marker for its producer at the partition\'s leader')
    .requiredOption('-t, --topic <topic>', 'topic')
    .requiredOption('-p, --partition <n>', 'partition', int32('--partition', 0))
    .option('--producer-id <id>', 'producer id of the transaction (see: rivulet txn describe-producers)', intParser('--producer-id', 0))
    .option('--producer-epoch <n>', 'producer epoch of the transaction', intParser('--producer-epoch', 0, 32767))
    .option('--coordinator-epoch <n>', 'coordinator epoch for the marker (default 0, or what the partition reports with --start-offset)', intParser('--coordinator-epoch', -1, 2_147_483_647))
    .option('--start-offset <offset>', 'instead of the producer: the first offset of the open transaction, as describe-producers and find-hanging show it', intParser('--start-offset', 0))
    .addHelpText(
      'after',
      '\nOnly for a transaction no coordinator will end (see: rivulet txn find-hanging): aborting a live\n' +
        'transaction this way leaves its producer to fail on its next write. Example:\n' +
        '  rivulet txn abort --topic orders --partition 0 --producer-id 4000 --producer-epoch 3',
    )
    .action((o: AbortFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).abortTransaction(o)));

  addClientOptions(txn.command('find-hanging'), clientId)
    .description('list transactions open in partitions that no coordinator will end (they hold back read_committed consumers)')
    .option('--max-transaction-timeout-minutes <n>', 'the largest transaction.timeout.ms producers use, in minutes: only transactions whose last write is older are checked', intParser('--max-transaction-timeout-minutes', 0), 15)
    .option('--broker-id <id>', 'only partitions with a replica on this broker', intParser('--broker-id', 0))
    .option('-t, --topic <topic>', 'only this topic')
    .option('-p, --partition <n>', 'only this partition (with --topic)', int32('--partition', 0))
    .option('--json', 'print a JSON array of {topic, partition, producerId, producerEpoch, coordinatorEpoch, startOffset, lastTimestamp, durationMinutes}')
    .addHelpText('after', '\nAbort what it lists with: rivulet txn abort --topic T --partition P --start-offset OFFSET')
    .action((o: HangingFlags) => runClientAction(o.bootstrapServer, async () => (await impl()).findHanging(o)));
}
