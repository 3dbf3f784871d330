// The checks can fail: values that break a practice make checkPolicies (or the schema
// validation) report it. Each case renders the chart with a bad --set, or breaks one field of
// a good render, and asserts the exact violation is reported.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicies, loadValidatorModule, render, schemaSpecs, toolsOrSkip, type Doc } from './lib.js';

function reports(violations: string[], pattern: RegExp): void {
  assert.ok(violations.some((v) => pattern.test(v)), `expected a violation matching ${pattern}, got:\n${violations.join('\n') || '(none)'}`);
}

const sts = (docs: Doc[]): any => docs.find((d) => d.object.kind === 'StatefulSet')!.object;
const broker = (docs: Doc[]): any => sts(docs).spec.template.spec.containers[0];

test('policy checks turn red on values that break a practice', async (t) => {
  if (!toolsOrSkip(t)) return;

  await t.test('the default render passes (baseline)', () => {
    assert.deepEqual(checkPolicies(render('default')), []);
  });

  await t.test('cpu request 1500m with limit 2: not Guaranteed QoS', () => {
    const v = checkPolicies(render('default', { set: ['resources.requests.cpu=1500m'] }));
    reports(v, /resources\.requests\.cpu \(1500m\) != resources\.limits\.cpu \(2\)/);
  });

  await t.test('memory request below its limit: not Guaranteed QoS', () => {
    const v = checkPolicies(render('default', { set: ['resources.requests.memory=1Gi'] }));
    reports(v, /resources\.requests\.memory \(1Gi\) != resources\.limits\.memory \(2Gi\)/);
  });

  await t.test('1500m CPUs requested and limited: Guaranteed, but not whole CPUs', () => {
    const v = checkPolicies(render('default', { set: ['resources.requests.cpu=1500m', 'resources.limits.cpu=1500m'] }));
    reports(v, /cpu 1500m is not a whole number of CPUs/);
  });

  await t.test('anti-affinity switched off', () => {
    const v = checkPolicies(render('default', { set: ['podAntiAffinity.type=none'] }));
    reports(v, /no pod anti-affinity/);
  });

  await t.test('a PDB whose selector misses the pods', () => {
    const docs = render('default');
    docs.find((d) => d.object.kind === 'PodDisruptionBudget')!.object.spec.selector.matchLabels['app.kubernetes.io/instance'] = 'other';
    reports(checkPolicies(docs), /PodDisruptionBudget\/.*does not match the StatefulSet's pod labels/);
  });

  await t.test('probes on a path or port the broker does not serve', () => {
    const docs = render('default');
    broker(docs).livenessProbe.httpGet.path = '/health';
    broker(docs).readinessProbe.httpGet.port = 'metrics';
    const v = checkPolicies(docs);
    reports(v, /livenessProbe path \/health is not \/healthz or \/readyz/);
    reports(v, /readinessProbe port metrics is not a port of the container/);
  });

  await t.test('liveness on /readyz (would restart a recovering broker)', () => {
    const docs = render('default');
    broker(docs).livenessProbe.httpGet.path = '/readyz';
    reports(checkPolicies(docs), /livenessProbe must GET \/healthz/);
  });

  await t.test('a volume nobody mounts, a mount of no volume', () => {
    const docs = render('default');
    const pod = sts(docs).spec.template.spec;
    pod.volumes = [...(pod.volumes ?? []), { name: 'spare', emptyDir: {} }];
    broker(docs).volumeMounts.push({ name: 'ghost', mountPath: '/ghost' });
    const v = checkPolicies(docs);
    reports(v, /volume spare is declared but no container mounts it/);
    reports(v, /mounts ghost, which is neither a volume nor a volumeClaimTemplate/);
  });

  await t.test('ServiceMonitor and PodMonitor on port names that do not exist', () => {
    // The chart allows one of the two at a time; render each.
    const sm = render('default', { set: ['metrics.serviceMonitor.enabled=true'] });
    const pm = render('default', { set: ['metrics.podMonitor.enabled=true'] });
    assert.deepEqual(checkPolicies(sm), [], 'the ServiceMonitor as rendered is fine');
    assert.deepEqual(checkPolicies(pm), [], 'the PodMonitor as rendered is fine');
    sm.find((d) => d.object.kind === 'ServiceMonitor')!.object.spec.endpoints[0].port = 'metrics';
    pm.find((d) => d.object.kind === 'PodMonitor')!.object.spec.podMetricsEndpoints[0].port = 'metrics';
    reports(checkPolicies(sm), /ServiceMonitor\/.*endpoint port metrics is not a port name of the selected Services/);
    reports(checkPolicies(pm), /PodMonitor\/.*endpoint port metrics is not a container port name of the selected pods/);
  });

  await t.test('securityContext hardening removed', () => {
    const v = checkPolicies(render('default', { set: ['securityContext.readOnlyRootFilesystem=false', 'securityContext.allowPrivilegeEscalation=true'] }));
    reports(v, /readOnlyRootFilesystem is not true/);
    reports(v, /allowPrivilegeEscalation is not false/);
    const docs = render('default');
    delete broker(docs).securityContext.capabilities;
    reports(checkPolicies(docs), /capabilities\.drop does not include ALL/);
  });
});

test('schema validation turns red on unknown fields and wrong types', async (t) => {
  if (!toolsOrSkip(t)) return;
  const specs = schemaSpecs();
  const m = await loadValidatorModule();
  const validate = m.loadValidator(specs[specs.length - 1]!.path);
  const errors = (docs: Doc[]) => m.validateDocuments(docs, validate).errors.map((e) => m.formatError(e));

  await t.test('a misspelt EnvVar field given through extraEnv', () => {
    const e = errors(render('default', { set: ['extraEnv[0].name=A', 'extraEnv[0].valu=x'] }));
    assert.ok(e.some((x) => /StatefulSet\/.*\/spec\/template\/spec\/containers\/0\/env\/\d+: unknown field "valu"/.test(x)), e.join('\n'));
  });

  await t.test('an unknown field, a wrong type and a bad quantity in the StatefulSet', () => {
    const docs = render('default');
    sts(docs).spec.replica = 2;
    broker(docs).ports[0].containerPort = 'kafka';
    broker(docs).resources.limits.memory = 'two gigs';
    const e = errors(docs);
    assert.ok(e.some((x) => /\/spec: unknown field "replica"/.test(x)), e.join('\n'));
    assert.ok(e.some((x) => /\/ports\/0\/containerPort: must be integer/.test(x)), e.join('\n'));
    assert.ok(e.some((x) => /\/resources\/limits\/memory: must be/.test(x)), e.join('\n'));
  });

  await t.test('CRD kinds: an unknown ServiceMonitor field', () => {
    const docs = render('default', { set: ['metrics.serviceMonitor.enabled=true'] });
    assert.deepEqual(errors(docs), []);
    docs.find((d) => d.object.kind === 'ServiceMonitor')!.object.spec.endpoints[0].scrapeInterval = '5s';
    assert.ok(errors(docs).some((x) => /ServiceMonitor\/.*unknown field "scrapeInterval"/.test(x)), errors(docs).join('\n'));
  });
});
