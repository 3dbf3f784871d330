// Shared pieces of the client-side commands (topic, produce, consume, group, bench): the
// connection flags and their translation into the client toolkit's options, option parsers
// that turn bad values into usage errors, exit codes, and how failures are printed.
//
// These commands talk to any Kafka-protocol cluster through src/client (over
// @platformatic/kafka); they never import the broker or the storage layer. This module is
// on the start path (the command declarations use it), so it imports nothing heavy.

import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import type { BaseOptions } from '@platformatic/kafka';
import { baseClientOptions, DEFAULT_BOOTSTRAP, type Connection } from '../client/connection.js';
import { ClientError, ClientErrorCode, explainError as explainClientError, type ExplainHints } from '../client/errors.js';

/** Exit codes of the client commands. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

/** An error meant for the user: the message is printed as is, then the process exits with `exitCode`. */
export class CliError extends ClientError {
  readonly exitCode: number;
  constructor(message: string, opts: { exitCode?: number; code?: string; cause?: unknown } = {}) {
    const exitCode = opts.exitCode ?? ExitCode.failure;
    super(message, { code: opts.code ?? (exitCode === ExitCode.usage ? 'RIV_ERR_CLI_USAGE' : 'RIV_ERR_CLI'), cause: opts.cause });
    this.exitCode = exitCode;
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

/** The client toolkit's connection from the flags; a malformed list names --bootstrap-server. */
export function connection(flags: ClientFlags): Connection {
  return { bootstrap: flags.bootstrapServer, clientId: flags.clientId, bootstrapName: '--bootstrap-server' };
}

/** Options for any @platformatic/kafka client, from the connection flags. */
export function clientOptions(flags: ClientFlags): BaseOptions {
  return baseClientOptions(connection(flags));
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

/** What the command line adds to the client toolkit's explanations. */
const CLI_HINTS: ExplainHints = { unreachable: 'Check --bootstrap-server or RIVULET_BOOTSTRAP.', listTopics: 'rivulet topic list' };

/** Turns any error into one message for stderr (src/client's explanations with the CLI's hints). */
export function explainError(e: unknown, bootstrap: string): string {
  return explainClientError(e, bootstrap, CLI_HINTS);
}

/** The exit code for an error: a CliError's own, 2 for bad input found by the client toolkit, otherwise 1. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) return e.exitCode;
  if (e instanceof ClientError && e.code === ClientErrorCode.invalidArgument) return ExitCode.usage;
  return ExitCode.failure;
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
    code = exitCodeOf(e);
    process.stderr.write(`rivulet: ${explainError(e, bootstrap)}\n`);
    if (process.env.RIVULET_DEBUG && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
  }
  await flushStdout();
  process.exit(code);
}
