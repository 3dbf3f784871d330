// `rivulet run` as users run it: a child process of the bundled CLI, pipeline files written
// into a temporary directory that has no node_modules (so rivulet/stream must resolve to
// this checkout by the command itself), against a real broker where a pipeline runs.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli as rivulet } from '../helpers/cli.js';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/wait.js';

const dirs: string[] = [];
const runs = new Set<ChildProcess>();
let broker: BrokerProcess | undefined;
after(async () => {
  for (const r of runs) r.kill('SIGKILL');
  await broker?.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** One broker for the tests that run pipelines, started by the first that needs it. */
async function theBroker(): Promise<BrokerProcess> {
  broker ??= await startBroker({ args: ['--set', 'num.partitions=4'] });
  return broker;
}

interface RunningCli {
  child: ChildProcess;
  httpPort: number;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts `rivulet run ...args` and waits for its "pipeline ready" line (every worker restored and processing). */
async function startRun(args: string[], timeoutMs = 60_000): Promise<RunningCli> {
  const env = { ...process.env };
  delete env.RIVULET_BOOTSTRAP;
  const child = spawn(process.execPath, [cliPath, 'run', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  runs.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => {
    runs.delete(child);
    res(code);
  }));
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  await waitFor('rivulet run to be ready', () => {
    if (code !== undefined) assert.fail(`rivulet run exited with ${code} before it was ready:\n${out}`);
    return /pipeline ready/.test(out);
  }, timeoutMs, () => out);
  const httpPort = Number(/http ready listener=\S+:(\d+)/.exec(out)![1]);
  return { child, httpPort, output: () => out, exited };
}

/** SIGTERM, then the exit code. */
async function stopRun(r: RunningCli): Promise<number | null> {
  r.child.kill('SIGTERM');
  return r.exited;
}

/** The values of every committed record of a topic, as parsed JSON. */
async function outputValues(bootstrap: string, topic: string): Promise<unknown[]> {
  const c = await rivulet(['consume', topic, '-b', bootstrap, '--from-beginning', '--format', 'json']);
  assert.equal(c.code, 0, c.stderr);
  return c.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse((JSON.parse(l) as { value: string }).value) as unknown);
}

/** The pipeline's input records processed so far, from /metrics. */
async function recordsIn(r: RunningCli, application: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${r.httpPort}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^rivulet_stream_records_in_total\{([^}]*)\} (\S+)$/gm)) if (m[1]!.includes(`application="${application}"`)) sum += Number(m[2]);
  return sum;
}

async function produce(bootstrap: string, topic: string, lines: string[]): Promise<void> {
  const p = await rivulet(['produce', topic, '-b', bootstrap, '-k', ':'], { input: `${lines.join('\n')}\n` });
  assert.equal(p.code, 0, p.stderr);
}

async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const r = await rivulet(['topic', 'create', topic, '-b', bootstrap, '--partitions', String(partitions)]);
  assert.equal(r.code, 0, r.stderr);
}

/** Writes files into a fresh temporary directory (no node_modules, no package.json) and returns it. */
async function pipelineDir(files: Record<string, string>): Promise<string> {
  const dir = await makeTempDir('rivulet-run-test-');
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

// TypeScript only (an interface, type annotations, `satisfies`, a type-only import of
// rivulet/stream), so Node 20 cannot run it without the bundler.
const FUNCTION_TS = `import type { FunctionRecord } from 'rivulet/stream';
interface Order { id: number; amount: number }
export default (r: FunctionRecord<string, Order>) => ({ value: { id: r.value.id, doubled: r.value.amount * 2 } satisfies { id: number; doubled: number } });
`;

test('--describe prints a TypeScript function pipeline\'s topology, from a folder without node_modules', async () => {
  const dir = await pipelineDir({ 'orders.ts': FUNCTION_TS });
  const r = await rivulet(['run', join(dir, 'orders.ts'), '--describe', '--input', 'orders,returns', '--output', 'doubled', '--key-format', 'string']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /application orders\b/);
  assert.match(r.stdout, /source: orders, returns \(key string, value json\)/);
  assert.match(r.stdout, /sink: doubled/);
});

test('--describe prints a DSL pipeline\'s topology; --application-id renames it through RIVULET_APPLICATION_ID; --input is refused for it', async () => {
  const file = join(repoRoot, 'examples', 'windowed-count.ts');
  const r = await rivulet(['run', file, '--describe']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Topology windowed-count:/);
  assert.match(r.stdout, /sources page-views/);
  assert.match(r.stdout, /\(stores: views\)/);
  const renamed = await rivulet(['run', file, '--describe', '--application-id', 'counts-eu']);
  assert.equal(renamed.code, 0, renamed.stderr);
  assert.match(renamed.stdout, /^Topology counts-eu:/);
  const dir = await pipelineDir({ 'fixed.ts': "import { pipeline, serdes } from 'rivulet/stream';\nconst p = pipeline('fixed');\np.stream('a', { key: serdes.string, value: serdes.string }).to('b', { key: serdes.string, value: serdes.string });\nexport default p;\n" });
  const mismatch = await rivulet(['run', join(dir, 'fixed.ts'), '--describe', '--application-id', 'other']);
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /names itself "fixed".*process\.env\.RIVULET_APPLICATION_ID/);
  const withInput = await rivulet(['run', join(dir, 'fixed.ts'), '--describe', '--input', 'x']);
  assert.equal(withInput.code, 1);
  assert.match(withInput.stderr, /--input and --output are for a function/);
});

