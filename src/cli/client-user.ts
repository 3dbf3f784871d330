// The work behind `rivulet user ...` (see user.ts): SCRAM credentials through src/client/scram.ts
// over the Admin's connection. Loaded only when a user command runs.

import { withAdmin } from '../client/admin.js';
import { findProtocolError } from '../client/errors.js';
import { readSecretFile } from '../client/security.js';
import { deleteScramCredentials, describeScramUsers, parseScramMechanism, upsertScramCredential, SCRAM_MECHANISMS, type ScramMechanismName } from '../client/scram.js';
import { CliError, connection, usageError, type ClientFlags } from './client-common.js';

export interface CreateUserFlags extends ClientFlags {
  mechanism: string;
  iterations: number;
  passwordFile?: string;
}

export interface DeleteUserFlags extends ClientFlags {
  mechanism?: string;
  ifExists?: boolean;
}

function checkUserName(name: string): void {
  if (name === '' || /[\s,=]/.test(name) || Buffer.byteLength(name) > 1024) {
    throw usageError(`invalid user name "${name}": use a non-empty name without spaces, commas or "=".`);
  }
}

/** Reads a line from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let s = '';
      const onData = (chunk: string): void => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(s);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            reject(new CliError('cancelled.'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1);
          else s += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/** The new password: --password-file, RIVULET_USER_PASSWORD, or asked twice on a terminal. */
export async function newPassword(name: string, o: { passwordFile?: string }, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (o.passwordFile !== undefined) return readSecretFile(o.passwordFile, '--password-file');
  if (env.RIVULET_USER_PASSWORD) return env.RIVULET_USER_PASSWORD;
  if (!process.stdin.isTTY) {
    throw usageError(`no password for "${name}": give --password-file FILE or set RIVULET_USER_PASSWORD (the password is never taken on the command line).`);
  }
  const first = await promptHidden(`New password for ${name}: `);
  if (first === '') throw usageError('the password must not be empty.');
  const again = await promptHidden('Again: ');
  if (again !== first) throw usageError('the two passwords differ; nothing was changed.');
  return first;
}

export async function createUser(name: string, o: CreateUserFlags): Promise<number> {
  checkUserName(name);
  const mechanism = parseScramMechanism(o.mechanism, '--mechanism');
  const password = await newPassword(name, o);
  return withAdmin(connection(o), async (admin) => {
    const existed = await hasCredential(admin, name, mechanism);
    try {
      await upsertScramCredential(admin, name, mechanism, password, o.iterations);
    } catch (e) {
      const bad = findProtocolError(e, 'UNACCEPTABLE_CREDENTIAL', 'UNSUPPORTED_SASL_MECHANISM');
      if (bad) throw new CliError(`the cluster refused the credential of "${name}" (${bad.apiId}${bad.serverErrorMessage ? `: ${bad.serverErrorMessage}` : ''}).`, { cause: e });
      throw e;
    }
    process.stdout.write(`${existed ? 'updated' : 'created'} user "${name}" (${mechanism}, ${o.iterations} iterations)\n`);
    return 0;
  });
}

async function hasCredential(admin: Parameters<Parameters<typeof withAdmin>[1]>[0], name: string, mechanism: ScramMechanismName): Promise<boolean> {
  try {
    const [u] = await describeScramUsers(admin, [name]);
    return u?.credentials.some((c) => c.mechanism === mechanism) ?? false;
  } catch (e) {
    if (findProtocolError(e, 'RESOURCE_NOT_FOUND')) return false;
    throw e;
  }
}

export async function listUsers(o: ClientFlags & { json?: boolean }): Promise<number> {
  return withAdmin(connection(o), async (admin) => {
    const users = await describeScramUsers(admin);
    if (o.json) {
      process.stdout.write(`${JSON.stringify(users)}\n`);
      return 0;
    }
    for (const u of users) {
      process.stdout.write(`${u.user}\t${u.credentials.map((c) => `${c.mechanism} (${c.iterations} iterations)`).join(', ')}\n`);
    }
    return 0;
  });
}

export async function deleteUser(name: string, o: DeleteUserFlags): Promise<number> {
  checkUserName(name);
  const only = o.mechanism !== undefined ? parseScramMechanism(o.mechanism, '--mechanism') : undefined;
  return withAdmin(connection(o), async (admin) => {
    let have: ScramMechanismName[] = [];
    try {
      const [u] = await describeScramUsers(admin, [name]);
      have = (u?.credentials ?? []).map((c) => c.mechanism).filter((m): m is ScramMechanismName => (SCRAM_MECHANISMS as string[]).includes(m));
    } catch (e) {
      if (!findProtocolError(e, 'RESOURCE_NOT_FOUND')) throw e;
    }
    const targets = only ? have.filter((m) => m === only) : have;
    if (targets.length === 0) {
      const what = only ? `no ${only} credential` : 'no SCRAM credentials';
      if (o.ifExists) {
        process.stderr.write(`user "${name}" has ${what}; nothing to do (--if-exists)\n`);
        return 0;
      }
      throw new CliError(`user "${name}" has ${what} (list users with: rivulet user list; add --if-exists to accept that).`);
    }
    await deleteScramCredentials(admin, name, targets);
    process.stdout.write(`deleted ${targets.join(' and ')} credential${targets.length > 1 ? 's' : ''} of user "${name}"\n`);
    return 0;
  });
}
