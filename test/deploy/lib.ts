// Shared machinery of the deploy tests: the pinned helm in .tools/bin, the Kubernetes specs
// listed in .tools/k8s-schemas/index.txt, rendering a chart (the broker's by default; the
// pipeline chart's with `chart: pipelineChartDir`), and the policy checks.
// The tools come from scripts/tools/install-helm.sh and scripts/tools/k8s-schemas.sh; when
// they are missing a test fails under CI=true and is skipped (with the commands to run)
// otherwise.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

import { repoRoot } from '../helpers/paths.js';

export { repoRoot };
export const chartDir = join(repoRoot, 'deploy', 'helm', 'rivulet');
export const pipelineChartDir = join(repoRoot, 'deploy', 'helm', 'rivulet-pipeline');
export const helmBin = join(repoRoot, '.tools', 'bin', 'helm');
export const yaml2jsonBin = join(repoRoot, '.tools', 'bin', 'yaml2json');
export const releaseName = 'rv';
export const namespace = 'streaming';
/** CRD APIs a real cluster would have (prometheus-operator, KEDA), so gated objects render. */
export const extraApiVersions = ['monitoring.coreos.com/v1', 'keda.sh/v1alpha1'];
/** Paths the broker's HTTP side serves (src/http/server.ts). */
export const brokerHttpPaths = new Set(['/healthz', '/readyz', '/metrics']);

export interface Doc {
  source: string;
  object: any;
}

export interface SchemaSpec {
  minor: string;
  path: string;
}

/** What is missing to run the deploy tests here, as instructions; [] when all is there. */
export function missingTools(chart = chartDir): string[] {
  const missing: string[] = [];
  if (!existsSync(helmBin) || !existsSync(yaml2jsonBin)) missing.push('helm/yaml2json: run bash scripts/tools/install-helm.sh');
  if (schemaSpecs().length === 0) missing.push('Kubernetes OpenAPI specs: run bash scripts/tools/k8s-schemas.sh');
  if (!existsSync(join(chart, 'Chart.yaml'))) missing.push(`the chart ${chart} is missing`);
  return missing;
}

/**
 * True when the tools are there. Otherwise fails the test under CI=true (CI must run these
 * checks) and skips it elsewhere, printing what to run.
 */
export function toolsOrSkip(t: TestContext, chart = chartDir): boolean {
  const missing = missingTools(chart);
  if (missing.length === 0) return true;
  const msg = `deploy checks need: ${missing.join('; ')}`;
  if (process.env.CI === 'true') assert.fail(msg);
  t.skip(msg);
  return false;
}

export function schemaSpecs(): SchemaSpec[] {
  const index = join(repoRoot, '.tools', 'k8s-schemas', 'index.txt');
  if (!existsSync(index)) return [];
  return readFileSync(index, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [minor, rel] = l.trim().split(/\s+/);
      return { minor: minor!, path: resolve(repoRoot, rel!) };
    })
    .filter((s) => existsSync(s.path));
}

/** Scenario values files: ci/*.yaml, plus "default" (values.yaml alone). */
export function scenarios(chart = chartDir): string[] {
  const dir = join(chart, 'ci');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
  return ['default', ...files];
}

export function scenarioArgs(scenario: string, chart = chartDir): string[] {
  return scenario === 'default' ? [] : ['-f', join(chart, 'ci', scenario)];
}

export function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helmBin, args, {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    // Keep helm away from the user's repositories, plugins and cache.
    env: { ...process.env, HELM_CACHE_HOME: join(repoRoot, '.tools', 'helm', 'cache'), HELM_CONFIG_HOME: join(repoRoot, '.tools', 'helm', 'config'), HELM_DATA_HOME: join(repoRoot, '.tools', 'helm', 'data') },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  kubeVersion?: string;
  set?: string[];
  /** The chart's directory (default: the broker chart). */
  chart?: string;
  /** More values files, after the scenario's. */
  values?: string[];
}

