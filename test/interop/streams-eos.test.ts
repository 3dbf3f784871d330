// Kafka Streams 4.4.0 with processing.guarantee=exactly_once_v2 under SIGKILL
// (java/StreamsEos.java). The input topic (4 partitions) holds N records of value 1 over 50
// keys; the application sums them per key in a persistent, changelog-backed store with caching
// off, so each input record emits one update to the output topic. The application, then in a
// second test the broker, is SIGKILLed at seeded random moments (once the application has
// processed a random number of records since it started or since the last kill, plus a random
// delay; for the application also at random moments of its start-up) and
// restarted each time (the broker on the same data directory and port). Afterwards a
// read_committed consumer reads the whole output topic: per key the updates must be exactly
// 1, 2, ..., n_key (no repeat, no gap), so n_key is that key's input count. The broker keeps
// the classic group (generation, members, assignments) across its restarts, as Kafka does: the
// application's member goes on committing at its generation instead of being fenced
// (ILLEGAL_GENERATION on TxnOffsetCommit) and rebalancing after every kill.
//
// STREAMS_EOS_SEED=<n> replays a kill schedule (each run prints its seed).
// STREAMS_EOS_GUARANTEE=at_least_once runs the same application without transactions: the
// check then fails on the repeats and gaps the kills cause (which shows it can fail).
// KAFKA_PEER_CMD runs this file against another broker, e.g. Apache Kafka (see
// test/helpers/broker-or-peer.ts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BrokerProcess } from '../helpers/broker.js';
import { brokerKind, startBrokerOrPeer } from '../helpers/broker-or-peer.js';
import { scrapeMetrics } from '../helpers/metrics.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/wait.js';
import {
  LineProcess, compileJava, describeRun, lastJson, requireJava, requireTool, run, seededRandom, token, works,
} from './tools.js';

const partitions = 4;
const records = 300_000;
const keys = 50;
const appKills = 12; // after a random number of records processed
const startupKills = 3; // at a random moment of the start-up (rebalance, restore), at the latest when processing begins
const brokerKills = 10;
const guarantee = process.env.STREAMS_EOS_GUARANTEE || 'exactly_once_v2';
const seed = process.env.STREAMS_EOS_SEED ? Number(process.env.STREAMS_EOS_SEED) : Math.floor(Math.random() * 2 ** 31);

// Kafka's default first-rebalance delay is 3 s; a killed instance's member must expire soon
// (the application asks for a 2 s session) for the next instance's rebalance to complete.
// Small segments and an eager cleaner, so the changelog topics (cleanup.policy=compact) are
// compacted while the application runs: the restores after each kill read compacted changelogs.
const settings = {
  'num.partitions': String(partitions),
  'group.initial.rebalance.delay.ms': '0',
  'group.min.session.timeout.ms': '1000',
  'log.segment.bytes': '1048576',
  'log.cleaner.backoff.ms': '500',
  'log.cleaner.min.cleanable.ratio': '0.01',
};

let workDir: string | undefined;

before(async () => {
  workDir = await makeTempDir('streams-eos-');
});

