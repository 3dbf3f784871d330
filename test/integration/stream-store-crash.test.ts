// Crash safety of the persistent state store: a child process commits batches of state
// writes with increasing checkpoints (test/helpers/store-crash-child.ts) and is SIGKILLed at
// seeded random moments, so kills land while it writes pending batches, while LMDB commits
// and while it flushes. After each kill the store reopens (taking over the dead child's lock)
// with a checkpoint the child reported committed, or the one it was committing, and holds
// exactly the writes of every batch up to that checkpoint: no partial batch, nothing aborted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LmdbStoreFactory } from '../../src/stream/state/lmdb-store.js';
import { makeTempDir } from '../helpers/temp.js';
import { stateAfter } from '../helpers/store-crash-child.js';

const CYCLES = 25;
const child = fileURLToPath(new URL('../helpers/store-crash-child.js', import.meta.url));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

test(`state store: exactly the committed batches survive ${CYCLES} SIGKILLs of a committing writer`, { timeout: 300_000 }, async (t) => {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100000);
  t.diagnostic(`seed ${seed} (CRASH_SEED=${seed} repeats this run)`);
  const random = rng(seed);
  const stateDir = await makeTempDir('rivulet-store-crash-');
  const factory = new LmdbStoreFactory({ stateDir, application: 'crash' });
  let lastCommitted = 0;
  let mid = 0; // kills that landed between "committing n" and "committed n"
  let beforeOpen = 0; // kills before the writer had opened its store
  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const proc = spawn(process.execPath, [child, stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      proc.stdout!.on('data', (d) => (out += d));
      proc.stderr!.on('data', (d) => (err += d));
      const exited = once(proc, 'exit');
      // One cycle in four kills it from its start, so kills also land while it opens the
      // store and takes the task's lock; the others let it commit for a while first.
      const early = cycle % 4 === 3;
      try {
        while (!early && !out.includes('committing') && proc.exitCode === null) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, random() * 150));
      } finally {
        proc.kill('SIGKILL');
      }
      await exited;
      assert.equal(err, '', `cycle ${cycle}: the writer failed`);
      const lines = out.trim() === '' ? [] : out.trim().split('\n');
      if (lines.length === 0) beforeOpen++;
      else assert.equal(lines[0], `resumed ${lastCommitted}`, `cycle ${cycle}: the writer resumed from the checkpoint the test read`);
      let committing = lastCommitted;
      for (const line of lines.slice(1)) {
        const [what, n] = line.split(' ');
        if (what === 'committed') lastCommitted = Number(n);
        else if (what === 'committing') committing = Number(n);
      }
      if (committing > lastCommitted) mid++;

      const store = await factory.open('0_0', 'counts');
      try {
        const cp = Number(store.checkpoint() ?? 0n);
        assert.ok(cp === lastCommitted || cp === committing, `cycle ${cycle}: checkpoint ${cp}, but the writer reported ${lastCommitted} committed and ${committing} in flight`);
        const actual = [...store.range(Buffer.alloc(0), Buffer.alloc(16, 0xff))].map(([k, v]) => `${k}=${v}`);
        const expected = [...stateAfter(cp)].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map(([k, v]) => `${k}=${v}`);
        assert.deepEqual(actual, expected, `cycle ${cycle}: the state is exactly batches 1..${cp}`);
        lastCommitted = cp;
      } finally {
        await store.close();
      }
    }
    t.diagnostic(`${CYCLES} kills: ${mid} between a commit call and its completion, ${beforeOpen} before the store was open; reached checkpoint ${lastCommitted}`);
    assert.ok(lastCommitted > CYCLES, `the writer made progress (checkpoint ${lastCommitted})`);
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});
