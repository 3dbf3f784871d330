// Users' SCRAM credentials (salt, iterations, stored key, server key per mechanism; never a
// password), kept in scram-credentials.json in the data directory. Every change is written
// whole (atomicWrite: temporary file, fsync, rename, directory fsync) before it is applied
// in memory and answered, one change at a time, so a crash right after an answer keeps it.
// The broker reads the file at start; `rivulet storage add-scram` writes it offline, and
// refuses while a broker holds the data directory's lock (meta-store.ts lockDataDir).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RivuletError, SerialJsonFile } from '../meta-store.js';
import { commonShape, type CredentialShape, type ScramCredential, type ScramCredentialSource } from './scram.js';

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
  /** mechanism -> shape of its stored credentials; recomputed when the users change. */
  private shapes = new Map<string, CredentialShape>();
  private readonly file: SerialJsonFile<StoredFile>;

  constructor(private readonly dataDir: string) {
    this.file = new SerialJsonFile<StoredFile>(dataDir, CREDENTIALS_FILE, 0o600);
  }

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
    this.setUsers(users);
  }

  private setUsers(users: Map<string, Map<string, ScramCredential>>): void {
    this.users = users;
    this.shapes.clear();
  }

  /** The most common salt form and iterations among the mechanism's credentials. */
  shape(mechanism: string): CredentialShape {
    let s = this.shapes.get(mechanism);
    if (s === undefined) {
      const all: ScramCredential[] = [];
      for (const m of this.users.values()) {
        const c = m.get(mechanism);
        if (c !== undefined) all.push(c);
      }
      this.shapes.set(mechanism, (s = commonShape(all)));
    }
    return s;
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
    return this.file.change(async (write) => {
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
      await write(toFile(next));
      this.setUsers(next);
    });
  }
}

/** The file's form. Objects without a prototype: a user named __proto__ is a key like any other. */
function toFile(users: Map<string, Map<string, ScramCredential>>): StoredFile {
  const file: StoredFile = { version: 1, users: Object.create(null) as StoredFile['users'] };
  for (const [u, m] of users) {
    const mechs = Object.create(null) as Record<string, StoredCredential>;
    for (const [mech, c] of m) mechs[mech] = encode(c);
    file.users[u] = mechs;
  }
  return file;
}
