// Runs the broker exactly as the chart's StatefulSet container would, and checks /readyz and
// a produce/consume round trip, then a clean SIGTERM exit.
//
// From the rendered default scenario the test takes the broker container's command, args and
// env, and the image's ENTRYPOINT/CMD/ENV/WORKDIR from the Dockerfile's last stage, and
// combines them as Kubernetes does: `command` replaces ENTRYPOINT, `args` replaces CMD (and a
// `command` without `args` drops CMD); env entries are set in order, $(VAR) in values,
// command and args is expanded from the entries before it ($$ is a literal $, unknown
// references stay as written); downward-API fields get fixed values (the pod is
// <statefulset>-0 in the release namespace, on a node whose IP is 127.0.0.1).
//
// Substitutions, and only these, because the process runs on this machine and not in the image:
//  - the image's WORKDIR (/app, where the Dockerfile puts package.json, node_modules and
//    dist/bin) is this checkout: an argument under it (the ENTRYPOINT's script
//    /app/dist/bin/rivulet.js) becomes the same path here, and the process runs in the
//    checkout; `node` is this node binary (process.execPath);
//  - the mount path of the data volume (a volumeClaimTemplate) becomes a temporary directory;
//  - a container port that is already taken on this machine (e.g. 9092 by another broker)
//    becomes a free one wherever it appears as an argument or env value (`--port 9092`,
//    `--http-port=9644`); the probes then use the substituted port.
// The process environment is PATH plus the image's ENV lines plus the container's env: no
// variable of the test runner leaks in (RIVULET_* settings would change the broker).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namespace, render, repoRoot, scenarios, toolsOrSkip, quantity } from './lib.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { readPartition } from '../helpers/read-all.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { produceBody } from '../helpers/requests.js';

interface Image {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workdir: string;
}

/** ENTRYPOINT, CMD (exec form), ENV and WORKDIR of the Dockerfile's last stage. */
export function readDockerfile(path: string): Image {
  const lines = readFileSync(path, 'utf8').replace(/\\\n/g, ' ').split('\n');
  let img: Image = { entrypoint: [], cmd: [], env: {}, workdir: '/' };
  for (const raw of lines) {
    const line = raw.trim();
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const [, instr, rest] = [m[0], m[1]!.toUpperCase(), m[2]!];
    if (instr === 'FROM') img = { entrypoint: [], cmd: [], env: {}, workdir: '/' };
    else if (instr === 'ENTRYPOINT') img.entrypoint = JSON.parse(rest);
    else if (instr === 'CMD') img.cmd = JSON.parse(rest);
    else if (instr === 'WORKDIR') img.workdir = rest.startsWith('/') ? rest : join(img.workdir, rest);
    else if (instr === 'ENV') {
      for (const kv of rest.match(/\S+=("[^"]*"|\S*)/g) ?? []) {
        const i = kv.indexOf('=');
        img.env[kv.slice(0, i)] = kv.slice(i + 1).replace(/^"(.*)"$/, '$1');
      }
    }
  }
  return img;
}

/** Kubernetes' $(VAR) expansion: $$ -> $, $(NAME) -> its value when defined, else unchanged. */
export function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) => {
    if (all === '$$') return '$';
    return Object.prototype.hasOwnProperty.call(vars, name!) ? vars[name!]! : all;
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

function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(false)));
  });
}

