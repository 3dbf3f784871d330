// LmdbStore: the store contract, plus what only a store on disk has: the task directory's
// lock (held by a live process: refused; left by a SIGKILLed one: taken over), the key size
// limit, and use after close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { writeFileSync, mkdirSync, existsSync, utimesSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LmdbStoreFactory, MAX_KEY_BYTES } from '../../../src/stream/state/lmdb-store.js';
import { LOCK_FILE, REFRESH_MS, STALE_MS } from '../../../src/stream/state/dir-lock.js';
import { makeTempDir, withTempDir } from '../../helpers/temp.js';
import { storeContract } from './store-contract.js';

storeContract('LmdbStore', async () => {
  const dir = await makeTempDir('rivulet-lmdb-store-');
  return { factory: new LmdbStoreFactory({ stateDir: dir, application: 'app' }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

const storeModule = fileURLToPath(new URL('../../../src/stream/state/lmdb-store.js', import.meta.url));

/** A child process that opens task 0_0's store, commits one key, says "open" and waits. */
function holder(stateDir: string): ReturnType<typeof spawn> {
  const code = `
    const { LmdbStoreFactory } = await import(${JSON.stringify(storeModule)});
    const st = await new LmdbStoreFactory({ stateDir: ${JSON.stringify(stateDir)}, application: 'app' }).open('0_0', 'st');
    st.put(Buffer.from('k'), Buffer.from('from the child'));
    await st.commit(5n);
    process.stdout.write('open\\n');
    setInterval(() => {}, 1000);`;
  return spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
}

test('a task directory held by a live process is refused with a clear error; after that process is SIGKILLed it opens', async () => {
  await withTempDir(async (dir) => {
    const child = holder(dir);
    try {
      const [line] = await once(child.stdout!, 'data');
      assert.equal(String(line).trim(), 'open');
      const factory = new LmdbStoreFactory({ stateDir: dir, application: 'app' });
      await assert.rejects(factory.open('0_0', 'other'), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'RIV_ERR_STORE_LOCKED');
        assert.match(e.message, new RegExp(`in use by process ${child.pid}`));
        return true;
      });
      child.kill('SIGKILL');
      await once(child, 'exit');
      const st = await factory.open('0_0', 'st');
      try {
        assert.equal(st.checkpoint(), 5n);
        assert.equal(st.get(Buffer.from('k'))?.toString(), 'from the child');
      } finally {
        await st.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 'rivulet-lmdb-lock-');
});

test('a lock left by a process that no longer runs is taken over; close releases the lock', async () => {
  await withTempDir(async (dir) => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const taskDir = join(dir, 'app', '0_0');
    mkdirSync(taskDir, { recursive: true });
    writeFileSync(join(taskDir, LOCK_FILE), JSON.stringify({ pid: Number(gone.stdout), start: null, host: hostname(), thread: 0 }));
    const factory = new LmdbStoreFactory({ stateDir: dir, application: 'app' });
    const st = await factory.open('0_0', 'st');
    await st.close();
    assert.equal(existsSync(join(taskDir, LOCK_FILE)), false);
  }, 'rivulet-lmdb-lock-');
});

test('a lock whose pid now belongs to another process (started at another time) is taken over', async () => {
  await withTempDir(async (dir) => {
    const taskDir = join(dir, 'app', '0_0');
    mkdirSync(taskDir, { recursive: true });
    // Our own pid, with a start time it never had: the pid was reused since the owner died.
    writeFileSync(join(taskDir, LOCK_FILE), JSON.stringify({ pid: process.pid, start: '1', host: hostname(), thread: 0 }));
    const st = await new LmdbStoreFactory({ stateDir: dir, application: 'app' }).open('0_0', 'st');
    await st.close();
  }, 'rivulet-lmdb-lock-');
});

test('two factories in one process (two workers) do not share a task', async () => {
  await withTempDir(async (dir) => {
    const one = await new LmdbStoreFactory({ stateDir: dir, application: 'app' }).open('0_0', 'st');
    try {
      await assert.rejects(new LmdbStoreFactory({ stateDir: dir, application: 'app' }).open('0_0', 'st'), /in use by this process/);
    } finally {
      await one.close();
    }
    const again = await new LmdbStoreFactory({ stateDir: dir, application: 'app' }).open('0_0', 'st');
    await again.close();
  }, 'rivulet-lmdb-lock-');
});

test('a key longer than LMDB holds is refused when written, naming the limit; use after close is an error', async () => {
  await withTempDir(async (dir) => {
    const st = await new LmdbStoreFactory({ stateDir: dir, application: 'app' }).open('0_0', 'st');
    const long = Buffer.alloc(MAX_KEY_BYTES + 1, 1);
    assert.throws(() => st.put(long, Buffer.from('v')), (e: Error & { code?: string }) => e.code === 'RIV_ERR_STORE_KEY_TOO_LONG' && e.message.includes(String(MAX_KEY_BYTES)));
    const longest = Buffer.alloc(MAX_KEY_BYTES, 2);
    st.put(longest, Buffer.from('v'));
    await st.commit(1n);
    assert.equal(st.get(longest)?.toString(), 'v');
    assert.equal(st.get(long), undefined);
    await st.close();
    assert.throws(() => st.get(longest), /closed/);
  }, 'rivulet-lmdb-limits-');
});

test('task ids and store names that are not one directory name are refused', async () => {
  const factory = new LmdbStoreFactory({ stateDir: '/nonexistent', application: 'app' });
  await assert.rejects(factory.open('../x', 'st'), /cannot name a directory/);
  await assert.rejects(factory.open('0_0', 'a/b'), /cannot name a directory/);
});

test('a failed commit keeps the writes pending and the checkpoint where it was; a retry commits them', async () => {
  await withTempDir(async (dir) => {
    const factory = new LmdbStoreFactory({ stateDir: dir, application: 'app' });
    let st = await factory.open('0_0', 'st');
    st.put(Buffer.from('a'), Buffer.from('1'));
    await st.commit(1n);
    st.put(Buffer.from('a'), Buffer.from('2'));
    st.put(Buffer.from('b'), Buffer.from('2'));
    // The disk fails once (as a full disk would).
    type Writes = { put: (...a: unknown[]) => Promise<unknown>; remove: (...a: unknown[]) => Promise<unknown> };
    const db = (st as unknown as { db: Writes }).db;
    const real = { put: db.put, remove: db.remove };
    const failed = Promise.reject(Object.assign(new Error('MDB_MAP_FULL: no space'), { code: 'ENOSPC' }));
    failed.catch(() => {});
    db.put = db.remove = () => failed;
    const failing = st.commit(2n);
    st.put(Buffer.from('b'), Buffer.from('3')); // written while the commit fails: stays the newest
    await assert.rejects(failing, (e: Error & { code?: string }) => {
      assert.equal(e.code, 'RIV_ERR_STORE_COMMIT_FAILED');
      assert.match(e.message, /2 state writes .* failed: MDB_MAP_FULL: no space; the writes stay pending and the checkpoint did not move/);
      return true;
    });
    db.put = real.put;
    db.remove = real.remove;
    assert.equal(st.checkpoint(), 1n);
    assert.equal(st.get(Buffer.from('a'))?.toString(), '2');
    assert.equal(st.get(Buffer.from('b'))?.toString(), '3');
    await st.commit(3n);
    st = await (async () => {
      await st.close();
      return factory.open('0_0', 'st');
    })();
    try {
      assert.equal(st.checkpoint(), 3n);
      assert.deepEqual([...st.range(Buffer.alloc(0), Buffer.from('z'))].map(([k, v]) => `${k}=${v}`), ['a=2', 'b=3']);
    } finally {
      await st.close();
    }
  }, 'rivulet-lmdb-fail-');
});

test('a task held by a worker thread is refused to another thread of the same process', async () => {
  await withTempDir(async (dir) => {
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(storeModule)}).then(async ({ LmdbStoreFactory }) => {
        const st = await new LmdbStoreFactory({ stateDir: ${JSON.stringify(dir)}, application: 'app' }).open('3_1', 'st');
        parentPort.postMessage('open');
        parentPort.once('message', async () => { await st.close(); parentPort.postMessage('closed'); });
      });`;
    const worker = new Worker(code, { eval: true });
    try {
      const [msg] = await once(worker, 'message');
      assert.equal(msg, 'open');
      const factory = new LmdbStoreFactory({ stateDir: dir, application: 'app' });
      await assert.rejects(factory.open('3_1', 'st'), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'RIV_ERR_STORE_LOCKED');
        assert.match(e.message, new RegExp(`in use by this process \\(pid ${process.pid}, thread ${worker.threadId}\\)`));
        return true;
      });
      worker.postMessage('close');
      assert.equal((await once(worker, 'message'))[0], 'closed');
      const st = await factory.open('3_1', 'st');
      await st.close();
    } finally {
      await worker.terminate();
    }
  }, 'rivulet-lmdb-worker-');
});

test('range bounds longer than any key the store holds still bound it exactly', async () => {
  await withTempDir(async (dir) => {
    const st = await new LmdbStoreFactory({ stateDir: dir, application: 'app' }).open('0_0', 'st');
    try {
      const p = Buffer.alloc(MAX_KEY_BYTES, 0x50);
      const keys = [Buffer.from([0x50]), p, Buffer.concat([p.subarray(1), Buffer.from([0x51])]), Buffer.from([0x51])];
      keys.forEach((k, i) => st.put(k, Buffer.from([i])));
      await st.commit(1n);
      const long = Buffer.concat([p, Buffer.from([0x00])]); // just above p
      const values = (from: Buffer, to: Buffer): number[] => [...st.range(from, to)].map(([, v]) => v[0]);
      assert.deepEqual(values(Buffer.alloc(0), long), [0, 1], 'to: p is below it, p[..-1]+0x51 is above');
      assert.deepEqual(values(long, Buffer.from([0xff])), [2, 3], 'from: p is below it');
    } finally {
      await st.close();
    }
  }, 'rivulet-lmdb-bounds-');
});

test('a commit with nothing pending at the same checkpoint writes nothing; a new checkpoint alone is written', async () => {
  await withTempDir(async (dir) => {
    const factory = new LmdbStoreFactory({ stateDir: dir, application: 'app' });
    let st = await factory.open('0_0', 'st');
    st.put(Buffer.from('a'), Buffer.from('1'));
    await st.commit(1n);
    const db = (st as unknown as { db: { put: (...a: unknown[]) => Promise<unknown> } }).db;
    const real = db.put;
    let puts = 0;
    db.put = function (this: unknown, ...a: unknown[]) {
      puts++;
      return real.apply(this, a);
    };
    await st.commit(1n);
    assert.equal(puts, 0, 'same checkpoint, nothing pending');
    await st.commit(2n);
    assert.equal(puts, 1, 'the checkpoint alone');
    db.put = real;
    await st.close();
    st = await factory.open('0_0', 'st');
    assert.equal(st.checkpoint(), 2n);
    assert.equal(st.get(Buffer.from('a'))?.toString(), '1');
    await st.destroy();
  }, 'rivulet-lmdb-noop-');
});

test('the stores of one task opened at once share the task lock; a torn (empty) lock file is taken over', async () => {
  await withTempDir(async (dir) => {
    const taskDir = join(dir, 'app', '0_0');
    mkdirSync(taskDir, { recursive: true });
    writeFileSync(join(taskDir, LOCK_FILE), ''); // a crash between creating the lock and writing its owner
    const factory = new LmdbStoreFactory({ stateDir: dir, application: 'app' });
    const [a, b] = await Promise.all([factory.open('0_0', 'a'), factory.open('0_0', 'b')]);
    await a.close();
    assert.equal(existsSync(join(taskDir, LOCK_FILE)), true, 'held while b is open');
    await b.close();
    assert.equal(existsSync(join(taskDir, LOCK_FILE)), false, 'released with the last store');
  }, 'rivulet-lmdb-lock-');
});

test('a lock from another host (a volume moved to a new pod) holds while it is touched and is taken over once stale', async () => {
  await withTempDir(async (dir) => {
    const taskDir = join(dir, 'app', '0_0');
    const lock = join(taskDir, LOCK_FILE);
    mkdirSync(taskDir, { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: 1, start: '5', host: 'pod-that-was-moved', thread: 0 }));
    const factory = new LmdbStoreFactory({ stateDir: dir, application: 'app' });
    await assert.rejects(factory.open('0_0', 'st'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'RIV_ERR_STORE_LOCKED');
      assert.match(e.message, /process 1 on host pod-that-was-moved \(its lock was touched 0 s ago; one untouched for 60 s is taken over\)/);
      return true;
    });
    const old = new Date(Date.now() - STALE_MS - 1000);
    utimesSync(lock, old, old);
    const st = await factory.open('0_0', 'st');
    await st.close();
  }, 'rivulet-lmdb-lock-');
});

test('a holder touches its lock every REFRESH_MS, so other hosts see it alive', async (t) => {
  await withTempDir(async (dir) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const st = await new LmdbStoreFactory({ stateDir: dir, application: 'app' }).open('0_0', 'st');
    try {
      const lock = join(dir, 'app', '0_0', LOCK_FILE);
      const old = new Date(Date.now() - STALE_MS - 1000);
      utimesSync(lock, old, old);
      t.mock.timers.tick(REFRESH_MS);
      for (let i = 0; i < 100 && statSync(lock).mtimeMs < Date.now() - STALE_MS; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(statSync(lock).mtimeMs > Date.now() - STALE_MS, 'touched');
    } finally {
      await st.close();
      t.mock.timers.reset();
    }
  }, 'rivulet-lmdb-lock-');
});
