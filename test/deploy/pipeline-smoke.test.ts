// Runs a pipeline exactly as the pipeline chart's container would, against the project's test
// broker: /readyz turns 200, a record goes through the function, SIGTERM exits 0.
//
// From the rendered function-configmap-values.yaml scenario (the function form, its code in a
// ConfigMap) the test takes the container's command, args and env, and the ConfigMap's data,
// and combines them as the kubelet does: env entries in order, $(VAR) expanded from the
// entries before it, metadata.name the pod's name; the ConfigMap's items written as files at
// the volume's mount path.
//
// Substitutions, and only these, because the process runs on this machine and not in the image:
//  - `rivulet` (the pipeline base image's command on PATH) is this checkout's bundled CLI,
//    run by this node binary;
//  - each mount path (the ConfigMap at /pipeline, the state emptyDir, the /tmp emptyDir)
//    becomes a temporary directory, wherever it appears in an argument or env value; /tmp is
//    given to the process as TMPDIR, where the image's node would see /tmp;
//  - the bootstrap address (a cluster DNS name) is the test broker's 127.0.0.1 address;
//  - the http container port, when taken on this machine, becomes a free one, and --http-host
//    0.0.0.0 (the pod's addresses) becomes 127.0.0.1: the test stays on the loopback.
// The process environment is PATH plus those and the container's env: no variable of the test
// runner leaks in (RIVULET_* settings would change the pipeline).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pipelineChartDir, render, toolsOrSkip } from './lib.js';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { runCli } from '../helpers/cli.js';
import { cliPath } from '../helpers/paths.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const scenario = 'function-configmap-values.yaml';

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

test('smoke: the pipeline chart\'s function container, run as rendered, turns ready, processes a record and stops cleanly on SIGTERM', async (t) => {
  if (!toolsOrSkip(t, pipelineChartDir)) return;
  assert.ok(existsSync(cliPath), 'dist/bin/rivulet.js missing: npm run build');

  const docs = render(scenario, { chart: pipelineChartDir });
  const deploy = docs.find((d) => d.object.kind === 'Deployment')?.object;
  assert.ok(deploy, 'a Deployment is rendered');
  const pod = deploy.spec.template.spec;
  const c = pod.containers[0];
  const podName = `${deploy.metadata.name}-7d9f8b6c4-x2x9q`;

  const dirs: string[] = [];
  let broker: BrokerProcess | undefined;
  try {
    // Volumes -> temporary directories (ConfigMap items written as files).
    const mountMap = new Map<string, string>();
    for (const m of c.volumeMounts ?? []) {
      const vol = (pod.volumes ?? []).find((x: any) => x.name === m.name);
      assert.ok(vol, `volume ${m.name} is declared`);
      const dir = await makeTempDir(`rivulet-pipeline-smoke-${m.name}-`);
      dirs.push(dir);
      mountMap.set(m.mountPath, dir);
      if (vol.configMap) {
        const cm = docs.find((d) => d.object.kind === 'ConfigMap' && d.object.metadata.name === vol.configMap.name)?.object;
        assert.ok(cm, `the ConfigMap ${vol.configMap.name} is rendered`);
        const items: { key: string; path: string }[] = vol.configMap.items ?? Object.keys(cm.data).map((k) => ({ key: k, path: k }));
        for (const it of items) {
          assert.ok(cm.data[it.key] !== undefined, `ConfigMap key ${it.key}`);
          mkdirSync(join(dir, it.path, '..'), { recursive: true });
          writeFileSync(join(dir, it.path), cm.data[it.key]);
        }
      } else {
        assert.ok(vol.emptyDir, `volume ${m.name} is an emptyDir or a ConfigMap (this test knows no other)`);
      }
    }
    const swapMounts = (s: string) => {
      for (const [from, to] of mountMap) {
        if (s === from) return to;
        if (s.startsWith(`${from}/`)) return to + s.slice(from.length);
      }
      return s;
    };

    // The test broker, and the function's topics.
    broker = await startBroker({ args: ['--set', 'group.initial.rebalance.delay.ms=0'] });
    const bootstrap = broker.bootstrap;
    for (const topic of ['payments', 'receipts']) {
      const r = await runCli(['topic', 'create', topic, '-b', bootstrap, '--partitions', '2']);
      assert.equal(r.code, 0, r.stderr);
    }

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

    // The http port, if taken here.
    const httpPort = c.ports.find((p: any) => p.name === 'http').containerPort as number;
    const port = (await portTaken(httpPort)) ? await freePort() : httpPort;
    args = args.map((a, i) => (a === String(httpPort) && args[i - 1] === '--http-port' ? String(port) : a === '0.0.0.0' && args[i - 1] === '--http-host' ? '127.0.0.1' : a));
    const probeUrl = (p: any) => {
      assert.ok(p.httpGet.port === 'http' || p.httpGet.port === httpPort, `probe on the http port, not ${p.httpGet.port}`);
      return `http://127.0.0.1:${port}${p.httpGet.path}`;
    };
    t.diagnostic(`argv: rivulet ${args.join(' ')}`);
    t.diagnostic(`env: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);

    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: mountMap.get('/tmp') ?? dirs[0],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(mountMap.has('/tmp') ? { TMPDIR: mountMap.get('/tmp') } : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
    let running = true;
    void exited.then(() => (running = false));
    try {
      // Readiness as the kubelet sees it: the rendered readinessProbe.
      const readyUrl = probeUrl(c.readinessProbe);
      let status = 0;
      await waitFor(`${readyUrl} to answer 200`, async () => {
        if (!running) assert.fail(`rivulet run exited before it was ready:\n${out}`);
        try {
          status = (await fetch(readyUrl)).status;
        } catch {
          status = 0; // not listening yet
        }
        return status === 200;
      }, 60_000, () => `last status ${status}\n${out}`, 100);
      for (const p of ['startupProbe', 'livenessProbe']) assert.equal((await fetch(probeUrl(c[p]))).status, 200, `${p} ${c[p].httpGet.path}`);

      // A paid payment makes a receipt; a pending one makes none.
      const p = await runCli(['produce', 'payments', '-b', bootstrap, '-k', ':'], {
        input: 'alice:{"id":"p1","amount":12.345,"status":"paid"}\nbob:{"id":"p2","amount":5,"status":"pending"}\n',
      });
      assert.equal(p.code, 0, p.stderr);
      let receipts: unknown[] = [];
      await waitFor('a receipt in the receipts topic', async () => {
        const r = await runCli(['consume', 'receipts', '-b', bootstrap, '--from-beginning', '--format', 'json']);
        assert.equal(r.code, 0, r.stderr);
        receipts = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse((JSON.parse(l) as { value: string }).value) as unknown);
        return receipts.length > 0;
      }, 30_000, () => out, 250);
      assert.deepEqual(receipts, [{ payment: 'p1', customer: 'alice', total: 12.35 }]);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /rivulet_stream_records_in_total\{[^}]*application="payments-receipts"/);

      // SIGTERM, as the kubelet sends it; a clean exit within the grace period.
      const grace = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), grace);
      const { code, signal } = await exited;
      clearTimeout(timer);
      assert.equal(signal, null, `killed by ${signal} (no exit within ${grace} ms of SIGTERM):\n${out}`);
      assert.equal(code, 0, `exit code after SIGTERM:\n${out}`);
    } finally {
      if (running) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  } finally {
    await broker?.cleanup();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
});
