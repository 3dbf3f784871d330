// Listeners, as Kafka's `listeners`, `advertised.listeners` and `listener.security.protocol.map`
// describe them, and what an SSL listener needs: its TLS options from PEM files (reloaded when
// the files change), the principal of a client certificate, and the reason a handshake failed.

import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { BrokerConfig } from './config.js';
import { ConfigError } from './settings.js';
import type { Logger } from './logger.js';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

/** Whether a listener of this protocol speaks TLS (SSL, SASL_SSL). */
export function usesTls(p: SecurityProtocol): boolean {
  return p === 'SSL' || p === 'SASL_SSL';
}

/** Whether a listener of this protocol asks clients to log in with SASL. */
export function usesSasl(p: SecurityProtocol): boolean {
  return p === 'SASL_PLAINTEXT' || p === 'SASL_SSL';
}

export interface Listener {
  /** The listener's name (PLAINTEXT, SSL, INTERNAL, ...), as clients' Metadata is answered per listener. */
  readonly name: string;
  readonly protocol: SecurityProtocol;
  readonly host: string;
  /** The port asked for; 0 picks a free one. */
  readonly port: number;
  /** What clients that connect through this listener are told; port 0: the bound port. */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
}

const ENTRY = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:/]*):(\d+)$/;

function parseEndpoints(text: string, key: string): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = ENTRY.exec(entry);
    const port = m ? Number(m[3]) : -1;
    if (!m || port > 65535) throw new ConfigError(`${key}: "${entry}" is not NAME://host:port (e.g. PLAINTEXT://127.0.0.1:9092)`);
    const name = m[1]!.toUpperCase();
    if (out.has(name)) throw new ConfigError(`${key}: the listener name ${name} appears twice; each listener needs its own name`);
    out.set(name, { host: m[2]!.replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

function wildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::';
}

/** The listeners the configuration describes; throws ConfigError with what to fix. */
export function resolveListeners(c: BrokerConfig): Listener[] {
  const protocols = new Map<string, string>();
  for (const raw of c.listenerSecurityProtocolMap.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^([A-Za-z0-9_]+):([A-Za-z_]+)$/.exec(entry);
    if (!m) throw new ConfigError(`listener.security.protocol.map: "${entry}" is not NAME:PROTOCOL (e.g. SSL:SSL)`);
    protocols.set(m[1]!.toUpperCase(), m[2]!.toUpperCase());
  }
  if (c.listeners.trim() === '') {
    // The host/port settings: one PLAINTEXT listener, advertised as advertised.host/port say.
    const wild = wildcard(c.host);
    return [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: c.host, port: c.port, advertisedHost: c.advertisedHost || (wild ? 'localhost' : c.host), advertisedPort: c.advertisedPort }];
  }
  const bound = parseEndpoints(c.listeners, 'listeners');
  const adv = parseEndpoints(c.advertisedListeners, 'advertised.listeners');
  for (const name of adv.keys()) if (!bound.has(name)) throw new ConfigError(`advertised.listeners names ${name}, which is not in listeners (${c.listeners})`);
  const out: Listener[] = [];
  for (const [name, { host, port }] of bound) {
    const protocol = protocols.get(name);
    if (protocol === undefined) throw new ConfigError(`listener ${name} has no security protocol: add ${name}:PLAINTEXT, ${name}:SSL, ${name}:SASL_PLAINTEXT or ${name}:SASL_SSL to listener.security.protocol.map`);
    if (protocol !== 'PLAINTEXT' && protocol !== 'SSL' && protocol !== 'SASL_PLAINTEXT' && protocol !== 'SASL_SSL') {
      throw new ConfigError(`listener ${name}: unknown security protocol ${protocol} in listener.security.protocol.map (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)`);
    }
    if (usesTls(protocol) && (c.sslCertificateLocation === '' || c.sslKeyLocation === '')) {
      throw new ConfigError(`listener ${name} is ${protocol}: set ssl.certificate.location and ssl.key.location to the PEM files of the server certificate and key`);
    }
    if (usesSasl(protocol) && saslMechanismsOf(c, name).length === 0) {
      throw new ConfigError(`listener ${name} is ${protocol} but enables no SASL mechanism: set sasl.enabled.mechanisms (or listener.name.${name.toLowerCase()}.sasl.enabled.mechanisms), e.g. SCRAM-SHA-512`);
    }
    const a = adv.get(name);
    out.push({ name, protocol, host, port, advertisedHost: a?.host || (wildcard(host) ? 'localhost' : host), advertisedPort: a?.port ?? 0 });
  }
  return out;
}

