// Every RIV_ERR_* code raised in the source is documented in README.md's "Error codes"
// table, and the table lists no code the source no longer has.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('README documents exactly the RIV_ERR_* codes the source raises', () => {
  const inSource = new Set<string>();
  for (const f of sourceFiles(join(repoRoot, 'src'))) for (const m of readFileSync(f, 'utf8').matchAll(/\bRIV_ERR_[A-Z][A-Z_]*\b/g)) inSource.add(m[0]);
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const documented = new Set([...readme.matchAll(/^\| `(RIV_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]!));
  assert.ok(inSource.size >= 10, `found the codes in the source (${inSource.size})`);
  assert.deepEqual([...inSource].filter((c) => !documented.has(c)).sort(), [], 'codes raised but not documented in README.md "Error codes"');
  assert.deepEqual([...documented].filter((c) => !inSource.has(c)).sort(), [], 'codes documented in README.md but raised nowhere');
});
