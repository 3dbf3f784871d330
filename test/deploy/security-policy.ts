// Security policies of the rendered chart: what the broker's arguments say about its listeners
// (listeners=, listener.security.protocol.map, ssl.*), and the rules a secured release keeps:
// with authentication on, no listener other pods can reach serves PLAINTEXT (nor does any
// container or Service port lead to one); passwords never appear in arguments, environment
// variables or ConfigMaps; Secret volumes (TLS material, passwords) are mounted read-only and
// not world-readable; a cert-manager Certificate writes the Secret the broker mounts.

import type { Doc } from './lib.js';

export interface Listener {
  name: string;
  protocol: string;
  host: string;
  port: number;
}

const workloadKinds = new Set(['StatefulSet', 'Deployment', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']);

function podSpec(o: any): any {
  return o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec : o.spec?.template?.spec;
}

/** The broker's `--set k=v` and `--k v` arguments as a map (last wins, as in the broker). */
export function brokerSettings(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === '--set' || a === '-s') && i + 1 < args.length) {
      const kv = args[++i]!;
      const eq = kv.indexOf('=');
      if (eq > 0) out.set(kv.slice(0, eq), kv.slice(eq + 1));
    } else if (/^--(host|port)$/.test(a) && i + 1 < args.length) {
      out.set(a.slice(2), args[++i]!);
    }
  }
  return out;
}

/** The listeners the broker will open, from its settings (Kafka's defaults for the protocol map). */
export function brokerListeners(settings: Map<string, string>): Listener[] {
  const map = new Map<string, string>(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].map((p) => [p, p]));
  for (const e of (settings.get('listener.security.protocol.map') ?? '').split(',')) {
    const [n, p] = e.split(':');
    if (n && p) map.set(n.trim(), p.trim());
  }
  const listeners = settings.get('listeners');
  if (!listeners) return [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: settings.get('host') ?? '127.0.0.1', port: Number(settings.get('port') ?? 9092) }];
  return listeners.split(',').map((e) => {
    const m = /^(\w+):\/\/(.*):(\d+)$/.exec(e.trim());
    if (!m) return { name: e, protocol: 'UNPARSEABLE', host: '?', port: 0 };
    return { name: m[1]!, protocol: map.get(m[1]!) ?? 'UNKNOWN', host: m[2] === '' ? '0.0.0.0' : m[2]!, port: Number(m[3]) };
  });
}

const loopback = (h: string): boolean => h === '127.0.0.1' || h === 'localhost' || h === '::1' || h === '[::1]';

/** Argument or value text that carries a password (a JAAS entry, a password= pair, a PEM key). */
const SECRET_TEXT = /password\s*=\s*(?!\*)\S|sasl\.jaas\.config|ssl\.key\.password\s*=|-----BEGIN [A-Z ]*PRIVATE KEY-----/i;

