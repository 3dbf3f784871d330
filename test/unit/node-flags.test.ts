// The broker runs with the same Node flags wherever this repository starts it (DESIGN.md,
// "Latency rules"): the image, the chart, `npm start` and the benchmarks. A start that drops
// them still works, but pauses for mark-compact GCs several times as often.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

const FLAG = '--initial-old-space-size=64';

test('every place that starts the broker passes the same Node flags', () => {
  const read = (p: string) => readFileSync(join(repoRoot, p), 'utf8');
  const start = JSON.parse(read('package.json')).scripts.start as string;
  assert.ok(start.startsWith(`node ${FLAG} `), `npm start: ${start}`);
  assert.match(read('Dockerfile'), new RegExp(`ENTRYPOINT \\["node", "${FLAG}", `));
  const sts = read('deploy/helm/rivulet/templates/statefulset.yaml');
  assert.match(sts, new RegExp(`exec node ${FLAG} /app/dist/bin/rivulet.js`), 'statefulset: per-pod script');
  assert.match(sts, new RegExp(`- node\\n\\s+- ${FLAG}\\n\\s+- /app/dist/bin/rivulet.js`), 'statefulset: command');
  assert.ok(read('bench/compare/brokers.mjs').includes(`'${FLAG}', cli, 'start'`), 'bench brokers');
});
