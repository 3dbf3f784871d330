#!/usr/bin/env node
// Validates rendered Kubernetes manifests (e.g. `helm template` output) against the OpenAPI
// (swagger 2.0) spec of one Kubernetes version, rejecting unknown fields, as the API server
// does with strict field validation.
//
//   helm template deploy/helm/rivulet | node scripts/validate-manifests.mjs --k8s 1.31 -
//   node scripts/validate-manifests.mjs --schema path/to/swagger.json rendered.yaml
//
// --k8s <minor> takes the spec listed for that minor in .tools/k8s-schemas/index.txt (made by
// scripts/tools/k8s-schemas.sh). YAML is turned into JSON by .tools/bin/yaml2json (built by
// scripts/tools/install-helm.sh); a .json input (an array of objects, or of
// {source, object}) needs neither.
//
// How the swagger definitions become JSON Schema:
//  - each definition goes under #/definitions/<name> of one schema document, so the spec's own
//    "$ref": "#/definitions/..." resolve unchanged;
//  - every object schema with "properties" gets additionalProperties: false (unknown fields
//    are errors) unless it carries x-kubernetes-preserve-unknown-fields;
//  - IntOrString (format int-or-string) accepts an integer or a string;
//  - resource.Quantity accepts a number or a string in the quantity syntax;
//  - other "format"s (int32, int64, byte, date-time, ...) are not checked.
// Null values are dropped before validation: the API server treats a null field as unset.
// Objects whose kinds come from CRDs outside core Kubernetes (ServiceMonitor, PodMonitor,
// KEDA ScaledObject/TriggerAuthentication) are checked against the small schemas below, which
// list the fields of those CRDs (metadata, selectors and HPA behavior reuse the core
// definitions). Any other kind is reported as "not validated" (a note, not an error).

import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { resolve, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const toolsBin = join(repoRoot, '.tools', 'bin');
export const schemaIndex = join(repoRoot, '.tools', 'k8s-schemas', 'index.txt');

/** Minor versions with a spec on this machine: [{ minor: '1.31', path }]. */
export function availableSchemas() {
  if (!existsSync(schemaIndex)) return [];
  return readFileSync(schemaIndex, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [minor, rel] = l.trim().split(/\s+/);
      return { minor, path: resolve(repoRoot, rel) };
    })
    .filter((s) => existsSync(s.path));
}

const QUANTITY = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';

