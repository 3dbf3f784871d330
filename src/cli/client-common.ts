// Shared pieces of the client-side commands (topic, produce, consume): the connection
// flags, option parsers that turn bad values into usage errors, and the translation of
// client-library errors into messages a person can act on.
//
// These commands talk to any Kafka-protocol cluster through @platformatic/kafka; they
// never import the broker or the storage layer.

import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import type { BaseOptions } from '@platformatic/kafka';

/** Exit codes of the client commands. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/** An error meant for the user: the message is printed as is, then the process exits with `exitCode`. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(message: string, opts: { exitCode?: number; code?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.exitCode = opts.exitCode ?? ExitCode.failure;
    this.code = opts.code ?? (this.exitCode === ExitCode.usage ? 'RIV_ERR_CLI_USAGE' : 'RIV_ERR_CLI');
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: ExitCode.usage });
}

/** Kafka's rule for topic names. */
export function checkTopicName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.length > 249 || !/^[a-zA-Z0-9._-]+$/.test(name)) {
    throw usageError(`invalid topic name "${name}": use 1 to 249 characters from a-z, A-Z, 0-9, '.', '_' and '-' (not "." or "..").`);
  }
}

export const DEFAULT_BOOTSTRAP = 'localhost:9092';

export interface ClientFlags {
  bootstrapServer: string;
  clientId: string;
}

/**
 * Adds the connection flags every client command takes. Commander reports usage errors
 * with exit code 1; client commands use 2 for those, so the override is installed here
 * (subcommands created afterwards inherit it).
 */
export function addClientOptions(cmd: Command, defaultClientId: string): Command {
  return cmd
    .addOption(
      new Option('-b, --bootstrap-server <host:port,...>', 'Kafka cluster to talk to (comma-separated list)')
        .env('RIVULET_BOOTSTRAP')
        .default(DEFAULT_BOOTSTRAP),
    )
    .option('--client-id <id>', 'client id sent to the brokers', defaultClientId);
}

/** Makes commander usage errors (unknown option, missing argument, bad value) exit with 2. */
export function usageExitCodes(cmd: Command): Command {
  return cmd.exitOverride((err: CommanderError) => {
    process.exit(err.exitCode === 0 ? 0 : ExitCode.usage);
  });
}

/** Splits and checks a bootstrap list: "host:port,host:port" ("[::1]:9092" for IPv6). */
export function parseBootstrap(value: string): string[] {
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(s);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw usageError(`invalid --bootstrap-server entry "${s}": expected host:port, e.g. localhost:9092`);
    }
    out.push(s);
  }
  if (out.length === 0) throw usageError('--bootstrap-server is empty: expected host:port[,host:port...]');
  return out;
}

/** Options for any @platformatic/kafka client; short retries so a dead address fails in seconds. */
export function baseClientOptions(flags: ClientFlags): BaseOptions {
  return {
    clientId: flags.clientId,
    bootstrapBrokers: parseBootstrap(flags.bootstrapServer),
    connectTimeout: 5000,
    timeout: 30000,
    retries: 2,
    retryDelay: 250,
  };
}

// ---- option value parsers (commander argParser): a bad value is a usage error ----

