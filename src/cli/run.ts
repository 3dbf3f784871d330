// `rivulet run <pipeline>`: runs a Rivulet Streams pipeline (src/stream) against a Kafka
// cluster. The command definition and its flags are here; the work (bundling the file,
// worker threads, the HTTP side, shutdown) is in src/stream/run/, loaded from the package's
// compiled files when the command runs, so that the pipeline, its runner and the workers
// share one copy of the stream library, and other commands do not load it.

import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { addClientOptions, intParser, runClientAction, security, securityInput, usageExitCodes, type ClientFlags } from './client-common.js';
import type { RunOptions } from '../stream/run/supervisor.js';

/** The default HTTP port of a pipeline: the broker's (9644) + 1, so both run side by side on a laptop. */
export const DEFAULT_RUN_HTTP_PORT = 9645;

interface RunFlags extends ClientFlags {
  applicationId?: string;
  input?: string;
  output?: string;
  keyFormat: 'json' | 'string' | 'bytes';
  valueFormat: 'json' | 'string' | 'bytes';
  guarantee: 'exactly_once' | 'at_least_once';
  commitIntervalMs: number;
  commitOnDrain?: 'true' | 'false';
  commitOnDrainSpacingMs: number;
  maxTaskIdleMs: number;
  stateDir: string;
  instanceId: string;
  staticMembership: 'true' | 'false';
  workers: number;
  httpHost: string;
  httpPort: number;
  onError: 'dead-letter' | 'stop';
  deadLetterTopic?: string;
  shutdownTimeoutMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  describe?: boolean;
}

const HELP = `
Examples:
  rivulet run examples/windowed-count.ts
      a DSL pipeline (export default pipeline('name')...), TypeScript run directly
  rivulet run examples/function.ts --input orders --output orders-upper
      a function (export default (record) => ({ value: ... })) from topic orders to orders-upper
  rivulet run pipeline.ts --describe
      print the topology (sub-topologies, sources, operators, stores, sinks) and exit
  RIVULET_BOOTSTRAP=kafka:9092 rivulet run pipeline.js --workers auto --http-port 8080
      one worker thread per CPU; /metrics, /healthz and /readyz on port 8080

The pipeline file:
  A .ts, .mts, .js or .mjs file whose default export is a pipeline built with rivulet/stream,
  or a function. It is bundled (esbuild) into a temporary file, with rivulet/stream resolved
  to this installation of rivulet (the file's folder needs no node_modules); stack traces
  point at the file's own lines. Packages it imports are bundled from its folder's node_modules.

The function form:
  export default (record) => output | output[] | undefined | Promise<...>
  record: { key, value, headers, timestamp, topic, partition, offset }, key and value decoded
  by --key-format and --value-format (headers: [name, Buffer] pairs; offset: a bigint).
  output: { value, key?, headers?, timestamp?, topic? }: key defaults to the input's key,
  timestamp to the input's, topic to --output. undefined (or null, or []) produces nothing.
  Records of one partition go through the function one at a time, in order.

Workers and the HTTP side:
  --workers N runs N members of the consumer group in one process (worker thread i has the
  instance id <instance-id>-i), so one pod uses N CPUs. The main thread serves, on --http-port:
    /metrics  Prometheus text of every worker (label worker="i") and of the process
    /healthz  200 while every worker is live (its event loop answers), else 503
    /readyz   200 once every worker has restored its state and processes, else 503
  If a worker dies, the others stop and the process exits 1, for Kubernetes to restart it.

Stopping:
  SIGTERM or SIGINT: every worker finishes its in-flight records, commits and leaves the group;
  exit 0. A second signal, or --shutdown-timeout-ms, forces the exit (code 1); records not yet
  committed are then processed again by whoever takes over their partitions.

State:
  Stores live under <state-dir>/<application-id>/<task> (a task: a partition of the input).
  Keep --state-dir across restarts to resume from the local state instead of restoring it
  from the changelog. The transactional id of worker i is <application-id>-<instance-id>-i:
  two processes on one machine need different --instance-id values (a lock file enforces it).

Precedence: flags > RIVULET_* environment variables > defaults. Every flag above with an
environment variable shows it as [env: ...].`;

