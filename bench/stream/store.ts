// Candidate embedded stores for Rivulet Streams' keyed state, measured on this machine.
// Prints, per engine, for N keys of 16 B with 100 B values: load time, reopen time, random get,
// a put into the pending batch, the commit of 1,000 dirty keys made durable (fsync), a range
// scan of 100 entries, and the process's RSS. Each engine runs in a fresh process.
//   npm run bench:store                 (lmdb, the append-only file; classic-level if installed)
//   node dist/bench/stream/store.js --keys 200000
// classic-level is not a dependency of the project: `npm install --no-save classic-level`
// to include it. Figures, not assertions: this is a benchmark, never a test.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeSync, fsyncSync, closeSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open as openLmdb, type Database } from 'lmdb';
import { LmdbStoreFactory } from '../../src/stream/state/lmdb-store.js';

const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const DIRTY_KEYS = 1000;
const COMMITS = 20;
const GETS = 200_000;
const PENDING_PUTS = 200_000;
const SCANS = 2_000;
const SCAN_LENGTH = 100;

interface Result {
  engine: string;
  loadS: number;
  reopenMs: number;
  getUs: number;
  pendingPutUs: number;
  commitMs: number;
  commitBusyMs: number;
  scanUs: number;
  rssMb: number;
  /** Anonymous memory (heap and malloc, not the mapped files the OS can drop), Linux only. */
  anonMb: number;
  /** Bytes on disk after the run (set by the child once the engine closed). */
  diskMb?: number;
  note: string;
}

/** Key i: 16 bytes whose first 8 are a scrambled i, so inserts land in random order. */
function keyOf(i: number, out = Buffer.allocUnsafe(KEY_BYTES)): Buffer {
  out.writeUInt32BE(Math.imul(i, 2654435761) >>> 0, 0);
  out.writeUInt32BE(i, 4);
  out.writeUInt32BE(0, 8);
  out.writeUInt32BE(i ^ 0x5bd1e995, 12);
  return out;
}

/** Values that do not compress away (LevelDB compresses its blocks): a pool of random ones. */
const VALUE_POOL = Array.from({ length: 4096 }, () => randomBytes(VALUE_BYTES));
const valueOf = (i: number): Buffer => VALUE_POOL[i & 4095];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** RssAnon from /proc/self/status, MB; NaN where there is none. */
function anonRssMb(): number {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** Allocated size of the files under dir, MB. */
function diskUsageMb(dir: string): number {
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    bytes += e.isDirectory() ? diskUsageMb(p) * 1048576 : statSync(p).blocks * 512;
  }
  return bytes / 1048576;
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const msSince = (t: bigint): number => Number(process.hrtime.bigint() - t) / 1e6;

/** The chosen store, through Rivulet's own PersistentStore (overlay, commit with checkpoint). */
async function benchRivuletLmdb(dir: string, n: number): Promise<Result> {
  const factory = new LmdbStoreFactory({ stateDir: dir, application: 'bench' });
  let store = await factory.open('0_0', 'counts');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    store.put(keyOf(i), valueOf(i));
    if (i % 50_000 === 49_999) await store.commit(BigInt(i));
  }
  await store.commit(BigInt(n));
  const loadS = msSince(t0) / 1000;
  await store.close();
  const t1 = process.hrtime.bigint();
  store = await factory.open('0_0', 'counts');
  const reopenMs = msSince(t1);
  return measure('lmdb (Rivulet LmdbStore)', n, loadS, reopenMs, {
    get: (k) => store.get(k),
    put: (k, v) => store.put(k, v),
    commit: (c) => store.commit(c),
    abort: () => store.abort(),
    scan: (from, to) => {
      let c = 0;
      for (const _ of store.range(from, to)) if (++c === SCAN_LENGTH) break;
      return c;
    },
    close: () => store.close(),
  }, 'commit awaits the fsync (lmdb flushed)');
}

interface Ops {
  get(k: Buffer): unknown;
  put(k: Buffer, v: Buffer): void;
  commit(checkpoint: bigint): Promise<void>;
  abort(): void;
  scan(from: Buffer, to: Buffer): number | Promise<number>;
  close(): Promise<void>;
}

