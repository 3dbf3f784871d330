// How a client connects to a secured cluster: the security protocol, TLS material and SASL
// credentials, from plain inputs (file paths, values) and from a Kafka client properties file
// (what Kafka's own tools take as --command-config). Resolved once into the TLS and SASL
// options of @platformatic/kafka. Loads only Node built-ins (the CLI's start path imports it).

import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { ClientError, ClientErrorCode } from './errors.js';

export const SecurityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SecurityProtocols)[number];
export const SaslMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type SaslMechanism = (typeof SaslMechanisms)[number];

/**
 * What the caller collected (flags, environment). Every field is optional; a properties file
 * (`commandConfig`) fills what the other fields leave unset.
 */
export interface SecurityInput {
  securityProtocol?: string;
  /** PEM file of the CAs the broker's certificate must chain to (default: Node's CAs). */
  tlsCa?: string;
  /** PEM file of the client certificate (chain), for mutual TLS. */
  tlsCert?: string;
  /** PEM file of the client's private key. */
  tlsKey?: string;
  /** Password of an encrypted private key. */
  tlsKeyPassword?: string;
  /** Name the broker's certificate must carry (and SNI); default: the host connected to. */
  tlsServerName?: string;
  /** Accept a certificate that does not name the host (the chain is still verified). */
  tlsSkipHostnameCheck?: boolean;
  saslMechanism?: string;
  saslUsername?: string;
  /** File whose content (one trailing newline removed) is the password. */
  saslPasswordFile?: string;
  /** The password itself (from the environment; never from a command line). */
  saslPassword?: string;
  /** File holding an OAUTHBEARER token (a JWT), read at each connection. */
  saslTokenFile?: string;
  /** The token itself (from the environment). */
  saslToken?: string;
  /** A Kafka client properties file (security.protocol, ssl.*, sasl.*). */
  commandConfig?: string;
}

/** How the caller's interface names each input in messages (its flags). */
export interface SecurityNames {
  securityProtocol: string;
  tlsCa: string;
  tlsCert: string;
  tlsKey: string;
  tlsServerName: string;
  tlsKeyPassword: string;
  saslMechanism: string;
  saslUsername: string;
  saslPassword: string;
  saslToken: string;
  commandConfig: string;
}

export const DEFAULT_SECURITY_NAMES: SecurityNames = {
  securityProtocol: 'security.protocol',
  tlsCa: 'the CA file',
  tlsCert: 'the certificate file',
  tlsKey: 'the key file',
  tlsServerName: 'the TLS server name',
  tlsKeyPassword: 'the key password (ssl.key.password)',
  saslMechanism: 'sasl.mechanism',
  saslUsername: 'the SASL username',
  saslPassword: 'the SASL password',
  saslToken: 'the OAUTHBEARER token',
  commandConfig: 'the client properties file',
};

export interface ResolvedTls {
  ca?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
  serverName?: string;
  checkHostname: boolean;
}

export interface ResolvedSasl {
  mechanism: SaslMechanism;
  username?: string;
  password?: string;
  /** Returns the token (read from its file at each call, so a refreshed file is picked up). */
  token?: () => string;
}

/** The resolved security of a connection: plain data, turned into library options by `securityClientOptions`. */
export interface Security {
  protocol: SecurityProtocol;
  tls?: ResolvedTls;
  sasl?: ResolvedSasl;
}

function invalid(message: string, cause?: unknown): ClientError {
  return new ClientError(message, { code: ClientErrorCode.invalidArgument, cause });
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw invalid(`cannot read ${what} "${file}": ${reason}.`, e);
  }
}

/** A secret from a file: the content without one trailing newline. */
export function readSecretFile(file: string, what: string): string {
  const s = readText(file, what).replace(/\r?\n$/, '');
  if (s === '') throw invalid(`${what} "${file}" is empty.`);
  return s;
}

// ---- Java properties files ----

function unescapeProperty(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'f' ? '\f' : c;
  });
}

/**
 * Parses a Java properties file as java.util.Properties does: `#` and `!` comments, `=`, `:`
 * or whitespace between key and value, a trailing backslash continues a line (leading
 * whitespace of the next line dropped), backslash escapes. Later keys win.
 */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // An odd number of trailing backslashes continues the logical line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    if (/(^|[^\\])(\\\\)*\\$/.test(line)) line = line.slice(0, -1);
    const m = /^((?:\\.|[^\\=: \t\f])*)[ \t\f]*(?:[=:][ \t\f]*)?(.*)$/s.exec(line)!;
    out.set(unescapeProperty(m[1]!), unescapeProperty(m[2]!));
  }
  return out;
}