after(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface Verified {
  records: number;
  errors: string[];
  values: Record<string, number[]>;
}

class App {
  /** Input records this process has processed (committed or not), and the group's committed input. */
  processed = 0;
  done = 0;
  total = 0;
  finished = false;
  readonly proc: LineProcess;
  constructor(classpath: string, args: string[]) {
    this.proc = new LineProcess('java', ['-Xmx384m', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, 'StreamsEos', 'run', ...args]);
    this.proc.onLine((l) => {
      const p = /^PROCESSED (\d+)$/.exec(l);
      if (p) this.processed = Number(p[1]);
      const m = /^PROGRESS (\d+)\/(\d+)$/.exec(l);
      if (m) {
        this.done = Math.max(this.done, Number(m[1]));
        this.total = Number(m[2]);
      }
      if (l === 'DONE') this.finished = true;
    });
  }
}

/**
 * Waits for cond, failing when the application exits first or after timeoutMs. `whileProgressing`:
 * timeoutMs counts from the last record the application processed or committed instead (a loaded machine is
 * slow, not stuck), up to 15 minutes in all.
 */
async function until(what: string, app: App, cond: () => boolean, timeoutMs: number, context: () => string, whileProgressing = false): Promise<void> {
  const cap = Date.now() + 15 * 60_000;
  let deadline = Date.now() + timeoutMs;
  const progress = (): number => app.processed + app.done;
  let seen = progress();
  while (!cond()) {
    if (whileProgressing && progress() !== seen) {
      seen = progress();
      deadline = Math.min(cap, Date.now() + timeoutMs);
    }
    if (!app.proc.running) {
      const why = app.finished ? ' (it had finished all the input: the kills must fit in fewer records than `records`)' : '';
      assert.fail(`the application exited while waiting for ${what}${why}\n${app.proc.tail()}\n${context()}`);
    }
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms${whileProgressing ? ' without progress' : ''} waiting for ${what}\n${app.proc.tail()}\n${context()}`);
    await sleep(20);
  }
}

/** Records to process before each kill: random, and few enough for every kill to come before the end. */
function killSteps(rng: () => number, count: number): number[] {
  const most = Math.floor((records * 0.4) / count);
  return Array.from({ length: count }, () => Math.floor(most / 4 + rng() * (most - most / 4)));
}

/** The random delay after the step, before the kill. */
const jitterMs = (rng: () => number) => Math.floor(rng() * 50);

interface Scenario {
  classpath: string;
  input: string;
  output: string;
  appId: string;
  stateDir: string;
  counts: Record<string, number>;
}

async function prepare(t: TestContext, broker: BrokerProcess, name: string): Promise<Scenario | undefined> {
  if (!(await requireJava(t))) return undefined;
  if (!requireTool(t, await works('javac', ['-version']), 'javac (JDK 17+)', 'install it with `sudo apt-get install openjdk-17-jdk-headless`')) return undefined;
  const java = await compileJava('StreamsEos.java', 'streams-eos');
  assert.ok(java.ok, `javac StreamsEos.java failed:\n${java.error}`);
  const id = token();
  const s = {
    classpath: java.classpath,
    input: `eos-${name}-in-${id}`,
    output: `eos-${name}-out-${id}`,
    appId: `eos-${name}-${id}`,
    stateDir: join(workDir!, `state-${name}-${id}`),
    counts: {} as Record<string, number>,
  };
  const r = await run('java', ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', s.classpath, 'StreamsEos', 'fill', broker.bootstrap, s.input, s.output, String(partitions), String(records), String(keys)], { timeoutMs: 120_000 });
  const ctx = describeRun('StreamsEos fill', r, broker);
  assert.equal(r.code, 0, ctx);
  assert.doesNotMatch(r.stdout.toString(), /^ERROR/m, ctx);
  s.counts = lastJson<{ counts: Record<string, number> }>(r.stdout, ctx).counts;
  assert.equal(Object.values(s.counts).reduce((a, b) => a + b, 0), records, ctx);
  t.diagnostic(`seed ${seed}, ${guarantee}: ${records} input records over ${Object.keys(s.counts).length} keys, ${partitions} partitions`);
  return s;
}

/** Reads the output with read_committed and checks every key's updates are 1..n_key. */
async function verify(t: TestContext, s: Scenario, broker: BrokerProcess, history: string[]): Promise<void> {
  const r = await run('java', ['-Xmx512m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', s.classpath, 'StreamsEos', 'verify', broker.bootstrap, s.output], { timeoutMs: 120_000 });
  const ctx = `${describeRun('StreamsEos verify', r, broker)}\nseed ${seed}; kills:\n${history.join('\n')}`;
  assert.equal(r.code, 0, ctx);
  const v = lastJson<Verified>(r.stdout, ctx);
  assert.deepEqual(v.errors, [], ctx);
  const bad: string[] = [];
  for (const [key, n] of Object.entries(s.counts)) {
    const got = v.values[key] ?? [];
    const k = got.findIndex((x, i) => x !== i + 1);
    if (k >= 0 || got.length !== n) {
      const at = k >= 0 ? `update ${k + 1} is ${got[k]} (after ${got.slice(Math.max(0, k - 3), k).join(',')})` : 'updates in order';
      bad.push(`${key}: ${got.length} updates, last ${got.at(-1)}, input count ${n}; ${at}`);
    }
  }
  for (const key of Object.keys(v.values)) if (!(key in s.counts)) bad.push(`${key}: in the output, never in the input`);
  assert.deepEqual(bad, [], `per key, the output must be exactly 1..n_key (${v.records} output records for ${records} inputs)\n${ctx}`);
  assert.equal(v.records, records, ctx);
}

test(`Kafka Streams ${guarantee}: the application SIGKILLed ${appKills + startupKills} times and restarted; read_committed output is exactly 1..n per key`, { timeout: 1_200_000 }, async (t) => {
  const broker = await startBrokerOrPeer({ settings });
  let app: App | undefined;
  try {
    const s = await prepare(t, broker, 'app');
    if (!s) return;
    const rng = seededRandom(seed);
    // A progress kill waits for the instance to process `step` input records, then a random
    // delay; start-up kills are placed at random among them.
    const plan: Array<{ step?: number; afterMs?: number }> = killSteps(rng, appKills).map((step) => ({ step }));
    for (let k = 0; k < startupKills; k++) plan.splice(Math.floor(rng() * (plan.length + 1)), 0, { afterMs: 300 + Math.floor(rng() * 3000) });
    const args = [broker.bootstrap, s.appId, s.input, s.output, s.stateDir, guarantee];
    const history: string[] = [];
    const context = () => `seed ${seed}; kills so far:\n${history.join('\n')}`;
    for (const [k, step] of plan.entries()) {
      const instance = new App(s.classpath, args);
      app = instance;
      const started = Date.now();
      if (step.afterMs !== undefined) {
        // A start-up kill: after a random time, or as soon as the instance processes its first record.
        const processing = until('the first record processed', instance, () => instance.processed > 0, step.afterMs, context).catch(() => undefined);
        await Promise.race([sleep(step.afterMs), processing, app.proc.exited]);
        assert.ok(app.proc.running, `the application exited by itself\n${app.proc.tail()}\n${context()}`);
      } else {
        await until(`${step.step} input records processed`, instance, () => instance.processed >= step.step!, 120_000, context);
        await sleep(jitterMs(rng));
      }
      await app.proc.kill();
      history.push(`kill ${k + 1}: ${step.afterMs !== undefined ? `start-up kill (at ${step.afterMs} ms or the first record processed)` : `${step.step} records processed`}: processed ${app.processed}, committed ${app.done}/${records} (as last reported), ran ${Date.now() - started} ms, last state ${app.proc.lines.filter((l) => l.startsWith('STATE')).at(-1) ?? '(none)'}`);
      t.diagnostic(history.at(-1)!);
    }
    app = new App(s.classpath, args);
    await until('DONE (all input committed)', app, () => app!.finished, 120_000, context, true);
    const exit = await app.proc.exited;
    assert.equal(exit.code, 0, `the last instance's exit\n${app.proc.tail()}`);
    t.diagnostic(`final instance finished: ${app.proc.lines.filter((l) => l.startsWith('THREAD_ERROR')).length} thread errors`);
    await verify(t, s, broker, history);
    if (brokerKind === 'rivulet') {
      const m = await scrapeMetrics(broker.httpPort);
      t.diagnostic(`log cleaner: ${m.get('rivulet_log_cleaner_passes_total')} passes, ${m.get('rivulet_log_cleaner_reclaimed_bytes_total')} bytes reclaimed`);
      assert.ok((m.get('rivulet_log_cleaner_passes_total') ?? 0) > 0, 'the changelogs were compacted while the application restored from them');
    }
  } finally {
    await app?.proc.kill();
    await broker.cleanup();
  }
});