export function registerRunCommand(program: Command): void {
  const cmd = usageExitCodes(addClientOptions(program.command('run'), null))
    .description('run a stream-processing pipeline (TypeScript or JavaScript) against a Kafka cluster')
    .argument('<pipeline>', 'the pipeline file: .ts, .mts, .js or .mjs')
    .addOption(new Option('--application-id <id>', 'consumer group id and prefix of internal topics and transactional ids [the pipeline\'s name; for a function, the file name]. A DSL pipeline takes it with pipeline(process.env.RIVULET_APPLICATION_ID ?? \'name\')').env('RIVULET_APPLICATION_ID'))
    .addOption(new Option('--input <topics>', 'function form: the topics to read (comma-separated)').env('RIVULET_INPUT'))
    .addOption(new Option('--output <topic>', 'function form: the topic outputs go to (unless an output names its own)').env('RIVULET_OUTPUT'))
    .addOption(new Option('--key-format <format>', 'function form: how keys are decoded and encoded').choices(['json', 'string', 'bytes']).default('string').env('RIVULET_KEY_FORMAT'))
    .addOption(new Option('--value-format <format>', 'function form: how values are decoded and encoded').choices(['json', 'string', 'bytes']).default('json').env('RIVULET_VALUE_FORMAT'))
    .addOption(new Option('--guarantee <guarantee>', 'exactly_once (transactions: outputs, state and input offsets commit together) or at_least_once (faster; after a crash some records are processed twice)').choices(['exactly_once', 'at_least_once']).default('exactly_once').env('RIVULET_GUARANTEE'))
    .addOption(new Option('--commit-interval-ms <ms>', 'how often each worker commits (output visibility under exactly_once waits for it)').argParser(intParser('--commit-interval-ms', 1, 3_600_000)).default(100).env('RIVULET_COMMIT_INTERVAL_MS'))
    .addOption(new Option('--commit-on-drain <bool>', 'also commit as soon as the input is drained (caught up) with work uncommitted, instead of waiting for the interval: under exactly_once a read_committed reader sees an output after about one commit round trip; under load the interval alone paces commits [true under exactly_once, false under at_least_once]').choices(['true', 'false']).env('RIVULET_COMMIT_ON_DRAIN'))
    .addOption(new Option('--commit-on-drain-spacing-ms <ms>', 'the least time from the start of one commit to a commit on drain, so a trickle of records does not make a transaction each (at most --commit-interval-ms)').argParser(intParser('--commit-on-drain-spacing-ms', 0, 3_600_000)).default(5).env('RIVULET_COMMIT_ON_DRAIN_SPACING_MS'))
    .addOption(new Option('--max-task-idle-ms <ms>', 'a task reading several partitions (a join) takes their records in timestamp order; how long it waits for a caught-up partition that may get earlier records (0: only for records already on the broker; -1: never waits), as Kafka Streams\' max.task.idle.ms').argParser(intParser('--max-task-idle-ms', -1, 3_600_000)).default(0).env('RIVULET_MAX_TASK_IDLE_MS'))
    .addOption(new Option('--state-dir <dir>', 'where local state stores live').default(join(tmpdir(), 'rivulet-streams')).env('RIVULET_STATE_DIR'))
    .addOption(new Option('--instance-id <id>', 'this process\'s id in the group, stable across restarts [the host name]').default(safeId(hostname())).env('RIVULET_INSTANCE_ID'))
    .addOption(new Option('--static-membership <bool>', 'true: join as a static member (group.instance.id = <instance-id>[-<worker>]), so a graceful restart within the group session timeout gets its partitions back without a rebalance; for StatefulSet pods, whose names are stable').choices(['true', 'false']).default('false').env('RIVULET_STATIC_MEMBERSHIP'))
    .addOption(new Option('--workers <n|auto>', 'worker threads, each a group member; auto: one per available CPU').argParser(parseWorkers).default(1).env('RIVULET_WORKERS'))
    .addOption(new Option('--http-host <host>', 'address of /metrics, /healthz, /readyz').default('0.0.0.0').env('RIVULET_HTTP_HOST'))
    .addOption(new Option('--http-port <port>', 'port of /metrics, /healthz, /readyz (0: any free port, printed at start)').argParser(intParser('--http-port', 0, 65535)).default(DEFAULT_RUN_HTTP_PORT).env('RIVULET_HTTP_PORT'))
    .addOption(new Option('--on-error <action>', 'a record that fails to deserialize or throws: dead-letter (to --dead-letter-topic, the error in headers) or stop (the process exits 1 without committing it)').choices(['dead-letter', 'stop']).default('dead-letter').env('RIVULET_ON_ERROR'))
    .addOption(new Option('--dead-letter-topic <topic>', 'where --on-error dead-letter sends poison records [<application-id>-dlq]').env('RIVULET_DEAD_LETTER_TOPIC'))
    .addOption(new Option('--shutdown-timeout-ms <ms>', 'how long a graceful stop may take before the exit is forced (below Kubernetes\' 30 s grace period)').argParser(intParser('--shutdown-timeout-ms', 1, 3_600_000)).default(25_000).env('RIVULET_SHUTDOWN_TIMEOUT_MS'))
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info').env('RIVULET_LOG_LEVEL'))
    .option('--describe', 'print the topology and exit (connects to nothing)')
    .addHelpText('after', HELP);
  cmd.action((file: string, o: RunFlags) => runClientAction(o.bootstrapServer, async () => runCommand(file, o)));
}