// ---- PEM ----

/**
 * PEM blocks of a text, re-wrapped: a properties value written on one line (Kafka accepts
 * `ssl.keystore.key=-----BEGIN ... ----- MIIE... -----END ...-----`) becomes PEM Node reads.
 */
export function pemBlocks(text: string): Array<{ label: string; pem: string }> {
  const out: Array<{ label: string; pem: string }> = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)) {
    const label = m[1]!;
    const body = m[2]!.trim();
    // Encrypted traditional keys carry headers (Proc-Type, DEK-Info) before the base64.
    const headerEnd = body.search(/\n\s*\n/);
    const headers = /^[A-Za-z-]+:/.test(body) && headerEnd > 0 ? `${body.slice(0, headerEnd).trim()}\n\n` : '';
    const b64 = (headers ? body.slice(headerEnd) : body).replace(/\s+/g, '');
    const wrapped = b64.match(/.{1,64}/g)?.join('\n') ?? '';
    out.push({ label, pem: `-----BEGIN ${label}-----\n${headers}${wrapped}\n-----END ${label}-----\n` });
  }
  return out;
}

function certificates(text: string, what: string): string {
  const certs = pemBlocks(text).filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) throw invalid(`${what} holds no PEM certificate (-----BEGIN CERTIFICATE-----); JKS and PKCS12 stores are not supported: convert them to PEM (keytool -exportcert -rfc, openssl pkcs12 -nodes).`);
  return certs.map((b) => b.pem).join('');
}

function privateKey(text: string, what: string): string {
  const key = pemBlocks(text).find((b) => /PRIVATE KEY$/.test(b.label));
  if (!key) throw invalid(`${what} holds no PEM private key (-----BEGIN PRIVATE KEY----- or ENCRYPTED PRIVATE KEY).`);
  return key.pem;
}

// ---- JAAS ----

/** Parses `sasl.jaas.config`: `<LoginModule class> required|requisite|sufficient|optional key="value" ...;`. */
export function parseJaasConfig(value: string): { loginModule: string; options: Map<string, string> } {
  const m = /^\s*([\w.$]+)\s+(required|requisite|sufficient|optional)\b([\s\S]*?);?\s*$/.exec(value);
  if (!m) {
    throw invalid(`sasl.jaas.config is not a JAAS entry: expected e.g. org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="secret";`);
  }
  const options = new Map<string, string>();
  const rest = m[3]!;
  const re = /\s*([\w.-]+)\s*=\s*("((?:\\.|[^"\\])*)"|[^\s;"]+)/gy;
  let at = 0;
  for (;;) {
    re.lastIndex = at;
    const o = re.exec(rest);
    if (!o) break;
    options.set(o[1]!, o[3] !== undefined ? o[3].replace(/\\(.)/g, '$1') : o[2]!);
    at = re.lastIndex;
  }
  if (rest.slice(at).trim() !== '') {
    // Name the option only: what follows its "=" may be a password.
    const key = /^\s*([\w.-]+)/.exec(rest.slice(at))?.[1];
    throw invalid(`sasl.jaas.config: cannot read the options after ${m[1]} ${m[2]}${key === undefined ? '' : `, from option "${key}" on`}: write each option as key="value" (double quotes, \\" for a quote inside).`);
  }
  return { loginModule: m[1]!, options };
}

// ---- properties -> input ----

