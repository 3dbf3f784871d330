// What the broker keeps about itself beside the logs: its identity (meta.properties, as
// Kafka names it), the topic catalogue and the producer-id high mark (catalog.json).
// Every change is written to a temporary file, fsynced and renamed over the old one,
// so a crash leaves either the old catalogue or the new one.

import { open, readFile, rename, mkdir, access, constants, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface TopicRecord {
  name: string;
  id: string;
  partitions: number;
  configs: Record<string, string>;
}

export interface Catalog {
  topics: TopicRecord[];
  /** Producer ids below this may have been handed out; a restart continues above it. */
  producerIdHigh: number;
}

export class RivuletError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  constructor(code: string, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.retriable = options?.retriable ?? false;
  }
}

/** Writes `name` in `dir` whole or not at all: a temporary file, fsync, rename, directory fsync. `mode` for a new file (0o600 for secrets). */
let tmpCounter = 0;

export async function atomicWrite(dir: string, name: string, data: string, mode = 0o666): Promise<void> {
  // A name of its own per write (pid and a counter): two writers never share a temporary file.
  const tmp = join(dir, `${name}.${process.pid}.${++tmpCounter}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, name));
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** The lock file a running broker holds in its data directory: its pid. */
export const LOCK_FILE = '.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Which process a pid is, beyond its number (Linux: the boot id and the process's start time),
 * or '' where /proc cannot tell. A pid alive now but started at another time is another
 * process: in a container the broker is often pid 1, and after a crash the next container's
 * pid 1 (an init container's shell) would otherwise look like the lock's holder.
 */
async function processIdentity(pid: number): Promise<string> {
  try {
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return startTime === undefined ? '' : `${boot}:${startTime}`;
  } catch {
    return '';
  }
}

/**
 * The pid of the live process holding the data directory's lock, or null when none does
 * (no lock file, or one left by a process that is gone, its pid now another process's).
 */
export async function dataDirLockHolder(dataDir: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(join(dataDir, LOCK_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const [pidText, identity = ''] = text.split('\n');
  const pid = Number(pidText!.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return null;
  if (identity.trim() !== '') {
    const now = await processIdentity(pid);
    if (now !== '' && now !== identity.trim()) return null;
  }
  return pid;
}

/**
 * Takes the data directory's lock for this process: creates LOCK_FILE exclusively with our
 * pid (and, on Linux, which process that pid is). A lock whose process is gone (a crash,
 * kill -9) is taken over. One held by another live
 * process fails the start: two writers would lose each other's changes. This process's own
 * pid counts as free, so a broker restarted inside one process (tests) starts again.
 * Returns the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n${await processIdentity(process.pid)}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new RivuletError('RIV_ERR_DATA_DIR_LOCKED', `${dataDir} is locked by another process that took it at the same time; start one broker per data directory`);
        throw e;
      }
      const holder = await dataDirLockHolder(dataDir);
      if (holder !== null && holder !== process.pid) {
        throw new RivuletError('RIV_ERR_DATA_DIR_LOCKED', `${dataDir} is in use by another process (pid ${holder}, ${path}); run one broker per data directory, or stop the other one first`);
      }
      await unlink(path).catch(() => undefined); // stale: its process is gone
    }
  }
  return async () => {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (Number(text.split('\n')[0]) === process.pid) await unlink(path).catch(() => undefined);
  };
}

/** Creates the data directory if needed and fails with a clear error when it cannot be written. */
export async function prepareDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true });
    await access(dataDir, constants.W_OK | constants.R_OK | constants.X_OK);
    const probe = join(dataDir, '.write-probe');
    const fh = await open(probe, 'w');
    await fh.close();
    const { unlink } = await import('node:fs/promises');
    await unlink(probe);
  } catch (cause) {
    throw new RivuletError(
      'RIV_ERR_DATA_DIR',
      `The data directory ${dataDir} cannot be used: ${(cause as Error).message}. Point --data-dir (or RIVULET_DATA_DIR) at a directory this user can write.`,
      { cause },
    );
  }
}

export async function loadIdentity(dataDir: string, nodeId: number): Promise<{ clusterId: string; nodeId: number }> {
  const path = join(dataDir, 'meta.properties');
  let text: string | null = null;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (text !== null) {
    const props = Object.fromEntries(
      text.split('\n').filter((l) => l.includes('=') && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
    );
    const stored = Number(props['node.id']);
    if (props['cluster.id'] && Number.isInteger(stored)) {
      if (stored !== nodeId) {
        throw new RivuletError('RIV_ERR_NODE_ID', `The data directory ${dataDir} belongs to node ${stored}, not ${nodeId}. Start with --node-id ${stored} or use another data directory.`);
      }
      return { clusterId: props['cluster.id'], nodeId: stored };
    }
  }
  const clusterId = randomBytes(16).toString('base64url');
  await atomicWrite(dataDir, 'meta.properties', `# Rivulet broker identity\nversion=1\ncluster.id=${clusterId}\nnode.id=${nodeId}\n`);
  return { clusterId, nodeId };
}

export async function loadCatalog(dataDir: string): Promise<Catalog> {
  try {
    const c = JSON.parse(await readFile(join(dataDir, 'catalog.json'), 'utf8')) as Catalog;
    return { topics: c.topics ?? [], producerIdHigh: c.producerIdHigh ?? 0 };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { topics: [], producerIdHigh: 0 };
    throw new RivuletError('RIV_ERR_CATALOG', `catalog.json in ${dataDir} cannot be read: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Writes the catalogue, one write at a time. The catalogue is built when its write starts,
 * and callers that arrive while a write is in progress share the next one: a burst of N
 * changes (a Metadata request auto-creating thousands of topics) costs two writes, not N
 * writes of a growing file.
 */
export class CatalogWriter {
  private current: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly build: () => Catalog,
  ) {}

  save(): Promise<void> {
    if (this.queued !== null) return this.queued;
    const before = this.current ?? Promise.resolve();
    const write: Promise<void> = before
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        this.current = write;
        return atomicWrite(this.dataDir, 'catalog.json', JSON.stringify(this.build(), null, 1));
      });
    this.queued = write;
    write
      .finally(() => {
        if (this.current === write) this.current = null;
      })
      .catch(() => undefined);
    return write;
  }
}

/**
 * A JSON file in the data directory changed one change at a time: each change reads the
 * current state, writes the next one atomically (temporary file, fsync, rename, directory
 * fsync) and only then lets it take effect, so a failed write changes nothing and a crash
 * leaves the old file or the new one.
 */
export class SerialJsonFile<T> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dir: string,
    readonly name: string,
    /** File mode of a newly created file (0o600 for secrets such as SCRAM credentials). */
    private readonly mode = 0o666,
  ) {}

  /** The stored value, or null when the file does not exist. */
  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(join(this.dir, this.name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new RivuletError('RIV_ERR_DATA_FILE', `${this.name} in ${this.dir} is not valid JSON (${(e as Error).message}); restore it from a backup or remove it`, { cause: e });
    }
  }

  /** Runs `change` after the changes before it; it stores with `write` before its result takes effect. */
  change<R>(change: (write: (value: T) => Promise<void>) => Promise<R>): Promise<R> {
    const run = this.queue.then(() => change((value) => atomicWrite(this.dir, this.name, JSON.stringify(value), this.mode)));
    this.queue = run.catch(() => undefined);
    return run;
  }
}
