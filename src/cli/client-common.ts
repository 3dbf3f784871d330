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
import { describeSecurity, resolveSecurity, type Security, type SecurityInput, type SecurityNames } from '../client/security.js';

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
  securityProtocol?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
  tlsSkipHostnameCheck?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
  saslPasswordFile?: string;
  saslTokenFile?: string;
  commandConfig?: string;
}

/** How messages name each security input: the flag, and its environment variable where that is the usual way. */
const SECURITY_NAMES: SecurityNames = {
  securityProtocol: '--security-protocol',
  tlsCa: '--tls-ca',
  tlsCert: '--tls-cert',
  tlsKey: '--tls-key',
  tlsServerName: '--tls-server-name',
  tlsKeyPassword: 'ssl.key.password in --command-config or RIVULET_TLS_KEY_PASSWORD',
  saslMechanism: '--sasl-mechanism',
  saslUsername: '--sasl-username',
  saslPassword: '--sasl-password-file FILE (or set RIVULET_SASL_PASSWORD)',
  saslToken: '--sasl-token-file FILE (or set RIVULET_SASL_TOKEN)',
  commandConfig: '--command-config',
};

export const SECURITY_HELP = `
Secured clusters:
  --security-protocol is PLAINTEXT (default), SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL over
  TLS). Without it, TLS options imply SSL and SASL options imply SASL_SSL or SASL_PLAINTEXT.
  TLS: --tls-ca is the PEM bundle the broker's certificate must chain to (default: Node's CAs);
  --tls-cert and --tls-key a client certificate for mutual TLS (an encrypted key's password from
  RIVULET_TLS_KEY_PASSWORD). The broker's certificate must name the host of --bootstrap-server
  (or --tls-server-name).
  SASL: --sasl-mechanism PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER; --sasl-username;
  the password from --sasl-password-file or RIVULET_SASL_PASSWORD (never on the command line);
  an OAUTHBEARER token from --sasl-token-file or RIVULET_SASL_TOKEN.
  --command-config FILE: a Kafka client properties file, as Kafka's tools take it:
    security.protocol=SASL_SSL
    ssl.truststore.type=PEM
    ssl.truststore.location=/etc/kafka/ca.pem
    sasl.mechanism=SCRAM-SHA-512
    sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="secret";
  It also takes ssl.keystore.location with ssl.keystore.type=PEM (key and certificates in one
  file), ssl.key.password, inline PEM (ssl.truststore.certificates, ssl.keystore.certificate.chain,
  ssl.keystore.key) and ssl.endpoint.identification.algorithm= (no host name check). JKS and
  PKCS12 stores and Kerberos (GSSAPI) are not supported. Flags and RIVULET_* variables win over
  the file.`;

const SECURITY_GROUP = 'Security options (see below):';

/**
 * Adds the connection flags every client command takes. Commander reports usage errors
 * with exit code 1; client commands use 2 for those, so the override is installed here
 * (subcommands created afterwards inherit it).
 */
export function addClientOptions(cmd: Command, defaultClientId: string | null): Command {
  cmd.addOption(
    new Option('-b, --bootstrap-server <host:port,...>', 'Kafka cluster to talk to (comma-separated list)')
      .env('RIVULET_BOOTSTRAP')
      .default(DEFAULT_BOOTSTRAP),
  );
  // null: the command names its clients itself (rivulet run: from the application and instance ids).
  if (defaultClientId !== null) cmd.option('--client-id <id>', 'client id sent to the brokers', defaultClientId);
  return cmd
    .addOption(new Option('--security-protocol <protocol>', 'PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL [PLAINTEXT, or implied by the options below]').env('RIVULET_SECURITY_PROTOCOL').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--tls-ca <file>', 'PEM file of the CAs the broker certificate must chain to [Node\'s CAs]').env('RIVULET_TLS_CA').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--tls-cert <file>', 'PEM client certificate (chain), for mutual TLS').env('RIVULET_TLS_CERT').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('RIVULET_TLS_KEY').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--tls-server-name <name>', 'name the broker certificate must carry (and SNI) [the host connected to]').env('RIVULET_TLS_SERVER_NAME').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--tls-skip-hostname-check', 'accept a certificate that does not name the host (its chain is still verified)').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--sasl-mechanism <mechanism>', 'PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER').env('RIVULET_SASL_MECHANISM').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--sasl-username <name>', 'SASL user (PLAIN, SCRAM)').env('RIVULET_SASL_USERNAME').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--sasl-password-file <file>', 'file holding the SASL password [env RIVULET_SASL_PASSWORD]').env('RIVULET_SASL_PASSWORD_FILE').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--sasl-token-file <file>', 'file holding the OAUTHBEARER token, read at each connection [env RIVULET_SASL_TOKEN]').env('RIVULET_SASL_TOKEN_FILE').helpGroup(SECURITY_GROUP))
    .addOption(new Option('--command-config <file>', 'Kafka client properties file (security.protocol, ssl.*, sasl.*)').env('RIVULET_COMMAND_CONFIG').helpGroup(SECURITY_GROUP))
    .addHelpText('after', SECURITY_HELP);
}