async function runCommand(file: string, o: RunFlags): Promise<number> {
  const lib = (await import(streamRunModule())) as typeof import('../stream/run/supervisor.js');
  const fallbackApplication = safeId(basename(file, extname(file)));
  // A DSL pipeline can take its name from here (pipeline(process.env.RIVULET_APPLICATION_ID ?? 'name')); workers inherit it.
  if (o.applicationId !== undefined) process.env.RIVULET_APPLICATION_ID = o.applicationId;
  const functionOptions = {
    inputs: (o.input ?? '').split(',').map((t) => t.trim()).filter((t) => t !== ''),
    output: o.output,
    keyFormat: o.keyFormat,
    valueFormat: o.valueFormat,
    name: `default export of ${basename(file)}`,
  };
  if (o.describe) {
    process.stdout.write(`${await lib.describePipeline({ file, application: o.applicationId, fallbackApplication, functionOptions })}\n`);
    return 0;
  }
  security(o); // a bad security combination is a usage error now, not in every worker
  const options: RunOptions = {
    file,
    workers: o.workers,
    httpHost: o.httpHost,
    httpPort: o.httpPort,
    shutdownTimeoutMs: o.shutdownTimeoutMs,
    application: o.applicationId,
    fallbackApplication,
    functionOptions,
    securityInput: securityInput(o),
    instanceId: o.instanceId,
    stateDir: o.stateDir,
    config: {
      bootstrap: o.bootstrapServer,
      guarantee: o.guarantee,
      commitIntervalMs: o.commitIntervalMs,
      ...(o.commitOnDrain !== undefined ? { commitOnDrain: o.commitOnDrain === 'true' } : {}),
      commitOnDrainSpacingMs: o.commitOnDrainSpacingMs,
      maxTaskIdleMs: o.maxTaskIdleMs,
      onError: o.onError,
      deadLetterTopic: o.deadLetterTopic,
      staticMembership: o.staticMembership === 'true',
    },
    logLevel: o.logLevel,
  };
  return lib.runPipeline(options);
}

function parseWorkers(v: string): number {
  if (v.trim() === 'auto') return availableParallelism();
  return intParser('--workers', 1, 1024)(v);
}

/** A name made safe for group ids, topic prefixes and directories. */
function safeId(s: string): string {
  return s.replace(/[^a-zA-Z0-9._-]/g, '-') || 'pipeline';
}

/**
 * The compiled src/stream/run/supervisor.js of this package. Found from the package root
 * (this file is bundled into dist/bin/, compiled into dist/src/cli/), and loaded by URL so
 * the bundler leaves it, and the stream library it imports, as separate modules.
 */
function streamRunModule(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const file = join(dir, 'dist', 'src', 'stream', 'run', 'supervisor.js');
      if (existsSync(file)) return pathToFileURL(file).href;
    }
    if (dirname(dir) === dir) throw new Error('cannot find dist/src/stream/run/supervisor.js in this installation of rivulet: run npm run build.');
  }
}