/** Settings of a Kafka client properties file, as inputs; `file` names the file in messages. */
export function securityFromProperties(props: Map<string, string>, file: string): SecurityInput & { tlsCaPem?: string; tlsCertPem?: string; tlsKeyPem?: string } {
  const out: SecurityInput & { tlsCaPem?: string; tlsCertPem?: string; tlsKeyPem?: string } = {};
  const get = (k: string): string | undefined => {
    const v = props.get(k);
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const where = (k: string): string => `${k} in ${file}`;

  out.securityProtocol = get('security.protocol');

  for (const [k, what] of [['ssl.truststore.type', 'truststore'], ['ssl.keystore.type', 'keystore']] as const) {
    const t = get(k);
    if (t !== undefined && t.toUpperCase() !== 'PEM') {
      const loc = k === 'ssl.truststore.type' ? 'ssl.truststore.location' : 'ssl.keystore.location';
      const conv = k === 'ssl.truststore.type'
        ? 'export the CA certificates as PEM (keytool -exportcert -rfc -alias <alias> -keystore truststore.jks > ca.pem) and give them as --tls-ca or ssl.truststore.location with ssl.truststore.type=PEM'
        : 'convert it to PEM (keytool -importkeystore -srckeystore keystore.jks -destkeystore ks.p12 -deststoretype PKCS12, then openssl pkcs12 -in ks.p12 -nodes > keystore.pem) and give it as ssl.keystore.location with ssl.keystore.type=PEM, or --tls-cert and --tls-key';
      throw invalid(`${where(k)} is ${t}: only PEM ${what}s are supported (no JKS or PKCS12). To use ${loc}, ${conv}.`);
    }
  }
  const trustLoc = get('ssl.truststore.location');
  if (trustLoc !== undefined) out.tlsCa = trustLoc;
  const trustInline = get('ssl.truststore.certificates');
  if (trustInline !== undefined) out.tlsCaPem = certificates(trustInline, where('ssl.truststore.certificates'));
  const ksLoc = get('ssl.keystore.location');
  if (ksLoc !== undefined) {
    const text = readText(ksLoc, where('ssl.keystore.location'));
    out.tlsCertPem = certificates(text, `the keystore ${ksLoc} (${where('ssl.keystore.location')})`);
    out.tlsKeyPem = privateKey(text, `the keystore ${ksLoc} (${where('ssl.keystore.location')})`);
  }
  const chain = get('ssl.keystore.certificate.chain');
  if (chain !== undefined) out.tlsCertPem = certificates(chain, where('ssl.keystore.certificate.chain'));
  const key = get('ssl.keystore.key');
  if (key !== undefined) out.tlsKeyPem = privateKey(key, where('ssl.keystore.key'));
  out.tlsKeyPassword = get('ssl.key.password');
  const ident = props.get('ssl.endpoint.identification.algorithm');
  if (ident !== undefined) {
    if (ident.trim() === '') out.tlsSkipHostnameCheck = true;
    else if (ident.trim().toLowerCase() !== 'https') throw invalid(`${where('ssl.endpoint.identification.algorithm')} is "${ident}": use https (check the broker's name, the default) or an empty value (do not).`);
  }

  const mech = get('sasl.mechanism');
  if (mech !== undefined) out.saslMechanism = mech;
  const jaas = get('sasl.jaas.config');
  if (jaas !== undefined) {
    const { loginModule, options } = parseJaasConfig(jaas);
    const cls = loginModule.split('.').pop()!;
    if (cls === 'ScramLoginModule' || cls === 'PlainLoginModule') {
      out.saslUsername = options.get('username');
      out.saslPassword = options.get('password');
    } else if (cls === 'OAuthBearerLoginModule') {
      // Tokens come from a file (--sasl-token-file); the login module's own options configure Java's unsecured or OIDC logins.
    } else if (cls === 'Krb5LoginModule') {
      throw invalid(`${where('sasl.jaas.config')} uses Kerberos (Krb5LoginModule, GSSAPI), which this client does not support: use SCRAM-SHA-512 or PLAIN over SASL_SSL.`);
    } else {
      throw invalid(`${where('sasl.jaas.config')} names the login module ${loginModule}: supported are ScramLoginModule and PlainLoginModule (username="..." password="...").`);
    }
  }
  if (get('sasl.oauthbearer.token.endpoint.url') !== undefined) {
    throw invalid(`${where('sasl.oauthbearer.token.endpoint.url')}: fetching OAUTHBEARER tokens from an identity provider is not supported; put the token in a file and give --sasl-token-file (or RIVULET_SASL_TOKEN).`);
  }
  for (const k of props.keys()) {
    if (/^ssl\.(keymanager|trustmanager)\.algorithm$|^ssl\.engine\.factory\.class$|^ssl\.provider$|^sasl\.client\.callback\.handler\.class$/.test(k)) {
      throw invalid(`${where(k)} is not supported: this client uses Node's TLS with PEM files (ssl.truststore.location, ssl.keystore.location with type PEM) and the built-in SASL mechanisms.`);
    }
  }
  return out;
}

/** Reads and parses a Kafka client properties file into inputs. */
export function readCommandConfig(file: string, name = DEFAULT_SECURITY_NAMES.commandConfig): ReturnType<typeof securityFromProperties> {
  return securityFromProperties(parseProperties(readText(file, name)), file);
}

// ---- resolution ----

function choice<T extends string>(v: string, allowed: readonly T[], name: string): T {
  const u = v.trim().toUpperCase();
  if (u === 'GSSAPI') throw invalid(`${name} GSSAPI (Kerberos) is not supported by this client: use SCRAM-SHA-512 or PLAIN over SASL_SSL.`);
  if (!(allowed as readonly string[]).includes(u)) throw invalid(`${name} must be one of ${allowed.join(', ')}, not "${v}".`);
  return u as T;
}

/**
 * Resolves the inputs (and the properties file they name) into one Security. Explicit inputs
 * win over the file. Without a protocol anywhere, TLS inputs imply SSL and SASL inputs imply
 * SASL (SASL_SSL with TLS inputs); none at all means PLAINTEXT.
 */
export function resolveSecurity(input: SecurityInput, names: SecurityNames = DEFAULT_SECURITY_NAMES): Security {
  const file = input.commandConfig ? readCommandConfig(input.commandConfig, names.commandConfig) : {};
  const pick = <K extends keyof SecurityInput>(k: K): SecurityInput[K] => (input[k] !== undefined && input[k] !== '' ? input[k] : (file as SecurityInput)[k]);

  const caFile = pick('tlsCa');
  const certFile = input.tlsCert;
  const keyFile = input.tlsKey;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw invalid(`a client certificate needs its key: give both ${names.tlsCert} and ${names.tlsKey}.`);
  }
  let ca = caFile !== undefined ? certificates(readText(caFile, names.tlsCa), `${names.tlsCa} ${caFile}`) : undefined;
  if (input.tlsCa === undefined && 'tlsCaPem' in file && file.tlsCaPem) ca = (ca ?? '') + file.tlsCaPem;
  let cert = certFile !== undefined ? certificates(readText(certFile, names.tlsCert), `${names.tlsCert} ${certFile}`) : undefined;
  let key = keyFile !== undefined ? privateKey(readText(keyFile, names.tlsKey), `${names.tlsKey} ${keyFile}`) : undefined;
  if (cert === undefined && 'tlsCertPem' in file) {
    cert = file.tlsCertPem;
    key = file.tlsKeyPem;
    if ((cert === undefined) !== (key === undefined)) {
      throw invalid(`${input.commandConfig} gives a client ${cert === undefined ? 'key' : 'certificate'} without its ${cert === undefined ? 'certificate (ssl.keystore.certificate.chain)' : 'key (ssl.keystore.key)'}.`);
    }
  }
  const tlsGiven = ca !== undefined || cert !== undefined || pick('tlsServerName') !== undefined || pick('tlsSkipHostnameCheck') === true;

  const mechanismText = pick('saslMechanism');
  const username = pick('saslUsername');
  let password = input.saslPassword;
  if (input.saslPasswordFile !== undefined) password = readSecretFile(input.saslPasswordFile, names.saslPassword);
  if ((password === undefined || password === '') && file.saslPassword !== undefined) {
    // The file's password belongs to the file's user: never send it as another one.
    const flagUser = input.saslUsername;
    if (flagUser !== undefined && flagUser !== '' && file.saslUsername !== undefined && file.saslUsername !== flagUser) {
      throw invalid(`${names.saslUsername} names "${flagUser}", but the password in ${input.commandConfig} is "${file.saslUsername}"'s: give ${names.saslPassword} for "${flagUser}".`);
    }
    password = file.saslPassword;
  }
  let tokenSource: (() => string) | undefined;
  if (input.saslTokenFile !== undefined) {
    const f = input.saslTokenFile;
    readSecretFile(f, names.saslToken);
    tokenSource = () => readSecretFile(f, names.saslToken);
  } else if (input.saslToken) {
    const t = input.saslToken;
    tokenSource = () => t;
  }
  // A token counts as a SASL option too: given alone it is an error that says what is missing, never silently ignored.
  const saslGiven = mechanismText !== undefined || username !== undefined || tokenSource !== undefined;

  const fromFile = (k: keyof SecurityInput, flag: string, prop: string): string => (input[k] !== undefined && input[k] !== '' ? flag : `${prop} in ${input.commandConfig}`);
  const protocolText = pick('securityProtocol');
  const protocol: SecurityProtocol = protocolText !== undefined
    ? choice(protocolText, SecurityProtocols, fromFile('securityProtocol', names.securityProtocol, 'security.protocol'))
    : saslGiven ? (tlsGiven ? 'SASL_SSL' : 'SASL_PLAINTEXT') : tlsGiven ? 'SSL' : 'PLAINTEXT';
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';

  if (!usesTls && tlsGiven) {
    throw invalid(`TLS options were given but ${names.securityProtocol} is ${protocol}: use ${protocol === 'PLAINTEXT' ? 'SSL' : 'SASL_SSL'} to connect with TLS.`);
  }
  if (!usesSasl && saslGiven) {
    throw invalid(`SASL options were given but ${names.securityProtocol} is ${protocol}: use ${protocol === 'SSL' ? 'SASL_SSL' : 'SASL_PLAINTEXT or SASL_SSL'} to authenticate with SASL.`);
  }

  const out: Security = { protocol };
  if (usesTls && key !== undefined && /ENCRYPTED/.test(key.split('\n', 3).join('\n')) && pick('tlsKeyPassword') === undefined) {
    throw invalid(`the client's private key is encrypted: give its password as ${names.tlsKeyPassword}.`);
  }
  if (usesTls) {
    out.tls = {
      ca,
      cert,
      key,
      passphrase: pick('tlsKeyPassword'),
      serverName: pick('tlsServerName'),
      checkHostname: pick('tlsSkipHostnameCheck') !== true,
    };
  }
  if (usesSasl) {
    if (mechanismText === undefined) {
      throw invalid(`${protocol} needs a SASL mechanism: give ${names.saslMechanism} (${SaslMechanisms.join(', ')}).`);
    }
    const mechanism = choice(mechanismText, SaslMechanisms, fromFile('saslMechanism', names.saslMechanism, 'sasl.mechanism'));
    if (mechanism === 'OAUTHBEARER') {
      if (!tokenSource) throw invalid(`OAUTHBEARER needs a token: give ${names.saslToken}.`);
      out.sasl = { mechanism, token: tokenSource };
    } else {
      if (username === undefined) throw invalid(`${mechanism} needs a username: give ${names.saslUsername}.`);
      if (password === undefined || password === '') throw invalid(`${mechanism} needs the password of "${username}": give ${names.saslPassword}.`);
      out.sasl = { mechanism, username, password };
    }
  }
  return out;
}

