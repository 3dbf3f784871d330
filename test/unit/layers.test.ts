// The layer rules of ../shared/ARCHITECTURE.md, checked on every import in src/ (static
// `import ... from`, side-effect `import '...'`, `export ... from`, dynamic `import('...')`
// and relative `require('...')`):
//   protocol <- storage <- broker <- interfaces (cli, http); client <- stream <- nexmark, and the CLI.
// The client stack never imports the broker stack's internals, and the broker never imports
// an interface or the client. A violation names the file, the import and the rule broken.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/unit/ when compiled; src/ is at the checkout's root.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface Rule {
  /** src folders whose modules this layer may import (its own folder always). */
  may: readonly string[];
  /** src folders it may import types from, and nothing else (`import type`, or every name marked `type`). */
  typesFrom?: readonly string[];
  why: string;
}

const rules: Readonly<Record<string, Rule>> = {
  protocol: { may: [], why: 'src/protocol imports nothing from other src folders' },
  storage: { may: ['protocol'], why: 'src/storage imports only src/protocol' },
  broker: { may: ['protocol', 'storage'], why: 'src/broker imports only src/protocol and src/storage (not cli, http or client)' },
  client: { may: [], typesFrom: ['protocol'], why: 'src/client imports only npm packages and types from src/protocol (never broker, storage, cli or http)' },
  http: { may: ['broker', 'protocol', 'storage'], why: 'src/http imports only src/broker, src/protocol and src/storage' },
  stream: { may: ['client'], typesFrom: ['protocol'], why: 'src/stream imports only src/client (and types from src/protocol)' },
  nexmark: { may: ['stream', 'client'], why: 'src/nexmark (the Nexmark benchmark: generator, queries, references) imports only src/stream and src/client, as a user\'s pipeline would' },
  cli: { may: ['protocol', 'storage', 'broker', 'client', 'http', 'stream', 'nexmark'], why: 'src/cli may import anything' },
};

export interface SourceFile {
  /** Path relative to the checkout, with forward slashes: src/broker/broker.ts. */
  path: string;
  text: string;
}

export interface Import {
  specifier: string;
  typeOnly: boolean;
  kind: 'import' | 'export' | 'bare' | 'dynamic' | 'require';
}

/** Comments out of the way (block comments, and line comments that start a line). */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/^\s*\/\/.*$/gm, '');
}

/** Every module a source file refers to. */
export function importsOf(text: string): Import[] {
  const code = stripComments(text);
  const out: Import[] = [];
  // import x from '...'; import { a, type b } from '...'; import type { T } from '...'; export { a } from '...'; export * from '...'
  for (const m of code.matchAll(/(?:^|[;}\s])(import|export)\s+(type\s+)?([\w*{}\s,$]*?)\s*from\s*['"]([^'"]+)['"]/g)) {
    const names = m[3]!;
    const braces = /\{([^}]*)\}/.exec(names);
    const allTypes = braces !== null && !/^[\s,]*$/.test(braces[1]!) && names.replace(/\{[^}]*\}/, '').trim() === '' && braces[1]!.split(',').filter((n) => n.trim() !== '').every((n) => /^\s*type\s/.test(n));
    out.push({ specifier: m[4]!, typeOnly: m[2] !== undefined || allTypes, kind: m[1] as 'import' | 'export' });
  }
  // import '...' (side effects only)
  for (const m of code.matchAll(/(?:^|[;}\s])import\s*['"]([^'"]+)['"]/g)) out.push({ specifier: m[1]!, typeOnly: false, kind: 'bare' });
  // import('...'): a module loaded at run time, unless in a type position (typeof import('...'))
  for (const m of code.matchAll(/(typeof\s+)?\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ specifier: m[2]!, typeOnly: m[1] !== undefined, kind: 'dynamic' });
  for (const m of code.matchAll(/\brequire\s*\(\s*['"](\.[^'"]+)['"]\s*\)/g)) out.push({ specifier: m[1]!, typeOnly: false, kind: 'require' });
  return out;
}

/** The src folder (layer) a path lies in, or null outside src/. */
function layerOf(path: string): string | null {
  const parts = path.split('/');
  return parts[0] === 'src' && parts.length > 2 ? parts[1]! : null;
}

/** Every import in `files` that breaks a rule, as one message each. */
export function checkLayers(files: readonly SourceFile[]): string[] {
  const violations: string[] = [];
  for (const f of files) {
    const from = layerOf(f.path);
    if (from === null) continue;
    const rule = rules[from];
    if (!rule) {
      violations.push(`${f.path}: src/${from} has no layer rule; add one to test/unit/layers.test.ts (and ARCHITECTURE.md's table)`);
      continue;
    }
    for (const imp of importsOf(f.text)) {
      if (!imp.specifier.startsWith('.')) continue; // npm packages and node: built-ins
      const target = posix.normalize(posix.join(posix.dirname(f.path), imp.specifier));
      const to = layerOf(target);
      const shown =
        imp.kind === 'dynamic' ? `import('${imp.specifier}')`
        : imp.kind === 'require' ? `require('${imp.specifier}')`
        : imp.kind === 'bare' ? `import '${imp.specifier}'`
        : `${imp.kind}${imp.typeOnly ? ' type' : ''} ... from '${imp.specifier}'`;
      if (to === null) {
        violations.push(`${f.path}: ${shown} reaches outside src/ (${target}); ${rule.why}`);
        continue;
      }
      if (to === from || rule.may.includes(to)) continue;
      if (rule.typesFrom?.includes(to)) {
        if (imp.typeOnly) continue;
        violations.push(`${f.path}: ${shown} imports values from src/${to}; only types may come from there (use import type). Rule: ${rule.why}`);
        continue;
      }
      violations.push(`${f.path}: ${shown} imports src/${to}. Rule: ${rule.why}`);
    }
  }
  return violations;
}

