#!/usr/bin/env node
// Runs the compiled tests under dist/test/<suite>/ with node's test runner, one file at a
// time (the machine has two cores; integration tests start broker processes).
//   node scripts/run-tests.mjs unit integration
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const suites = process.argv.slice(2);
const files = [];
const walk = (dir) => {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.js')) files.push(p);
  }
};
for (const s of suites) walk(join(root, 'dist', 'test', s));
if (files.length === 0) {
  console.error(`run-tests: no compiled tests under dist/test/{${suites.join(',')}}; run npm run build first`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