/** The SASL mechanisms a listener enables: listener.name.<name>.sasl.enabled.mechanisms, else sasl.enabled.mechanisms. */
export function saslMechanismsOf(c: BrokerConfig, listener: string): string[] {
  return c.listenerSaslMechanisms[listener.toUpperCase()] ?? c.saslEnabledMechanisms;
}

/**
 * Whether a TLS listener asks for client certificates: listener.name.<name>.ssl.client.auth,
 * else ssl.client.auth on SSL listeners and none on SASL_SSL ones, whose SASL login names the
 * principal (Kafka's rule since KIP-684).
 */
export function clientAuthOf(c: BrokerConfig, l: Listener): 'none' | 'requested' | 'required' {
  return c.listenerSslClientAuth[l.name] ?? (l.protocol === 'SSL' ? c.sslClientAuth : 'none');
}

/** The TLS options of the SSL listeners, read from the PEM files now. */
export function tlsOptions(c: BrokerConfig): SecureContextOptions {
  const opts: SecureContextOptions = {
    cert: readFileSync(c.sslCertificateLocation),
    key: readFileSync(c.sslKeyLocation),
    minVersion: c.sslEnabledProtocols.includes('TLSv1.2') ? 'TLSv1.2' : 'TLSv1.3',
    maxVersion: c.sslEnabledProtocols.includes('TLSv1.3') ? 'TLSv1.3' : 'TLSv1.2',
  };
  if (c.sslKeyPassword !== '') opts.passphrase = c.sslKeyPassword;
  if (c.sslTruststoreLocation !== '') opts.ca = readFileSync(c.sslTruststoreLocation);
  return opts;
}

/**
 * Calls reload (debounced) when one of the TLS files changes. The directories are watched,
 * not the files: rotation tools (cert-manager's symlink swap, editors, `mv`) replace files.
 */
export function watchTlsFiles(c: BrokerConfig, logger: Logger, reload: () => void): FSWatcher[] {
  const files = [c.sslCertificateLocation, c.sslKeyLocation, c.sslTruststoreLocation].filter((f) => f !== '').map((f) => resolve(f));
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const d = dirname(f);
    if (!byDir.has(d)) byDir.set(d, new Set());
    byDir.get(d)!.add(basename(f));
  }
  let timer: NodeJS.Timeout | null = null;
  const changed = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      reload();
    }, 200);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        // A null name (some platforms), or a `..data` style symlink swap: reload to be sure.
        if (name === null || names.has(String(name)) || String(name).startsWith('..')) changed();
      });
      w.on('error', (e) => logger.warn('watching TLS files failed; certificates are no longer reloaded', { dir, error: e }));
      watchers.push(w);
    } catch (e) {
      logger.warn('cannot watch TLS files; certificates will not be reloaded when they change', { dir, error: e });
    }
  }
  return watchers;
}