test('RIVULET_* variables configure a run and flags win over them', async () => {
  const dir = await pipelineDir({ 'orders.ts': FUNCTION_TS });
  const env = { RIVULET_APPLICATION_ID: 'from-env', RIVULET_INPUT: 'env-in', RIVULET_OUTPUT: 'env-out', RIVULET_VALUE_FORMAT: 'string' };
  const fromEnv = await rivulet(['run', join(dir, 'orders.ts'), '--describe'], { env });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  assert.match(fromEnv.stdout, /application from-env\b/);
  assert.match(fromEnv.stdout, /source: env-in \(key string, value string\)/);
  assert.match(fromEnv.stdout, /sink: env-out/);
  const flags = await rivulet(['run', join(dir, 'orders.ts'), '--describe', '--application-id', 'from-flag', '--input', 'flag-in', '--value-format', 'json'], { env });
  assert.equal(flags.code, 0, flags.stderr);
  assert.match(flags.stdout, /application from-flag\b/);
  assert.match(flags.stdout, /source: flag-in \(key string, value json\)/);
  const bad = await rivulet(['run', join(dir, 'orders.ts'), '--describe', '--input', 'x'], { env: { RIVULET_WORKERS: 'many' } });
  assert.equal(bad.code, 2, 'a bad value is a usage error');
  assert.match(bad.stderr, /--workers must be an integer/);
});

test('a function pipeline without --input is a usage problem named in the message', async () => {
  const dir = await pipelineDir({ 'orders.ts': FUNCTION_TS });
  const r = await rivulet(['run', join(dir, 'orders.ts'), '--describe']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /give --input TOPIC/);
});