function sourceFiles(): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.ts')) out.push({ path: relative(root, p).split(sep).join('/'), text: readFileSync(p, 'utf8') });
    }
  };
  walk(join(root, 'src'));
  return out;
}

test('every import in src/ follows the layer rules', () => {
  const files = sourceFiles();
  const violations = checkLayers(files);
  assert.deepEqual(violations, [], `layer rules broken:\n${violations.join('\n')}`);
});

test('the scan sees the imports of every layer (it cannot pass by finding nothing)', () => {
  const files = sourceFiles();
  const seen = new Set(files.map((f) => layerOf(f.path)));
  for (const layer of ['protocol', 'storage', 'broker', 'client', 'http', 'cli']) assert.ok(seen.has(layer), `src/${layer} scanned`);
  const all = files.flatMap((f) => importsOf(f.text).map((i) => ({ ...i, path: f.path })));
  assert.ok(all.length > 200, `found ${all.length} imports`);
  const has = (path: string, spec: string, kind: Import['kind'], typeOnly: boolean): boolean => all.some((i) => i.path === path && i.specifier === spec && i.kind === kind && i.typeOnly === typeOnly);
  assert.ok(has('src/cli/start.ts', '../broker/broker.js', 'import', false), 'a static value import');
  assert.ok(has('src/http/server.ts', '../broker/broker.js', 'import', true), 'an import type');
  assert.ok(has('src/cli/consume.ts', './client-consume.js', 'dynamic', false), 'a dynamic import');
});

test('forbidden imports are reported with the file, the import and the rule', () => {
  const files: SourceFile[] = [
    { path: 'src/broker/a.ts', text: "import { runStart } from '../cli/start.js';\n" },
    { path: 'src/broker/b.ts', text: "const m = await import('../client/admin.js');\n" },
    { path: 'src/client/c.ts', text: "import {\n  Broker,\n  type X,\n} from '../broker/broker.js';\n" },
    { path: 'src/client/d.ts', text: "import { ErrorCode } from '../protocol/errors.js';\n" },
    { path: 'src/client/e.ts', text: "export * from '../storage/log.js';\n" },
    { path: 'src/protocol/f.ts', text: "import '../storage/log.js';\n" },
    { path: 'src/storage/g.ts', text: "import type { Broker } from '../broker/broker.js';\n" },
    { path: 'src/newthing/h.ts', text: "import { a } from './x.js';\n" },
    // Allowed: own folder, a permitted layer, types from protocol, packages, comments, typeof import().
    { path: 'src/client/ok.ts', text: "import type { ErrorCode } from '../protocol/errors.js';\nimport { type A, type B } from '../protocol/x.js';\nimport { Admin } from '@platformatic/kafka';\nimport { x } from './errors.js';\n// import { Broker } from '../broker/broker.js';\nlet m: typeof import('../protocol/y.js');\n" },
    { path: 'src/http/ok.ts', text: "import type { Broker } from '../broker/broker.js';\n" },
    { path: 'src/cli/ok.ts', text: "import { Broker } from '../broker/broker.js';\nimport('../client/admin.js');\n" },
  ];
  const v = checkLayers(files);
  const expect = [
    /^src\/broker\/a\.ts: import \.\.\. from '\.\.\/cli\/start\.js' imports src\/cli\. Rule: src\/broker imports only/,
    /^src\/broker\/b\.ts: import\('\.\.\/client\/admin\.js'\) imports src\/client\. Rule: src\/broker/,
    /^src\/client\/c\.ts: import \.\.\. from '\.\.\/broker\/broker\.js' imports src\/broker\. Rule: src\/client imports only npm packages/,
    /^src\/client\/d\.ts: import \.\.\. from '\.\.\/protocol\/errors\.js' imports values from src\/protocol; only types/,
    /^src\/client\/e\.ts: export \.\.\. from '\.\.\/storage\/log\.js' imports src\/storage\./,
    /^src\/protocol\/f\.ts: import '\.\.\/storage\/log\.js' imports src\/storage\. Rule: src\/protocol imports nothing/,
    /^src\/storage\/g\.ts: import type \.\.\. from '\.\.\/broker\/broker\.js' imports src\/broker\. Rule: src\/storage imports only src\/protocol/,
    /^src\/newthing\/h\.ts: src\/newthing has no layer rule/,
  ];
  assert.equal(v.length, expect.length, `violations found:\n${v.join('\n')}`);
  expect.forEach((re, i) => assert.match(v[i]!, re));
});