async function measure(engine: string, n: number, loadS: number, reopenMs: number, ops: Ops, note: string): Promise<Result> {
  const random = rng(42);
  const k = Buffer.allocUnsafe(KEY_BYTES);
  // Random gets of existing keys (the committed store, no pending writes).
  let found = 0;
  let t = process.hrtime.bigint();
  for (let i = 0; i < GETS; i++) {
    const got = await ops.get(keyOf(Math.floor(random() * n), k));
    if (got !== undefined) found++;
  }
  const getUs = (msSince(t) * 1000) / GETS;
  if (found !== GETS) throw new Error(`${engine}: ${GETS - found} keys missing`);
  // Puts into the pending batch (dropped again).
  const keys = Array.from({ length: PENDING_PUTS }, (_, i) => keyOf(Math.floor(random() * n)));
  t = process.hrtime.bigint();
  for (let i = 0; i < PENDING_PUTS; i++) ops.put(keys[i], valueOf(i));
  const pendingPutUs = (msSince(t) * 1000) / PENDING_PUTS;
  ops.abort();
  // Commits of 1,000 dirty keys each, durable when the promise settles.
  // Also how long the call keeps this thread (the event loop) busy before it returns its promise.
  const commits: number[] = [];
  const busy: number[] = [];
  for (let c = 0; c < COMMITS; c++) {
    for (let i = 0; i < DIRTY_KEYS; i++) ops.put(keyOf(Math.floor(random() * n)), valueOf(i));
    t = process.hrtime.bigint();
    const committed = ops.commit(BigInt(n + c + 1));
    busy.push(msSince(t));
    await committed;
    commits.push(msSince(t));
  }
  // Range scans of 100 entries from random keys.
  const to = Buffer.alloc(KEY_BYTES, 0xff);
  t = process.hrtime.bigint();
  let scanned = 0;
  for (let i = 0; i < SCANS; i++) scanned += (await ops.scan(keyOf(Math.floor(random() * n)), to)) || 0;
  const scanUs = scanned === 0 ? NaN : (msSince(t) * 1000) / SCANS;
  const rssMb = process.memoryUsage().rss / 1048576;
  const anonMb = anonRssMb();
  await ops.close();
  return { engine, loadS, reopenMs, getUs, pendingPutUs, commitMs: median(commits), commitBusyMs: median(busy), scanUs, rssMb, anonMb, note };
}

/** LevelDB through classic-level: async reads; a chained batch is the pending batch; sync writes. */
async function benchClassicLevel(dir: string, n: number): Promise<Result> {
  const name = 'classic-level';
  let mod: { ClassicLevel: new (path: string, opts: object) => any };
  try {
    mod = await import(name);
  } catch {
    throw new Error('classic-level is not installed (npm install --no-save classic-level)');
  }
  const path = join(dir, 'level');
  const enc = { keyEncoding: 'buffer', valueEncoding: 'buffer' };
  let db = new mod.ClassicLevel(path, enc);
  await db.open();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; ) {
    const batch = db.batch();
    for (const end = Math.min(n, i + 50_000); i < end; i++) batch.put(keyOf(i), valueOf(i));
    await batch.write({ sync: true });
  }
  const loadS = msSince(t0) / 1000;
  await db.close();
  const t1 = process.hrtime.bigint();
  db = new mod.ClassicLevel(path, enc);
  await db.open();
  const reopenMs = msSince(t1);
  let batch = db.batch();
  return measure(name, n, loadS, reopenMs, {
    get: (k) => db.get(k),
    put: (k, v) => {
      batch.put(Buffer.from(k), v);
    },
    commit: async (c) => {
      const meta = Buffer.from([0xff, 0xff]);
      batch.put(meta, Buffer.from(c.toString()));
      await batch.write({ sync: true });
      batch = db.batch();
    },
    abort: () => {
      batch.clear();
    },
    scan: async (from, to) => (await db.iterator({ gte: from, lt: to, limit: SCAN_LENGTH }).all()).length,
    close: () => db.close(),
  }, 'reads are async (a promise per get)');
}

/**
 * The write-our-own option: every entry in a JS Map, each commit appended to one file and
 * fdatasync'ed, the file replayed on open. No sorted structure (a range scan would need one
 * of our own) and no compaction of the file: only the costs that would not go away.
 */
async function benchAppendOnlyFile(dir: string, n: number): Promise<Result> {
  const path = join(dir, 'state.log');
  let map = new Map<string, Buffer>();
  let pending = new Map<string, Buffer>();
  const fd = openSync(path, 'a');
  const append = (entries: Map<string, Buffer>): void => {
    const rec = KEY_BYTES + VALUE_BYTES;
    const out = Buffer.allocUnsafe(entries.size * rec);
    let pos = 0;
    for (const [k, v] of entries) {
      pos += out.write(k, pos, 'latin1');
      pos += v.copy(out, pos);
    }
    writeSync(fd, out, 0, pos);
    fsyncSync(fd);
  };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    pending.set(keyOf(i).toString('latin1'), valueOf(i));
    if (pending.size === 50_000 || i === n - 1) {
      append(pending);
      for (const [k, v] of pending) map.set(k, v);
      pending = new Map();
    }
  }
  const loadS = msSince(t0) / 1000;
  map = new Map();
  const t1 = process.hrtime.bigint();
  const file = readFileSync(path);
  const rec = KEY_BYTES + VALUE_BYTES;
  for (let pos = 0; pos + rec <= file.length; pos += rec) {
    map.set(file.toString('latin1', pos, pos + KEY_BYTES), file.subarray(pos + KEY_BYTES, pos + rec));
  }
  const reopenMs = msSince(t1);
  return measure('in-memory map + append-only file', n, loadS, reopenMs, {
    get: (k) => pending.get(k.toString('latin1')) ?? map.get(k.toString('latin1')),
    put: (k, v) => {
      pending.set(k.toString('latin1'), v);
    },
    commit: async () => {
      append(pending);
      for (const [k, v] of pending) map.set(k, v);
      pending = new Map();
    },
    abort: () => {
      pending = new Map();
    },
    scan: () => 0,
    close: async () => closeSync(fd),
  }, 'no range scan without a sorted structure of our own; file never compacted');
}

