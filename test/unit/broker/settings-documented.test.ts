// Every setting the broker accepts is documented in README.md's settings table: a key added
// to the registry (src/broker/settings.ts) without a row there fails this test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokerKeys } from '../../../src/broker/settings.js';
import { defaultTopicDefaults } from '../../../src/broker/config.js';

// dist/test/unit/broker/ when compiled; README.md is at the checkout's root.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** The backquoted names in the first column of every Markdown table whose first header cell is "setting". */
export function documentedSettings(markdown: string): Set<string> {
  const names = new Set<string>();
  let inTable = false;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const first = line.split('|')[1]!.trim();
    if (/^setting$/i.test(first)) {
      inTable = true;
      continue;
    }
    if (!inTable) continue;
    for (const m of first.matchAll(/`([^`]+)`/g)) names.add(m[1]!);
  }
  return names;
}

test('README.md documents every key of the settings registry', () => {
  const documented = documentedSettings(readFileSync(join(root, 'README.md'), 'utf8'));
  assert.ok(documented.size > 0, 'README.md has a settings table (a Markdown table whose first column is headed "setting")');
  const missing = Object.keys(brokerKeys).filter((k) => !documented.has(k));
  assert.deepEqual(missing, [], `settings in src/broker/settings.ts (brokerKeys) without a row in README.md's settings table: ${missing.join(', ')}`);
});

test('README.md documents every broker default of a topic config', () => {
  const documented = documentedSettings(readFileSync(join(root, 'README.md'), 'utf8'));
  const missing = Object.keys(defaultTopicDefaults).filter((k) => !documented.has(k));
  assert.deepEqual(missing, [], `topic defaults in src/broker/config.ts (defaultTopicDefaults) without a row in README.md's settings table: ${missing.join(', ')}`);
});

test('the README parser finds names only in settings tables', () => {
  const md = ['| setting | default |', '| --- | --- |', '| `a.b`, `c` (alias `d`) | `1` |', '', '| other | x |', '| `e` | `f` |'].join('\n');
  assert.deepEqual([...documentedSettings(md)].sort(), ['a.b', 'c', 'd']);
});