function convert(node, name) {
  if (Array.isArray(node)) return node.map((n) => convert(n));
  if (node === null || typeof node !== 'object') return node;
  if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') {
    return { description: node.description, anyOf: [{ type: 'string', pattern: QUANTITY }, { type: 'number' }] };
  }
  if (node.format === 'int-or-string') {
    return { description: node.description, anyOf: [{ type: 'string' }, { type: 'integer' }] };
  }
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'format') continue;
    if (k === 'properties' || k === 'patternProperties' || k === 'definitions') {
      out[k] = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, convert(pv)]));
    } else if (k === 'items' || k === 'additionalProperties' || k === 'allOf' || k === 'anyOf' || k === 'oneOf' || k === 'not') {
      out[k] = typeof v === 'boolean' ? v : convert(v);
    } else {
      out[k] = v;
    }
  }
  if (out.properties && out.additionalProperties === undefined && !node['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  if (node['x-kubernetes-preserve-unknown-fields']) delete out.additionalProperties;
  return out;
}

// Hand-written schemas of the CRD kinds the chart and examples use. Field lists follow the
// CRDs of prometheus-operator (monitoring.coreos.com/v1), KEDA (keda.sh/v1alpha1) and
// cert-manager (cert-manager.io/v1).
const ref = (d) => ({ $ref: `#/definitions/${d}` });
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const SELECTOR = 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector';
const closed = (properties, required = []) => ({ type: 'object', properties, required, additionalProperties: false });
const anyObj = { type: 'object' };
const str = { type: 'string' };
const intOrStr = { anyOf: [{ type: 'string' }, { type: 'integer' }] };
const endpointCommon = {
  path: str, scheme: { enum: ['http', 'https', 'HTTP', 'HTTPS'] }, params: anyObj, interval: str, scrapeTimeout: str,
  honorLabels: { type: 'boolean' }, honorTimestamps: { type: 'boolean' }, trackTimestampsStaleness: { type: 'boolean' },
  relabelings: { type: 'array', items: anyObj }, metricRelabelings: { type: 'array', items: anyObj },
  tlsConfig: anyObj, basicAuth: anyObj, authorization: anyObj, oauth2: anyObj, bearerTokenSecret: anyObj,
  followRedirects: { type: 'boolean' }, enableHttp2: { type: 'boolean' }, filterRunning: { type: 'boolean' },
  proxyUrl: str, noProxy: str, proxyFromEnvironment: { type: 'boolean' }, proxyConnectHeader: anyObj,
};
const monitorSpecCommon = {
  selector: ref(SELECTOR), namespaceSelector: closed({ any: { type: 'boolean' }, matchNames: { type: 'array', items: str } }),
  jobLabel: str, podTargetLabels: { type: 'array', items: str }, sampleLimit: { type: 'integer' }, targetLimit: { type: 'integer' },
  labelLimit: { type: 'integer' }, labelNameLengthLimit: { type: 'integer' }, labelValueLengthLimit: { type: 'integer' },
  keepDroppedTargets: { type: 'integer' }, attachMetadata: anyObj, scrapeProtocols: { type: 'array', items: str },
  fallbackScrapeProtocol: str, scrapeClass: str, bodySizeLimit: str, nativeHistogramBucketLimit: { type: 'integer' },
  nativeHistogramMinBucketFactor: intOrStr, scrapeClassicHistograms: { type: 'boolean' }, convertClassicHistogramsToNHCB: { type: 'boolean' },
  selectorMechanism: str,
};
const crdObject = (apiVersion, kind, spec) => closed({ apiVersion: { const: apiVersion }, kind: { const: kind }, metadata: ref(META), spec }, ['apiVersion', 'kind', 'metadata', 'spec']);
export const crdSchemas = {
  'monitoring.coreos.com/v1/ServiceMonitor': crdObject('monitoring.coreos.com/v1', 'ServiceMonitor', closed({
    ...monitorSpecCommon, targetLabels: { type: 'array', items: str },
    endpoints: { type: 'array', items: closed({ ...endpointCommon, port: str, targetPort: intOrStr, bearerTokenFile: str }) },
  }, ['endpoints', 'selector'])),
  'monitoring.coreos.com/v1/PodMonitor': crdObject('monitoring.coreos.com/v1', 'PodMonitor', closed({
    ...monitorSpecCommon,
    podMetricsEndpoints: { type: 'array', items: closed({ ...endpointCommon, port: str, portNumber: { type: 'integer' }, targetPort: intOrStr }) },
  }, ['selector'])),
  'keda.sh/v1alpha1/ScaledObject': crdObject('keda.sh/v1alpha1', 'ScaledObject', closed({
    scaleTargetRef: closed({ name: str, kind: str, apiVersion: str, envSourceContainerName: str }, ['name']),
    pollingInterval: { type: 'integer' }, cooldownPeriod: { type: 'integer' }, initialCooldownPeriod: { type: 'integer' },
    idleReplicaCount: { type: 'integer' }, minReplicaCount: { type: 'integer' }, maxReplicaCount: { type: 'integer' },
    advanced: closed({
      restoreToOriginalReplicaCount: { type: 'boolean' },
      horizontalPodAutoscalerConfig: closed({ name: str, behavior: ref('io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerBehavior') }),
      scalingModifiers: closed({ formula: str, target: str, activationTarget: str, metricType: str }),
    }),
    fallback: closed({ failureThreshold: { type: 'integer' }, replicas: { type: 'integer' }, behavior: str }, ['failureThreshold', 'replicas']),
    triggers: {
      type: 'array', minItems: 1,
      items: closed({
        type: str, name: str, useCachedMetrics: { type: 'boolean' }, metricType: { enum: ['AverageValue', 'Value', 'Utilization'] },
        // KEDA's CRD: metadata is a map of strings (lagThreshold: "10", not 10).
        metadata: { type: 'object', additionalProperties: { type: 'string' } },
        authenticationRef: closed({ name: str, kind: { enum: ['TriggerAuthentication', 'ClusterTriggerAuthentication'] } }, ['name']),
      }, ['type', 'metadata']),
    },
  }, ['scaleTargetRef', 'triggers'])),
  // cert-manager's Certificate (cert-manager.io/v1), the fields the chart may render.
  'cert-manager.io/v1/Certificate': crdObject('cert-manager.io/v1', 'Certificate', closed({
    secretName: str, commonName: str, duration: str, renewBefore: str, renewBeforePercentage: { type: 'integer' },
    dnsNames: { type: 'array', items: str }, ipAddresses: { type: 'array', items: str }, uris: { type: 'array', items: str },
    emailAddresses: { type: 'array', items: str }, isCA: { type: 'boolean' }, revisionHistoryLimit: { type: 'integer' },
    usages: { type: 'array', items: { enum: ['signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment', 'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing', 'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc'] } },
    privateKey: closed({ algorithm: { enum: ['RSA', 'ECDSA', 'Ed25519'] }, size: { type: 'integer' }, encoding: { enum: ['PKCS1', 'PKCS8'] }, rotationPolicy: { enum: ['Never', 'Always'] } }),
    issuerRef: closed({ name: str, kind: str, group: str }, ['name']),
    secretTemplate: closed({ annotations: { type: 'object', additionalProperties: str }, labels: { type: 'object', additionalProperties: str } }),
    subject: anyObj, keystores: anyObj, nameConstraints: anyObj, otherNames: { type: 'array', items: anyObj }, literalSubject: str, encodeUsagesInRequest: { type: 'boolean' },
  }, ['secretName', 'issuerRef'])),
  'keda.sh/v1alpha1/TriggerAuthentication': crdObject('keda.sh/v1alpha1', 'TriggerAuthentication', {
    type: 'object',
    properties: {
      secretTargetRef: { type: 'array', items: closed({ parameter: str, name: str, key: str }, ['parameter', 'name', 'key']) },
      env: { type: 'array', items: closed({ parameter: str, name: str, containerName: str }, ['parameter', 'name']) },
    },
  }),
};

/** Compiles the spec at `swaggerPath` into a validator: (object) => { known, errors: [{path, message}] }. */
export function loadValidator(swaggerPath) {
  const swagger = JSON.parse(readFileSync(swaggerPath, 'utf8'));
  const definitions = {};
  const byGvk = new Map();
  for (const [name, def] of Object.entries(swagger.definitions)) {
    definitions[name] = convert(def, name);
    for (const g of def['x-kubernetes-group-version-kind'] ?? []) {
      const apiVersion = g.group ? `${g.group}/${g.version}` : g.version;
      // A definition can list several GVKs (DeleteOptions, WatchEvent); the first wins.
      if (!byGvk.has(`${apiVersion}/${g.kind}`)) byGvk.set(`${apiVersion}/${g.kind}`, name);
    }
  }
  for (const [gvk, schema] of Object.entries(crdSchemas)) {
    const name = `rivulet.crd.${gvk.replace(/\//g, ".")}`;
    definitions[name] = schema;
    byGvk.set(gvk, name);
  }
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const id = 'k8s';
  ajv.addSchema({ $id: id, definitions });
  const cache = new Map();
  return (obj) => {
    const gvk = `${obj?.apiVersion}/${obj?.kind}`;
    const name = byGvk.get(gvk);
    if (!name) return { known: false, errors: [] };
    let validate = cache.get(name);
    if (!validate) {
      validate = ajv.compile({ $ref: `${id}#/definitions/${name}` });
      cache.set(name, validate);
    }
    const clean = dropNulls(obj);
    if (validate(clean)) return { known: true, errors: [] };
    return { known: true, errors: summarize(validate.errors ?? []) };
  };
}

function dropNulls(v) {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNulls(x)]));
}