/** The TLS and SASL options of @platformatic/kafka for a resolved Security (none for PLAINTEXT). */
export function securityClientOptions(s: Security | undefined): { tls?: TlsOptions; sasl?: { mechanism: SaslMechanism; username?: string; password?: string; token?: () => string } } {
  if (!s) return {};
  const out: ReturnType<typeof securityClientOptions> = {};
  if (s.tls) {
    const t = s.tls;
    const tls: TlsOptions = {};
    if (t.ca !== undefined) tls.ca = t.ca;
    if (t.cert !== undefined) tls.cert = t.cert;
    if (t.key !== undefined) tls.key = t.key;
    if (t.passphrase !== undefined) tls.passphrase = t.passphrase;
    if (t.serverName !== undefined) tls.servername = t.serverName;
    // The chain is always verified; only the name check can be turned off (ssl.endpoint.identification.algorithm=).
    if (!t.checkHostname) tls.checkServerIdentity = () => undefined;
    out.tls = tls;
  }
  if (s.sasl) out.sasl = { ...s.sasl };
  return out;
}

/** A short description for messages, e.g. "SASL_SSL, SCRAM-SHA-512 as alice". */
export function describeSecurity(s: Security | undefined): string {
  if (!s) return 'PLAINTEXT';
  if (!s.sasl) return s.protocol;
  return `${s.protocol}, ${s.sasl.mechanism}${s.sasl.username !== undefined ? ` as ${s.sasl.username}` : ''}`;
}
