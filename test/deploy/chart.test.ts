// The Helm chart, checked without a cluster: for every scenario values file in
// deploy/helm/rivulet/ci/ (and values.yaml alone) and every Kubernetes minor version whose
// OpenAPI spec scripts/tools/k8s-schemas.sh fetched: `helm lint --strict`, `helm template`,
// validation of every rendered object against that version's schema with unknown fields
// rejected, and the real-time policies of lib.ts's checkPolicies.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  checkEveryVersion, checkPolicies, extraApiVersions, helm, loadValidatorModule, missingTools, parseYaml, render, repoRoot, scenarios, schemaSpecs, toolsOrSkip,
} from './lib.js';

const specs = schemaSpecs();

for (const scenario of scenarios()) {
  test(`chart scenario ${scenario}`, async (t) => {
    if (!toolsOrSkip(t)) return;
    const renders = await checkEveryVersion(t, scenario);
    await t.test('policies: Guaranteed QoS, whole CPUs, PDB, anti-affinity, probes, volumes, monitors, hardening', () => {
      // The newest Kubernetes version's render.
      const docs = [...renders.values()].pop() ?? render(scenario, {});
      assert.deepEqual(checkPolicies(docs), []);
    });
  });
}

test('deploy tools are present (CI must run the deploy checks)', (t) => {
  const missing = missingTools();
  if (missing.length > 0 && process.env.CI !== 'true') {
    t.skip(`missing: ${missing.join('; ')}`);
    return;
  }
  assert.deepEqual(missing, []);
  assert.ok(specs.length >= 3, `specs for several Kubernetes minors, have ${specs.map((s) => s.minor).join(', ')}`);
  t.diagnostic(`helm ${helm(['version', '--short']).stdout.trim()}; Kubernetes ${specs.map((s) => s.minor).join(', ')}; extra APIs ${extraApiVersions.join(', ')}`);
});

// Consumer examples (deploy/examples/**/*.yaml: a Deployment with a KEDA ScaledObject, the HPA
// alternative) are plain manifests: every object must be valid for every Kubernetes version.
test('consumer examples in deploy/examples are valid for every Kubernetes version', async (t) => {
  if (!toolsOrSkip(t)) return;
  const dir = join(repoRoot, 'deploy', 'examples');
  const files: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e)) files.push(p);
    }
  };
  walk(dir);
  if (files.length === 0) {
    t.skip('no deploy/examples/**/*.yaml yet');
    return;
  }
  const m = await loadValidatorModule();
  for (const { minor, path } of specs) {
    const validate = m.loadValidator(path);
    for (const f of files) {
      const docs = parseYaml(readFileSync(f, 'utf8')).map((d) => ({ ...d, source: relative(repoRoot, f) }));
      const r = m.validateDocuments(docs, validate);
      assert.deepEqual(r.errors.map((e) => m.formatError(e)), [], `${relative(repoRoot, f)} on Kubernetes ${minor}`);
      assert.deepEqual(r.notes, [], `${relative(repoRoot, f)}: objects without a schema`);
    }
  }
  t.diagnostic(`validated ${files.map((f) => relative(repoRoot, f)).join(', ')}`);
});

test('the chart ships the same Grafana dashboard as deploy/grafana', () => {
  const shipped = readFileSync(join(repoRoot, 'deploy', 'helm', 'rivulet', 'dashboards', 'rivulet.json'), 'utf8');
  const source = readFileSync(join(repoRoot, 'deploy', 'grafana', 'rivulet.json'), 'utf8');
  assert.equal(shipped, source, 'copy deploy/grafana/rivulet.json into deploy/helm/rivulet/dashboards/');
});
