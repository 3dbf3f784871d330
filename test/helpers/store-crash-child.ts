// The writer of the state store crash test (test/integration/stream-store-crash.test.ts).
// Run as a process: opens task 0_0's store under the given state directory, resumes after its
// checkpoint and commits batch after batch, batch n with checkpoint n, printing
// "committing n" before each commit and "committed n" once it resolved, until killed.
// Every few batches it also writes a batch it aborts, which must never be seen.
// Imported: batchWrites(n) tells what batch n writes, so the test can compute the state.

import { fileURLToPath } from 'node:url';
import { writeSync } from 'node:fs';

/** A prime, so the keys of one batch (i * 17) are all different up to this many writes. */
export const CRASH_KEYS = 6007;

/** The writes of batch n (n >= 1), in order: [key, value] or [key, null] for a delete. Sizes vary up to 5,000 keys. */
export function batchWrites(n: number): Array<[string, string | null]> {
  const size = n % 11 === 0 ? 5000 : n % 7 === 0 ? 1500 : 5 + ((n * 37) % 120);
  const out: Array<[string, string | null]> = [];
  for (let i = 0; i < size; i++) {
    const key = `key-${(n * 131 + i * 17) % CRASH_KEYS}`;
    out.push([key, (n + i) % 9 === 0 ? null : `batch ${n} write ${i}`]);
  }
  return out;
}

/** The store's contents after batches 1..n. */
export function stateAfter(n: number): Map<string, string> {
  const m = new Map<string, string>();
  for (let b = 1; b <= n; b++) for (const [k, v] of batchWrites(b)) if (v === null) m.delete(k);
  else m.set(k, v);
  return m;
}

async function run(stateDir: string): Promise<void> {
  const { LmdbStoreFactory } = await import('../../src/stream/state/lmdb-store.js');
  const store = await new LmdbStoreFactory({ stateDir, application: 'crash' }).open('0_0', 'counts');
  const say = (line: string): void => void writeSync(1, line + '\n'); // synchronous: a kill loses no line
  let n = Number(store.checkpoint() ?? 0n);
  say(`resumed ${n}`);
  for (;;) {
    n++;
    if (n % 5 === 0) {
      for (let i = 0; i < 50; i++) store.put(Buffer.from(`key-${i}`), Buffer.from('aborted, never visible'));
      store.abort();
    }
    for (const [k, v] of batchWrites(n)) {
      if (v === null) store.delete(Buffer.from(k));
      else store.put(Buffer.from(k), Buffer.from(v));
    }
    say(`committing ${n}`);
    await store.commit(BigInt(n));
    say(`committed ${n}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await run(process.argv[2]);
}