test('a syntax error in pipeline.ts is reported with file:line:column and the line', async () => {
  const dir = await pipelineDir({ 'pipeline.ts': 'export default (r: any) => {\n  const x: number = 1;\n  return { value: r.value +* x };\n};\n' });
  const r = await rivulet(['run', join(dir, 'pipeline.ts'), '--describe']);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${join(dir, 'pipeline.ts')}:3:28:`), r.stderr);
  assert.match(r.stderr, /return \{ value: r\.value \+\* x \};/);
});

test('an error thrown while the pipeline loads points at the line in pipeline.ts (source maps)', async () => {
  const dir = await pipelineDir({ 'pipeline.ts': 'type T = { a: number };\nconst t: T = { a: 1 };\nif (t.a === 1) {\n  throw new Error(\'bad configuration\');\n}\nexport default (r: unknown) => undefined;\n' });
  const r = await rivulet(['run', join(dir, 'pipeline.ts'), '--describe', '--input', 'x'], { env: { RIVULET_DEBUG: '1' } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad configuration/);
  assert.ok(r.stderr.includes(`${join(dir, 'pipeline.ts')}:4:`), r.stderr);
});

test('a file without a default export is explained', async () => {
  const dir = await pipelineDir({ 'p.mjs': 'export const x = 1;\n' });
  const r = await rivulet(['run', join(dir, 'p.mjs'), '--describe']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has no default export: export a pipeline .* or a function/);
});

test('--help explains the flags with examples', async () => {
  const r = await rivulet(['run', '--help']);
  assert.equal(r.code, 0);
  for (const s of ['--workers', '--guarantee', '--http-port', '/readyz', '--on-error', '--max-task-idle-ms', '--describe', 'RIVULET_', 'SIGTERM', 'rivulet run examples/']) assert.ok(r.stdout.includes(s), `--help mentions ${s}`);
});

// ---- against a broker ----

const ORDERS_FN = `interface Order { id: number; amount: number }
export default (r: { key: string; value: Order }) => (r.value.amount < 0 ? undefined : { value: { id: r.value.id, doubled: r.value.amount * 2 } });
`;

test('the function form round-trips records: decoded JSON in, the return values out, filtered ones dropped', { timeout: 120_000 }, async () => {
  const b = await theBroker();
  const dir = await pipelineDir({ 'orders.ts': ORDERS_FN });
  await createTopic(b.bootstrap, 'fn-in', 2);
  await createTopic(b.bootstrap, 'fn-out', 2);
  await produce(b.bootstrap, 'fn-in', ['a:{"id":1,"amount":5}', 'b:{"id":2,"amount":-1}', 'c:{"id":3,"amount":7}']);
  const run = await startRun([join(dir, 'orders.ts'), '-b', b.bootstrap, '--input', 'fn-in', '--output', 'fn-out', '--http-port', '0', '--state-dir', join(dir, 'state')]);
  await waitFor('2 outputs', async () => (await outputValues(b.bootstrap, 'fn-out')).length >= 2, 30_000, run.output);
  assert.equal(await stopRun(run), 0, run.output());
  const values = (await outputValues(b.bootstrap, 'fn-out')) as Array<{ id: number }>;
  assert.deepEqual(values.sort((x, y) => x.id - y.id), [{ id: 1, doubled: 10 }, { id: 3, doubled: 14 }]);
});

// At-least-once with a commit interval longer than the test: only the commit that SIGTERM
// makes can keep the restarted run from processing (and outputting) records 1-5 again.
test('SIGTERM commits and exits 0: a restarted run processes only the new records', { timeout: 120_000 }, async () => {
  const b = await theBroker();
  const dir = await pipelineDir({ 'counter.ts': 'export default (r: { value: { n: number } }) => ({ value: r.value.n });\n' });
  await createTopic(b.bootstrap, 'restart-in', 2);
  await createTopic(b.bootstrap, 'restart-out', 2);
  const args = [join(dir, 'counter.ts'), '-b', b.bootstrap, '--input', 'restart-in', '--output', 'restart-out', '--http-port', '0', '--state-dir', join(dir, 'state'), '--instance-id', 'restart', '--guarantee', 'at_least_once', '--commit-interval-ms', '600000'];
  await produce(b.bootstrap, 'restart-in', [1, 2, 3, 4, 5].map((n) => `k${n}:{"n":${n}}`));
  const first = await startRun(args);
  await waitFor('5 records processed', async () => (await recordsIn(first, 'counter')) >= 5, 30_000, first.output);
  assert.equal(await stopRun(first), 0, first.output());
  await produce(b.bootstrap, 'restart-in', [6, 7, 8].map((n) => `k${n}:{"n":${n}}`));
  const second = await startRun(args);
  await waitFor('3 records processed', async () => (await recordsIn(second, 'counter')) >= 3, 30_000, second.output);
  assert.equal(await stopRun(second), 0, second.output());
  const values = (await outputValues(b.bootstrap, 'restart-out')) as number[];
  assert.deepEqual(values.sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8], 'each input once: the first run committed on SIGTERM');
});

test('--workers 2: two group members split the partitions; /readyz, /healthz and /metrics answer for both', { timeout: 120_000 }, async () => {
  const b = await theBroker();
  const dir = await pipelineDir({ 'pass.ts': "import { threadId } from 'node:worker_threads';\nexport default (r: { value: object; partition: number }) => ({ value: { ...r.value, partition: r.partition, thread: threadId } });\n" });
  await createTopic(b.bootstrap, 'w-in', 4);
  await createTopic(b.bootstrap, 'w-out', 4);
  const run = await startRun([join(dir, 'pass.ts'), '-b', b.bootstrap, '--input', 'w-in', '--output', 'w-out', '--workers', '2', '--application-id', 'two-workers', '--http-port', '0', '--state-dir', join(dir, 'state'), '--instance-id', 'w']);
  const url = (p: string) => `http://127.0.0.1:${run.httpPort}${p}`;
  const ready = await fetch(url('/readyz'));
  assert.equal(ready.status, 200, await ready.text());
  const health = await fetch(url('/healthz'));
  assert.equal(health.status, 200, await health.text());

  // Each output names the partition of its input and the worker thread that processed it.
  // Rounds of 40 records until one round shows the split (the group may still be assigning
  // the second worker its partitions when the first rounds arrive): every partition handled
  // by one thread, the two threads both at work.
  type Out = { round: number; partition: number; thread: number };
  let last = '';
  let split = false;
  for (let round = 0; round < 30 && !split; round++) {
    await produce(b.bootstrap, 'w-in', Array.from({ length: 40 }, (_, i) => `key-${i}:{"round":${round}}`));
    let outs: Out[] = [];
    await waitFor(`round ${round}`, async () => (outs = ((await outputValues(b.bootstrap, 'w-out')) as Out[]).filter((o) => o.round === round)).length >= 40, 30_000, run.output);
    const threads = new Map<number, Set<number>>();
    for (const o of outs) threads.set(o.partition, (threads.get(o.partition) ?? new Set()).add(o.thread));
    last = JSON.stringify([...threads].map(([p, t]) => [p, [...t]]));
    split = threads.size === 4 && [...threads.values()].every((t) => t.size === 1) && new Set(outs.map((o) => o.thread)).size === 2;
    if (!split) await sleep(1000);
  }
  assert.ok(split, `the two workers split the 4 partitions; last round (partition, threads): ${last}\n${run.output()}`);

  const metrics = await fetch(url('/metrics'));
  assert.equal(metrics.status, 200);
  const text = await metrics.text();
  assert.match(text, /^process_cpu_seconds_total /m, 'the process\'s own metrics');
  let processed = 0;
  const workers = new Set<string>();
  for (const m of text.matchAll(/^rivulet_stream_records_in_total\{([^}]*)\} (\S+)$/gm)) {
    workers.add(/worker="(\d+)"/.exec(m[1]!)?.[1] ?? '?');
    processed += Number(m[2]);
  }
  assert.deepEqual([...workers].sort(), ['0', '1'], 'records counted by both workers, each labelled');
  assert.ok(processed >= 40, `records in: ${processed}`);
  assert.equal(await stopRun(run), 0, run.output());
});

