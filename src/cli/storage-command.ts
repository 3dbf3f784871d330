// `rivulet storage add-scram`: writes users' SCRAM credentials into a data directory while no
// broker runs on it, as Kafka's `kafka-storage format --add-scram` does, so the first
// (admin) user exists before the first start of a broker whose listeners all need a login.
// Once the broker runs, credentials change through AlterUserScramCredentials (kafka-configs
// --alter --entity-type users). The work is imported when the command runs, so start stays fast.

import type { Command } from 'commander';

interface AddScramFlags {
  dataDir?: string;
  passwordFile?: string;
  passwordEnv?: string;
}

const FORMAT = "MECHANISM=[name=NAME,password=PASSWORD,iterations=N] (e.g. 'SCRAM-SHA-512=[name=admin,password=admin-secret]')";

/** One credential argument, parsed. */
export interface ScramSpec {
  mechanism: string;
  name: string;
  password: string | undefined;
  iterations: number;
}

/** Parses Kafka's `MECHANISM=[name=...,password=...,iterations=...]`; throws Error with what to fix. */
export function parseScramSpec(arg: string): ScramSpec {
  const m = /^(SCRAM-SHA-256|SCRAM-SHA-512)=\[(.*)\]$/s.exec(arg.trim());
  if (m === null) throw new Error(`"${arg.replace(/password=[^,\]]*/g, 'password=***')}" is not ${FORMAT}; the mechanism is SCRAM-SHA-256 or SCRAM-SHA-512`);
  const spec: ScramSpec = { mechanism: m[1]!, name: '', password: undefined, iterations: 4096 };
  // A comma splits only before a known key, so a password may hold commas, but not
  // ",name=", ",password=" or ",iterations=": such a password is split, and a key then
  // appears twice, which is refused (give that password with --password-file or --password-env).
  const seen = new Set<string>();
  for (const part of m[2]!.split(/,(?=(?:name|password|iterations)=)/)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (seen.has(key)) {
      throw new Error(`${key}= appears twice in ${spec.mechanism}=[...]: each key once; a password that holds ",name=", ",password=" or ",iterations=" cannot be given inline, give it with --password-file or --password-env`);
    }
    seen.add(key);
    if (key === 'name') spec.name = value;
    else if (key === 'password') spec.password = value;
    else if (key === 'iterations') {
      if (!/^\d+$/.test(value) || Number(value) < 4096 || Number(value) > 16384) throw new Error(`iterations=${value}: must be an integer from 4096 to 16384`);
      spec.iterations = Number(value);
    } else {
      // Only the key is echoed, never what follows "=": a mistyped "pasword=" holds a password.
      const shown = /^[A-Za-z._-]{1,20}$/.test(key) ? `unknown key "${key}"` : 'a part that is not name=, password= or iterations=';
      throw new Error(`${shown} in ${spec.mechanism}=[...]: use name, password and iterations`);
    }
  }
  if (spec.name === '') throw new Error(`${spec.mechanism}=[...] names no user: add name=NAME`);
  return spec;
}

export function registerStorageCommands(program: Command): void {
  const storage = program.command('storage').description('work on a data directory while no broker runs on it');
  storage
    .command('add-scram')
    .description('add or replace users\' SCRAM credentials in a data directory before the broker starts (as kafka-storage format --add-scram); refused while a broker runs on the directory: use rivulet user create or kafka-configs --alter --entity-type users against it instead')
    .argument('<credential...>', FORMAT)
    .option('-d, --data-dir <dir>', 'data directory [RIVULET_DATA_DIR or ./data]')
    .option('--password-file <file>', 'read the password of every credential that names none from this file (all of it but a trailing newline), e.g. a mounted Kubernetes Secret')
    .option('--password-env <variable>', 'read the password of every credential that names none from this environment variable')
    .addHelpText('after', [
      '',
      'Examples:',
      "  rivulet storage add-scram -d /var/lib/rivulet --password-file /etc/rivulet/admin-password 'SCRAM-SHA-512=[name=admin,iterations=8192]'",
      "  ADMIN_PASSWORD=... rivulet storage add-scram --password-env ADMIN_PASSWORD 'SCRAM-SHA-256=[name=admin]' 'SCRAM-SHA-512=[name=admin]'",
      "  rivulet storage add-scram -d ./data 'SCRAM-SHA-512=[name=admin,password=admin-secret]'   (Kafka's form; the password shows in ps and shell history)",
      '',
      'Only the salt, iterations and derived keys are stored (scram-credentials.json), never the password.',
      'PLAIN logins check the password against these credentials too.',
    ].join('\n'))
    .action(async (args: string[], o: AddScramFlags) => {
      const { mkdir } = await import('node:fs/promises');
      const { ScramCredentialStore } = await import('../broker/sasl/credentials.js');
      const { newCredential, scramType } = await import('../broker/sasl/scram.js');
      const specs = args.map(parseScramSpec);
      let fallback: string | undefined;
      if (o.passwordFile !== undefined && o.passwordEnv !== undefined) throw new Error('give --password-file or --password-env, not both');
      if (o.passwordFile !== undefined) {
        // Read as every password file of the CLI is (the whole file but one trailing newline), so
        // the credential stored here matches the password clients send from the same file.
        const { readSecretFile } = await import('../client/security.js');
        fallback = readSecretFile(o.passwordFile, '--password-file');
      } else if (o.passwordEnv !== undefined) {
        fallback = process.env[o.passwordEnv];
        if (fallback === undefined) throw new Error(`--password-env ${o.passwordEnv}: the environment variable is not set`);
      }
      if (fallback === '') throw new Error('the password given by --password-file or --password-env is empty');
      const dataDir = o.dataDir ?? process.env.RIVULET_DATA_DIR ?? './data';
      await mkdir(dataDir, { recursive: true });
      // A running broker holds the data directory's lock and rewrites the file from memory:
      // writing beside it would lose users. Hold the lock ourselves while writing.
      const { lockDataDir, RivuletError } = await import('../broker/meta-store.js');
      let unlock: () => Promise<void>;
      try {
        unlock = await lockDataDir(dataDir);
      } catch (e) {
        if ((e as { code?: string }).code !== 'RIV_ERR_DATA_DIR_LOCKED') throw e;
        throw new RivuletError('RIV_ERR_DATA_DIR_LOCKED', `${(e as Error).message}. A broker runs on ${dataDir}: storage add-scram only works while none does; against a running broker create users with \`rivulet user create\` (or kafka-configs --alter --entity-type users), which use AlterUserScramCredentials`);
      }
      try {
        const store = new ScramCredentialStore(dataDir);
        await store.load();
        const changes = [];
        if (specs.some((s) => s.password !== undefined)) {
          process.stderr.write('rivulet: note: a password given inline shows in ps and shell history; prefer --password-file or --password-env\n');
        }
        for (const s of specs) {
          const password = s.password ?? fallback;
          if (password === undefined || password === '') throw new Error(`${s.mechanism}=[name=${s.name},...] has no password: add password=..., or give --password-file or --password-env`);
          changes.push({ user: s.name, mechanism: s.mechanism, credential: await newCredential(scramType(s.mechanism)!, password, s.iterations) });
        }
        await store.alter(changes);
        for (const s of specs) process.stdout.write(`${s.mechanism} credential of ${s.name} stored in ${dataDir} (${s.iterations} iterations)\n`);
      } finally {
        await unlock();
      }
    });
}
