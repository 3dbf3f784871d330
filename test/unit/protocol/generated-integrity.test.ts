// The committed codec is exactly what scripts/generate-protocol.mjs makes from Kafka's
// vendored definitions: regenerate into a temporary directory and compare every file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './helpers.js';

// The generator reads the vendored definitions (protocol/kafka-4.3.1), so this never skips.
test('src/protocol/generated/ is what the generator makes, file for file', () => {
  const committed = join(repoRoot, 'src', 'protocol', 'generated');
  const tmp = mkdtempSync(join(tmpdir(), 'rivulet-generated-'));
  try {
    const out = join(tmp, 'generated');
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'generate-protocol.mjs'), '--out', out], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const fresh = readdirSync(out).sort();
    const have = readdirSync(committed).sort();
    assert.ok(fresh.length > 50, `the generator wrote only ${fresh.length} files`);
    assert.deepEqual(have, fresh, 'the committed file list differs from the generated one');
    const differing = fresh.filter((f) => !readFileSync(join(out, f)).equals(readFileSync(join(committed, f))));
    assert.deepEqual(differing, [], `regenerate with \`node scripts/generate-protocol.mjs\`; these differ: ${differing.join(', ')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
