// Runs pipelines exactly as the pipeline chart's container would, against the project's test
// broker: /readyz turns 200, a record goes through, SIGTERM exits 0.
//  - function-configmap-values.yaml: the function form, its code in a ConfigMap, a Deployment;
//  - secure-values.yaml with examples/function.ts: SASL_SSL (SCRAM-SHA-512) with mutual TLS
//    against a broker that requires both, the CA, the client certificate and the password
//    from the "Secrets" mounted as files;
//  - stateful-values.yaml: examples/windowed-count.ts in an image, a StatefulSet pod with its
//    volume, stopped and started again as pod <name>-0 on the same volume: it resumes from its
//    local state (no changelog record restored) and counts on.
//
// From the rendered scenario the test takes the container's command, args and env, and the
// ConfigMaps' data, and combines them as the kubelet does: env entries in order, $(VAR)
// expanded from the entries before it, metadata.name the pod's name; a ConfigMap's items
// written as files at the volume's mount path.
//
// Substitutions, and only these, because the process runs on this machine and not in the image:
//  - `rivulet` (the pipeline base image's command on PATH) is this checkout's bundled CLI,
//    run by this node binary;
//  - the image's pipeline file /pipeline/<name> (what a Dockerfile FROM the base image
//    copies there) is examples/<name> of this checkout;
//  - a Secret's items are the test's own CA, client certificate and password;
//  - each mount path (a ConfigMap, a Secret, the state volume, the /tmp emptyDir) becomes a temporary
//    directory, wherever it appears in an argument or env value (a volumeClaimTemplate's
//    directory is kept from one start of the pod to the next, as the claim is); /tmp is given
//    to the process as TMPDIR, where the image's node would see /tmp;
//  - the bootstrap address (a cluster DNS name) is the test broker's 127.0.0.1 address;
//  - the http container port, when taken on this machine, becomes a free one, and --http-host
//    0.0.0.0 (the pod's addresses) becomes 127.0.0.1: the test stays on the loopback.
// The process environment is PATH plus those and the container's env: no variable of the test
// runner leaks in (RIVULET_* settings would change the pipeline).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { pipelineChartDir, render, repoRoot, toolsOrSkip, type Doc } from './lib.js';
import { freePort, watch } from './container.js';
import { listenerPorts, startBroker, type BrokerProcess } from '../helpers/broker.js';
import { makeTestCerts } from '../helpers/tls-certs.js';
import { runCli } from '../helpers/cli.js';
import { cliPath } from '../helpers/paths.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { produceBody } from '../helpers/requests.js';

/** Kubernetes' $(VAR) expansion: $$ -> $, $(NAME) -> its value when defined, else unchanged. */
function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) => {
    if (all === '$$') return '$';
    return Object.prototype.hasOwnProperty.call(vars, name!) ? vars[name!]! : all;
  });
}

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(false)));
  });
}

interface Pod {
  /** The rendered container's argv and env, substituted. */
  args: string[];
  env: Record<string, string>;
  port: number;
  probeUrl(probe: any): string;
  tmp: string;
}