test('a worker that dies takes the process down with exit code 1 and says why', { timeout: 120_000 }, async () => {
  const b = await theBroker();
  const dir = await pipelineDir({ 'poison.ts': 'export default (r: { value: { n: number } }) => {\n  if (r.value.n === 2) throw new Error(`cannot handle n=2`);\n  return { value: r.value };\n};\n' });
  await createTopic(b.bootstrap, 'poison-in', 1);
  await createTopic(b.bootstrap, 'poison-out', 1);
  const run = await startRun([join(dir, 'poison.ts'), '-b', b.bootstrap, '--input', 'poison-in', '--output', 'poison-out', '--on-error', 'stop', '--workers', '2', '--http-port', '0', '--state-dir', join(dir, 'state')]);
  await produce(b.bootstrap, 'poison-in', ['a:{"n":1}', 'a:{"n":2}', 'a:{"n":3}']);
  assert.equal(await run.exited, 1, run.output());
  assert.match(run.output(), /worker \d failed: .*cannot handle n=2/);
});

// ---- the examples, as examples/README.md runs them ----

const example = (name: string) => join(repoRoot, 'examples', name);

/** Every committed record of a topic: key and parsed JSON value. */
async function outputRecords(bootstrap: string, topic: string): Promise<Array<{ key: string | null; value: unknown }>> {
  const c = await rivulet(['consume', topic, '-b', bootstrap, '--from-beginning', '--format', 'json']);
  assert.equal(c.code, 0, c.stderr);
  return c.stdout.split('\n').filter((l) => l !== '').map((l) => {
    const r = JSON.parse(l) as { key: string | null; value: string };
    return { key: r.key, value: JSON.parse(r.value) as unknown };
  });
}

