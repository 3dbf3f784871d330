// Connection options for any @platformatic/kafka client, from plain inputs (a bootstrap
// list and a client id), whatever interface collected them. Type-only import of the
// library: loading this module does not load the client.

import type { BaseOptions } from '@platformatic/kafka';
import { ClientError, ClientErrorCode } from './errors.js';
import { securityClientOptions, type Security } from './security.js';

export const DEFAULT_BOOTSTRAP = 'localhost:9092';

export interface Connection {
  /** "host:port,host:port" ("[::1]:9092" for IPv6). */
  bootstrap: string;
  clientId: string;
  /** How error messages name the bootstrap list (a flag, a setting); "bootstrap servers" by default. */
  bootstrapName?: string;
  /** TLS and SASL (see security.ts); PLAINTEXT when absent. */
  security?: Security;
}

/** Splits and checks a bootstrap list; a malformed one is a ClientError with code invalidArgument. */
export function parseBootstrap(value: string, name = 'bootstrap servers'): string[] {
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(s);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ClientError(`invalid ${name} entry "${s}": expected host:port, e.g. localhost:9092`, { code: ClientErrorCode.invalidArgument });
    }
    out.push(s);
  }
  if (out.length === 0) throw new ClientError(`${name} is empty: expected host:port[,host:port...]`, { code: ClientErrorCode.invalidArgument });
  return out;
}

/** Options for any @platformatic/kafka client; short retries so a dead address fails in seconds. */
export function baseClientOptions(c: Connection): BaseOptions {
  return {
    clientId: c.clientId,
    bootstrapBrokers: parseBootstrap(c.bootstrap, c.bootstrapName),
    connectTimeout: 5000,
    timeout: 30000,
    retries: 2,
    retryDelay: 250,
    ...securityClientOptions(c.security),
  };
}

/** Closes a client, ignoring errors (used on the way out). */
export async function closeQuietly(client: { close(): Promise<void> } | undefined): Promise<void> {
  if (!client) return;
  try {
    await client.close();
  } catch {
    // Nothing useful to do: the caller is leaving.
  }
}
