// The pipeline of the "under fire" tests against Apache Kafka 4.1 (issue 15): the windowed
// count (3 processes, exactly-once, a few SIGKILLs of a process) runs against an Apache Kafka
// broker from Maven Central (test/interop/kafka/pom.xml, started by
// test/interop/kafka/launch.sh), and its read_committed output must equal the reference, as
// against Rivulet (test/integration/stream-fire.test.ts). In CI the jars are fetched by
// .ci/run; elsewhere a missing jar folder skips the test with the command that fetches it.
// FIRE_SEED=n replays a run; FIRE_RUNNER as in stream-fire.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { watchBroker, type BrokerProcess } from '../helpers/broker.js';
import { closedPort } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/wait.js';
import { WireClient } from '../helpers/wire-client.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { runFire } from '../helpers/stream-fire-run.js';
import { inCi, interopDir } from './tools.js';

const seed = Number(process.env.FIRE_SEED ?? 4101);
const launcher = join(interopDir, 'kafka', 'launch.sh');
const lib = join(interopDir, 'kafka', 'lib');
const kafkaJar = existsSync(lib) ? readdirSync(lib).find((f) => /^kafka_2\.13-[\d.]+\.jar$/.test(f)) : undefined;
const kafkaVersion = kafkaJar?.replace(/^kafka_2\.13-/, '').replace(/\.jar$/, '');

/** Apache Kafka through the launcher: ready once it answers Metadata with itself as a broker (it prints no line saying where it listens). */
async function startKafka(opts: { dataDir?: string; port?: number; settings: Record<string, string> }): Promise<BrokerProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await makeTempDir('stream-kafka-'));
  const port = opts.port || (await closedPort());
  const child = spawn(launcher, [String(port), dataDir, ...Object.entries(opts.settings).map(([k, v]) => `${k}=${v}`)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const watch = watchBroker(child, dataDir, ownDir);
  await watch.whenReady<void>(`Apache Kafka ${kafkaVersion}`, 90_000, async (found, settled) => {
    while (!settled()) {
      if (await answersMetadata(port)) found();
      else await sleep(250);
    }
  });
  return watch.process(port, 0);
}

async function answersMetadata(port: number): Promise<boolean> {
  let c: WireClient | undefined;
  try {
    c = await WireClient.connect(port);
    const res = await Promise.race([
      c.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
      sleep(2000).then(() => null),
    ]);
    return res !== null && res.brokers.length > 0;
  } catch {
    return false;
  } finally {
    c?.close();
  }
}

test(`Apache Kafka ${kafkaVersion ?? '(jars missing)'}: the windowed count under exactly-once with 3 SIGKILLed processes equals the reference (seed ${seed})`, { timeout: 300_000 }, async (t) => {
  if (!kafkaJar) {
    const fetch = `mvn -q -f test/interop/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory=$PWD/test/interop/kafka/lib`;
    if (inCi) assert.fail(`no Apache Kafka jars in ${lib}: .ci/run should have fetched them (${fetch})`);
    return t.skip(`needs the Apache Kafka jars: ${fetch}`);
  }
  const r = await runFire({ guarantee: 'exactly_once', target: 'pipeline', seed, kills: 3, input: { records: 12_000, keys: 20, windows: 60 }, startBroker: startKafka });
  assert.ok(r.check.ok, `Apache Kafka ${kafkaVersion}, seed ${seed}, ${r.kills} kills:\n${r.check.summary}`);
  assert.equal(r.check.duplicates, 0);
});