/** Makes commander usage errors (unknown option, missing argument, bad value) exit with 2. */
export function usageExitCodes(cmd: Command): Command {
  return cmd.exitOverride((err: CommanderError) => {
    process.exit(err.exitCode === 0 ? 0 : ExitCode.usage);
  });
}

/** The security inputs of the flags and of the variables that have no flag (secrets). */
export function securityInput(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): SecurityInput {
  return {
    securityProtocol: flags.securityProtocol,
    tlsCa: flags.tlsCa,
    tlsCert: flags.tlsCert,
    tlsKey: flags.tlsKey,
    tlsKeyPassword: env.RIVULET_TLS_KEY_PASSWORD || undefined,
    tlsServerName: flags.tlsServerName,
    tlsSkipHostnameCheck: flags.tlsSkipHostnameCheck,
    saslMechanism: flags.saslMechanism,
    saslUsername: flags.saslUsername,
    saslPasswordFile: flags.saslPasswordFile,
    saslPassword: env.RIVULET_SASL_PASSWORD || undefined,
    saslTokenFile: flags.saslTokenFile,
    saslToken: env.RIVULET_SASL_TOKEN || undefined,
    commandConfig: flags.commandConfig,
  };
}

/** Resolved once per flags object: files are read once, and messages can describe the connection. */
const resolved = new WeakMap<ClientFlags, Security>();

/** The connection's security from the flags (a bad combination is a usage error naming the flags). */
export function security(flags: ClientFlags): Security {
  let s = resolved.get(flags);
  if (!s) {
    s = resolveSecurity(securityInput(flags), SECURITY_NAMES);
    resolved.set(flags, s);
  }
  lastSecurity = s;
  return s;
}

/** The client toolkit's connection from the flags; a malformed list names --bootstrap-server. */
export function connection(flags: ClientFlags): Connection {
  return { bootstrap: flags.bootstrapServer, clientId: flags.clientId, bootstrapName: '--bootstrap-server', security: security(flags) };
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
const CLI_HINTS: ExplainHints = {
  unreachable: 'Check --bootstrap-server or RIVULET_BOOTSTRAP.',
  listTopics: 'rivulet topic list',
  tls: 'Check --security-protocol, --tls-ca, --tls-cert and --tls-key (or ssl.* in --command-config, and RIVULET_TLS_KEY_PASSWORD); see --help.',
  sasl: 'Check --sasl-mechanism, --sasl-username and the password (--sasl-password-file or RIVULET_SASL_PASSWORD, or sasl.jaas.config in --command-config); users with SCRAM credentials: rivulet user list.',
  authorization: 'An administrator can grant it with rivulet acl add (see rivulet acl add --help); rivulet acl list shows the ACLs.',
};

/** The security of the connection the command made last (a command makes one), for its error messages. */
let lastSecurity: Security | undefined;

/** Turns any error into one message for stderr (src/client's explanations with the CLI's hints). */
export function explainError(e: unknown, bootstrap: string): string {
  return explainClientError(e, bootstrap, { ...CLI_HINTS, security: lastSecurity ? describeSecurity(lastSecurity) : undefined, clientCertificate: lastSecurity?.tls?.cert !== undefined });
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