test('examples/windowed-count.ts counts views per user and minute (copied into a folder without node_modules)', { timeout: 120_000 }, async () => {
  const b = await theBroker();
  const dir = await pipelineDir({ 'windowed-count.ts': readFileSync(example('windowed-count.ts'), 'utf8') });
  await createTopic(b.bootstrap, 'page-views', 1);
  await createTopic(b.bootstrap, 'views-per-minute', 1);
  await produce(b.bootstrap, 'page-views', ['alice:/home', 'bob:/cart', 'alice:/pay']);
  const run = await startRun([join(dir, 'windowed-count.ts'), '-b', b.bootstrap, '--http-port', '0', '--state-dir', join(dir, 'state')]);
  type Count = { user: string; windowStart: string; windowEnd: string; views: number };
  // Views per user: the last count of each (user, window), summed (the views may straddle a minute).
  const totals = async () => {
    const last = new Map<string, Count>();
    for (const r of await outputRecords(b.bootstrap, 'views-per-minute')) {
      const c = r.value as Count;
      assert.equal(r.key, c.user);
      assert.equal(Date.parse(c.windowEnd) - Date.parse(c.windowStart), 60_000);
      last.set(`${c.user} ${c.windowStart}`, c);
    }
    const sum: Record<string, number> = {};
    for (const c of last.values()) sum[c.user] = (sum[c.user] ?? 0) + c.views;
    return sum;
  };
  await waitFor('the counts of alice and bob', async () => (await totals()).alice === 2, 30_000, run.output);
  assert.deepEqual(await totals(), { alice: 2, bob: 1 });
  assert.equal(await stopRun(run), 0, run.output());
});

test('examples/enrich.ts joins orders with the latest customer, null for an unknown one', { timeout: 120_000 }, async () => {
  const b = await theBroker();
  const dir = await pipelineDir({});
  const create = await rivulet(['topic', 'create', 'customers', '-b', b.bootstrap, '--partitions', '1', '--config', 'cleanup.policy=compact']);
  assert.equal(create.code, 0, create.stderr);
  await createTopic(b.bootstrap, 'orders', 1);
  await createTopic(b.bootstrap, 'orders-enriched', 1);
  await produce(b.bootstrap, 'customers', ['c1:{"name":"Ada","tier":"gold"}']);
  const run = await startRun([example('enrich.ts'), '-b', b.bootstrap, '--http-port', '0', '--state-dir', join(dir, 'state')]);
  // The table has the customer before the orders arrive.
  await waitFor('the customer in the table', async () => (await recordsIn(run, 'enrich')) >= 1, 30_000, run.output);
  await produce(b.bootstrap, 'orders', ['c1:{"id":"o1","amount":10}', 'c2:{"id":"o2","amount":5}']);
  await waitFor('2 enriched orders', async () => (await outputRecords(b.bootstrap, 'orders-enriched')).length >= 2, 30_000, run.output);
  assert.deepEqual(await outputRecords(b.bootstrap, 'orders-enriched'), [
    { key: 'c1', value: { id: 'o1', amount: 10, customerId: 'c1', customer: { name: 'Ada', tier: 'gold' } } },
    { key: 'c2', value: { id: 'o2', amount: 5, customerId: 'c2', customer: null } },
  ]);
  assert.equal(await stopRun(run), 0, run.output());
});

test('examples/function.ts writes a receipt for each paid payment and nothing for the others', { timeout: 120_000 }, async () => {
  const b = await theBroker();
  const dir = await pipelineDir({});
  await createTopic(b.bootstrap, 'payments', 1);
  await createTopic(b.bootstrap, 'receipts', 1);
  await produce(b.bootstrap, 'payments', ['alice:{"id":"p1","amount":12.5,"status":"paid"}', 'bob:{"id":"p2","amount":3,"status":"pending"}', 'carol:{"id":"p3","amount":1.005,"status":"paid"}']);
  const run = await startRun([example('function.ts'), '-b', b.bootstrap, '--input', 'payments', '--output', 'receipts', '--http-port', '0', '--state-dir', join(dir, 'state')]);
  await waitFor('2 receipts', async () => (await outputRecords(b.bootstrap, 'receipts')).length >= 2, 30_000, run.output);
  assert.deepEqual(await outputRecords(b.bootstrap, 'receipts'), [
    { key: 'alice', value: { order: 'p1', customer: 'alice', total: 12.5 } },
    { key: 'carol', value: { order: 'p3', customer: 'carol', total: 1 } },
  ]);
  assert.equal(await stopRun(run), 0, run.output());
});
