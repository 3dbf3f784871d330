// An exclusive lock on a task's state directory, so two processes (or two worker threads of
// one process) never open the same task's stores. The lock is a file created with O_EXCL
// that names its owner (host, pid and the process's start time). A lock whose owner is gone
// (SIGKILLed, or its pid reused by another process since) is taken over, so a crash never
// blocks a restart. An owner on another host (a volume moved to a new pod) cannot be asked:
// holders touch their lock every REFRESH_MS, and one untouched for STALE_MS is taken over.

import { openSync, writeSync, closeSync, readFileSync, renameSync, unlinkSync, mkdirSync, statSync, utimes } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError, StoreErrorCode } from './errors.js';

export const LOCK_FILE = '.lock';
/** How often a holder touches its lock, and how old a foreign host's untouched lock must be to be taken over. */
export const REFRESH_MS = 10_000;
export const STALE_MS = 60_000;

interface Owner {
  pid: number;
  /** Start time of the process (clock ticks since boot, /proc/<pid>/stat), when known. */
  start: string | null;
  host: string;
  thread: number;
}

/** The start time of a process, or null when not knowable (not Linux, or no such process). */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), which is in parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return 'dead';
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

const ownStart = processStart(process.pid);

/** Milliseconds since the lock file was last touched (Infinity if it is gone). */
function lockAge(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

function ownerAlive(o: Owner, path: string): boolean {
  if (o.host !== hostname()) return lockAge(path) < STALE_MS;
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = processStart(o.pid);
  if (start === 'dead') return false; // a zombie: killed, not yet reaped by its parent
  // The pid is alive: the owner unless it was reused by a process started at another time.
  return o.start === null || start === null || o.start === start;
}

function readOwner(path: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Owner;
    return typeof o.pid === 'number' ? o : null;
  } catch {
    return null;
  }
}

/** A held lock; release() removes the file. */
export class DirLock {
  private released = false;
  private readonly refresh: NodeJS.Timeout;
  private constructor(readonly path: string) {
    this.refresh = setInterval(() => {
      const now = new Date();
      utimes(path, now, now, () => {}); // a failure shows as a stale lock to other hosts only
    }, REFRESH_MS);
    this.refresh.unref();
  }

  /** Takes the lock on `dir` (created if missing), or fails with RIV_ERR_STORE_LOCKED naming the holder. */
  static async acquire(dir: string): Promise<DirLock> {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, LOCK_FILE);
    const me: Owner = { pid: process.pid, start: ownStart, host: hostname(), thread: threadId };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, JSON.stringify(me));
        } finally {
          closeSync(fd);
        }
        return new DirLock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = readOwner(path);
      // An unreadable lock is one being written right now, or torn by a crash while written:
      // treat it as held unless it stays unreadable (then the next attempt takes it over).
      if (owner !== null && ownerAlive(owner, path)) {
        const who =
          owner.host !== hostname()
            ? `process ${owner.pid} on host ${owner.host} (its lock was touched ${Math.round(lockAge(path) / 1000)} s ago; one untouched for ${STALE_MS / 1000} s is taken over)`
            : owner.pid === process.pid
              ? `this process (pid ${owner.pid}, thread ${owner.thread})`
              : `process ${owner.pid}`;
        throw new StoreError(
          `state directory ${dir} is in use by ${who}: a task's state belongs to one worker at a time. ` +
            'Stop the other worker, or give this one a state directory of its own.',
          StoreErrorCode.locked,
        );
      }
      if (owner === null && attempt < 2) {
        await sleep(50);
        continue;
      }
      // The owner is dead: move its lock aside (only one contender wins the rename), and make
      // sure what we moved is still the dead owner's lock before deleting it.
      const aside = `${path}.stale-${process.pid}-${threadId}`;
      try {
        renameSync(path, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const moved = readOwner(aside);
      if (moved !== null && ownerAlive(moved, aside)) {
        // Another contender took over between our read and our rename: give its lock back.
        renameSync(aside, path);
        continue;
      }
      unlinkSync(aside);
    }
    throw new StoreError(`could not take the lock ${path}: it keeps changing hands; is another worker starting on the same task?`, StoreErrorCode.locked);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.refresh);
    try {
      unlinkSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
