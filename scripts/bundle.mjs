#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js, from tsc) into dist/bin/rivulet.js, the
// file `rivulet` and `npm start` run. Why: Node spends about half a millisecond per ES
// module it resolves, reads and links, and the broker is ~100 modules, so one file starts
// tens of milliseconds sooner; the bundler also drops what the broker never calls (the
// client half of the generated codec). Commands that load late (the Kafka-client ones,
// compression codecs) become chunks loaded on first use.
//
// Packages stay external (loaded from node_modules) except pure-JS ones on the start path:
// native addons cannot be bundled, and the lazily loaded ones cost nothing at start.
//
//   node scripts/bundle.mjs        (run by `npm run build`, after tsc)

import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync, rmSync } from 'node:fs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const bundled = new Set(['commander']);
const external = Object.keys(pkg.dependencies).filter((d) => !bundled.has(d));
const outdir = join(root, 'dist', 'bin');

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  // The inflate worker is started by URL from beside compression.js, which lands in rivulet.js (checked below).
  entryPoints: { rivulet: join(root, 'dist', 'src', 'cli', 'main.js'), 'inflate-worker': join(root, 'dist', 'src', 'protocol', 'inflate-worker.js') },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: 'linked',
  // Bundled CommonJS (commander) calls require() for Node built-ins; ES modules have none.
  banner: { js: "import { createRequire as __rivuletRequire } from 'node:module'; const require = __rivuletRequire(import.meta.url);" },
  logLevel: 'warning',
  metafile: true,
});
const compressionIn = Object.entries(result.metafile.outputs).filter(([, o]) => Object.keys(o.inputs).some((i) => i.endsWith('src/protocol/compression.js'))).map(([f]) => f);
if (compressionIn.length !== 1 || !compressionIn[0].endsWith('bin/rivulet.js')) {
  throw new Error(`compression.js must be bundled into dist/bin/rivulet.js, beside inflate-worker.js, which it starts by URL; it is in ${compressionIn.join(', ')}`);
}
// The cleaner thread is one self-contained file (no shared chunks), started by URL from beside
// cleaner-thread.js (in rivulet.js); compression.js inside it starts inflate-worker.js beside it.
const cleanerIn = Object.entries(result.metafile.outputs).filter(([, o]) => Object.keys(o.inputs).some((i) => i.endsWith('src/storage/cleaner-thread.js'))).map(([f]) => f);
if (cleanerIn.length !== 1 || !cleanerIn[0].endsWith('bin/rivulet.js')) {
  throw new Error(`cleaner-thread.js must be bundled into dist/bin/rivulet.js, beside cleaner-worker.js, which it starts by URL; it is in ${cleanerIn.join(', ')}`);
}
await build({
  entryPoints: { 'cleaner-worker': join(root, 'dist', 'src', 'storage', 'cleaner-worker.js') },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: 'linked',
  banner: { js: "import { createRequire as __rivuletRequire } from 'node:module'; const require = __rivuletRequire(import.meta.url);" },
  logLevel: 'warning',
});
const bytes = Object.entries(result.metafile.outputs)
  .filter(([f]) => f.endsWith('.js'))
  .reduce((n, [, o]) => n + o.bytes, 0);
console.log(`bundle: dist/bin/rivulet.js and ${Object.keys(result.metafile.outputs).filter((f) => f.includes('/chunks/') && f.endsWith('.js')).length} chunks, ${(bytes / 1024).toFixed(0)} KiB`);