export function intParser(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    const s = v.trim();
    if (!/^[-+]?\d+$/.test(s)) throw new InvalidArgumentError(`${name} must be an integer, not "${v}".`);
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be from ${min} to ${max === Number.MAX_SAFE_INTEGER ? 'any larger value' : max}, not ${s}.`);
    }
    return n;
  };
}

/** Repeatable `key=value` flag; the value may be empty, the key may not. */
export function keyValueCollector(flag: string): (v: string, prev: Array<[string, string]>) => Array<[string, string]> {
  return (v, prev) => {
    const i = v.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`${flag} expects key=value, got "${v}".`);
    return [...prev, [v.slice(0, i), v.slice(i + 1)]];
  };
}

export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

// ---- error translation ----

interface LibError extends Error {
  code?: string;
  errors?: unknown[];
  apiId?: string;
  apiCode?: number;
  serverErrorMessage?: string | null;
  path?: string;
  cause?: unknown;
}

/** The innermost errors of a library error (MultipleErrors nest; causes chain). */
export function leafErrors(e: unknown): LibError[] {
  const out: LibError[] = [];
  const walk = (x: unknown, depth: number): void => {
    if (!(x instanceof Error) || depth > 8) return;
    const le = x as LibError;
    if (Array.isArray(le.errors) && le.errors.length > 0) {
      for (const c of le.errors) walk(c, depth + 1);
      return;
    }
    out.push(le);
  };
  walk(e, 0);
  return out;
}

/** The first Kafka protocol error (by name, e.g. TOPIC_ALREADY_EXISTS) inside a library error. */
export function findProtocolError(e: unknown, ...ids: string[]): LibError | undefined {
  return leafErrors(e).find((x) => x.apiId !== undefined && (ids.length === 0 || ids.includes(x.apiId)));
}

/** True when the error says the topic does not exist (metadata lookup or a broker error code). */
export function isUnknownTopic(e: unknown): boolean {
  return leafErrors(e).some((x) => /^Unknown topic /.test(x.message) || x.apiId === 'UNKNOWN_TOPIC_OR_PARTITION' || x.apiId === 'UNKNOWN_TOPIC_ID');
}

function describeProtocolError(x: LibError): string {
  const detail = x.serverErrorMessage && x.serverErrorMessage !== x.message ? `: ${x.serverErrorMessage}` : '';
  return `${x.apiId} (${x.message.replace(/\.$/, '')})${detail}`;
}

/** API names as the library spells them, mapped to what the command was doing. */
const apiPurpose: Record<string, string> = {
  CreateTopics: 'creating topics',
  DeleteTopics: 'deleting topics',
  CreatePartitions: 'adding partitions',
  DescribeConfigs: 'reading topic configs',
  IncrementalAlterConfigs: 'changing topic configs',
  AlterConfigs: 'changing topic configs',
  ListOffsets: 'reading offsets',
  Fetch: 'reading records',
  Produce: 'writing records',
  InitProducerId: 'idempotent producing',
  JoinGroup: 'consumer groups',
  FindCoordinator: 'consumer groups',
};

/**
 * Turns any error into one message for stderr. `bootstrap` is named when nothing answered,
 * so the user sees which address was tried.
 */
export function explainError(e: unknown, bootstrap: string): string {
  if (e instanceof CliError) return e.message;
  const leaves = leafErrors(e);
  const network = leaves.filter((x) => x.code === 'PLT_KFK_NETWORK' || /^Connection to .* (failed|timed out)/.test(x.message));
  if (network.length > 0 && network.length === leaves.length) {
    const causes = [...new Set(network.map((x) => (x.cause instanceof Error ? x.cause.message : x.message)))];
    return `cannot reach the Kafka cluster: nothing answered at ${bootstrap} (${causes.join('; ')}). Is the broker running? Check --bootstrap-server or RIVULET_BOOTSTRAP.`;
  }
  for (const x of leaves) {
    const m = /^Unsupported API (\w+)\.$|^No usable implementation found for API (\w+)\.$/.exec(x.message);
    if (m) {
      const api = m[1] ?? m[2]!;
      const purpose = apiPurpose[api] ? ` (needed for ${apiPurpose[api]})` : '';
      return m[1]
        ? `the cluster at ${bootstrap} does not support the Kafka ${api} API${purpose}.`
        : `the cluster at ${bootstrap} offers the Kafka ${api} API only in versions this client cannot speak${purpose}.`;
    }
  }
  const unknownTopic = leaves.find((x) => /^Unknown topic (.*)\.$/.test(x.message));
  if (unknownTopic) {
    const name = /^Unknown topic (.*)\.$/.exec(unknownTopic.message)![1];
    return `topic "${name}" does not exist (list topics with: rivulet topic list).`;
  }
  const protocol = leaves.filter((x) => x.apiId !== undefined);
  if (protocol.length > 0) {
    return `the broker answered with an error: ${[...new Set(protocol.map(describeProtocolError))].join('; ')}`;
  }
  const timeouts = leaves.filter((x) => x.code === 'PLT_KFK_TIMEOUT' || /timed out/i.test(x.message));
  if (timeouts.length > 0) return `request to ${bootstrap} timed out: ${timeouts[0]!.message}`;
  const messages = [...new Set(leaves.map((x) => x.message))];
  const top = e instanceof Error ? e.message : String(e);
  return messages.length > 0 && !messages.includes(top) ? `${top} ${messages.join('; ')}` : top;
}

/** Kafka prints topic ids as unpadded URL-safe base64 of the 16 bytes; the library gives a UUID string. */
export function kafkaTopicId(uuid: string): string {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return uuid;
  return Buffer.from(hex, 'hex').toString('base64url');
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Waits until everything written to stdout has been handed to the OS. */
export function flushStdout(): Promise<void> {
  return new Promise((res) => {
    if (process.stdout.writableLength === 0 || process.stdout.destroyed) res();
    else process.stdout.write('', () => res());
  });
}

/**
 * Runs a command action: prints `rivulet: <message>` for failures and exits with the
 * error's code (usage 2, otherwise 1), or 0. Clients are closed by the action itself.
 */
export async function runClientAction(bootstrap: string, fn: () => Promise<number | void>): Promise<never> {
  let code: number = ExitCode.ok;
  try {
    code = (await fn()) ?? ExitCode.ok;
  } catch (e) {
    code = e instanceof CliError ? e.exitCode : ExitCode.failure;
    process.stderr.write(`rivulet: ${explainError(e, bootstrap)}\n`);
    if (process.env.RIVULET_DEBUG && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
  }
  await flushStdout();
  process.exit(code);
}

/** Closes a client, ignoring errors (used on the way out). */
export async function closeQuietly(client: { close(): Promise<void> } | undefined): Promise<void> {
  if (!client) return;
  try {
    await client.close();
  } catch {
    // Nothing useful to do: the process is exiting.
  }
}