test('smoke: the StatefulSet container, run as rendered, serves /readyz and a produce/consume round trip', async (t) => {
  if (!toolsOrSkip(t)) return;
  const cli = join(repoRoot, 'dist', 'bin', 'rivulet.js');
  assert.ok(existsSync(cli), 'dist/bin/rivulet.js missing: npm run build');
  const image = readDockerfile(join(repoRoot, 'Dockerfile'));
  assert.ok(image.entrypoint.length > 0, 'the Dockerfile has an exec-form ENTRYPOINT');

  const scenario = scenarios().includes('default-values.yaml') ? 'default-values.yaml' : 'default';
  const docs = render(scenario);
  const sts = docs.find((d) => d.object.kind === 'StatefulSet')?.object;
  assert.ok(sts, 'a StatefulSet is rendered');
  const pod = sts.spec.template.spec;
  const c = pod.containers[0];
  const podName = `${sts.metadata.name}-0`;

  // Environment, in order, as the kubelet builds it.
  const env: Record<string, string> = {};
  const fieldRefs: Record<string, string> = {
    'metadata.name': podName, 'metadata.namespace': sts.metadata.namespace ?? namespace, 'metadata.uid': '00000000-0000-0000-0000-000000000000',
    'spec.nodeName': 'node-0', 'spec.serviceAccountName': pod.serviceAccountName ?? 'default',
    'status.hostIP': '127.0.0.1', 'status.podIP': '127.0.0.1', 'status.hostIPs': '127.0.0.1', 'status.podIPs': '127.0.0.1',
  };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(String(e.value), env);
    else if (e.valueFrom?.fieldRef) {
      const v = fieldRefs[e.valueFrom.fieldRef.fieldPath];
      assert.ok(v !== undefined, `env ${e.name}: fieldRef ${e.valueFrom.fieldRef.fieldPath} has no fixed value in this test`);
      env[e.name] = v;
    } else if (e.valueFrom?.resourceFieldRef) {
      const r = e.valueFrom.resourceFieldRef;
      const [kind, res] = r.resource.split('.');
      const amount = quantity(c.resources?.[kind]?.[res]);
      const divisor = r.divisor !== undefined ? quantity(r.divisor) : 1;
      env[e.name] = String(Math.ceil(amount / divisor)); // the kubelet rounds up
    } else if (e.value === undefined && !e.valueFrom) env[e.name] = '';
    else assert.fail(`env ${e.name}: ${JSON.stringify(e.valueFrom)} is not supported by this smoke test`);
  }
  assert.ok(!(c.envFrom?.length), 'envFrom is not supported by this smoke test');

  let argv: string[] = [...(c.command ?? image.entrypoint), ...(c.args ?? (c.command ? [] : image.cmd))].map((a) => expand(String(a), env));

  // Substitution: the image's WORKDIR is this checkout; `node` is this node.
  const inImage = (p: string) => p === image.workdir || p.startsWith(image.workdir.replace(/\/?$/, '/'));
  argv = argv.map((a) => (inImage(a) ? join(repoRoot, a.slice(image.workdir.length)) : a));
  if (argv[0] === 'node') argv[0] = process.execPath;
  // Node's own options (--initial-old-space-size) come before the script.
  assert.equal(argv.slice(1).find((a) => !a.startsWith('-')), cli, `the image's entrypoint maps to this checkout's CLI (argv ${argv.join(' ')})`);

  // Substitution: the data volume's mount path -> a temporary directory.
  const claims = new Set((sts.spec.volumeClaimTemplates ?? []).map((v: any) => v.metadata.name));
  const dataMount = (c.volumeMounts ?? []).find((m: any) => claims.has(m.name))
    ?? (c.volumeMounts ?? []).find((m: any) => /data/.test(m.name));
  assert.ok(dataMount, 'the broker container mounts a data volume');
  const dataDir = await mkdtemp(join(tmpdir(), 'rivulet-smoke-'));
  const swap = (s: string, from: string, to: string) => (s === from ? to : s.startsWith(`${from}/`) ? to + s.slice(from.length) : s.replace(`=${from}`, `=${to}`));
  argv = argv.map((a) => swap(a, dataMount.mountPath, dataDir));
  for (const k of Object.keys(env)) env[k] = swap(env[k]!, dataMount.mountPath, dataDir);

  // Substitution: container ports already taken here -> free ones.
  const portMap = new Map<number, number>();
  for (const p of c.ports ?? []) portMap.set(p.containerPort, (await portTaken(p.containerPort)) ? await freePort() : p.containerPort);
  const swapPort = (s: string) => {
    for (const [from, to] of portMap) {
      if (from === to) continue;
      if (s === String(from)) return String(to);
      if (s.endsWith(`=${from}`)) return s.slice(0, -String(from).length) + to;
    }
    return s;
  };
  argv = argv.map(swapPort);
  for (const k of Object.keys(env)) env[k] = swapPort(env[k]!);
  const portOf = (p: number | string): number => {
    const n = typeof p === 'number' ? p : (c.ports ?? []).find((x: any) => x.name === p)?.containerPort;
    assert.ok(n !== undefined, `probe port ${p} is a container port`);
    return portMap.get(n) ?? n;
  };
  const kafkaPort = portOf('kafka');
  const ready = c.readinessProbe.httpGet;
  const readyUrl = `http://127.0.0.1:${portOf(ready.port)}${ready.path}`;
  t.diagnostic(`argv: ${argv.join(' ')}`);
  t.diagnostic(`env: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);

  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: repoRoot, // the image's WORKDIR, substituted
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...image.env, HOSTNAME: podName, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let running = true;
  void exited.then(() => (running = false));
  try {
    // Readiness as the kubelet sees it: the rendered readinessProbe (path and port).
    const deadline = Date.now() + 30_000;
    let status = 0;
    while (Date.now() < deadline && running) {
      try {
        status = (await fetch(readyUrl)).status;
        if (status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, `${readyUrl} did not answer 200 within 30 s (running: ${running}):\n${out}`);
    for (const p of ['startupProbe', 'livenessProbe']) {
      const h = c[p].httpGet;
      assert.equal((await fetch(`http://127.0.0.1:${portOf(h.port)}${h.path}`)).status, 200, `${p} ${h.path}`);
    }
    for (const [k, v] of Object.entries(env)) assert.ok(!/\$\(/.test(v), `env ${k}=${v} has an unresolved $(VAR) reference`);
    if (env.RIVULET_ADVERTISED_HOST) assert.ok(out.includes(`advertised=${env.RIVULET_ADVERTISED_HOST}:`), `the broker advertises ${env.RIVULET_ADVERTISED_HOST}:\n${out}`);

    // Produce (acks=all) then read it back.
    const client = await WireClient.connect(kafkaPort);
    try {
      const values = ['alpha', 'beta', 'gamma'].map((v) => Buffer.from(`smoke-${v}`));
      const batch = buildBatch(values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: v })));
      const res = await client.request(ApiKey.Produce, 9, produceBody('smoke', batch));
      assert.equal(res.responses[0].partitionResponses[0].errorCode, 0, 'produce succeeded');
      const got = await readPartition(kafkaPort, 'smoke', 0);
      assert.deepEqual(got.map((r) => r.value?.toString()), values.map((v) => v.toString()));
      assert.deepEqual(got.map((r) => r.offset), [0, 1, 2]);
    } finally {
      client.close();
    }

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
    await rm(dataDir, { recursive: true, force: true });
  }
});
