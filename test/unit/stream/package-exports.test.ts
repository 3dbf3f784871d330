// `import ... from 'rivulet/stream'` works from a package that depends on rivulet, in
// JavaScript and in TypeScript (types through the exports map's "types" condition).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../helpers/paths.js';

function consumerPackage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-consumer-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repoRoot, join(dir, 'node_modules', 'rivulet'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', dependencies: { rivulet: '*' } }));
  return dir;
}

test("a dependent package imports 'rivulet/stream' and runs a pipeline in the TestDriver", () => {
  const dir = consumerPackage();
  try {
    writeFileSync(
      join(dir, 'main.js'),
      `import { pipeline, serdes, TestDriver } from 'rivulet/stream';
const p = pipeline('app');
p.stream('in', { key: serdes.string, value: serdes.int }).mapValues((r) => r.value + 1).to('out', { key: serdes.string, value: serdes.int });
const d = new TestDriver(p);
await d.input('in', serdes.string, serdes.int).pipe('k', 41);
console.log(JSON.stringify(d.output('out', serdes.string, serdes.int).readValues()));`,
    );
    const r = spawnSync(process.execPath, ['main.js'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '[42]');
    const deep = spawnSync(process.execPath, ['--input-type=module', '-e', "import('rivulet/dist/src/stream/dsl.js').then(() => console.log('open'), (e) => console.log(e.code))"], { cwd: dir, encoding: 'utf8' });
    assert.equal(deep.stdout.trim(), 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'only the exported entry points are public');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A Node user has @types/node (our declarations speak of Buffer); here it is borrowed from the checkout.
test("TypeScript resolves the types of 'rivulet/stream' and infers through the DSL", () => {
  const dir = consumerPackage();
  try {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(repoRoot, 'node_modules', '@types')] }, files: ['main.ts'] }));
    writeFileSync(
      join(dir, 'main.ts'),
      `import { pipeline, serdes, type KStream } from 'rivulet/stream';
const p = pipeline('app');
const s: KStream<string, { n: number }> = p.stream('in', { key: serdes.string, value: serdes.json<{ n: number }>() });
const doubled: KStream<string, number> = s.mapValues((r) => r.value.n * 2);
// @ts-expect-error the value is a number now
doubled.to('out', { key: serdes.string, value: serdes.string });
`,
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `tsc in a dependent package: ${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
