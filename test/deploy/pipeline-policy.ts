// The practices the pipeline chart (deploy/helm/rivulet-pipeline) promises, checked on
// rendered objects: what every workload must do (lib.ts's checkWorkloads), plus what a
// `rivulet run` pod needs: --workers equal to its whole CPUs, a grace period above
// --shutdown-timeout-ms, a writable state directory (on a volumeClaimTemplate for a
// StatefulSet, whose instance id must be the pod name), /tmp for the bundled pipeline, soft
// or hard anti-affinity, a PDB over its pods, and a KEDA ScaledObject only on a Deployment,
// on the pipeline's own group and cluster.

import { checkServicesAndMonitors, checkWorkloads, objectId as id, quantity, renderedObjects, selectorMatches, type Doc } from './lib.js';

/** Paths `rivulet run` serves on --http-port (src/stream/run/supervisor.ts). */
export const pipelineHttpPaths = new Set(['/healthz', '/readyz', '/metrics']);

/** `rivulet run`'s defaults (src/cli/run.ts) for what the checks need. */
const RUN_DEFAULTS = { shutdownTimeoutMs: 25_000, workers: '1', httpPort: '9645' };

/** A stand-in for values the kubelet fills in per pod. */
const POD_NAME = '<pod-name>';

/**
 * The container's environment as the kubelet builds it, with downward-API fields as
 * placeholders (metadata.name -> <pod-name>) and $(VAR) references expanded.
 */
export function containerEnv(c: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, n: string) => env[n] ?? all);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = POD_NAME;
    else if (e.valueFrom) env[e.name] = `<${JSON.stringify(e.valueFrom)}>`;
    else env[e.name] = '';
  }
  return env;
}

/** The value of a `rivulet run` flag as the CLI sees it: the last --flag v / --flag=v, else its environment variable. */
export function runFlag(args: string[], env: Record<string, string>, flag: string, envName: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = String(args[i]);
    if (a === flag && i + 1 < args.length) found = String(args[++i]);
    else if (a.startsWith(`${flag}=`)) found = a.slice(flag.length + 1);
  }
  return found ?? env[envName];
}

