// The pipeline chart (deploy/helm/rivulet-pipeline), checked without a cluster as the broker
// chart is (chart.test.ts): for every scenario values file in its ci/ (and values.yaml
// alone) and every Kubernetes minor version whose OpenAPI spec is on this machine, `helm lint
// --strict`, `helm template`, schema validation with unknown fields rejected, and the
// pipeline policies of pipeline-policy.ts. Then what the templates compute (workers, KEDA's
// floor, the instance id), the refusals with what to do, and the Grafana dashboard against
// the metrics the stream runtime really exports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkEveryVersion, helm, pipelineChartDir, render, repoRoot, scenarios, templateArgs, toolsOrSkip, type Doc } from './lib.js';
import { checkPipelinePolicies, containerEnv, runFlag } from './pipeline-policy.js';
import { Registry } from 'prom-client';
import { RuntimeMetrics } from '../../src/stream/runtime/metrics.js';

const chart = pipelineChartDir;
for (const scenario of scenarios(chart)) {
  test(`pipeline chart scenario ${scenario}`, async (t) => {
    if (!toolsOrSkip(t, chart)) return;
    const renders = await checkEveryVersion(t, scenario, chart);
    await t.test('policies: Guaranteed QoS, workers = CPUs, state volume, instance id, grace period, probes, PDB, anti-affinity, KEDA, hardening', () => {
      // The newest Kubernetes version's render.
      const docs = [...renders.values()].pop() ?? render(scenario, { chart });
      assert.deepEqual(checkPipelinePolicies(docs), []);
    });
  });
}

const workload = (docs: Doc[]): any => docs.find((d) => ['Deployment', 'StatefulSet'].includes(d.object.kind))!.object;
const container = (docs: Doc[]): any => workload(docs).spec.template.spec.containers[0];
const flag = (docs: Doc[], f: string, e: string) => runFlag(container(docs).args, containerEnv(container(docs)), f, e);

