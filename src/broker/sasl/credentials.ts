// Users' SCRAM credentials (salt, iterations, stored key, server key per mechanism; never a
// password), kept in scram-credentials.json in the data directory. Every change is written
// whole (atomicWrite: temporary file, fsync, rename, directory fsync) before it is applied
// in memory and answered, one change at a time, so a crash right after an answer keeps it.
// The broker reads the file at start; `rivulet storage add-scram` writes it offline.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, RivuletError } from '../meta-store.js';
import type { ScramCredential, ScramCredentialSource } from './scram.js';

export const CREDENTIALS_FILE = 'scram-credentials.json';

interface StoredCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

interface StoredFile {
  version: 1;
  /** user -> mechanism -> credential. */
  users: Record<string, Record<string, StoredCredential>>;
}

/** One change of an alter: a credential set, or removed (credential null). */
export interface CredentialChange {
  readonly user: string;
  readonly mechanism: string;
  readonly credential: ScramCredential | null;
}

function decode(c: StoredCredential): ScramCredential {
  return { salt: Buffer.from(c.salt, 'base64'), iterations: c.iterations, storedKey: Buffer.from(c.storedKey, 'base64'), serverKey: Buffer.from(c.serverKey, 'base64') };
}

function encode(c: ScramCredential): StoredCredential {
  return { salt: c.salt.toString('base64'), iterations: c.iterations, storedKey: c.storedKey.toString('base64'), serverKey: c.serverKey.toString('base64') };
}

export class ScramCredentialStore implements ScramCredentialSource {
  private users = new Map<string, Map<string, ScramCredential>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataDir: string) {}

  /** Reads the file (none: no users). A damaged file stops the start: logins must not silently fail. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(join(this.dataDir, CREDENTIALS_FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    let parsed: StoredFile;
    try {
      parsed = JSON.parse(text) as StoredFile;
      if (parsed === null || typeof parsed.users !== 'object') throw new Error('no "users" object');
    } catch (e) {
      throw new RivuletError('RIV_ERR_CREDENTIALS', `${CREDENTIALS_FILE} in ${this.dataDir} cannot be read: ${(e as Error).message}. Restore it from a backup, or remove it and create the users again (rivulet storage add-scram)`, { cause: e });
    }
    const users = new Map<string, Map<string, ScramCredential>>();
    for (const [user, mechs] of Object.entries(parsed.users)) {
      const m = new Map<string, ScramCredential>();
      for (const [mech, c] of Object.entries(mechs)) m.set(mech, decode(c));
      if (m.size > 0) users.set(user, m);
    }
    this.users = users;
  }

  get(user: string, mechanism: string): ScramCredential | undefined {
    return this.users.get(user)?.get(mechanism);
  }

  /** The user's mechanisms and iterations; undefined for a user without credentials. */
  describe(user: string): Array<{ mechanism: string; iterations: number }> | undefined {
    const m = this.users.get(user);
    if (m === undefined) return undefined;
    return [...m].map(([mechanism, c]) => ({ mechanism, iterations: c.iterations }));
  }

  /** Every user with at least one credential. */
  userNames(): string[] {
    return [...this.users.keys()];
  }

  /**
   * Applies the changes once they are on disk; one alter at a time, each on top of the last.
   * Rejects (memory unchanged) when the file cannot be written.
   */
  alter(changes: readonly CredentialChange[]): Promise<void> {
    const run = this.queue.then(async () => {
      const next = new Map<string, Map<string, ScramCredential>>();
      for (const [u, m] of this.users) next.set(u, new Map(m));
      for (const ch of changes) {
        let m = next.get(ch.user);
        if (ch.credential === null) {
          m?.delete(ch.mechanism);
          if (m !== undefined && m.size === 0) next.delete(ch.user);
          continue;
        }
        if (m === undefined) next.set(ch.user, (m = new Map()));
        m.set(ch.mechanism, ch.credential);
      }
      await writeCredentials(this.dataDir, next);
      this.users = next;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

async function writeCredentials(dataDir: string, users: Map<string, Map<string, ScramCredential>>): Promise<void> {
  const file: StoredFile = { version: 1, users: {} };
  for (const [u, m] of users) {
    const mechs: Record<string, StoredCredential> = {};
    for (const [mech, c] of m) mechs[mech] = encode(c);
    file.users[u] = mechs;
  }
  await atomicWrite(dataDir, CREDENTIALS_FILE, JSON.stringify(file, null, 1) + '\n', 0o600);
}
