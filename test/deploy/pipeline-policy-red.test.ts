// The pipeline policies can fail. Each bad values file in test/deploy/pipeline-red/ breaks one
// practice; rendered with the chart, either the chart refuses it (helm fails with the
// message below) or checkPipelinePolicies reports the violation below. Where the chart's own
// guard stops a values file before the policy sees it, or no value can break a practice (the
// probe paths are fixed), a field of a good render is broken instead, so that the policy is
// shown to turn red by itself too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { helm, pipelineChartDir, render, repoRoot, templateArgs, toolsOrSkip, type Doc } from './lib.js';
import { checkPipelinePolicies } from './pipeline-policy.js';

const chart = pipelineChartDir;
const redDir = join(repoRoot, 'test', 'deploy', 'pipeline-red');

/** What each bad values file must produce: a policy violation, or a refusal by the chart. */
const expected: Record<string, { violation?: RegExp; refused?: RegExp }> = {
  'no-limits.yaml': { violation: /container pipeline: resources\.limits\.cpu is not set/ },
  'fractional-cpu.yaml': { violation: /cpu 1500m is not a whole number of CPUs/ },
  'workers-mismatch.yaml': { violation: /--workers 4 does not match the container's 1 CPU/ },
  'workers-auto.yaml': { violation: /--workers auto is not a number/ },
  'stateful-without-volume.yaml': { violation: /StatefulSet\/rv-rivulet-pipeline: the state directory \/var\/lib\/rivulet-pipeline is not on a volumeClaimTemplate/ },
  'keda-stateful.yaml': { refused: /autoscaling\.keda\.enabled works only with kind: stateless/ },
  'root-user.yaml': { violation: /runs as uid 0/ },
  'writable-root.yaml': { violation: /readOnlyRootFilesystem is not true/ },
  'no-anti-affinity.yaml': { violation: /no pod anti-affinity term selects its own pods/ },
  'grace-too-short.yaml': { refused: /terminationGracePeriodSeconds \(20 s\) must be longer than pipeline\.shutdownTimeoutMs/ },
  'static-membership-deployment.yaml': { violation: /--static-membership true on a Deployment, whose pod names change/ },
  'password-in-env.yaml': { violation: /RIVULET_SASL_PASSWORD is a literal value in the pod spec/ },
};

function reports(violations: string[], pattern: RegExp): void {
  assert.ok(violations.some((v) => pattern.test(v)), `expected a violation matching ${pattern}, got:\n${violations.join('\n') || '(none)'}`);
}

const workload = (docs: Doc[]): any => docs.find((d) => ['Deployment', 'StatefulSet'].includes(d.object.kind))!.object;
const container = (docs: Doc[]): any => workload(docs).spec.template.spec.containers[0];

test('every bad values file in test/deploy/pipeline-red has an expected outcome, and every outcome a file', () => {
  const files = readdirSync(redDir).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(files, Object.keys(expected).sort());
});

test('pipeline policies turn red on bad values files', async (t) => {
  if (!toolsOrSkip(t, chart)) return;

  await t.test('the default render passes (baseline)', () => {
    assert.deepEqual(checkPipelinePolicies(render('default', { chart })), []);
    assert.deepEqual(checkPipelinePolicies(render('default', { chart, set: ['kind=stateful'] })), []);
  });

  for (const [file, want] of Object.entries(expected)) {
    await t.test(file, () => {
      const args = templateArgs('default', { chart, values: [join(redDir, file)] });
      const r = helm(args);
      if (want.refused) {
        assert.notEqual(r.status, 0, `the chart rendered ${file}`);
        assert.match(r.stderr, want.refused);
        return;
      }
      assert.equal(r.status, 0, `helm template with ${file} failed:\n${r.stderr}`);
      reports(checkPipelinePolicies(render('default', { chart, values: [join(redDir, file)] })), want.violation!);
    });
  }
});

test('pipeline policies turn red on broken renders', async (t) => {
  if (!toolsOrSkip(t, chart)) return;

  await t.test('KEDA scaling a StatefulSet (what the chart refuses, caught by the policy too)', () => {
    const docs = render('function-configmap-values.yaml', { chart });
    const w = workload(docs);
    w.kind = 'StatefulSet';
    w.spec.serviceName = 'rv-rivulet-pipeline';
    docs.find((d) => d.object.kind === 'ScaledObject')!.object.spec.scaleTargetRef.kind = 'StatefulSet';
    reports(checkPipelinePolicies(docs), /ScaledObject\/.*scales StatefulSet\/.*KEDA must not add and remove them/);
  });

  await t.test('KEDA on another group or cluster; replicas fighting KEDA', () => {
    const docs = render('function-configmap-values.yaml', { chart });
    const so = docs.find((d) => d.object.kind === 'ScaledObject')!.object;
    so.spec.triggers[0].metadata.consumerGroup = 'someone-else';
    so.spec.triggers[0].metadata.bootstrapServers = 'kafka:9092';
    workload(docs).spec.replicas = 2;
    const v = checkPipelinePolicies(docs);
    reports(v, /consumerGroup someone-else is not the pipeline's application id payments-receipts/);
    reports(v, /bootstrapServers kafka:9092 is not the pipeline's rivulet\.streaming\.svc:9092/);
    reports(v, /spec\.replicas is set while ScaledObject/);
  });

  await t.test('a grace period below the shutdown timeout (what the chart refuses)', () => {
    const docs = render('default', { chart });
    workload(docs).spec.template.spec.terminationGracePeriodSeconds = 20;
    reports(checkPipelinePolicies(docs), /terminationGracePeriodSeconds 20 is not above --shutdown-timeout-ms 25000/);
  });

  await t.test('probes: readiness not on /readyz, liveness on /readyz', () => {
    const docs = render('default', { chart });
    container(docs).readinessProbe.httpGet.path = '/healthz';
    container(docs).livenessProbe.httpGet.path = '/readyz';
    const v = checkPipelinePolicies(docs);
    reports(v, /readinessProbe must GET \/readyz, not \/healthz/);
    reports(v, /livenessProbe must GET \/healthz/);
  });

  await t.test('a StatefulSet whose instance id is not the pod name', () => {
    const docs = render('stateful-values.yaml', { chart });
    const c = container(docs);
    c.env = c.env.filter((e: any) => e.name !== 'RIVULET_INSTANCE_ID');
    reports(checkPipelinePolicies(docs), /the instance id \(unset: the host name\) is not the pod name/);
  });

  await t.test('no writable /tmp, no state directory mount, --http-port off the http port', () => {
    const docs = render('default', { chart });
    const c = container(docs);
    c.volumeMounts = c.volumeMounts.filter((m: any) => m.mountPath !== '/tmp' && m.name !== 'state');
    workload(docs).spec.template.spec.volumes = workload(docs).spec.template.spec.volumes.filter((x: any) => !['tmp', 'state'].includes(x.name));
    c.args.push('--http-port', '8080');
    const v = checkPipelinePolicies(docs);
    reports(v, /\/tmp is not a writable volume/);
    reports(v, /the state directory \(--state-dir \/var\/lib\/rivulet-pipeline\) is not a writable volume mount/);
    reports(v, /--http-port 8080 is not the container port named http/);
  });

  await t.test('a PDB that misses the pods; a credential file outside every mount', () => {
    const docs = render('secure-values.yaml', { chart });
    docs.find((d) => d.object.kind === 'PodDisruptionBudget')!.object.spec.selector.matchLabels['app.kubernetes.io/instance'] = 'other';
    const c = container(docs);
    c.volumeMounts = c.volumeMounts.filter((m: any) => m.name !== 'kafka-sasl');
    workload(docs).spec.template.spec.volumes = workload(docs).spec.template.spec.volumes.filter((x: any) => x.name !== 'kafka-sasl');
    const v = checkPipelinePolicies(docs);
    reports(v, /PodDisruptionBudget\/.*matches no pipeline pod/);
    reports(v, /RIVULET_SASL_PASSWORD_FILE=\/etc\/rivulet\/kafka-sasl\/password is not under a volume mount/);
  });
});
