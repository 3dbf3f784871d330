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
  checkPolicies, chartDir, extraApiVersions, helm, loadValidatorModule, missingTools, parseYaml, render, repoRoot, scenarioArgs, scenarios, schemaSpecs, toolsOrSkip, type Doc,
} from './lib.js';

const specs = schemaSpecs();

for (const scenario of scenarios()) {
  test(`chart scenario ${scenario}`, async (t) => {
    if (!toolsOrSkip(t)) return;
    const renders = new Map<string, Doc[]>();
    for (const { minor, path } of specs) {
      const kubeVersion = `${minor}.0`;
      await t.test(`k8s ${minor}: helm lint --strict`, () => {
        const r = helm(['lint', '--strict', chartDir, '--kube-version', kubeVersion, ...scenarioArgs(scenario)]);
        assert.equal(r.status, 0, `helm lint --strict failed:\n${r.stdout}\n${r.stderr}`);
      });
      await t.test(`k8s ${minor}: helm template renders`, () => {
        const docs = render(scenario, { kubeVersion });
        assert.ok(docs.length > 0, 'nothing rendered');
        for (const d of docs) {
          assert.ok(d.object?.apiVersion && d.object?.kind, `${d.source}: object without apiVersion/kind`);
          assert.ok(d.object?.metadata?.name, `${d.source}: object without metadata.name`);
        }
        renders.set(minor, docs);
      });
      await t.test(`k8s ${minor}: every object is valid for the Kubernetes ${minor} schema (unknown fields rejected)`, async () => {
        const docs = renders.get(minor);
        assert.ok(docs, 'render failed');
        const m = await loadValidatorModule();
        const r = m.validateDocuments(docs, m.loadValidator(path));
        for (const n of r.notes) t.diagnostic(n);
        assert.deepEqual(r.errors.map((e) => m.formatError(e)), [], 'schema errors');
        assert.equal(r.notes.length, 0, `objects without a schema: ${r.notes.join('; ')}`);
        assert.ok(r.checked > 0);
      });
    }
    await t.test('policies: Guaranteed QoS, whole CPUs, PDB, anti-affinity, probes, volumes, monitors, hardening', () => {
      const newest = specs[specs.length - 1];
      const docs = renders.get(newest!.minor) ?? render(scenario, {});
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