/**
 * The layout question: one LMDB environment per store (what LmdbStore does), or one per task
 * with a named database per store, where lmdb merges the stores' commits of one event turn
 * into one transaction and one fsync. Times a task's commit of all its stores at once.
 */
async function benchLayouts(): Promise<void> {
  for (const [stores, keys, dirty] of [
    [4, 100_000, 250],
    [32, 20_000, 100],
  ]) {
    await benchLayout(stores, keys, dirty);
  }
}

async function benchLayout(stores: number, keys: number, dirty: number): Promise<void> {
  const random = rng(7);
  console.log(`\n| layout (${stores} stores of ${keys} keys) | open (ms) | commit of the ${stores} stores, ${dirty} dirty keys each, at once (ms, median) |`);
  console.log('| --- | --- | --- |');
  for (const layout of ['environment per store', 'one environment, named databases', 'environment per store', 'one environment, named databases']) {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-layout-'));
    const opts = { keyEncoding: 'binary' as const, encoding: 'binary' as const, cache: false, compression: false };
    let t = process.hrtime.bigint();
    let envs: Array<{ close(): Promise<void> }>;
    let dbs: Database<Buffer, Buffer>[];
    if (layout === 'environment per store') {
      const each = Array.from({ length: stores }, (_, s) => openLmdb<Buffer, Buffer>({ path: join(dir, `s${s}`, 'data.mdb'), ...opts }));
      envs = each;
      dbs = each;
    } else {
      const env = openLmdb<Buffer, Buffer>({ path: join(dir, 'data.mdb'), maxDbs: 64, ...opts });
      envs = [env];
      dbs = Array.from({ length: stores }, (_, s) => env.openDB<Buffer, Buffer>({ name: `s${s}`, ...opts }));
    }
    const openMs = msSince(t);
    for (const db of dbs) await db.transaction(() => {
      for (let i = 0; i < keys; i++) db.putSync(keyOf(i), valueOf(i));
    });
    const times: number[] = [];
    for (let c = 0; c < COMMITS; c++) {
      t = process.hrtime.bigint();
      await Promise.all(dbs.map(async (db) => {
        await db.transaction(() => {
          for (let i = 0; i < dirty; i++) db.putSync(keyOf(Math.floor(random() * keys)), valueOf(i));
        });
        await db.flushed;
      }));
      times.push(msSince(t));
    }
    for (const e of envs) await e.close();
    rmSync(dir, { recursive: true, force: true });
    console.log(`| ${layout} | ${fmt(openMs, 1)} | ${fmt(median(times), 2)} |`);
  }
}

const ENGINES: Record<string, (dir: string, n: number) => Promise<Result>> = {
  lmdb: benchRivuletLmdb,
  'classic-level': benchClassicLevel,
  aof: benchAppendOnlyFile,
};

function fmt(x: number | null, digits: number): string {
  return x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(digits);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const keysAt = args.indexOf('--keys');
  const n = keysAt >= 0 ? Number(args[keysAt + 1]) : 1_000_000;
  const engineAt = args.indexOf('--engine');
  if (engineAt >= 0) {
    // Child: one engine, one fresh directory, the result as JSON on stdout.
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-bench-store-'));
    try {
      const r = await ENGINES[args[engineAt + 1]](dir, n);
      r.diskMb = diskUsageMb(dir);
      process.stdout.write(JSON.stringify(r) + '\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  console.log(`# state store candidates: ${n} keys of ${KEY_BYTES} B, values of ${VALUE_BYTES} B`);
  console.log(`# node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, temp dir ${tmpdir()}`);
  console.log('| engine | load (s) | reopen (ms) | random get (µs) | pending put (µs) | commit 1,000 keys + fsync (ms, median) | of which this thread busy (ms) | range scan of 100 (µs) | RSS (MB) | of which anonymous (MB) | on disk (MB) | note |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const engine of Object.keys(ENGINES)) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--engine', engine, '--keys', String(n)], { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) {
      const why = /^\w*Error: (.*)$/m.exec(r.stderr)?.[1] ?? `exit ${r.status}`;
      console.log(`| ${engine} | skipped: ${why.slice(0, 120)} |`);
      continue;
    }
    const x = JSON.parse(line) as Result;
    console.log(`| ${x.engine} | ${fmt(x.loadS, 1)} | ${fmt(x.reopenMs, 1)} | ${fmt(x.getUs, 2)} | ${fmt(x.pendingPutUs, 2)} | ${fmt(x.commitMs, 2)} | ${fmt(x.commitBusyMs, 2)} | ${fmt(x.scanUs, 1)} | ${fmt(x.rssMb, 0)} | ${fmt(x.anonMb, 0)} | ${fmt(x.diskMb ?? NaN, 0)} | ${x.note} |`);
  }
  await benchLayouts();
}

await main();
