// `rivulet run` as users run it: a child process of the bundled CLI, pipeline files written
// into a temporary directory that has no node_modules (so rivulet/stream must resolve to
// this checkout by the command itself), against a real broker where a pipeline runs.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli as rivulet } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Writes files into a fresh temporary directory (no node_modules, no package.json) and returns it. */
async function pipelineDir(files: Record<string, string>): Promise<string> {
  const dir = await makeTempDir('rivulet-run-test-');
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

// TypeScript only (an interface, type annotations, `satisfies`, a type-only import of
// rivulet/stream), so Node 20 cannot run it without the bundler.
const FUNCTION_TS = `import type { FunctionRecord } from 'rivulet/stream';
interface Order { id: number; amount: number }
export default (r: FunctionRecord<string, Order>) => ({ value: { id: r.value.id, doubled: r.value.amount * 2 } satisfies { id: number; doubled: number } });
`;

test('--describe prints a TypeScript function pipeline\'s topology, from a folder without node_modules', async () => {
  const dir = await pipelineDir({ 'orders.ts': FUNCTION_TS });
  const r = await rivulet(['run', join(dir, 'orders.ts'), '--describe', '--input', 'orders,returns', '--output', 'doubled', '--key-format', 'string']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /application orders\b/);
  assert.match(r.stdout, /source: orders, returns \(key string, value json\)/);
  assert.match(r.stdout, /sink: doubled/);
});

test('a function pipeline without --input is a usage problem named in the message', async () => {
  const dir = await pipelineDir({ 'orders.ts': FUNCTION_TS });
  const r = await rivulet(['run', join(dir, 'orders.ts'), '--describe']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /give --input TOPIC/);
});

test('a syntax error in pipeline.ts is reported with file:line:column and the line', async () => {
  const dir = await pipelineDir({ 'pipeline.ts': 'export default (r: any) => {\n  const x: number = 1;\n  return { value: r.value +* x };\n};\n' });
  const r = await rivulet(['run', join(dir, 'pipeline.ts'), '--describe']);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${join(dir, 'pipeline.ts')}:3:28:`), r.stderr);
  assert.match(r.stderr, /return \{ value: r\.value \+\* x \};/);
});

test('an error thrown while the pipeline loads points at the line in pipeline.ts (source maps)', async () => {
  const dir = await pipelineDir({ 'pipeline.ts': 'type T = { a: number };\nconst t: T = { a: 1 };\nif (t.a === 1) {\n  throw new Error(\'bad configuration\');\n}\nexport default (r: unknown) => undefined;\n' });
  const r = await rivulet(['run', join(dir, 'pipeline.ts'), '--describe', '--input', 'x'], { env: { RIVULET_DEBUG: '1' } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad configuration/);
  assert.ok(r.stderr.includes(`${join(dir, 'pipeline.ts')}:4:`), r.stderr);
});

test('a file without a default export is explained', async () => {
  const dir = await pipelineDir({ 'p.mjs': 'export const x = 1;\n' });
  const r = await rivulet(['run', join(dir, 'p.mjs'), '--describe']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has no default export: export a pipeline .* or a function/);
});

test('--help explains the flags with examples', async () => {
  const r = await rivulet(['run', '--help']);
  assert.equal(r.code, 0);
  for (const s of ['--workers', '--guarantee', '--http-port', '/readyz', '--on-error', '--describe', 'RIVULET_', 'SIGTERM', 'rivulet run examples/']) assert.ok(r.stdout.includes(s), `--help mentions ${s}`);
});