test('pipeline chart: what the templates compute', async (t) => {
  if (!toolsOrSkip(t, chart)) return;

  await t.test('--workers is the whole CPU count, for 1, 2 and 4 CPUs', () => {
    for (const cpu of ['1', '2', '4']) {
      const docs = render('default', { chart, set: [`resources.requests.cpu=${cpu}`, `resources.limits.cpu=${cpu}`] });
      assert.equal(flag(docs, '--workers', 'RIVULET_WORKERS'), cpu);
      assert.deepEqual(checkPipelinePolicies(docs), []);
    }
    assert.equal(flag(render('stateful-values.yaml', { chart }), '--workers', 'RIVULET_WORKERS'), '2');
  });

  await t.test('kind selects the workload: Deployment with an emptyDir state, StatefulSet with a claim and the pod name as instance id', () => {
    const stateless = render('default', { chart });
    assert.equal(workload(stateless).kind, 'Deployment');
    assert.ok(workload(stateless).spec.template.spec.volumes.some((x: any) => x.name === 'state' && x.emptyDir));
    const stateful = render('stateful-values.yaml', { chart });
    const sts = workload(stateful);
    assert.equal(sts.kind, 'StatefulSet');
    assert.equal(sts.spec.volumeClaimTemplates[0].metadata.name, 'state');
    assert.equal(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, '20Gi');
    assert.equal(flag(stateful, '--state-dir', 'RIVULET_STATE_DIR'), '/var/lib/rivulet-pipeline');
    assert.equal(flag(stateful, '--instance-id', 'RIVULET_INSTANCE_ID'), '<pod-name>');
    assert.equal(sts.spec.replicas, 3);
    // Stable pod names: static membership by default, so a restart keeps its partitions.
    assert.equal(flag(stateful, '--static-membership', 'RIVULET_STATIC_MEMBERSHIP'), 'true');
    assert.equal(flag(stateless, '--static-membership', 'RIVULET_STATIC_MEMBERSHIP'), 'false');
  });

  await t.test('the function form from a ConfigMap: the file is the ConfigMap\'s, KEDA scales it from zero, no replicas in the Deployment', () => {
    const docs = render('function-configmap-values.yaml', { chart });
    const cm = docs.find((d) => d.object.kind === 'ConfigMap')!.object;
    assert.match(cm.data['receipts.ts'], /export default/);
    assert.deepEqual(container(docs).args.slice(0, 2), ['run', '/pipeline/receipts.ts']);
    assert.ok(workload(docs).spec.template.spec.volumes.some((x: any) => x.name === 'code' && x.configMap.name === cm.metadata.name));
    assert.equal(flag(docs, '--input', 'RIVULET_INPUT'), 'payments');
    assert.equal(flag(docs, '--output', 'RIVULET_OUTPUT'), 'receipts');
    const so = docs.find((d) => d.object.kind === 'ScaledObject')!.object;
    assert.equal(so.spec.minReplicaCount, 0);
    assert.equal(so.spec.triggers[0].metadata.topic, 'payments');
    assert.equal(so.spec.triggers[0].metadata.consumerGroup, 'payments-receipts');
    assert.equal(workload(docs).spec.replicas, undefined);
    // A DSL pipeline (no --input) keeps one replica at least.
    const dsl = render('default', { chart, set: ['autoscaling.keda.enabled=true'] });
    assert.equal(dsl.find((d) => d.object.kind === 'ScaledObject')!.object.spec.minReplicaCount, 1);
  });

  await t.test('the ConfigMap form: an existing ConfigMap is mounted, not rendered; a change of the code rolls the pods', () => {
    const docs = render('default', { chart, set: ['pipeline.source=configMap', 'pipeline.configMap.existingName=my-code', 'pipeline.configMap.fileName=job.mjs'] });
    assert.ok(!docs.some((d) => d.object.kind === 'ConfigMap'), 'no ConfigMap rendered');
    const vol = workload(docs).spec.template.spec.volumes.find((x: any) => x.name === 'code');
    assert.deepEqual(vol.configMap, { name: 'my-code', items: [{ key: 'job.mjs', path: 'job.mjs' }] });
    assert.equal(container(docs).args[1], '/pipeline/job.mjs');
    const checksum = (code: string) => workload(render('default', { chart, set: ['pipeline.source=configMap', `pipeline.configMap.code=${code}`] })).spec.template.metadata.annotations['checksum/pipeline'];
    assert.notEqual(checksum('export default (r) => r'), checksum('export default (r) => undefined'));
  });

  await t.test('ServiceMonitor only where the cluster serves monitoring.coreos.com/v1', () => {
    const withApi = render('stateful-values.yaml', { chart });
    assert.ok(withApi.some((d) => d.object.kind === 'ServiceMonitor'));
    const args = templateArgs('stateful-values.yaml', { chart });
    const i = args.indexOf('monitoring.coreos.com/v1');
    const r = helm([...args.slice(0, i - 1), ...args.slice(i + 1)]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /kind: ServiceMonitor/);
  });

  await t.test('SASL and TLS through RIVULET_* variables, secrets as mounted files', () => {
    const docs = render('secure-values.yaml', { chart });
    const env = containerEnv(container(docs));
    assert.equal(env.RIVULET_SECURITY_PROTOCOL, 'SASL_SSL');
    assert.equal(env.RIVULET_SASL_MECHANISM, 'SCRAM-SHA-512');
    assert.equal(env.RIVULET_SASL_PASSWORD_FILE, '/etc/rivulet/kafka-sasl/password');
    assert.equal(env.RIVULET_TLS_CA, '/etc/rivulet/kafka-ca/ca.crt');
    assert.equal(env.RIVULET_SASL_PASSWORD, undefined);
    const ta = docs.find((d) => d.object.kind === 'TriggerAuthentication')!.object;
    assert.deepEqual(ta.spec.secretTargetRef.map((r: any) => r.parameter), ['password', 'ca', 'cert', 'key']);
    // OAUTHBEARER: the token is a file, read again at each connection, from a Secret volume (not subPath, so updates reach it).
    const oauth = render('oauthbearer-values.yaml', { chart });
    const oenv = containerEnv(container(oauth));
    assert.equal(oenv.RIVULET_SASL_TOKEN_FILE, '/etc/rivulet/kafka-sasl/token');
    assert.equal(oenv.RIVULET_SASL_USERNAME, undefined);
    const mount = container(oauth).volumeMounts.find((m: any) => m.name === 'kafka-sasl');
    assert.equal(mount.subPath, undefined);
    assert.equal(workload(oauth).spec.template.spec.volumes.find((x: any) => x.name === 'kafka-sasl').secret.secretName, 'sessions-oauth-token');
  });
});