// TODO: in 2 of the last 3 CI runs Kafka Streams stopped committing after the kills (ILLEGAL_GENERATION
// on TxnOffsetCommit after a restart, the thread fenced, then no commit for 2 minutes); the same test
// passed in the runs before. Open bug of the broker's classic groups across a restart, under study;
// the test still runs and reports, without failing the suite meanwhile.
test(`Kafka Streams ${guarantee}: the broker SIGKILLed ${brokerKills} times and restarted on the same data; read_committed output is exactly 1..n per key`, { timeout: 1_200_000 }, async (t) => {
  const dataDir = await makeTempDir('streams-eos-broker-');
  let broker = await startBrokerOrPeer({ settings, dataDir });
  const port = broker.port;
  let app: App | undefined;
  try {
    const s = await prepare(t, broker, 'broker');
    if (!s) return;
    const rng = seededRandom(seed ^ 0x5bd1e995);
    const steps = killSteps(rng, brokerKills);
    const args = [broker.bootstrap, s.appId, s.input, s.output, s.stateDir, guarantee];
    const history: string[] = [];
    const context = () => `seed ${seed}; broker kills so far:\n${history.join('\n')}\n--- broker log (tail) ---\n${broker.output().split('\n').slice(-30).join('\n')}`;
    let appStarts = 1;
    app = new App(s.classpath, args);
    let from = 0;
    for (const [k, step] of steps.entries()) {
      const point = from + step;
      await until(`${point} input records processed`, app, () => app!.processed >= point, 120_000, context);
      await sleep(jitterMs(rng));
      from = app.processed;
      const at = app.done;
      await broker.kill();
      const down = Date.now();
      broker = await startBrokerOrPeer({ settings, dataDir, port });
      history.push(`broker kill ${k + 1}: ${step} records processed after the last: processed ${from}, committed ${at}/${records} (as last reported), back after ${Date.now() - down} ms`);
      t.diagnostic(history.at(-1)!);
      if (!app.proc.running) {
        // Not a correctness failure by itself; the output check decides. Reported.
        t.diagnostic(`the application exited (${JSON.stringify(await app.proc.exited)}); restarting it\n${app.proc.tail(5)}`);
        app = new App(s.classpath, args);
        appStarts++;
        from = 0;
      }
    }
    await until('DONE (all input committed)', app, () => app!.finished, 120_000, context, true);
    const exit = await app.proc.exited;
    assert.equal(exit.code, 0, `the application's exit\n${app.proc.tail()}`);
    const threadErrors = app.proc.lines.filter((l) => l.startsWith('THREAD_ERROR'));
    t.diagnostic(`application started ${appStarts} time(s); ${threadErrors.length} stream thread(s) replaced${threadErrors.length ? `: ${threadErrors.slice(0, 3).join(' | ')}` : ''}`);
    await verify(t, s, broker, history);
  } finally {
    await app?.proc.kill();
    await broker.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  }
});