/** RFC 2253 escaping of an attribute value, as Java's X500Principal.getName() writes it. */
function escapeDnValue(v: string): string {
  let s = v.replace(/([\\,+"<>;=])/g, '\\$1');
  if (s.startsWith(' ') || s.startsWith('#')) s = '\\' + s;
  if (s.endsWith(' ') && !s.endsWith('\\ ')) s = s.slice(0, -1) + '\\ ';
  return s;
}

/**
 * The subject DN of a verified client certificate in RFC 2253 form, most specific first
 * (CN=alice,OU=eng,O=acme), as Kafka's principal builder sees it; null when there is none.
 */
export function verifiedSubject(socket: TLSSocket): string | null {
  if (!socket.authorized) return null;
  const raw = socket.getPeerX509Certificate?.();
  if (!raw) return null;
  return subjectDn(raw);
}

/** The subject of a certificate in RFC 2253 form. Node lists it one RDN a line, least specific first. */
export function subjectDn(cert: X509Certificate): string {
  return cert.subject
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const i = l.indexOf('=');
      return `${l.slice(0, i)}=${escapeDnValue(l.slice(i + 1))}`;
    })
    .reverse()
    .join(',');
}

/** A bounded label for a failed handshake (rivulet_tls_handshake_failures_total{reason}). */
export function handshakeFailureReason(e: Error & { code?: string }): 'timeout' | 'not_tls' | 'bad_certificate' | 'protocol' | 'other' {
  // (acceptTls adds principal_mapping: a verified certificate no ssl.principal.mapping.rules rule matches.)
  const code = e.code ?? '';
  const msg = e.message ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout';
  if (/WRONG_VERSION_NUMBER|HTTP_REQUEST|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE/i.test(code + ' ' + msg)) return 'not_tls';
  if (/CERTIFICATE|PEER_DID_NOT_RETURN|CERT/i.test(code + ' ' + msg)) return 'bad_certificate';
  if (/PROTOCOL|VERSION|CIPHER|ALERT/i.test(code + ' ' + msg)) return 'protocol';
  return 'other';
}

/** One rule of ssl.principal.mapping.rules. */
interface MappingRule {
  /** null: DEFAULT, the DN as it is. */
  readonly whole: RegExp | null;
  readonly all: RegExp | null;
  readonly replacement: string;
  readonly caseChange: '' | 'L' | 'U';
}

// Kafka's grammar (SslPrincipalMapper): DEFAULT, or RULE:pattern/replacement/ with an optional L or U; `\/` escapes a slash.
const RULE_PATTERN = String.raw`(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?)|(.*?)`;
const RULE_SPLITTER = new RegExp(String.raw`\s*(${RULE_PATTERN})\s*(,\s*|$)`, 'g');

/**
 * ssl.principal.mapping.rules as a function of the subject DN: the first rule whose pattern
 * matches the whole DN gives the name (its replacement applied, then L lower- or U upper-cased);
 * null when no rule matches, which refuses the connection as Kafka does.
 */
export function principalMapper(rules: string): (dn: string) => string | null {
  const parsed: MappingRule[] = [];
  for (const m of rules.matchAll(RULE_SPLITTER)) {
    if (m[1] === '' || m[1] === undefined) continue;
    if (m[2] === 'DEFAULT') {
      parsed.push({ whole: null, all: null, replacement: '', caseChange: '' });
    } else if (m[3] !== undefined) {
      const pattern = m[3].replace(/\\\//g, '/');
      let whole: RegExp;
      let all: RegExp;
      try {
        whole = new RegExp(`^(?:${pattern})$`);
        all = new RegExp(pattern, 'g');
      } catch (e) {
        throw new ConfigError(`ssl.principal.mapping.rules: "${pattern}" is not a valid regular expression: ${(e as Error).message}`);
      }
      parsed.push({ whole, all, replacement: m[5]!.replace(/\\\//g, '/'), caseChange: (m[7] ?? '') as '' | 'L' | 'U' });
    } else {
      throw new ConfigError(`ssl.principal.mapping.rules: "${m[1]}" is not DEFAULT or RULE:pattern/replacement/[LU]`);
    }
  }
  if (parsed.length === 0) throw new ConfigError('ssl.principal.mapping.rules is empty; use DEFAULT');
  return (dn) => {
    for (const r of parsed) {
      if (r.whole === null) return dn;
      if (!r.whole.test(dn)) continue;
      const out = dn.replace(r.all!, r.replacement);
      return r.caseChange === 'L' ? out.toLowerCase() : r.caseChange === 'U' ? out.toUpperCase() : out;
    }
    return null;
  };
}
