// Shared by the protocol tests: where the fixtures are, how to cut a
// request frame into header and body, and values generated from Kafka's JSON definitions.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Reader } from '../../../src/protocol/reader.js';
import { isFlexible, readRequestHeader, type RequestHeader } from '../../../src/protocol/header.js';
import { codecs, type ApiCodec } from '../../../src/protocol/generated/index.js';
import { repoRoot } from '../../helpers/paths.js';

export { repoRoot };

export const fixturesDir = join(repoRoot, 'test', 'fixtures', 'protocol');
/** Kafka's message definitions the codec is generated from, vendored in the project (Apache Kafka 4.3.1). */
export const messagesDir = join(repoRoot, 'protocol', 'kafka-4.3.1', 'messages');

export interface GoldenEntry {
  client: string;
  file: string;
  apiKey: number;
  api: string;
  version: number;
  clientId: string;
  size: number;
}

export function goldenIndex(): GoldenEntry[] {
  return JSON.parse(readFileSync(join(fixturesDir, 'index.json'), 'utf8')) as GoldenEntry[];
}

export function goldenFrame(e: GoldenEntry): Buffer {
  return readFileSync(join(fixturesDir, e.file));
}

export function codecOf(apiKey: number): ApiCodec {
  const c = codecs[apiKey];
  if (!c) throw new Error(`no codec for API key ${apiKey}`);
  return c;
}

export interface DecodedRequest {
  reader: Reader;
  header: RequestHeader;
  body: any;
}

/** Decodes a whole request frame (size, header, body) as a broker would. */
export function decodeRequestFrame(frame: Buffer): DecodedRequest {
  const r = new Reader(frame, 4);
  const header = readRequestHeader(r);
  const codec = codecs[header.apiKey];
  if (!codec || header.apiVersion < codec.minVersion || header.apiVersion > codec.maxVersion) {
    r.fail(`unknown API ${header.apiKey} v${header.apiVersion}`);
    return { reader: r, header, body: undefined };
  }
  if (isFlexible(header.apiKey, header.apiVersion)) r.skipTaggedFields();
  const body = codec.readRequest[header.apiVersion]!(r);
  return { reader: r, header, body };
}

/** Offset of the body in a request frame: after the size field and the request header. */
export function bodyOffset(frame: Buffer): number {
  const r = new Reader(frame, 4);
  const h = readRequestHeader(r);
  if (isFlexible(h.apiKey, h.apiVersion)) r.skipTaggedFields();
  if (r.bad) throw new Error(`no whole request header: ${r.reason}`);
  return r.pos;
}

export const allCodecs = (): ApiCodec[] => codecs.filter((c): c is ApiCodec => c !== undefined);

// ---------------------------------------------------------------- message definitions

interface FieldSpec {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: unknown;
  fields?: FieldSpec[];
}

export interface MessageSpec {
  name: string;
  apiKey: number;
  type: 'request' | 'response' | 'data';
  validVersions: string;
  flexibleVersions: string;
  fields: FieldSpec[];
  commonStructs?: { name: string; fields: FieldSpec[] }[];
}

/** JSON with // comments, as Kafka writes its definitions. */
function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

/** Request and response definitions by API key, for the APIs our codec table holds. */
export function loadDefinitions(): Map<number, { request: MessageSpec; response: MessageSpec }> {
  const byKey = new Map<number, { request?: MessageSpec; response?: MessageSpec }>();
  for (const file of readdirSync(messagesDir)) {
    if (!/(Request|Response)\.json$/.test(file)) continue;
    const spec = JSON.parse(stripComments(readFileSync(join(messagesDir, file), 'utf8'))) as MessageSpec;
    if (spec.type !== 'request' && spec.type !== 'response') continue;
    if (codecs[spec.apiKey] === undefined) continue;
    const e = byKey.get(spec.apiKey) ?? {};
    e[spec.type] = spec;
    byKey.set(spec.apiKey, e);
  }
  const out = new Map<number, { request: MessageSpec; response: MessageSpec }>();
  for (const [k, e] of byKey) if (e.request && e.response) out.set(k, { request: e.request, response: e.response });
  return out;
}

/** A data message's definition (type "data"), e.g. ConsumerProtocolSubscription. */
export function loadDataMessage(name: string): MessageSpec {
  const spec = JSON.parse(stripComments(readFileSync(join(messagesDir, `${name}.json`), 'utf8'))) as MessageSpec;
  if (spec.type !== 'data') throw new Error(`${name}.json is a ${spec.type} message, not data`);
  return spec;
}

