#!/usr/bin/env node
// The rivulet command line.

import { Command, Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStart } from './start.js';
import { registerTopicCommands } from './topic.js';
import { registerProduceCommand } from './produce.js';
import { registerConsumeCommand } from './consume.js';
import { registerGroupCommands } from './group.js';
import { registerTxnCommands } from './txn.js';
import { registerBenchCommands } from './bench.js';
import { registerUserCommands } from './user.js';
import { registerAclCommands } from './acl.js';
import { registerStorageCommands } from './storage-command.js';
import { registerRunCommand } from './run.js';

/** The nearest package.json above this file: dist/src/cli/ when compiled, dist/bin/ when bundled. */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) return 'unknown';
  }
}

const program = new Command('rivulet')
  .description('Rivulet: a Kafka-compatible streaming broker for real-time applications')
  .version(packageVersion());

program
  .command('start')
  .description('run the broker in the foreground (Kafka listener, HTTP side, logs in the data directory)')
  .option('-c, --config <file>', 'config file in properties format (key=value)')
  .option('--host <host>', 'address the Kafka listener binds [127.0.0.1]')
  .option('-p, --port <port>', 'Kafka listener port [9092]')
  .option('--advertised-host <host>', 'host clients are told to connect to')
  .option('--advertised-port <port>', 'port clients are told to connect to')
  .option('-d, --data-dir <dir>', 'data directory [./data]')
  .option('--http-host <host>', 'address of /healthz, /readyz, /metrics')
  .option('--http-port <port>', 'port of /healthz, /readyz, /metrics [9644]')
  .option('--node-id <id>', 'broker id [0]')
  .addOption(new Option('--fsync <policy>', 'when answers wait for fsync [acks-all]').choices(['acks-all', 'always', 'never']))
  .addOption(new Option('--log-level <level>', 'log level [info]').choices(['debug', 'info', 'warn', 'error']))
  .option('-s, --set <key=value...>', 'any other setting by its name, e.g. --set num.partitions=3')
  .addHelpText('after', '\nPrecedence: flags > RIVULET_* environment variables > config file > defaults.\nEnvironment names: RIVULET_ + the setting name in upper case with dots as underscores (RIVULET_DATA_DIR, RIVULET_LOG_RETENTION_MS).')
  .action(async (o: Record<string, string | string[] | undefined>) => {
    const flags: Record<string, string | undefined> = {
      host: o.host as string | undefined,
      port: o.port as string | undefined,
      'advertised.host': o.advertisedHost as string | undefined,
      'advertised.port': o.advertisedPort as string | undefined,
      'data.dir': o.dataDir as string | undefined,
      'http.host': o.httpHost as string | undefined,
      'http.port': o.httpPort as string | undefined,
      'node.id': o.nodeId as string | undefined,
      fsync: o.fsync as string | undefined,
      'log.level': o.logLevel as string | undefined,
    };
    for (const kv of (o.set as string[] | undefined) ?? []) {
      const i = kv.indexOf('=');
      if (i <= 0) program.error(`--set expects key=value, got "${kv}"`);
      flags[kv.slice(0, i)] = kv.slice(i + 1);
    }
    await runStart(flags, o.config as string | undefined);
  });

registerTopicCommands(program);
registerProduceCommand(program);
registerConsumeCommand(program);
registerGroupCommands(program);
registerTxnCommands(program);
registerUserCommands(program);
registerAclCommands(program);
registerBenchCommands(program);
registerStorageCommands(program);
registerRunCommand(program);

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`rivulet: ${e.message}\n`);
  process.exit(1);
});