test('pipeline chart refuses what cannot work, saying what to do', async (t) => {
  if (!toolsOrSkip(t, chart)) return;
  const refused = (set: string[], pattern: RegExp) => {
    const r = helm([...templateArgs('default', { chart }), ...set.flatMap((s) => ['--set', s])]);
    assert.notEqual(r.status, 0, `rendered with ${set.join(' ')}`);
    assert.match(r.stderr, pattern);
  };
  await t.test('KEDA with a stateful pipeline', () => refused(['kind=stateful', 'autoscaling.keda.enabled=true'], /autoscaling\.keda\.enabled works only with kind: stateless.*set autoscaling\.keda\.enabled=false/));
  await t.test('a grace period not above the shutdown timeout', () => refused(['terminationGracePeriodSeconds=25'], /terminationGracePeriodSeconds \(25 s\) must be longer than pipeline\.shutdownTimeoutMs \(25000 ms\).*at least 30/));
  await t.test('static membership on a Deployment', () => refused(['pipeline.staticMembership=true'], /pipeline\.staticMembership=true needs kind: stateful/));
  await t.test('the ConfigMap form without a file', () => refused(['pipeline.source=configMap'], /--set-file pipeline\.configMap\.code=/));
  await t.test('SASL without a password Secret; PLAIN without TLS', () => {
    refused(['kafka.sasl.mechanism=SCRAM-SHA-512', 'kafka.sasl.username=u'], /needs kafka\.sasl\.username and kafka\.sasl\.passwordSecret\.name/);
    refused(['kafka.sasl.mechanism=PLAIN', 'kafka.sasl.username=u', 'kafka.sasl.passwordSecret.name=s'], /PLAIN sends the password itself/);
  });
  await t.test('unknown values and kinds (values.schema.json)', () => {
    refused(['kind=daemon'], /kind/);
    refused(['pipeline.workers=4'], /additional properties|workers/i);
  });
});

test('pipeline dashboard: shipped by the chart as checked in, and every metric it queries is exported by the stream runtime', async () => {
  const source = readFileSync(join(repoRoot, 'deploy', 'grafana', 'rivulet-pipeline.json'), 'utf8');
  const shipped = readFileSync(join(pipelineChartDir, 'dashboards', 'rivulet-pipeline.json'), 'utf8');
  assert.equal(shipped, source, 'copy deploy/grafana/rivulet-pipeline.json into deploy/helm/rivulet-pipeline/dashboards/');

  // Names and types as the stream runtime registers them (src/stream/runtime/metrics.ts).
  const registry = new Registry();
  new RuntimeMetrics(registry, 'dashboard-check');
  const exported = new Map<string, string>((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
  assert.ok(exported.size >= 10, `metrics the runtime registers: ${[...exported.keys()].join(', ')}`);

  const dash = JSON.parse(source);
  const exprs: string[] = [];
  const walk = (x: any) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') for (const [k, v] of Object.entries(x)) (k === 'expr' || k === 'definition') && typeof v === 'string' ? exprs.push(v) : walk(v);
  };
  walk(dash);
  const queried = new Set<string>();
  const missing: string[] = [];
  for (const e of exprs) {
    for (const [name] of e.matchAll(/\brivulet_[a-z0-9_]+/g)) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const kind = exported.get(name) ?? (base !== name && exported.get(base) === 'histogram' ? 'histogram' : undefined);
      if (kind === undefined) missing.push(`${name} (in ${e})`);
      queried.add(exported.has(name) ? name : base);
    }
  }
  assert.deepEqual(missing, [], 'queried metrics that src/stream/runtime/metrics.ts does not export');
  // The panels the chart promises.
  for (const m of ['rivulet_stream_records_in_total', 'rivulet_stream_records_out_total', 'rivulet_stream_end_to_end_event_time_seconds', 'rivulet_stream_end_to_end_append_time_seconds',
    'rivulet_stream_watermark_lag_ms', 'rivulet_stream_consumer_lag', 'rivulet_stream_commit_latency_seconds', 'rivulet_stream_restore_remaining_records']) {
    assert.ok(queried.has(m), `the dashboard has no panel on ${m}`);
  }
  // Percentiles come from histograms' buckets.
  for (const e of exprs.filter((x) => x.includes('histogram_quantile'))) assert.match(e, /_bucket\{/, e);
});