type Range = [number, number] | null;
function parseVersions(spec: string | undefined): Range {
  if (spec === undefined || spec === 'none' || spec === '') return null;
  if (spec.endsWith('+')) return [Number(spec.slice(0, -1)), Infinity];
  const [a, b] = spec.split('-');
  return [Number(a), Number(b ?? a)];
}
const within = (range: Range, v: number): boolean => range !== null && v >= range[0] && v <= range[1];
export const camel = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

export function flexibleAt(spec: MessageSpec, v: number): boolean {
  return within(parseVersions(spec.flexibleVersions), v);
}

export function versionsOf(spec: MessageSpec): number[] {
  const r = parseVersions(spec.validVersions)!;
  const out: number[] = [];
  for (let v = r[0]; v <= r[1]; v++) out.push(v);
  return out;
}

/** Names (camelCase) of the top-level fields that are tagged at version v. */
export function taggedTopLevel(spec: MessageSpec, v: number): string[] {
  return spec.fields.filter((f) => f.tag !== undefined && within(parseVersions(f.taggedVersions), v)).map((f) => camel(f.name));
}

const INT = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
} as const;

const stringArb = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);
const bytesArb = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
const uuidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a).toString('base64url'));
const int64Arb = fc.oneof(
  fc.constantFrom(0, -1, 1, 2147483647, 2147483648, 4294967295, 4294967296, -4294967296, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc.maxSafeInteger(),
);
const float64Arb = fc.double();

/**
 * An arbitrary for one message at one version, built by walking its JSON definition.
 * Values hold only the fields present at that version (tagged ones included), so a
 * decoded message can be compared with the generated one on exactly those fields.
 */
export function messageArbitrary(spec: MessageSpec, v: number): fc.Arbitrary<Record<string, unknown>> {
  const common = new Map<string, FieldSpec[]>();
  for (const s of spec.commonStructs ?? []) common.set(s.name, s.fields);
  const structArb = (fields: FieldSpec[], depth: number): fc.Arbitrary<Record<string, unknown>> => {
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const f of fields) {
      if (!within(parseVersions(f.versions), v)) continue;
      model[camel(f.name)] = fieldArb(f, depth);
    }
    // fc.record makes null-prototype objects; decoders make plain ones.
    return fc.record(model).map((o) => ({ ...o }));
  };
  const fieldArb = (f: FieldSpec, depth: number): fc.Arbitrary<unknown> => {
    const nullable = within(parseVersions(f.nullableVersions), v);
    const array = f.type.startsWith('[]');
    const t = array ? f.type.slice(2) : f.type;
    let base: fc.Arbitrary<unknown>;
    switch (t) {
      case 'bool':
        base = fc.boolean();
        break;
      case 'int8':
      case 'int16':
      case 'uint16':
      case 'int32':
      case 'uint32':
        base = fc.oneof(fc.integer({ min: INT[t][0], max: INT[t][1] }), fc.constantFrom(INT[t][0], INT[t][1], 0, -1 >= INT[t][0] ? -1 : 1));
        break;
      case 'int64':
        base = int64Arb;
        break;
      case 'float64':
        base = float64Arb;
        break;
      case 'string':
        base = stringArb;
        break;
      case 'bytes':
      case 'records':
        base = bytesArb;
        break;
      case 'uuid':
        base = uuidArb;
        break;
      default: {
        const body = f.fields ?? common.get(t);
        if (!body) throw new Error(`${spec.name}.${f.name}: struct ${t} has no definition`);
        base = structArb(body, depth + 1);
      }
    }
    if (array) base = fc.array(base, { maxLength: depth < 2 ? 3 : 1 });
    return nullable ? fc.option(base, { nil: null, freq: 4 }) : base;
  };
  return structArb(spec.fields, 0);
}

/** `actual` cut down to the shape of `expected`: only the keys `expected` has, recursively. */
export function project(actual: unknown, expected: unknown): unknown {
  if (expected === null || typeof expected !== 'object' || Buffer.isBuffer(expected)) return actual;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return actual;
    return actual.map((a, i) => (i < expected.length ? project(a, expected[i]) : a));
  }
  if (actual === null || typeof actual !== 'object') return actual;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(expected)) out[k] = project((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k]);
  return out;
}
