// Summarises V8 .cpuprofile files (node --cpu-prof): the functions with the most self time
// and the most total time (self plus callees, each function counted once per sample).
//
//   node bench/profile/summary.mjs <file-or-dir>... [--top n]
//
// A directory stands for every .cpuprofile in it, added up (a process and its worker threads
// write one file each).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

function frameName(cf, root) {
  const fn = cf.functionName || '(anonymous)';
  if (!cf.url) return fn;
  let url = cf.url.replace(/^file:\/\//, '');
  if (url.startsWith(root)) url = relative(root, url);
  const i = url.indexOf('node_modules/');
  if (i >= 0) url = url.slice(i);
  return `${fn} ${url}:${cf.lineNumber + 1}`;
}

/**
 * Adds one profile to `self` and `total` (sample counts by frame name); returns its sample count.
 * `window` ({ from, to }, µs of the monotonic clock, as process.hrtime) keeps the samples taken in it.
 */
export function addProfile(profile, self, total, root = process.cwd(), window = undefined) {
  const byId = new Map();
  for (const n of profile.nodes) byId.set(n.id, n);
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const names = new Map();
  for (const n of profile.nodes) names.set(n.id, frameName(n.callFrame, root));
  const counts = new Map();
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas?.[i] ?? 0;
    if (window && (time < window.from || time > window.to)) continue;
    const s = profile.samples[i];
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  let all = 0;
  for (const [id, k] of counts) {
    const name = names.get(id);
    all += k;
    self.set(name, (self.get(name) ?? 0) + k);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const nm = names.get(at);
      if (seen.has(nm)) continue;
      seen.add(nm);
      total.set(nm, (total.get(nm) ?? 0) + k);
    }
  }
  return all;
}

function filesOf(p) {
  if (statSync(p).isDirectory()) return readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f));
  return [p];
}

/** The summary text of some profiles. */
export function summarize(paths, top = 25, window = undefined) {
  const self = new Map();
  const total = new Map();
  let samples = 0;
  const files = paths.flatMap(filesOf);
  for (const f of files) samples += addProfile(JSON.parse(readFileSync(f, 'utf8')), self, total, process.cwd(), window);
  const idle = self.get('(idle)') ?? 0;
  const busy = samples - idle;
  const pctOf = (k) => `${((100 * k) / Math.max(1, busy)).toFixed(1).padStart(5)}%`;
  const lines = [`${files.length} profile(s): ${files.map((f) => basename(f)).join(', ')}`, `${samples} samples, ${busy} not idle (percentages below are of these)`, '', 'top self time:'];
  for (const [n, k] of [...self].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pctOf(k)}  ${n}`);
  lines.push('', 'top total time:');
  const skip = new Set(['(root)', '(idle)', '(program)']);
  for (const [n, k] of [...total].filter(([n]) => !skip.has(n)).sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pctOf(k)}  ${n}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  let top = 25;
  const i = argv.indexOf('--top');
  if (i >= 0) {
    top = Number(argv[i + 1]);
    argv.splice(i, 2);
  }
  if (!argv.length || argv.includes('--help')) {
    console.log('node bench/profile/summary.mjs <file.cpuprofile | dir>... [--top n]');
    process.exit(argv.length ? 0 : 1);
  }
  console.log(summarize(argv, top));
}