/** What the kubelet would start for pod `podName` of the rendered workload; `claims` maps a claim's name to its directory, kept across starts. */
async function preparePod(docs: Doc[], podName: string, claims: Map<string, string>, dirs: string[], bootstrap: string, secrets: Record<string, Record<string, string>> = {}): Promise<Pod> {
  const w = docs.find((d) => ['Deployment', 'StatefulSet'].includes(d.object.kind))!.object;
  const pod = w.spec.template.spec;
  const c = pod.containers[0];
  const claimNames = new Set((w.spec.volumeClaimTemplates ?? []).map((x: any) => x.metadata.name));

  // Volumes -> temporary directories (ConfigMap items written as files).
  const mountMap = new Map<string, string>();
  for (const m of c.volumeMounts ?? []) {
    let dir = claims.get(m.name);
    if (!dir) {
      dir = await makeTempDir(`rivulet-pipeline-smoke-${m.name}-`);
      dirs.push(dir);
      if (claimNames.has(m.name)) claims.set(m.name, dir);
    }
    mountMap.set(m.mountPath, dir);
    if (claimNames.has(m.name)) continue;
    const vol = (pod.volumes ?? []).find((x: any) => x.name === m.name);
    assert.ok(vol, `volume ${m.name} is declared`);
    if (vol.configMap) {
      const cm = docs.find((d) => d.object.kind === 'ConfigMap' && d.object.metadata.name === vol.configMap.name)?.object;
      assert.ok(cm, `the ConfigMap ${vol.configMap.name} is rendered`);
      const items: { key: string; path: string }[] = vol.configMap.items ?? Object.keys(cm.data).map((k) => ({ key: k, path: k }));
      for (const it of items) {
        assert.ok(cm.data[it.key] !== undefined, `ConfigMap key ${it.key}`);
        mkdirSync(join(dir, it.path, '..'), { recursive: true });
        writeFileSync(join(dir, it.path), cm.data[it.key]);
      }
    } else if (vol.secret) {
      const data = secrets[vol.secret.secretName];
      assert.ok(data, `the test has a Secret ${vol.secret.secretName}`);
      const items: { key: string; path: string }[] = vol.secret.items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
      for (const it of items) {
        assert.ok(data[it.key] !== undefined, `Secret ${vol.secret.secretName} key ${it.key}`);
        writeFileSync(join(dir, it.path), data[it.key]!);
      }
    } else {
      assert.ok(vol.emptyDir, `volume ${m.name} is an emptyDir, a ConfigMap, a Secret or a claim (this test knows no other)`);
    }
  }
  const swapMounts = (s: string) => {
    for (const [from, to] of mountMap) {
      if (s === from) return to;
      if (s.startsWith(`${from}/`)) return to + s.slice(from.length);
    }
    return s;
  };

  // Environment, in order, as the kubelet builds it.
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(String(e.value), env);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    else assert.fail(`env ${e.name}: ${JSON.stringify(e.valueFrom)} is not supported by this smoke test`);
  }
  assert.ok(!(c.envFrom?.length), 'envFrom is not supported by this smoke test');
  assert.equal(env.RIVULET_INSTANCE_ID, podName, 'the instance id is the pod name');
  assert.ok(env.RIVULET_BOOTSTRAP, 'the bootstrap address comes from RIVULET_BOOTSTRAP');
  env.RIVULET_BOOTSTRAP = bootstrap; // substitution: the cluster's address -> the test broker
  for (const k of Object.keys(env)) env[k] = swapMounts(env[k]!);

  // Command and args: `rivulet` -> this node running this checkout's CLI.
  assert.deepEqual(c.command, ['rivulet'], 'the container runs the image\'s rivulet command');
  let args: string[] = (c.args ?? []).map((a: unknown) => swapMounts(expand(String(a), env)));
  assert.equal(args[0], 'run');
  if (args[1]!.startsWith('/pipeline/')) {
    // Substitution: the file a Dockerfile FROM the base image put in the image.
    const example = join(repoRoot, 'examples', basename(args[1]!));
    assert.ok(existsSync(example), `${args[1]} is an example of this checkout (examples/${basename(args[1]!)})`);
    args[1] = example;
  }

  // The http port, if taken here; the loopback instead of every address.
  const httpPort = c.ports.find((p: any) => p.name === 'http').containerPort as number;
  const port = (await portTaken(httpPort)) ? await freePort() : httpPort;
  args = args.map((a, i) => (a === String(httpPort) && args[i - 1] === '--http-port' ? String(port) : a === '0.0.0.0' && args[i - 1] === '--http-host' ? '127.0.0.1' : a));
  const probeUrl = (p: any) => {
    assert.ok(p.httpGet.port === 'http' || p.httpGet.port === httpPort, `probe on the http port, not ${p.httpGet.port}`);
    return `http://127.0.0.1:${port}${p.httpGet.path}`;
  };
  const tmp = mountMap.get('/tmp');
  assert.ok(tmp, 'the container mounts a volume at /tmp (the root filesystem is read-only)');
  return { args, env, port, probeUrl, tmp };
}

