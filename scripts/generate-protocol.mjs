#!/usr/bin/env node
// Generates src/protocol/generated/ from Apache Kafka's JSON message definitions.
//
//   node scripts/generate-protocol.mjs [--messages DIR] [--out DIR]
//
// DIR defaults to protocol/kafka-4.3.1/messages, the copy of the Apache Kafka 4.3.1
// release's definitions vendored in the project (see its README). One module per
// API: one TypeScript type per message covering every version, and a straight-line
// read and write function per version with the wire grammar above it. index.ts holds
// the dense [apiKey][version] table. Every per-version table is indexed by absolute
// version (index = version number); entries below an API's lowest version are undefined. The output is committed; test/unit/protocol/
// generated-integrity.test.ts regenerates it and fails on any difference.

import { readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const argValue = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? resolve(args[i + 1]) : fallback;
};
export const messagesDir = argValue('--messages', join(root, 'protocol', 'kafka-4.3.1', 'messages'));
const outDir = argValue('--out', join(root, 'src', 'protocol', 'generated'));

// ---------------------------------------------------------------- parsing

function stripComments(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
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

/** "3+" -> [3, Infinity]; "1-4" -> [1, 4]; "2" -> [2, 2]; "none" or missing -> null */
function parseVersions(spec) {
  if (spec === undefined || spec === 'none' || spec === '') return null;
  if (spec.endsWith('+')) return [Number(spec.slice(0, -1)), Infinity];
  const [a, b] = spec.split('-');
  return [Number(a), Number(b ?? a)];
}
const within = (range, v) => range !== null && v >= range[0] && v <= range[1];

const camel = (name) => name.charAt(0).toLowerCase() + name.slice(1);
const snake = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const kebab = (name) => snake(name).replace(/_/g, '-');

const PRIMITIVE_TS = {
  bool: 'boolean', int8: 'number', int16: 'number', uint16: 'number', int32: 'number', uint32: 'number',
  int64: 'number', float64: 'number', string: 'string', bytes: 'Buffer', records: 'Records', uuid: 'string',
};

function loadMessage(file) {
  const spec = JSON.parse(stripComments(readFileSync(join(messagesDir, file), 'utf8')));
  // Some definitions have no fields at all: APIs Kafka removed keep a file with
  // "validVersions": "none" (LeaderAndIsr, StopReplica, UpdateMetadata, ControlledShutdown).
  spec.fields ??= [];
  const structs = new Map(); // name -> { name, fields }
  const common = new Map();
  for (const s of spec.commonStructs ?? []) common.set(s.type ?? s.name, s);
  const collect = (fields) => {
    for (const f of fields) {
      const t = elementType(f.type);
      if (!(t in PRIMITIVE_TS)) {
        const body = f.fields ?? common.get(t)?.fields;
        if (!body) throw new Error(`${file}: struct ${t} has no definition`);
        if (!structs.has(t)) {
          structs.set(t, { name: t, fields: body });
          collect(body);
        }
      }
    }
  };
  collect(spec.fields);
  return { ...spec, structs, valid: parseVersions(spec.validVersions), flexible: parseVersions(spec.flexibleVersions) };
}

const isArray = (type) => type.startsWith('[]');
const elementType = (type) => (isArray(type) ? type.slice(2) : type);

// ---------------------------------------------------------------- code generation

class Gen {
  constructor(msg) {
    this.msg = msg;
    this.lines = [];
  }
  typeName(struct) {
    return this.msg.name + struct;
  }
  fieldTs(f) {
    const t = elementType(f.type);
    const base = t in PRIMITIVE_TS ? PRIMITIVE_TS[t] : this.typeName(t);
    const ts = isArray(f.type) ? `${base}[]` : base;
    const nullable = parseVersions(f.nullableVersions) !== null || f.type === 'records';
    return nullable ? `${ts} | null` : ts;
  }
  defaultValue(f) {
    const t = f.type;
    const d = f.default;
    if (d === 'null') return 'null';
    if (isArray(t)) return '[]';
    if (t === 'records') return 'null';
    if (t === 'bool') return d === undefined ? 'false' : String(d === true || d === 'true');
    if (t === 'string') return d === undefined ? "''" : JSON.stringify(String(d));
    if (t === 'bytes') return 'EMPTY';
    if (t === 'uuid') return 'ZERO_UUID';
    if (t in PRIMITIVE_TS) {
      if (d === undefined || d === '') return '0';
      const n = typeof d === 'number' ? d : Number(d);
      if (Number.isNaN(n)) throw new Error(`${this.msg.name}.${f.name}: bad default ${d}`);
      return String(n);
    }
    return `make${this.typeName(t)}()`;
  }
}

function present(f, v) {
  return within(parseVersions(f.versions), v);
}
function tagged(f, v) {
  return f.tag !== undefined && within(parseVersions(f.taggedVersions), v);
}
function nullableAt(f, v) {
  return within(parseVersions(f.nullableVersions), v) || (f.type === 'records' && f.nullableVersions === undefined && false);
}

/** The wire type name, as Kafka's protocol guide spells it. */
function wireName(f, v, flex) {
  const t = elementType(f.type);
  const nullable = nullableAt(f, v);
  const compact = flex ? 'COMPACT_' : '';
  const prim = {
    bool: 'BOOLEAN', int8: 'INT8', int16: 'INT16', uint16: 'UINT16', int32: 'INT32', uint32: 'UINT32', int64: 'INT64',
    float64: 'FLOAT64', uuid: 'UUID', string: `${compact}${nullable ? 'NULLABLE_' : ''}STRING`,
    bytes: `${compact}${nullable ? 'NULLABLE_' : ''}BYTES`, records: `${compact}RECORDS`,
  }[t];
  if (isArray(f.type)) return prim ? `${compact}ARRAY[${prim}]` : null;
  return prim ?? null;
}

function grammar(gen, fields, v, flex, title) {
  const out = [];
  const line = (fs) => {
    const parts = fs.filter((f) => present(f, v) && !tagged(f, v)).map((f) => (isArray(f.type) ? `[${snake(f.name)}]` : snake(f.name)));
    if (flex) parts.push('TAG_BUFFER');
    return parts.join(' ');
  };
  out.push(`${title} => ${line(fields)}`);
  const walk = (fs, depth) => {
    for (const f of fs) {
      if (!present(f, v)) continue;
      const pad = '  '.repeat(depth);
      const t = elementType(f.type);
      const tag = tagged(f, v) ? ` (tag ${f.tag})` : '';
      if (t in PRIMITIVE_TS) {
        out.push(`${pad}${snake(f.name)} => ${wireName(f, v, flex)}${tag}`);
      } else {
        const body = gen.msg.structs.get(t).fields;
        out.push(`${pad}${snake(f.name)}${tag} => ${line(body)}`);
        walk(body, depth + 1);
      }
    }
  };
  walk(fields, 1);
  return out;
}

function readExpr(gen, f, v, flex) {
  const t = elementType(f.type);
  const nullable = nullableAt(f, v);
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  const prim = (type) => {
    switch (type) {
      case 'string':
      case 'bytes':
        return flex ? `r.compact${nullable ? 'Nullable' : ''}${cap(type)}()` : `r.${nullable ? 'nullable' + cap(type) : type}()`;
      case 'records':
        return flex ? 'r.compactNullableBytes()' : 'r.nullableBytes()';
      default:
        return `r.${type}()`;
    }
  };
  if (isArray(f.type)) {
    const elem = t in PRIMITIVE_TS ? `read${cap(t)}${flex && (t === 'string' || t === 'bytes') ? 'Compact' : ''}` : `read${gen.typeName(t)}V${v}`;
    if (t in PRIMITIVE_TS) gen.needHelpers.add(elem);
    return `read${nullable ? 'Nullable' : ''}Array(r, ${flex}, ${elem})`;
  }
  if (t in PRIMITIVE_TS) return prim(t);
  // A nullable struct is preceded by an INT8 marker: -1 for null, 1 when present (as Kafka's generator writes it).
  if (nullable) return `(r.int8() < 0 ? null : read${gen.typeName(t)}V${v}(r))`;
  return `read${gen.typeName(t)}V${v}(r)`;
}

function writeStmts(gen, f, v, flex, w, value) {
  const t = elementType(f.type);
  const nullable = nullableAt(f, v);
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  const fallback = gen.defaultValue(f) === 'null' ? (isArray(f.type) ? '[]' : gen.defaultValue({ ...f, default: undefined })) : gen.defaultValue(f);
  if (isArray(f.type)) {
    const lenFn = flex ? 'compactArrayLength' : 'arrayLength';
    const elemWrite = (e) => {
      if (t in PRIMITIVE_TS) {
        if (t === 'string' || t === 'bytes') return `${w}.${flex ? 'compact' + cap(t) : t}(${e})`;
        return `${w}.${t}(${e})`;
      }
      return `write${gen.typeName(t)}V${v}(${w}, ${e})`;
    };
    if (nullable) {
      return [
        `if (${value} == null) ${w}.${lenFn}(-1);`,
        `else {`,
        `  ${w}.${lenFn}(${value}.length);`,
        `  for (const e of ${value}) ${elemWrite('e')};`,
        `}`,
      ];
    }
    return [`{`, `  const a = ${value} ?? [];`, `  ${w}.${lenFn}(a.length);`, `  for (const e of a) ${elemWrite('e')};`, `}`];
  }
  if (t === 'records') return [`${w}.${flex ? 'compactRecords' : 'records'}(${value} ?? null);`];
  if (t === 'string' || t === 'bytes') {
    const method = flex ? `compact${nullable ? 'Nullable' : ''}${cap(t)}` : nullable ? `nullable${cap(t)}` : t;
    return [`${w}.${method}(${value} ?? ${nullable ? 'null' : fallback});`];
  }
  if (t in PRIMITIVE_TS) return [`${w}.${t}(${value} ?? ${fallback});`];
  if (nullable) {
    return [
      `if (${value} == null) ${w}.int8(-1);`,
      `else {`,
      `  ${w}.int8(1);`,
      `  write${gen.typeName(t)}V${v}(${w}, ${value});`,
      `}`,
    ];
  }
  return [`write${gen.typeName(t)}V${v}(${w}, ${value} ?? make${gen.typeName(t)}());`];
}

/**
 * An expression that is true when a tagged field holds its default and so is left out,
 * as Kafka does. Always parenthesised: callers negate it.
 */
function isTaggedDefault(gen, f, value) {
  const t = elementType(f.type);
  if (isArray(f.type)) return `(${value} == null || ${value}.length === 0)`;
  // Readers fill an absent tagged struct with its defaults, so compare by value, not with null.
  if (!(t in PRIMITIVE_TS)) return `(${value} == null || deepEqual(${value}, default${gen.typeName(t)}))`;
  const d = gen.defaultValue(f);
  if (d === 'null') return `(${value} == null)`;
  if (t === 'bytes') return `(${value} == null || ${value}.length === 0)`;
  return `(${value} === undefined || ${value} === ${d})`;
}

function genStruct(gen, typeName, fields, v, flex, exported, grammarLines) {
  const L = gen.lines;
  const doc = grammarLines ? ['/*', ...grammarLines.map((l) => ` * ${l}`), ' */'] : [];
  // read
  L.push(...doc);
  L.push(`${exported ? 'export ' : ''}function read${typeName}V${v}(r: Reader): ${typeName} {`);
  const props = [];
  const taggedFields = [];
  for (const f of fields) {
    const name = camel(f.name);
    if (tagged(f, v)) {
      props.push(`    ${name}: ${gen.defaultValue(f)},`);
      taggedFields.push(f);
    } else if (present(f, v)) {
      props.push(`    ${name}: ${readExpr(gen, f, v, flex)},`);
    } else {
      props.push(`    ${name}: ${gen.defaultValue(f)},`);
    }
  }
  if (!flex) {
    L.push(`  return {`, ...props, `  };`);
  } else if (taggedFields.length === 0) {
    L.push(`  const m: ${typeName} = {`, ...props, `  };`, `  r.skipTaggedFields();`, `  return m;`);
  } else {
    L.push(`  const m: ${typeName} = {`, ...props, `  };`);
    L.push(`  const tags = r.uvarint();`);
    L.push(`  for (let i = 0; i < tags && !r.bad; i++) {`);
    L.push(`    const tag = r.uvarint();`);
    L.push(`    const size = r.uvarint();`);
    L.push(`    switch (tag) {`);
    for (const f of taggedFields) {
      L.push(`      case ${f.tag}:`, `        m.${camel(f.name)} = ${readExpr(gen, f, v, true)};`, `        break;`);
    }
    L.push(`      default:`, `        if (size > r.remaining) r.fail('tagged field overruns the frame');`, `        else r.pos += size;`, `    }`, `  }`, `  return m;`);
  }
  L.push(`}`, ``);
  // write
  L.push(...doc);
  L.push(`${exported ? 'export ' : ''}function write${typeName}V${v}(w: Writer, m: ${typeName}): void {`);
  for (const f of fields) {
    if (!present(f, v) || tagged(f, v)) continue;
    for (const s of writeStmts(gen, f, v, flex, 'w', `m.${camel(f.name)}`)) L.push(`  ${s}`);
  }
  if (flex) {
    if (taggedFields.length === 0) {
      L.push(`  w.uvarint(0);`);
    } else {
      // Which tagged fields go out is decided once; the count precedes them.
      for (const f of taggedFields) L.push(`  const has${f.tag} = !${isTaggedDefault(gen, f, `m.${camel(f.name)}`)};`);
      L.push(`  w.uvarint(${taggedFields.map((f) => `Number(has${f.tag})`).join(' + ')});`);
      for (const f of [...taggedFields].sort((a, b) => a.tag - b.tag)) {
        const value = `m.${camel(f.name)}`;
        L.push(`  if (has${f.tag}) {`);
        L.push(`    const s = new SizeWriter();`);
        for (const st of writeStmts(gen, f, v, true, 's', value)) L.push(`    ${st}`);
        L.push(`    w.tag(${f.tag}, s.size + s.external);`);
        for (const st of writeStmts(gen, f, v, true, 'w', value)) L.push(`    ${st}`);
        L.push(`  }`);
      }
    }
  }
  L.push(`}`, ``);
}

function genTypes(gen) {
  const L = gen.lines;
  // The versions in which each struct is on the wire: its fields' versions within that span
  // (the union over every place the struct is used) decide which of them are required.
  const spans = new Map();
  const walk = (fields, span) => {
    for (const f of fields) {
      const t = elementType(f.type);
      if (t in PRIMITIVE_TS) continue;
      const range = parseVersions(f.versions);
      if (range === null) continue;
      const lo = Math.max(span[0], range[0]);
      const hi = Math.min(span[1], range[1]);
      if (lo > hi) continue;
      const had = spans.get(t);
      const next = had ? [Math.min(had[0], lo), Math.max(had[1], hi)] : [lo, hi];
      if (had && had[0] === next[0] && had[1] === next[1]) continue;
      spans.set(t, next);
      walk(gen.msg.structs.get(t).fields, next);
    }
  };
  walk(gen.msg.fields, gen.msg.valid);
  const emit = (typeName, fields, about, span) => {
    if (about) L.push(`/** ${about.replace(/\*\//g, '* /')} */`);
    L.push(`export interface ${typeName} {`);
    for (const f of fields) {
      const versions = f.versions ?? 'none';
      const tag = f.tag !== undefined ? `, tagged ${f.taggedVersions} (tag ${f.tag})` : '';
      // Required when on the wire at every version its message or struct is ("0+" in a message
      // whose versions start at 3, or "1+" in a struct that exists from v1, included).
      const range = parseVersions(f.versions);
      const required = f.tag === undefined && span !== undefined && range !== null && range[0] <= span[0] && range[1] >= span[1];
      const about = (f.about ?? '').replace(/\*\//g, '* /');
      L.push(`  /** v${versions}${tag}: ${about} */`);
      L.push(`  ${camel(f.name)}${required ? '' : '?'}: ${gen.fieldTs(f)};`);
    }
    L.push(`}`, ``);
  };
  emit(gen.msg.name, gen.msg.fields, `${gen.msg.name}, versions ${gen.msg.validVersions}, flexible ${gen.msg.flexibleVersions}.`, gen.msg.valid);
  for (const s of gen.msg.structs.values()) emit(gen.typeName(s.name), s.fields, undefined, spans.get(s.name));
  // Factories for structs that appear as single (non-array) fields, so absent ones have a value.
  const singles = new Set();
  const findSingles = (fields) => {
    for (const f of fields) {
      const t = elementType(f.type);
      if (!(t in PRIMITIVE_TS)) {
        if (!isArray(f.type)) singles.add(t);
        findSingles(gen.msg.structs.get(t).fields);
      }
    }
  };
  findSingles(gen.msg.fields);
  for (const s of singles) {
    const fields = gen.msg.structs.get(s).fields;
    L.push(`export function make${gen.typeName(s)}(): ${gen.typeName(s)} {`);
    L.push(`  return {`);
    for (const f of fields) L.push(`    ${camel(f.name)}: ${gen.defaultValue(f)},`);
    L.push(`  };`, `}`, ``);
    // What writers compare a tagged struct against, made once rather than per message.
    L.push(`const default${gen.typeName(s)}: ${gen.typeName(s)} = make${gen.typeName(s)}();`, ``);
  }
}

function genMessage(gen) {
  const msg = gen.msg;
  const [lo, hi] = msg.valid;
  genTypes(gen);
  for (let v = lo; v <= hi; v++) {
    const flex = within(msg.flexible, v);
    // nested structs first, specialised for this version
    const emitted = new Set();
    const nested = (fields) => {
      for (const f of fields) {
        if (!present(f, v)) continue;
        const t = elementType(f.type);
        if (t in PRIMITIVE_TS || emitted.has(t)) continue;
        emitted.add(t);
        const body = msg.structs.get(t).fields;
        nested(body);
        genStruct(gen, gen.typeName(t), body, v, flex, false, null);
      }
    };
    nested(msg.fields);
    const title = `${msg.name.replace(/(Request|Response)$/, ' $1')} (Version: ${v})`;
    genStruct(gen, msg.name, msg.fields, v, flex, true, grammar(gen, msg.fields, v, flex, title));
  }
  // Indexed by absolute version (index = version number): entries below the lowest version are undefined.
  const list = (kind) => Array.from({ length: hi + 1 }, (_, v) => (v < lo ? 'undefined' : `${kind}${msg.name}V${v}`)).join(', ');
  const below = lo > 0 ? `; undefined below v${lo}` : '';
  gen.lines.push(`/** ${msg.name} readers by version number (index = version${below}). */`);
  gen.lines.push(`export const ${camel(msg.name)}Readers = [${list('read')}] as const;`);
  gen.lines.push(`/** ${msg.name} writers by version number (index = version${below}). */`);
  gen.lines.push(`export const ${camel(msg.name)}Writers = [${list('write')}] as const;`, ``);
}

/** The first valid version that is flexible ("flexibleVersions": "0+" with "validVersions": "1" gives 1); Infinity when none is. */
const firstFlexible = (msg) => (msg.flexible && msg.flexible[0] <= msg.valid[1] ? Math.max(msg.flexible[0], msg.valid[0]) : 'Infinity');

const HEADER = `// Generated by scripts/generate-protocol.mjs from Apache Kafka's message definitions (Apache-2.0). Do not edit.\n`;

/**
 * The types, per-version functions and version tables of `msgs`, with the imports they
 * need: `head` (header comment and imports) and `text` (the code).
 */
function renderModule(msgs, about, extraWriterImports = []) {
  const helpers = new Set();
  const bodies = [];
  for (const msg of msgs) {
    const gen = new Gen(msg);
    gen.needHelpers = helpers;
    genMessage(gen);
    bodies.push(...gen.lines);
  }
  // Keep a struct's default constant only where a writer compares against it.
  const text = bodies
    .join('\n')
    .replace(/^const (default\w+): .*\n\n/gm, (line, name, _o, all) => (all.split(name).length > 2 ? line : ''));
  const imports = ['Reader'];
  if (text.includes('EMPTY')) imports.push('EMPTY');
  if (text.includes('ZERO_UUID')) imports.push('ZERO_UUID');
  const arrayHelpers = ['readArray', 'readNullableArray', 'deepEqual', ...helpers].filter((h) => text.includes(h + '(') || text.includes(h + ')') || text.includes(h + ','));
  const writerImports = ['Writer', ...extraWriterImports];
  if (text.includes('SizeWriter')) writerImports.push('SizeWriter');
  if (/\bRecords\b/.test(text)) writerImports.push('type Records');
  const head = [
    HEADER,
    about,
    `/* eslint-disable */`,
    `import { ${imports.join(', ')} } from '../reader.js';`,
    `import { ${writerImports.map((x) => (x === 'Writer' ? 'type Writer' : x)).join(', ')} } from '../writer.js';`,
  ];
  if (arrayHelpers.length) head.push(`import { ${arrayHelpers.sort().join(', ')} } from '../arrays.js';`);
  return { head, text };
}

/**
 * Data messages that travel inside other messages with an INT16 version in front, as
 * Kafka's ConsumerProtocol writes them: the subscription is JoinGroup's protocol metadata
 * of a "consumer" group, the assignment SyncGroup's. One module, consumer-protocol.ts.
 */
const CONSUMER_PROTOCOL = ['ConsumerProtocolSubscription', 'ConsumerProtocolAssignment'];

function genConsumerProtocol() {
  const msgs = CONSUMER_PROTOCOL.map((name) => {
    const msg = loadMessage(`${name}.json`);
    if (msg.type !== 'data' || msg.valid === null) throw new Error(`${name}.json: expected a data message with versions`);
    return msg;
  });
  const { head, text } = renderModule(
    msgs,
    `// The consumer protocol's data messages: ${msgs.map((m) => `${m.name} v${m.validVersions}`).join(', ')}.`,
    ['encode'],
  );
  const out = [...head, '', text];
  for (const msg of msgs) {
    const [lo, hi] = msg.valid;
    const n = msg.name;
    const readers = `${camel(n)}Readers`;
    const writers = `${camel(n)}Writers`;
    out.push(
      `/**`,
      ` * A whole ${n} as it travels: an INT16 version, then the message at that version.`,
      ` * A version above v${hi} is read as v${hi} (later versions only append fields, which stay`,
      ` * unread, as Kafka's client does); a version below v${lo} or a short message marks the reader bad.`,
      ` */`,
      `export function read${n}(r: Reader): ${n} {`,
      `  const version = r.int16();`,
      `  if (version < ${lo}) r.fail(\`${n} version \${version}\`);`,
      `  return ${readers}[Math.min(Math.max(version, ${lo}), ${hi})]!(r);`,
      `}`,
      ``,
      `/** Decodes a whole ${n} (version first); null when it is malformed. Bytes after the message are ignored. */`,
      `export function decode${n}(bytes: Buffer): ${n} | null {`,
      `  const r = new Reader(bytes);`,
      `  const m = read${n}(r);`,
      `  return r.bad ? null : m;`,
      `}`,
      ``,
      `/** Encodes a whole ${n} at \`version\` (the newest, v${hi}, unless told), version first. */`,
      `export function encode${n}(m: ${n}, version: number = ${hi}): Buffer {`,
      `  const write = ${writers}[version];`,
      `  if (write === undefined) throw new RangeError(\`${n} has no version \${version}\`);`,
      `  const chunks = encode((w: Writer, x: ${n}) => {`,
      `    w.int16(version);`,
      `    write(w, x);`,
      `  }, m);`,
      `  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);`,
      `}`,
      ``,
    );
  }
  writeFileSync(join(outDir, 'consumer-protocol.ts'), out.join('\n'));
}

function main() {
  if (!existsSync(messagesDir)) {
    console.error(`generate-protocol: no message definitions at ${messagesDir}`);
    process.exit(2);
  }
  const files = readdirSync(messagesDir).filter((f) => f.endsWith('Request.json')).sort();
  const apis = [];
  for (const file of files) {
    const req = loadMessage(file);
    if (req.valid === null || !(req.listeners ?? []).includes('broker')) continue;
    const res = loadMessage(file.replace('Request.json', 'Response.json'));
    apis.push({ req, res });
  }
  apis.sort((a, b) => a.req.apiKey - b.req.apiKey);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  // index.ts imports every module (tests and tools); apis.ts holds only what the broker needs
  // for every key (names, ranges, flexible versions), so the broker loads the codec modules
  // of the APIs it serves and no others.
  const index = [HEADER, `import type { ApiCodec } from './apis.js';`];
  const table = [];
  for (const { req, res } of apis) {
    const base = req.name.replace(/Request$/, '');
    const module = kebab(base);
    const { head, text } = renderModule([req, res], `// ${base} (API key ${req.apiKey}): requests v${req.validVersions}, flexible v${req.flexibleVersions}.`);
    head.push(`import type { ServerCodec } from './apis.js';`);
    // The broker's half only (requests in, responses out), so a bundler can drop the other half.
    const codec = [
      `/** ${base} as a broker speaks it: request readers and response writers, indexed by version number. */`,
      `export const ${camel(base)}Server: ServerCodec = {`,
      `  key: ${req.apiKey}, name: '${base}', minVersion: ${req.valid[0]}, maxVersion: ${req.valid[1]}, flexibleFrom: ${firstFlexible(req)},`,
      `  readRequest: ${camel(req.name)}Readers, writeResponse: ${camel(res.name)}Writers,`,
      `};`,
      '',
    ];
    writeFileSync(join(outDir, `${module}.ts`), [...head, '', text, ...codec].join('\n'));
    index.push(`import * as ${camel(base)} from './${module}.js';`);
    table.push({ key: req.apiKey, base, req, res });
  }
  const apisTs = [HEADER, `import type { Reader } from '../reader.js';`, `import type { Writer } from '../writer.js';`, ''];
  apisTs.push(`/** What every API key is: its name, request versions and first flexible version. */`);
  apisTs.push(`export interface ApiInfo {`);
  apisTs.push(`  readonly key: number;`);
  apisTs.push(`  readonly name: string;`);
  apisTs.push(`  readonly minVersion: number;`);
  apisTs.push(`  readonly maxVersion: number;`);
  apisTs.push(`  /** First flexible version of the request; Infinity when none is. */`);
  apisTs.push(`  readonly flexibleFrom: number;`);
  apisTs.push(`}`, '');
  apisTs.push(`/**`);
  apisTs.push(` * What a broker needs of an API: request readers and response writers. Every table is`);
  apisTs.push(` * indexed by absolute version (\`readRequest[apiVersion]\`); entries below minVersion are`);
  apisTs.push(` * undefined, so an API whose lowest version is not 0 needs no offset.`);
  apisTs.push(` */`);
  apisTs.push(`export interface ServerCodec extends ApiInfo {`);
  apisTs.push(`  readonly readRequest: readonly (((r: Reader) => any) | undefined)[];`);
  apisTs.push(`  readonly writeResponse: readonly (((w: Writer, m: any) => void) | undefined)[];`);
  apisTs.push(`}`, '');
  apisTs.push(`/** Both directions of an API: what clients and tests need as well; indexed by version number like ServerCodec. */`);
  apisTs.push(`export interface ApiCodec extends ServerCodec {`);
  apisTs.push(`  readonly writeRequest: readonly (((w: Writer, m: any) => void) | undefined)[];`);
  apisTs.push(`  readonly readResponse: readonly (((r: Reader) => any) | undefined)[];`);
  apisTs.push(`}`, '');
  apisTs.push(`export const ApiKey = {`);
  for (const t of table) apisTs.push(`  ${t.base}: ${t.key},`);
  apisTs.push(`} as const;`, '');
  apisTs.push(`/** Dense table by API key; undefined where the key is not a broker API. */`);
  apisTs.push(`export const apiInfo: readonly (ApiInfo | undefined)[] = (() => {`);
  apisTs.push(`  const t: (ApiInfo | undefined)[] = [];`);
  for (const t of table) {
    apisTs.push(`  t[${t.key}] = { key: ${t.key}, name: '${t.base}', minVersion: ${t.req.valid[0]}, maxVersion: ${t.req.valid[1]}, flexibleFrom: ${firstFlexible(t.req)} };`);
  }
  apisTs.push(`  return t;`, `})();`, '');
  writeFileSync(join(outDir, 'apis.ts'), apisTs.join('\n'));

  index.push('', `export * from './apis.js';`, '');
  index.push(`/** Dense table by API key of every codec; undefined where the key is not a broker API. */`);
  index.push(`export const codecs: readonly (ApiCodec | undefined)[] = (() => {`);
  index.push(`  const t: (ApiCodec | undefined)[] = [];`);
  for (const t of table) {
    const m = camel(t.base);
    index.push(`  t[${t.key}] = { ...${m}.${m}Server, writeRequest: ${m}.${camel(t.req.name)}Writers, readResponse: ${m}.${camel(t.res.name)}Readers };`);
  }
  index.push(`  return t;`, `})();`, '');
  for (const t of table) index.push(`export type * from './${kebab(t.base)}.js';`);
  genConsumerProtocol();
  index.push(`export type * from './consumer-protocol.js';`);
  index.push('');
  writeFileSync(join(outDir, 'index.ts'), index.join('\n'));
  console.log(`generate-protocol: ${table.length} APIs written to ${outDir}`);
}

main();
