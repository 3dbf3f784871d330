// The chart's broker container as Kubernetes would start it, for the smoke tests that run it
// (test/deploy/smoke.test.ts from this checkout, test/images/ from the built image):
//
// From the rendered default scenario: the broker container's command, args and env, combined
// with an image's ENTRYPOINT/CMD/ENV as Kubernetes does: `command` replaces ENTRYPOINT, `args`
// replaces CMD (and a `command` without `args` drops CMD); env entries are set in order,
// $(VAR) in values, command and args is expanded from the entries before it ($$ is a literal
// $, unknown references stay as written); downward-API fields get fixed values (the pod is
// <statefulset>-0 in the release namespace, on a node whose IP is 127.0.0.1).
//
// Then the checks every run of it must pass: the probes and /readyz, a produce/consume round
// trip (acks=all), and a clean exit 0 after SIGTERM within the grace period.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { namespace, render, scenarios, quantity } from './lib.js';
import { WireClient } from '../helpers/wire-client.js';
import { buildBatch } from '../helpers/batches.js';
import { readPartition } from '../helpers/read-all.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { produceBody } from '../helpers/requests.js';

/** What of an image's configuration decides how its container starts. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workdir: string;
}

/** ENTRYPOINT, CMD (exec form), ENV and WORKDIR of the Dockerfile's last stage. */
export function readDockerfile(path: string): ImageConfig {
  const lines = readFileSync(path, 'utf8').replace(/\\\n/g, ' ').split('\n');
  let img: ImageConfig = { entrypoint: [], cmd: [], env: {}, workdir: '/' };
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

/** A started process's output (stdout and stderr together), whether it still runs, and its exit. */
export function watch(child: ChildProcess): { output: () => string; running: () => boolean; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let running = true;
  void exited.then(() => (running = false));
  return { output: () => out, running: () => running, exited };
}

export function freePort(): Promise<number> {
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

/** The rendered StatefulSet's broker container started from `image`: argv and env as the kubelet builds them. */
export interface BrokerContainer {
  sts: any;
  pod: any;
  /** The container spec. */
  c: any;
  podName: string;
  argv: string[];
  /** The container's env entries, expanded (not the image's ENV). */
  env: Record<string, string>;
  /** The data volume's mount (a volumeClaimTemplate's, else the volume named like "data"). */
  dataMount: { name: string; mountPath: string };
}

export function brokerContainer(image: ImageConfig): BrokerContainer {
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

  const argv = [...(c.command ?? image.entrypoint), ...(c.args ?? (c.command ? [] : image.cmd))].map((a) => expand(String(a), env));

  const claims = new Set((sts.spec.volumeClaimTemplates ?? []).map((v: any) => v.metadata.name));
  const dataMount = (c.volumeMounts ?? []).find((m: any) => claims.has(m.name))
    ?? (c.volumeMounts ?? []).find((m: any) => /data/.test(m.name));
  assert.ok(dataMount, 'the broker container mounts a data volume');
  return { sts, pod, c, podName, argv, env, dataMount };
}

/**
 * Container ports already taken on this machine (e.g. 9092 by another broker) become free ones
 * wherever they appear as an argument or env value (`--port 9092`, `--http-port=9644`), in place.
 * Returns the port a named or numbered container port is reachable on.
 */
export async function remapTakenPorts(bc: BrokerContainer): Promise<(p: number | string) => number> {
  const portMap = new Map<number, number>();
  for (const p of bc.c.ports ?? []) portMap.set(p.containerPort, (await portTaken(p.containerPort)) ? await freePort() : p.containerPort);
  const swapPort = (s: string) => {
    for (const [from, to] of portMap) {
      if (from === to) continue;
      if (s === String(from)) return String(to);
      if (s.endsWith(`=${from}`)) return s.slice(0, -String(from).length) + to;
    }
    return s;
  };
  bc.argv = bc.argv.map(swapPort);
  for (const k of Object.keys(bc.env)) bc.env[k] = swapPort(bc.env[k]!);
  return (p) => {
    const n = typeof p === 'number' ? p : (bc.c.ports ?? []).find((x: any) => x.name === p)?.containerPort;
    assert.ok(n !== undefined, `probe port ${p} is a container port`);
    return portMap.get(n) ?? n;
  };
}

/** A started container: its output so far, whether it runs, its exit, and how to signal its main process. */
export interface Running {
  output(): string;
  running(): boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(sig: NodeJS.Signals): void;
}

/** The probes answer 200 (readiness first, waited for), the broker advertises its pod name, and a produce/consume round trip works. */
export async function checkBrokerServes(t: TestContext, bc: BrokerContainer, portOf: (p: number | string) => number, run: Running): Promise<void> {
  const c = bc.c;
  const ready = c.readinessProbe.httpGet;
  const readyUrl = `http://127.0.0.1:${portOf(ready.port)}${ready.path}`;
  // Readiness as the kubelet sees it: the rendered readinessProbe (path and port).
  const deadline = Date.now() + 30_000;
  let status = 0;
  while (Date.now() < deadline && run.running()) {
    try {
      status = (await fetch(readyUrl)).status;
      if (status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(status, 200, `${readyUrl} did not answer 200 within 30 s (running: ${run.running()}):\n${run.output()}`);
  for (const p of ['startupProbe', 'livenessProbe']) {
    const h = c[p].httpGet;
    assert.equal((await fetch(`http://127.0.0.1:${portOf(h.port)}${h.path}`)).status, 200, `${p} ${h.path}`);
  }
  for (const [k, v] of Object.entries(bc.env)) assert.ok(!/\$\(/.test(v), `env ${k}=${v} has an unresolved $(VAR) reference`);
  if (bc.env.RIVULET_ADVERTISED_HOST) assert.ok(run.output().includes(`advertised=${bc.env.RIVULET_ADVERTISED_HOST}:`), `the broker advertises ${bc.env.RIVULET_ADVERTISED_HOST}:\n${run.output()}`);

  // Produce (acks=all) then read it back.
  const kafkaPort = portOf('kafka');
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
  t.diagnostic('readyz 200, probes 200, produce/consume round trip done');
}

/** SIGTERM, as the kubelet sends it; a clean exit 0 within the pod's grace period (else SIGKILL and a failure). */
export async function checkSigtermExit(gracePeriodSeconds: number | undefined, run: Running): Promise<void> {
  const grace = (gracePeriodSeconds ?? 30) * 1000;
  run.signal('SIGTERM');
  const timer = setTimeout(() => run.signal('SIGKILL'), grace);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  assert.equal(signal, null, `killed by ${signal} (no exit within ${grace} ms of SIGTERM):\n${run.output()}`);
  assert.equal(code, 0, `exit code after SIGTERM:\n${run.output()}`);
}