export function checkPipelinePolicies(docs: Doc[]): string[] {
  const v: string[] = [];
  const objs = renderedObjects(docs);
  const workloads = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  if (workloads.length !== 1 || objs.some((o) => ['DaemonSet', 'ReplicaSet'].includes(o.kind))) {
    v.push(`expected exactly one Deployment or StatefulSet, found ${workloads.map(id).join(', ') || 'none'}`);
  }
  v.push(...checkWorkloads(objs));
  v.push(...checkServicesAndMonitors(objs, pipelineHttpPaths, 'rivulet run'));

  for (const w of workloads) {
    const where = id(w);
    const pod = w.spec?.template?.spec ?? {};
    const c = (pod.containers ?? [])[0];
    if (!c) continue;
    const at = `${where} container ${c.name}`;
    const args: string[] = (c.args ?? []).map(String);
    const env = containerEnv(c);
    const flag = (f: string, e: string) => runFlag(args, env, f, e);
    const mounts: any[] = c.volumeMounts ?? [];

    if (JSON.stringify(c.command) !== '["rivulet"]' || args[0] !== 'run' || !args[1] || args[1].startsWith('-')) {
      v.push(`${at}: does not run \`rivulet run <file>\` (command ${JSON.stringify(c.command)}, args ${JSON.stringify(args.slice(0, 2))})`);
    }

    // One worker per whole CPU: fewer leaves pinned cores idle, more makes threads share them.
    const cpu = c.resources?.limits?.cpu;
    const workers = flag('--workers', 'RIVULET_WORKERS') ?? RUN_DEFAULTS.workers;
    if (cpu !== undefined) {
      const cpus = quantity(cpu);
      if (!/^[0-9]+$/.test(workers)) v.push(`${at}: --workers ${workers} is not a number: "auto" counts the node's CPUs, not the container's ${cpu}`);
      else if (Number(workers) !== cpus) v.push(`${at}: --workers ${workers} does not match the container's ${cpu} CPU${cpus === 1 ? '' : 's'} (one worker per whole CPU)`);
    }

    // The grace period covers a graceful stop (finish, commit, leave the group).
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    const shutdown = Number(flag('--shutdown-timeout-ms', 'RIVULET_SHUTDOWN_TIMEOUT_MS') ?? RUN_DEFAULTS.shutdownTimeoutMs);
    if (grace * 1000 <= shutdown) v.push(`${where}: terminationGracePeriodSeconds ${grace} is not above --shutdown-timeout-ms ${shutdown}: the pod is killed before it commits and leaves its group`);

    // The HTTP side is where the probes and the ServiceMonitor look.
    const httpPort = flag('--http-port', 'RIVULET_HTTP_PORT') ?? RUN_DEFAULTS.httpPort;
    if (!(c.ports ?? []).some((p: any) => p.name === 'http' && String(p.containerPort) === httpPort)) {
      v.push(`${at}: --http-port ${httpPort} is not the container port named http (${JSON.stringify(c.ports ?? [])})`);
    }

    // A writable state directory; on a StatefulSet, a volumeClaimTemplate so state survives.
    const stateDir = flag('--state-dir', 'RIVULET_STATE_DIR');
    const stateMount = stateDir === undefined ? undefined : mounts.find((m) => m.mountPath === stateDir && m.readOnly !== true);
    if (!stateMount) v.push(`${at}: the state directory (--state-dir ${stateDir ?? 'unset: a directory of the read-only root filesystem'}) is not a writable volume mount`);
    const claims = new Set((w.spec?.volumeClaimTemplates ?? []).map((t: any) => t.metadata?.name));
    if (w.kind === 'StatefulSet') {
      if (stateMount && !claims.has(stateMount.name)) v.push(`${where}: the state directory ${stateDir} is not on a volumeClaimTemplate (volume ${stateMount.name}): local state is lost at every restart and restored from the changelog`);
      const instance = flag('--instance-id', 'RIVULET_INSTANCE_ID');
      if (instance !== POD_NAME) v.push(`${at}: the instance id (${instance ?? 'unset: the host name'}) is not the pod name from metadata.name: a restarted pod must keep its transactional ids and state directory`);
    }
    // Static membership only where pod names are stable: a Deployment's new pods would each be a
    // new static member while the old one keeps its partitions until its session times out.
    if (w.kind !== 'StatefulSet' && flag('--static-membership', 'RIVULET_STATIC_MEMBERSHIP') === 'true') {
      v.push(`${at}: --static-membership true on a ${w.kind}, whose pod names change: departed pods keep their partitions until their sessions time out`);
    }
    if (c.securityContext?.readOnlyRootFilesystem === true && !mounts.some((m) => m.mountPath === '/tmp' && m.readOnly !== true)) {
      v.push(`${at}: /tmp is not a writable volume: the pipeline file is bundled there at start`);
    }

    // Credentials only as files from volumes, never literal values in the pod spec.
    for (const name of ['RIVULET_SASL_PASSWORD', 'RIVULET_SASL_TOKEN', 'RIVULET_TLS_KEY_PASSWORD']) {
      if ((c.env ?? []).some((e: any) => e.name === name && e.value !== undefined)) v.push(`${at}: ${name} is a literal value in the pod spec: mount it from a Secret (the *_FILE variables)`);
    }
    for (const name of ['RIVULET_TLS_CA', 'RIVULET_TLS_CERT', 'RIVULET_TLS_KEY', 'RIVULET_SASL_PASSWORD_FILE', 'RIVULET_SASL_TOKEN_FILE']) {
      const path = env[name];
      if (path !== undefined && !mounts.some((m) => path.startsWith(`${String(m.mountPath).replace(/\/$/, '')}/`))) v.push(`${at}: ${name}=${path} is not under a volume mount`);
    }

    // Members of one group on separate nodes: a node loss takes out one share of the partitions.
    const labels = w.spec?.template?.metadata?.labels ?? {};
    const aa = pod.affinity?.podAntiAffinity;
    const terms = [
      ...(aa?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(aa?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p: any) => p.podAffinityTerm),
    ];
    if (!terms.some((t: any) => selectorMatches(t?.labelSelector, labels) && t?.topologyKey)) v.push(`${where}: no pod anti-affinity term selects its own pods`);
  }

  for (const pdb of objs.filter((o) => o.kind === 'PodDisruptionBudget')) {
    if (!workloads.some((w) => selectorMatches(pdb.spec?.selector, w.spec?.template?.metadata?.labels))) v.push(`${id(pdb)}: selector ${JSON.stringify(pdb.spec?.selector)} matches no pipeline pod`);
  }

  // KEDA scales a Deployment on its own group's lag, on the cluster the pipeline reads.
  for (const so of objs.filter((o) => o.kind === 'ScaledObject')) {
    const ref = so.spec?.scaleTargetRef ?? {};
    const target = workloads.find((w) => w.metadata?.name === ref.name && w.kind === (ref.kind ?? 'Deployment'));
    if (!target) {
      v.push(`${id(so)}: scaleTargetRef ${ref.kind ?? 'Deployment'}/${ref.name} is not the rendered pipeline Deployment`);
      continue;
    }
    if (target.kind !== 'Deployment') v.push(`${id(so)}: scales ${id(target)}: a stateful pipeline's pods own local state and transactional ids, KEDA must not add and remove them`);
    if (target.spec?.replicas !== undefined) v.push(`${id(target)}: spec.replicas is set while ${id(so)} owns the count: every helm upgrade would reset it`);
    const c = target.spec?.template?.spec?.containers?.[0] ?? {};
    const env = containerEnv(c);
    const group = runFlag((c.args ?? []).map(String), env, '--application-id', 'RIVULET_APPLICATION_ID');
    const bootstrap = runFlag((c.args ?? []).map(String), env, '--bootstrap-server', 'RIVULET_BOOTSTRAP');
    for (const t of so.spec?.triggers ?? []) {
      if (t.type !== 'kafka') continue;
      if (t.metadata?.consumerGroup !== group) v.push(`${id(so)}: trigger consumerGroup ${t.metadata?.consumerGroup} is not the pipeline's application id ${group}`);
      if (t.metadata?.bootstrapServers !== bootstrap) v.push(`${id(so)}: trigger bootstrapServers ${t.metadata?.bootstrapServers} is not the pipeline's ${bootstrap}`);
    }
  }
  return v;
}