export function templateArgs(scenario: string, opts: RenderOptions = {}): string[] {
  return [
    'template', releaseName, opts.chart ?? chartDir, '--namespace', namespace,
    ...(opts.kubeVersion ? ['--kube-version', opts.kubeVersion] : []),
    ...extraApiVersions.flatMap((a) => ['--api-versions', a]),
    ...scenarioArgs(scenario, opts.chart),
    ...(opts.values ?? []).flatMap((f) => ['-f', f]),
    ...(opts.set ?? []).flatMap((s) => ['--set', s]),
  ];
}

/** `helm template` of a scenario; throws with helm's message when it fails. */
export function render(scenario: string, opts: RenderOptions = {}): Doc[] {
  const r = helm(templateArgs(scenario, opts));
  if (r.status !== 0) throw new Error(`helm template (${scenario}${opts.set ? ` --set ${opts.set.join(',')}` : ''}) failed:\n${r.stderr}`);
  return parseYaml(r.stdout);
}

/**
 * The per-version checks of a chart scenario, as subtests of t: for every Kubernetes minor
 * version with a schema here, `helm lint --strict`, `helm template`, and every rendered
 * object valid for that version's schema (unknown fields rejected). Returns the renders by
 * minor version, for the policy checks that follow.
 */
export async function checkEveryVersion(t: TestContext, scenario: string, chart = chartDir): Promise<Map<string, Doc[]>> {
  const renders = new Map<string, Doc[]>();
  for (const { minor, path } of schemaSpecs()) {
    const kubeVersion = `${minor}.0`;
    await t.test(`k8s ${minor}: helm lint --strict`, () => {
      const r = helm(['lint', '--strict', chart, '--kube-version', kubeVersion, ...scenarioArgs(scenario, chart)]);
      assert.equal(r.status, 0, `helm lint --strict failed:\n${r.stdout}\n${r.stderr}`);
    });
    await t.test(`k8s ${minor}: helm template renders`, () => {
      const docs = render(scenario, { kubeVersion, chart });
      assert.ok(docs.length > 0, 'nothing rendered');
      for (const d of docs) assert.ok(d.object?.apiVersion && d.object?.kind && d.object?.metadata?.name, `${d.source}: object without apiVersion/kind/name`);
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
  return renders;
}

export function parseYaml(text: string): Doc[] {
  const r = spawnSync(yaml2jsonBin, [], { input: text, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`yaml2json failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Doc[];
}

interface ValidatorModule {
  loadValidator(path: string): (obj: unknown) => { known: boolean; errors: { path: string; message: string }[] };
  validateDocuments(docs: Doc[], v: unknown): { errors: { kind: string; name: string; source: string; path: string; message: string }[]; notes: string[]; checked: number };
  formatError(e: unknown): string;
}

let validatorModule: Promise<ValidatorModule> | undefined;
export function loadValidatorModule(): Promise<ValidatorModule> {
  validatorModule ??= import(pathToFileURL(join(repoRoot, 'scripts', 'validate-manifests.mjs')).href) as Promise<ValidatorModule>;
  return validatorModule;
}

// ---- quantities ----------------------------------------------------------------------------

const suffixes: Record<string, number> = {
  '': 1, m: 1e-3, u: 1e-6, n: 1e-9, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity ("1500m", "2Gi", 2) as a number; NaN when unparseable. */
export function quantity(q: unknown): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return NaN;
  const m = /^([+-]?[0-9.]+)(?:([eE][-+]?[0-9]+)|(m|u|n|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?)$/.exec(q.trim());
  if (!m) return NaN;
  const base = Number(m[1]);
  if (m[2]) return Number(m[1] + m[2]);
  return base * suffixes[m[3] ?? '']!;
}

// ---- selectors -----------------------------------------------------------------------------

export function selectorMatches(selector: any, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  const ml = selector.matchLabels ?? {};
  const exprs = selector.matchExpressions ?? [];
  if (Object.keys(ml).length === 0 && exprs.length === 0) return true; // {} selects everything
  for (const [k, v] of Object.entries(ml)) if (l[k] !== v) return false;
  for (const e of exprs) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const val = l[e.key];
    switch (e.operator) {
      case 'In': if (!has || !(e.values ?? []).includes(val)) return false; break;
      case 'NotIn': if (has && (e.values ?? []).includes(val)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** Service-style selector (a plain label map). */
function mapSelects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

// ---- policies ------------------------------------------------------------------------------

const workloadKinds = new Set(['StatefulSet', 'Deployment', 'DaemonSet', 'ReplicaSet']);

/**
 * The label sets the pods of a workload will carry. A StatefulSet's controller adds
 * statefulset.kubernetes.io/pod-name and apps.kubernetes.io/pod-index to each pod, which
 * per-pod Services select on.
 */
function podLabelSets(w: any): Record<string, string>[] {
  const labels: Record<string, string> = w.spec?.template?.metadata?.labels ?? {};
  if (w.kind !== 'StatefulSet') return [labels];
  const n = w.spec?.replicas ?? 1;
  return Array.from({ length: Math.max(n, 1) }, (_, i) => ({
    ...labels, 'statefulset.kubernetes.io/pod-name': `${w.metadata?.name}-${i}`, 'apps.kubernetes.io/pod-index': String(i),
  }));
}

function id(o: any): string {
  return `${o.kind}/${o.metadata?.name}`;
}

/**
 * The real-time practices the chart promises, checked on rendered objects. Returns one line
 * per violation ([] when all hold).
 */
export function checkPolicies(docs: Doc[]): string[] {
  const v: string[] = [];
  const objs = renderedObjects(docs);
  const workloads = objs.filter((o) => workloadKinds.has(o.kind));
  const statefulSets = objs.filter((o) => o.kind === 'StatefulSet');
  if (statefulSets.length !== 1) v.push(`expected exactly one StatefulSet, found ${statefulSets.length}`);
  v.push(...checkWorkloads(objs));

  for (const s of statefulSets) {
    const labels = s.spec?.template?.metadata?.labels ?? {};
    const aa = s.spec?.template?.spec?.affinity?.podAntiAffinity;
    const terms = [
      ...(aa?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(aa?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p: any) => p.podAffinityTerm),
    ];
    if (terms.length === 0) v.push(`${id(s)}: no pod anti-affinity`);
    else if (!terms.some((t: any) => selectorMatches(t?.labelSelector, labels) && t?.topologyKey)) v.push(`${id(s)}: no pod anti-affinity term selects the StatefulSet's own pods`);
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata?.name === s.spec?.serviceName);
    if (!svc) v.push(`${id(s)}: serviceName ${s.spec?.serviceName} is not a rendered Service`);
    else if (svc.spec?.clusterIP !== 'None') v.push(`${id(s)}: its serviceName ${svc.metadata.name} is not headless`);
  }

  // PodDisruptionBudgets select the StatefulSet's pods.
  for (const pdb of objs.filter((o) => o.kind === 'PodDisruptionBudget')) {
    const targets = workloads.filter((w) => selectorMatches(pdb.spec?.selector, w.spec?.template?.metadata?.labels));
    if (!statefulSets.some((s) => targets.includes(s))) v.push(`${id(pdb)}: selector ${JSON.stringify(pdb.spec?.selector)} does not match the StatefulSet's pod labels`);
  }
  v.push(...checkServicesAndMonitors(objs, brokerHttpPaths, 'the broker'));
  return v;
}

/** The objects of a render (documents that are objects). */
export function renderedObjects(docs: Doc[]): any[] {
  return docs.map((d) => d.object).filter((o) => o && typeof o === 'object');
}

export function objectId(o: any): string {
  return id(o);
}

/**
 * What every workload of either chart must do: selector matching its pods, Guaranteed QoS
 * with whole CPUs, probes on /healthz and /readyz on declared ports, every volume mounted and
 * every mount backed, a hardened security context.
 */
export function checkWorkloads(objs: any[]): string[] {
  const v: string[] = [];
  const workloads = objs.filter((o) => workloadKinds.has(o.kind));
  for (const w of workloads) {
    const where = id(w);
    const pod = w.spec?.template?.spec ?? {};
    const podLabels: Record<string, string> = w.spec?.template?.metadata?.labels ?? {};
    const containers: any[] = pod.containers ?? [];
    const initContainers: any[] = pod.initContainers ?? [];
    const all = [...initContainers, ...containers];

    if (!selectorMatches(w.spec?.selector, podLabels)) v.push(`${where}: spec.selector does not match the pod template labels`);

    // Guaranteed QoS: cpu and memory requests == limits on every container (init too);
    // whole CPUs on the regular containers, so the static CPU manager can pin them.
    for (const c of all) {
      const req = c.resources?.requests ?? {};
      const lim = c.resources?.limits ?? {};
      for (const r of ['cpu', 'memory']) {
        if (lim[r] === undefined) v.push(`${where} container ${c.name}: resources.limits.${r} is not set (Guaranteed QoS needs it)`);
        if (req[r] !== undefined && lim[r] !== undefined && quantity(req[r]) !== quantity(lim[r])) {
          v.push(`${where} container ${c.name}: resources.requests.${r} (${req[r]}) != resources.limits.${r} (${lim[r]}) (Guaranteed QoS needs them equal)`);
        }
      }
      for (const r of new Set([...Object.keys(req), ...Object.keys(lim)])) {
        if (r === 'cpu' || r === 'memory') continue;
        if (req[r] !== undefined && lim[r] !== undefined && quantity(req[r]) !== quantity(lim[r])) {
          v.push(`${where} container ${c.name}: resources.requests.${r} (${req[r]}) != limits (${lim[r]})`);
        }
      }
    }
    for (const c of containers) {
      const cpu = c.resources?.limits?.cpu ?? c.resources?.requests?.cpu;
      const n = quantity(cpu);
      if (cpu !== undefined && (!Number.isFinite(n) || Math.abs(n * 1000 - Math.round(n) * 1000) > 1e-6 || n < 1)) {
        v.push(`${where} container ${c.name}: cpu ${cpu} is not a whole number of CPUs (the static CPU manager pins only integer CPUs)`);
      }
    }

    // Probes on endpoints the broker serves, on a port the container declares.
    const main = containers[0];
    if (main) {
      for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe']) if (!main[p]) v.push(`${where} container ${main.name}: no ${p}`);
      if (main.readinessProbe?.httpGet && main.readinessProbe.httpGet.path !== '/readyz') v.push(`${where} container ${main.name}: readinessProbe must GET /readyz, not ${main.readinessProbe.httpGet.path}`);
      if (main.livenessProbe?.httpGet && main.livenessProbe.httpGet.path !== '/healthz') v.push(`${where} container ${main.name}: livenessProbe must GET /healthz (/readyz is 503 during recovery and shutdown), not ${main.livenessProbe.httpGet.path}`);
    }
    for (const c of all) {
      const ports: any[] = c.ports ?? [];
      for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const probe = c[p];
        if (!probe) continue;
        const action = probe.httpGet ?? probe.tcpSocket ?? probe.grpc;
        if (probe.httpGet && !['/healthz', '/readyz'].includes(probe.httpGet.path)) v.push(`${where} container ${c.name}: ${p} path ${probe.httpGet.path} is not /healthz or /readyz`);
        if (action) {
          const port = action.port;
          const ok = typeof port === 'number' ? ports.some((x) => x.containerPort === port) : ports.some((x) => x.name === port);
          if (!ok) v.push(`${where} container ${c.name}: ${p} port ${port} is not a port of the container (${ports.map((x) => `${x.name}:${x.containerPort}`).join(', ') || 'none'})`);
        }
      }
    }

    // Volumes: each declared one is mounted; each mount names a volume or a claim template.
    const volumes = new Set<string>((pod.volumes ?? []).map((x: any) => x.name));
    const claims = new Set<string>((w.spec?.volumeClaimTemplates ?? []).map((x: any) => x.metadata?.name));
    const mounted = new Set<string>();
    for (const c of all) {
      for (const m of [...(c.volumeMounts ?? []), ...(c.volumeDevices ?? [])]) {
        mounted.add(m.name);
        if (!volumes.has(m.name) && !claims.has(m.name)) v.push(`${where} container ${c.name}: mounts ${m.name}, which is neither a volume nor a volumeClaimTemplate`);
      }
    }
    for (const name of [...volumes, ...claims]) if (!mounted.has(name)) v.push(`${where}: volume ${name} is declared but no container mounts it`);

    // Hardening.
    const psc = pod.securityContext ?? {};
    if (pod.hostPID || pod.hostIPC) v.push(`${where}: hostPID/hostIPC must stay off`);
    for (const c of all) {
      const sc = c.securityContext ?? {};
      const at = `${where} container ${c.name}`;
      if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) v.push(`${at}: runAsNonRoot is not true`);
      if ((sc.runAsUser ?? psc.runAsUser) === 0) v.push(`${at}: runs as uid 0`);
      if (sc.readOnlyRootFilesystem !== true) v.push(`${at}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) v.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.privileged === true) v.push(`${at}: privileged`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) v.push(`${at}: capabilities.drop does not include ALL`);
      if ((sc.seccompProfile?.type ?? psc.seccompProfile?.type) !== 'RuntimeDefault') v.push(`${at}: seccompProfile is not RuntimeDefault`);
    }
  }
  return v;
}

/**
 * Services select rendered pods and target ports they declare; ServiceMonitors and
 * PodMonitors name existing ports and a path the process (`who`) serves.
 */
export function checkServicesAndMonitors(objs: any[], httpPaths: Set<string>, who: string): string[] {
  const v: string[] = [];
  const workloads = objs.filter((o) => workloadKinds.has(o.kind));
  // Services select pods and target ports those pods declare.
  const podsOf = (match: (labels: Record<string, string>) => boolean) => workloads.filter((w) => podLabelSets(w).some(match));
  const containerPorts = (w: any): any[] => (w.spec?.template?.spec?.containers ?? []).flatMap((c: any) => c.ports ?? []);
  for (const svc of objs.filter((o) => o.kind === 'Service')) {
    if (!svc.spec?.selector) continue;
    const pods = podsOf((l) => mapSelects(svc.spec.selector, l));
    if (pods.length === 0) { v.push(`${id(svc)}: selector matches no rendered pod`); continue; }
    for (const p of svc.spec.ports ?? []) {
      const tp = p.targetPort ?? p.port;
      const ok = pods.every((w) => containerPorts(w).some((cp) => (typeof tp === 'number' ? cp.containerPort === tp : cp.name === tp)));
      if (!ok) v.push(`${id(svc)}: port ${p.name ?? p.port} targets ${tp}, which the selected pods do not declare`);
    }
  }

  // ServiceMonitor / PodMonitor port names exist on what they select.
  for (const sm of objs.filter((o) => o.kind === 'ServiceMonitor')) {
    const svcs = objs.filter((o) => o.kind === 'Service' && selectorMatches(sm.spec?.selector, o.metadata?.labels));
    if (svcs.length === 0) v.push(`${id(sm)}: selector matches no rendered Service`);
    for (const ep of sm.spec?.endpoints ?? []) {
      if (ep.port !== undefined && !svcs.some((s) => (s.spec?.ports ?? []).some((p: any) => p.name === ep.port))) v.push(`${id(sm)}: endpoint port ${ep.port} is not a port name of the selected Services`);
      if (ep.path !== undefined && !httpPaths.has(ep.path)) v.push(`${id(sm)}: endpoint path ${ep.path} is not served by ${who}`);
    }
  }
  for (const pm of objs.filter((o) => o.kind === 'PodMonitor')) {
    const pods = podsOf((l) => selectorMatches(pm.spec?.selector, l));
    if (pods.length === 0) v.push(`${id(pm)}: selector matches no rendered pod`);
    for (const ep of pm.spec?.podMetricsEndpoints ?? []) {
      if (ep.port !== undefined && !pods.some((w) => containerPorts(w).some((cp) => cp.name === ep.port))) v.push(`${id(pm)}: endpoint port ${ep.port} is not a container port name of the selected pods`);
      if (ep.path !== undefined && !httpPaths.has(ep.path)) v.push(`${id(pm)}: endpoint path ${ep.path} is not served by ${who}`);
    }
  }
  return v;
}
