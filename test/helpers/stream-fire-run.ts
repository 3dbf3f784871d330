// One run "under fire" (test/helpers/stream-fire.ts has the parts): a broker started by the
// test, an input topic, PROCESSES pipeline processes of the windowed count, and a seeded
// sequence of SIGKILLs (of a pipeline process, or of the broker, restarted on its data
// directory and port) while the input is produced and after, until every window of the
// reference has come out; then every process is stopped with SIGTERM and the read_committed
// output is checked against the reference. Progress goes to stdout for a person watching CI.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerProcess } from './broker.js';
import { startBrokerOrPeer } from './broker-or-peer.js';
import { makeTempDir } from './temp.js';
import { sleep } from './wait.js';
import {
  checkWindowCounts, createTopics, defaultRunner, expectedCounts, generateInput, inputCount, PipelineProcess, produceInput, readOutput, rng,
  type CheckResult, type Guarantee, type InputSpec,
} from './stream-fire.js';

export interface FireOptions {
  guarantee: Guarantee;
  /** What is SIGKILLed: one of the pipeline processes, or the broker. */
  target: 'pipeline' | 'broker' | 'none';
  seed: number;
  /** At least this many kills; they go on until the output is complete. */
  kills: number;
  input: Omit<InputSpec, 'seed'>;
  partitions?: number;
  processes?: number;
  /** How long the output may take to complete, ms, before the run fails with what it has. */
  timeoutMs?: number;
  /** Start a broker other than Rivulet's (test/interop/kafka/launch.sh for Apache Kafka). */
  startBroker?: (opts: { dataDir?: string; port?: number; settings: Record<string, string> }) => Promise<BrokerProcess>;
}

export interface FireReport {
  check: CheckResult;
  kills: number;
  restarts: number;
  /** Pipeline exits nobody asked for (the process died or stopped by itself). */
  unexpectedExits: string[];
  /** Exit codes of the final SIGTERM stops (0: a clean stop). */
  stopCodes: Array<number | string | null>;
}