// Ajv's raw errors for anyOf (IntOrString, Quantity) come as one per branch plus the anyOf
// itself; keep one line per path and reason.
function summarize(errors) {
  const out = [];
  const seen = new Set();
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const e of errors) {
    if (anyOfPaths.has(e.instancePath) && e.keyword !== 'anyOf') continue;
    const path = e.instancePath || '/';
    let message = e.message ?? e.keyword;
    if (e.keyword === 'additionalProperties') message = `unknown field "${e.params.additionalProperty}"`;
    else if (e.keyword === 'anyOf') message = 'must be an integer or a string (or a quantity such as 2, "500m" or "1Gi")';
    else if (e.keyword === 'enum') message = `${message}: ${JSON.stringify(e.params.allowedValues)}`;
    const key = `${path} ${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}

/** YAML stream -> [{ source, object }], using .tools/bin/yaml2json. */
export function parseManifests(yamlText) {
  const bin = join(toolsBin, 'yaml2json');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run bash scripts/tools/install-helm.sh`);
  const r = spawnSync(bin, [], { input: yamlText, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`yaml2json failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/**
 * Validates documents ([{ source, object }]) with a validator from loadValidator.
 * Returns { errors: [{ kind, name, source, path, message }], notes: [string], checked: number }.
 */
export function validateDocuments(docs, validator) {
  const errors = [];
  const notes = [];
  let checked = 0;
  for (const { source, object } of docs) {
    const kind = object?.kind ?? '(no kind)';
    const name = object?.metadata?.name ?? '(no name)';
    if (kind === 'List' && Array.isArray(object.items)) {
      const sub = validateDocuments(object.items.map((o) => ({ source, object: o })), validator);
      errors.push(...sub.errors);
      notes.push(...sub.notes);
      checked += sub.checked;
      continue;
    }
    const r = validator(object);
    if (!r.known) {
      notes.push(`${kind}/${name} (${object?.apiVersion}) from ${source || '?'}: no schema for this kind; not validated`);
      continue;
    }
    checked++;
    for (const e of r.errors) errors.push({ kind, name, source, ...e });
  }
  return { errors, notes, checked };
}

export function formatError(e) {
  return `${e.kind}/${e.name}${e.source ? ` (${e.source})` : ''}: ${e.path}: ${e.message}`;
}

async function main(argv) {
  let schema;
  let minor;
  const inputs = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--schema') schema = argv[++i];
    else if (a === '--k8s') minor = argv[++i];
    else if (a === '-h' || a === '--help') {
      console.log('usage: validate-manifests.mjs (--k8s <minor> | --schema <swagger.json>) [file.yaml|file.json|-]...');
      return 0;
    } else inputs.push(a);
  }
  if (!schema) {
    const all = availableSchemas();
    if (all.length === 0) {
      console.error('validate-manifests: no Kubernetes specs; run bash scripts/tools/k8s-schemas.sh (or pass --schema)');
      return 2;
    }
    const pick = minor ? all.find((s) => s.minor === minor) : all[all.length - 1];
    if (!pick) {
      console.error(`validate-manifests: no spec for ${minor}; have ${all.map((s) => s.minor).join(', ')}`);
      return 2;
    }
    schema = pick.path;
    minor = pick.minor;
  }
  if (inputs.length === 0) inputs.push('-');
  const validator = loadValidator(schema);
  let failed = 0;
  for (const input of inputs) {
    const text = readFileSync(input === '-' ? 0 : input, 'utf8');
    const docs = input.endsWith('.json')
      ? JSON.parse(text).map((d) => (d && d.object ? d : { source: input, object: d }))
      : parseManifests(text);
    const r = validateDocuments(docs, validator);
    for (const n of r.notes) console.log(`note: ${n}`);
    for (const e of r.errors) console.log(`error: ${formatError(e)}`);
    console.log(`${input === '-' ? 'stdin' : input}: ${r.checked} objects checked against Kubernetes ${minor ?? schema}, ${r.errors.length} errors`);
    failed += r.errors.length;
  }
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    console.error(`validate-manifests: ${e.message}`);
    process.exit(2);
  });
}