export function checkSecurity(docs: Doc[]): string[] {
  const v: string[] = [];
  const objs = docs.map((d) => d.object).filter((o) => o && typeof o === 'object');
  const sts = objs.find((o) => o.kind === 'StatefulSet');
  if (!sts) return ['no StatefulSet rendered'];
  const pod = podSpec(sts);
  const broker = pod.containers?.[0] ?? {};
  const settings = brokerSettings((broker.args ?? []).map(String));
  const listeners = brokerListeners(settings);
  const authOn = listeners.some((l) => l.protocol.startsWith('SASL_')) || settings.has('authorizer.class.name');
  const mtls = settings.get('ssl.client.auth') === 'required';

  // 1. With authentication on, nothing reachable from other pods serves without it.
  if (authOn) {
    const open = listeners.filter((l) => l.protocol === 'PLAINTEXT' || (l.protocol === 'SSL' && !mtls));
    for (const l of open) {
      if (!loopback(l.host)) v.push(`listener ${l.name} (${l.protocol}) on ${l.host}:${l.port} serves clients without authentication while auth is on`);
      const ports: any[] = broker.ports ?? [];
      const cp = ports.find((p) => p.containerPort === l.port);
      if (cp) {
        v.push(`container port ${cp.name ?? cp.containerPort} (${l.port}) exposes the ${l.protocol} listener ${l.name}`);
        for (const svc of objs.filter((o) => o.kind === 'Service')) {
          for (const sp of svc.spec?.ports ?? []) {
            const tp = sp.targetPort ?? sp.port;
            if (tp === cp.containerPort || (cp.name !== undefined && tp === cp.name)) v.push(`Service/${svc.metadata?.name} port ${sp.name ?? sp.port} leads to the ${l.protocol} listener ${l.name}`);
          }
        }
      }
    }
  }

  // 2. Passwords never in arguments, environment variables or ConfigMaps; the chart renders no Secret.
  for (const w of objs.filter((o) => workloadKinds.has(o.kind))) {
    const spec = podSpec(w) ?? {};
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      const at = `${w.kind}/${w.metadata?.name} container ${c.name}`;
      for (const a of [...(c.command ?? []), ...(c.args ?? [])]) if (SECRET_TEXT.test(String(a))) v.push(`${at}: a password or key in its command line: ${String(a).slice(0, 60)}`);
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) v.push(`${at}: env ${e.name} comes from Secret ${e.valueFrom.secretKeyRef.name} (environment dumps would show it; mount it as a file)`);
        if (/PASSWORD|TOKEN|SECRET/i.test(e.name) && !/_FILE$/.test(e.name) && e.value !== undefined) v.push(`${at}: env ${e.name} holds a secret in the manifest`);
        if (e.value !== undefined && SECRET_TEXT.test(String(e.value))) v.push(`${at}: env ${e.name} carries a password or key`);
      }
      for (const ef of c.envFrom ?? []) if (ef.secretRef) v.push(`${at}: envFrom Secret ${ef.secretRef.name} (mount it as files instead)`);
    }
  }
  for (const cm of objs.filter((o) => o.kind === 'ConfigMap')) {
    for (const [k, val] of Object.entries<any>(cm.data ?? {})) if (SECRET_TEXT.test(String(val)) || /password/i.test(k)) v.push(`ConfigMap/${cm.metadata?.name}: key ${k} carries a password or key`);
  }
  for (const s of objs.filter((o) => o.kind === 'Secret')) v.push(`Secret/${s.metadata?.name} is rendered by the chart: its contents would come from values (keep passwords in a Secret made outside the chart)`);

  // 3. Secret volumes: mounted read-only everywhere, not world-readable.
  for (const w of objs.filter((o) => workloadKinds.has(o.kind))) {
    const spec = podSpec(w) ?? {};
    const secretVolumes = new Map<string, any>((spec.volumes ?? []).filter((x: any) => x.secret || x.projected?.sources?.some((s: any) => s.secret)).map((x: any) => [x.name, x]));
    for (const [name, vol] of secretVolumes) {
      const mode = vol.secret?.defaultMode ?? vol.projected?.defaultMode ?? 0o644;
      if ((mode & 0o007) !== 0) v.push(`${w.kind}/${w.metadata?.name}: Secret volume ${name} is world-readable (defaultMode ${mode.toString(8)})`);
    }
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      for (const m of c.volumeMounts ?? []) {
        if (secretVolumes.has(m.name) && m.readOnly !== true) v.push(`${w.kind}/${w.metadata?.name} container ${c.name}: Secret volume ${m.name} is mounted writable at ${m.mountPath}`);
      }
    }
  }

  // 4. TLS listeners read their certificate from a read-only Secret mount of the broker.
  const tlsOn = listeners.some((l) => l.protocol === 'SSL' || l.protocol === 'SASL_SSL');
  const brokerSecretMounts = (broker.volumeMounts ?? []).filter((m: any) => (pod.volumes ?? []).some((x: any) => x.name === m.name && x.secret) && m.readOnly === true);
  if (tlsOn) {
    for (const k of ['ssl.certificate.location', 'ssl.key.location']) {
      const f = settings.get(k);
      if (!f) v.push(`a TLS listener is configured but ${k} is not set`);
      else if (!brokerSecretMounts.some((m: any) => f.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))) v.push(`${k} (${f}) is not under a read-only Secret mount of the broker`);
    }
  }

  // 5. A cert-manager Certificate writes the Secret the broker mounts, for the names clients use.
  for (const cert of objs.filter((o) => o.kind === 'Certificate')) {
    const vol = (pod.volumes ?? []).find((x: any) => x.secret?.secretName === cert.spec?.secretName);
    if (!vol || !(broker.volumeMounts ?? []).some((m: any) => m.name === vol.name)) v.push(`Certificate/${cert.metadata?.name} writes Secret ${cert.spec?.secretName}, which the broker does not mount`);
    const names: string[] = cert.spec?.dnsNames ?? [];
    for (const svc of objs.filter((o) => o.kind === 'Service' && o.spec?.selector)) {
      const ns = svc.metadata?.namespace;
      const want = svc.spec?.clusterIP === 'None' ? `*.${svc.metadata?.name}.${ns}.svc.` : `${svc.metadata?.name}.${ns}.svc.`;
      if (!/-external$/.test(svc.metadata?.name ?? '') && !names.some((n) => n.startsWith(want))) v.push(`Certificate/${cert.metadata?.name} does not name ${want}<domain> (Service ${svc.metadata?.name})`);
    }
  }
  return v;
}