const log = (t0: number, msg: string) => console.log(`[fire ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

export async function runFire(o: FireOptions): Promise<FireReport> {
  const t0 = Date.now();
  const partitions = o.partitions ?? 6;
  const processes = o.processes ?? 3;
  const random = rng(o.seed ^ 0x5eed);
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));
  const settings = {
    'group.initial.rebalance.delay.ms': '0',
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000',
    // A SIGKILLed process never leaves its group: its partitions wait for its session to expire
    // (KIP-848: the broker's setting, 45 s by default) before another member gets them. With a
    // kill every few seconds, 45 s sessions keep most partitions with dead members and the output
    // stalls; a short session keeps the fire about exactly-once, not about waiting. (Apache
    // Kafka's own startBroker keeps its defaults: it refuses sessions below its 45 s minimum.)
    ...(o.startBroker ? {} : { 'group.consumer.session.timeout.ms': '8000', 'group.consumer.heartbeat.interval.ms': '1000' }),
  };
  const start = o.startBroker ?? ((b) => startBrokerOrPeer(b));
  const dataDir = await makeTempDir('stream-fire-broker-');
  const stateRoot = await makeTempDir('stream-fire-state-');
  let broker = await start({ dataDir, settings });
  const bootstrap = `127.0.0.1:${broker.port}`;
  const application = `fire-${o.guarantee.replace('_', '-')}-${o.target}`;
  const inTopic = `${application}-in`;
  const outTopic = `${application}-out`;
  const input = generateInput({ seed: o.seed, ...o.input });
  const expected = expectedCounts(input);
  log(t0, `seed ${o.seed}: ${input.length} records, ${o.input.keys} keys, ${o.input.windows} windows (${expected.size} key-windows expected), ${partitions} partitions, ${processes} ${o.guarantee} processes, SIGKILL target: ${o.target}, broker at ${bootstrap}, runner: ${defaultRunner === 'cli' ? 'rivulet run' : 'startPipeline (stream-fire-runner.js)'}`);

  const procs = Array.from({ length: processes }, (_, i) => new PipelineProcess(`p${i}`, {
    bootstrap, application, input: inTopic, output: outTopic, guarantee: o.guarantee, stateDir: join(stateRoot, `p${i}`), instanceId: `p${i}`,
  }));
  let kills = 0;
  let restarts = 0;
  let complete = false;
  let produced = false;
  /** Set when the run ends (or fails): the fire starts nothing after it. */
  let ended = false;
  let failure: unknown;
  let fire: Promise<void> = Promise.resolve();
  /** Windows of the reference seen in the output so far; a kill waits until it grew since the previous one. */
  let windowsOut = 0;
  let windowsAtLastKill = -1;
  try {
    await createTopics(bootstrap, [{ topic: inTopic, numPartitions: partitions }, { topic: outTopic, numPartitions: partitions }]);
    for (const p of procs) p.start();

    let inputAcked!: () => void;
    const inputDone = new Promise<void>((r) => (inputAcked = r));
    // The input: spread over the first kills when processes are the target; before the broker kills otherwise
    // (a produce that fails while the broker is down could not be retried without risking a duplicate input).
    // The closing records wait for the last kill, so every kill lands before the output can be complete.
    const production = produceInput(bootstrap, inTopic, partitions, input, {
      batch: 1000,
      pause: o.target === 'pipeline' ? () => sleep(between(100, 600)) : undefined,
      beforeClose: async () => {
        while (kills < o.kills && !ended) await sleep(100);
        if (o.target === 'broker') await sleep(3000); // the broker is back and the producer reconnected
        log(t0, `${kills} kills done: sending the closing records`);
      },
      onProgress: (n) => {
        if (n % 5000 === 0 || n === input.length) log(t0, `input: ${n}/${input.length} records acknowledged`);
        if (n === input.length) inputAcked();
      },
    }).then(() => { produced = true; });
    production.catch(() => undefined); // awaited below; a failure then fails the run
    if (o.target !== 'pipeline') await Promise.race([inputDone, production]);

    fire = (async () => {
      while (!ended && (!complete || kills < o.kills)) {
        // Each kill waits for the output to move since the previous one: kills at a pace the
        // group can never recover from would only test liveness, and the run would not end.
        const waitUntil = Date.now() + 8000; // at most: before the closing records, the output stops short of complete
        while (!ended && !complete && windowsOut <= windowsAtLastKill && Date.now() < waitUntil) await sleep(100);
        // Broker kills come sooner: the input is all there, so processing is quick to finish.
        await sleep(o.target === 'broker' ? between(200, 1200) : between(500, 3000));
        if (o.target === 'none' || ended) continue;
        windowsAtLastKill = windowsOut;
        if (o.target === 'pipeline') {
          const victim = procs[Math.floor(random() * procs.length)]!;
          if (!victim.running) continue;
          victim.killing = true;
          await victim.kill();
          kills++;
          const pause = between(200, 1500);
          log(t0, `kill ${kills}: SIGKILL ${victim.name} (pid of start ${victim.starts}, ${windowsOut} windows out); restart in ${pause} ms`);
          await sleep(pause);
          victim.killing = false;
          if (ended) return;
          victim.start();
          restarts++;
        } else {
          await broker.kill();
          kills++;
          const pause = between(200, 2000);
          log(t0, `kill ${kills}: SIGKILL the broker (${windowsOut} windows out); restart in ${pause} ms on the same data directory and port`);
          await sleep(pause);
          if (ended) return;
          broker = await start({ dataDir, port: broker.port, settings });
          restarts++;
          log(t0, 'broker restarted');
        }
      }
    })();

    const deadline = Date.now() + (o.timeoutMs ?? 180_000);
    let last: CheckResult | undefined;
    let lastLine = '';
    while (!complete || kills < o.kills) {
      await sleep(1000);
      // A process that exited by itself (its reason is logged) is restarted, as Kubernetes would.
      for (const p of procs) if (!p.running && !p.killing && !ended) { p.start(); restarts++; }
      const got = await readOutput(broker.port, outTopic, partitions).catch((e: unknown) => ({ error: e }));
      if ('error' in got) {
        log(t0, `output not readable now: ${String(got.error)}`);
      } else {
        last = checkWindowCounts(expected, got.results, o.guarantee);
        const done = last.expectedWindows - last.missing.length;
        windowsOut = done;
        const line = `output: ${got.results.length} records, ${done}/${last.expectedWindows} windows; kills ${kills}`;
        if (line !== lastLine) log(t0, line);
        lastLine = line;
        complete = produced && last.missing.length === 0;
      }
      if (!complete && Date.now() > deadline) {
        throw new Error(`the output did not complete within ${o.timeoutMs ?? 180_000} ms (seed ${o.seed}, ${kills} kills)\n${last?.summary ?? 'no output read'}\n` +
          procs.map((p) => `--- ${p.name} (${p.running ? 'running' : 'not running'}), its last lines:\n${p.output().slice(-1500)}`).join('\n'));
      }
    }
    await fire;
    await production;
    log(t0, `output complete after ${kills} kills; stopping the ${processes} processes with SIGTERM`);
    for (const p of procs) if (!p.running) p.start();
    // A SIGTERM that lands while a process is still loading its modules kills it before its
    // handler exists; a graceful stop is what is checked here, so each gets a few seconds first.
    const youngest = Math.max(...procs.map((p) => p.startedAt));
    await sleep(Math.max(0, youngest + 5000 - Date.now()));
    const stopCodes = await Promise.all(procs.map((p) => p.stop()));
    log(t0, `stopped: exit codes ${stopCodes.join(', ')}`);

    const total = await inputCount(bootstrap, inTopic);
    if (total !== input.length + partitions) throw new Error(`the input topic holds ${total} records, expected ${input.length} + ${partitions} closing ones: the input itself is wrong, the check would mean nothing`);
    let final = await readOutput(broker.port, outTopic, partitions);
    for (let i = 0; i < 30 && !final.stable; i++) {
      await sleep(1000);
      final = await readOutput(broker.port, outTopic, partitions);
    }
    if (!final.stable) throw new Error(`a transaction on the output is still open 30 s after every process stopped: ${final.describe}`);
    const check = checkWindowCounts(expected, final.results, o.guarantee);
    log(t0, check.summary.replaceAll('\n', '\n    '));
    return { check, kills, restarts, unexpectedExits: procs.flatMap((p) => p.unexpectedExits), stopCodes };
  } catch (e) {
    failure = e;
    throw e;
  } finally {
    ended = true;
    await fire.catch(() => undefined);
    await Promise.all(procs.map((p) => p.kill()));
    if (failure) log(t0, `failed; broker log tail:\n${broker.output().slice(-2000)}`);
    await broker.cleanup();
    await rm(dataDir, { recursive: true, force: true });
    await rm(stateRoot, { recursive: true, force: true });
  }
}