interface Running {
  output(): string;
  /** SIGTERM as the kubelet sends it, SIGKILL after the grace period; asserts a clean exit 0. */
  stop(graceSeconds: number): Promise<void>;
  kill(): Promise<void>;
  metrics(): Promise<string>;
}

/** Starts the prepared pod and waits until its readinessProbe answers 200, as the kubelet sees it. */
async function startPod(t: { diagnostic(m: string): void }, p: Pod, c: any): Promise<Running> {
  t.diagnostic(`argv: rivulet ${p.args.join(' ')}`);
  t.diagnostic(`env: ${Object.entries(p.env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const child = spawn(process.execPath, [cliPath, ...p.args], {
    cwd: p.tmp,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: p.tmp, ...p.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, running, exited } = watch(child);
  const kill = async () => {
    if (running()) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    const readyUrl = p.probeUrl(c.readinessProbe);
    let status = 0;
    await waitFor(`${readyUrl} to answer 200`, async () => {
      if (!running()) assert.fail(`rivulet run exited before it was ready:\n${output()}`);
      try {
        status = (await fetch(readyUrl)).status;
      } catch {
        status = 0; // not listening yet
      }
      return status === 200;
    }, 60_000, () => `last status ${status}\n${output()}`, 100);
    for (const probe of ['startupProbe', 'livenessProbe']) assert.equal((await fetch(p.probeUrl(c[probe]))).status, 200, `${probe} ${c[probe].httpGet.path}`);
  } catch (e) {
    await kill();
    throw e;
  }
  return {
    output: output,
    kill,
    metrics: async () => (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text(),
    stop: async (graceSeconds: number) => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceSeconds * 1000);
      const { code, signal } = await exited;
      clearTimeout(timer);
      assert.equal(signal, null, `killed by ${signal} (no exit within ${graceSeconds} s of SIGTERM):\n${output()}`);
      assert.equal(code, 0, `exit code after SIGTERM:\n${output()}`);
    },
  };
}

/** The values of a topic's records, as parsed JSON, once there are at least `n`. */
async function valuesOf(bootstrap: string, topic: string, n: number, out: () => string, client: string[] = []): Promise<unknown[]> {
  let values: unknown[] = [];
  await waitFor(`${n} record(s) in ${topic}`, async () => {
    const r = await runCli(['consume', topic, '-b', bootstrap, '--from-beginning', '--format', 'json', ...client]);
    assert.equal(r.code, 0, r.stderr);
    values = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse((JSON.parse(l) as { value: string }).value) as unknown);
    return values.length >= n;
  }, 30_000, () => `have ${JSON.stringify(values)}\n${out()}`, 250);
  return values;
}

async function createTopics(bootstrap: string, topics: string[], partitions: number, client: string[] = []): Promise<void> {
  for (const topic of topics) {
    const r = await runCli(['topic', 'create', topic, '-b', bootstrap, '--partitions', String(partitions), ...client]);
    assert.equal(r.code, 0, r.stderr);
  }
}

const workloadOf = (docs: Doc[]): any => docs.find((d) => ['Deployment', 'StatefulSet'].includes(d.object.kind))!.object;

test('smoke: the function container (ConfigMap form), run as rendered, turns ready, processes a record and stops cleanly on SIGTERM', async (t) => {
  if (!toolsOrSkip(t, pipelineChartDir)) return;
  assert.ok(existsSync(cliPath), 'dist/bin/rivulet.js missing: npm run build');
  const docs = render('function-configmap-values.yaml', { chart: pipelineChartDir });
  const w = workloadOf(docs);
  assert.equal(w.kind, 'Deployment');
  const c = w.spec.template.spec.containers[0];
  const dirs: string[] = [];
  let broker: BrokerProcess | undefined;
  let pod: Running | undefined;
  try {
    broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
    await createTopics(broker.bootstrap, ['payments', 'receipts'], 2);
    const p = await preparePod(docs, `${w.metadata.name}-7d9f8b6c4-x2x9q`, new Map(), dirs, broker.bootstrap);
    pod = await startPod(t, p, c);

    // A paid payment makes a receipt; a pending one makes none.
    const r = await runCli(['produce', 'payments', '-b', broker.bootstrap, '-k', ':'], {
      input: 'alice:{"id":"p1","amount":12.345,"status":"paid"}\nbob:{"id":"p2","amount":5,"status":"pending"}\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await valuesOf(broker.bootstrap, 'receipts', 1, pod.output), [{ payment: 'p1', customer: 'alice', total: 12.35 }]);
    assert.match(await pod.metrics(), /rivulet_stream_records_in_total\{[^}]*application="payments-receipts"/);

    await pod.stop(w.spec.template.spec.terminationGracePeriodSeconds ?? 30);
  } finally {
    await pod?.kill();
    await broker?.cleanup();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
});

test('smoke: the stateful container (examples/windowed-count.ts), run as rendered, keeps its state on its volume across a restart of the pod', async (t) => {
  if (!toolsOrSkip(t, pipelineChartDir)) return;
  assert.ok(existsSync(cliPath), 'dist/bin/rivulet.js missing: npm run build');
  const docs = render('stateful-values.yaml', { chart: pipelineChartDir });
  const sts = workloadOf(docs);
  assert.equal(sts.kind, 'StatefulSet');
  const c = sts.spec.template.spec.containers[0];
  const grace = sts.spec.template.spec.terminationGracePeriodSeconds ?? 30;
  const podName = `${sts.metadata.name}-0`;
  const dirs: string[] = [];
  const claims = new Map<string, string>(); // the pod's claim, kept across its two starts
  let broker: BrokerProcess | undefined;
  let pod: Running | undefined;
  // Both views in one window of event time, whatever the wall clock does meanwhile.
  const windowStart = Math.floor(Date.now() / 60_000) * 60_000;
  const view = async (bootstrap: string, offsetMs: number) => {
    const client = await WireClient.connect(Number(bootstrap.split(':')[1]));
    try {
      const batch = buildBatch([{ key: Buffer.from('alice'), value: Buffer.from('/home'), timestamp: windowStart + offsetMs }], { baseTimestamp: windowStart + offsetMs });
      const res = await client.request(ApiKey.Produce, 9, produceBody('page-views', batch));
      assert.equal(res.responses[0].partitionResponses[0].errorCode, 0, 'produce succeeded');
    } finally {
      client.close();
    }
  };
  try {
    broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
    await createTopics(broker.bootstrap, ['page-views', 'views-per-minute'], 1);

    // First start of pod -0.
    pod = await startPod(t, await preparePod(docs, podName, claims, dirs, broker.bootstrap), c);
    await view(broker.bootstrap, 1_000);
    const first = await valuesOf(broker.bootstrap, 'views-per-minute', 1, pod.output);
    assert.equal((first[0] as { views: number }).views, 1);
    await pod.stop(grace);
    pod = undefined;
    const stateDir = claims.get('state');
    assert.ok(stateDir, 'the state directory is the pod\'s claim');
    assert.ok(readdirSync(join(stateDir, 'views-per-minute')).length > 0, 'the stores are on the claim');

    // The pod again, same name, same claim: its local state is there, nothing is restored.
    pod = await startPod(t, await preparePod(docs, podName, claims, dirs, broker.bootstrap), c);
    const restored = [...(await pod.metrics()).matchAll(/^rivulet_stream_restore_records_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(restored, 0, 'changelog records restored after a clean restart on the same volume');
    await view(broker.bootstrap, 2_000);
    const all = await valuesOf(broker.bootstrap, 'views-per-minute', 2, pod.output);
    assert.deepEqual(all.map((v) => (v as { views: number }).views), [1, 2]);
    await pod.stop(grace);
  } finally {
    await pod?.kill();
    await broker?.cleanup();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
});

test('smoke: the secured container (SASL_SSL, SCRAM-SHA-512, mutual TLS, credentials from Secrets), run as rendered, logs in and processes a record', async (t) => {
  if (!toolsOrSkip(t, pipelineChartDir)) return;
  assert.ok(existsSync(cliPath), 'dist/bin/rivulet.js missing: npm run build');
  const docs = render('secure-values.yaml', {
    chart: pipelineChartDir,
    set: ['pipeline.file=/pipeline/function.ts', 'pipeline.function.input[0]=payments', 'pipeline.function.output=receipts'],
  });
  const w = workloadOf(docs);
  const c = w.spec.template.spec.containers[0];
  const dirs: string[] = [];
  const certs = await makeTestCerts();
  let broker: BrokerProcess | undefined;
  let pod: Running | undefined;
  try {
    // A broker that takes only SASL_SSL logins with a client certificate of the test CA.
    const dataDir = await makeTempDir('rivulet-pipeline-smoke-broker-');
    dirs.push(dataDir);
    const password = 'pipeline-secret';
    const pwFile = join(dataDir, '..', `${basename(dataDir)}-password`);
    writeFileSync(pwFile, password);
    dirs.push(pwFile);
    const user = await runCli(['storage', 'add-scram', '-d', dataDir, '--password-file', pwFile, 'SCRAM-SHA-512=[name=orders-enricher,iterations=4096]']);
    assert.equal(user.code, 0, user.stderr);
    broker = await startBroker({
      dataDir,
      args: [
        '--set', 'listeners=SASL_SSL://127.0.0.1:0', '--set', 'group.initial.rebalance.delay.ms=0',
        '--set', `ssl.certificate.location=${certs.serverCertFile}`, '--set', `ssl.key.location=${certs.serverKeyFile}`,
        '--set', `ssl.truststore.location=${certs.caFile}`, '--set', 'listener.name.sasl_ssl.ssl.client.auth=required',
        '--set', 'sasl.enabled.mechanisms=SCRAM-SHA-512',
      ],
    });
    const bootstrap = `127.0.0.1:${listenerPorts(broker).SASL_SSL}`;
    const client = ['--tls-ca', certs.caFile, '--tls-cert', certs.clientCertFile, '--tls-key', certs.clientKeyFile, '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'orders-enricher', '--sasl-password-file', pwFile];
    await createTopics(bootstrap, ['payments', 'receipts'], 1, client);

    const read = (f: string) => readFileSync(f, 'utf8');
    const secrets = {
      'rivulet-ca': { 'ca.crt': read(certs.caFile) },
      'orders-enricher-client-tls': { 'tls.crt': read(certs.clientCertFile), 'tls.key': read(certs.clientKeyFile) },
      'orders-enricher-kafka': { password },
    };
    const p = await preparePod(docs, `${w.metadata.name}-5c6b7d8f9-k4m2n`, new Map(), dirs, bootstrap, secrets);
    assert.equal(p.env.RIVULET_SECURITY_PROTOCOL, 'SASL_SSL');
    pod = await startPod(t, p, c);

    const r = await runCli(['produce', 'payments', '-b', bootstrap, '-k', ':', ...client], { input: 'carol:{"id":"o7","amount":3,"status":"paid"}\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await valuesOf(bootstrap, 'receipts', 1, pod.output, client), [{ order: 'o7', customer: 'carol', total: 3 }]);
    await pod.stop(w.spec.template.spec.terminationGracePeriodSeconds ?? 30);
  } finally {
    await pod?.kill();
    await broker?.cleanup();
    await certs.cleanup();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
});
