// Command-line flags of the bench scripts (bench/compare/run.mjs, bench/latency/run.mjs):
// `--name value` options and bare flags; a bad or unknown one exits 2 pointing at --help.

/**
 * argv: process.argv.slice(2); help: printed for --help or -h, which then exit 0.
 * Call done() after reading every option, so a mistyped one fails instead of being ignored.
 */
export function parseArgs(argv, help) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    process.exit(0);
  }
  const used = new Set();
  const fail = (msg) => {
    console.error(`${msg}; see --help`);
    process.exit(2);
  };
  const flag = (n) => {
    const i = argv.indexOf(n);
    if (i >= 0) used.add(i);
    return i >= 0;
  };
  const opt = (n, d) => {
    const i = argv.indexOf(n);
    if (i < 0) return d;
    if (i + 1 >= argv.length) fail(`${n} needs a value`);
    used.add(i).add(i + 1);
    return argv[i + 1];
  };
  /** Comma-separated; '' is an empty list (a case group turned off). */
  const list = (n, d) => opt(n, d).split(',').map((s) => s.trim()).filter(Boolean);
  const check = (n, v, min, { above = false, int = false }) => {
    const ok = typeof v === 'number' && Number.isFinite(v) && (above ? v > min : v >= min) && (!int || Number.isInteger(v));
    if (!ok) fail(`${n} must be ${int ? 'a whole number' : 'a number'} ${above ? '>' : '>='} ${min}, not ${v}`);
    return v;
  };
  /** A number at least min; { above: true }: more than min; { int: true }: whole. */
  const num = (n, d, min = 0, o = {}) => check(n, Number(opt(n, String(d))), min, o);
  const nums = (n, d, min = 0, o = {}) => list(n, d).map((s) => check(n, Number(s), min, o));
  /** Each item one of allowed. */
  const oneOf = (n, d, allowed) => {
    const xs = list(n, d);
    for (const x of xs) if (!allowed.includes(x)) fail(`${n}: unknown ${x}, expected ${allowed.join(' or ')}`);
    return xs;
  };
  const done = () => {
    const extra = argv.filter((_, i) => !used.has(i));
    if (extra.length) fail(`unknown option ${extra[0]}`);
  };
  return { flag, opt, list, num, nums, oneOf, fail, done };
}
