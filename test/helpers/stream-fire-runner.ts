// A pipeline process for the "under fire" tests without `rivulet run`: the fixture
// test/fixtures/stream/windowed-count.mts, bundled and loaded as `rivulet run` loads it
// (src/stream/run/load.ts), started with the runtime's startPipeline (its default store,
// lmdb under STATE_DIR). With FIRE_TOPOLOGY=hand it runs the same windowed count written by
// hand as a Topology instead (to tell a runtime bug from a DSL or window one).
//   node dist/test/helpers/stream-fire-runner.js BOOTSTRAP APPLICATION INPUT OUTPUT GUARANTEE STATE_DIR INSTANCE_ID
// (the fixture reads APPLICATION, INPUT and OUTPUT from FIRE_APPLICATION, FIRE_INPUT, FIRE_OUTPUT).
// SIGTERM stops it gracefully (commit, leave the group), exit 0; a pipeline that stops by
// itself exits 1 with the reason on stderr.

import { startPipeline } from '../../src/stream/runtime/index.js';
import { bundlePipeline, importPipeline } from '../../src/stream/run/load.js';
import { topologyOf } from '../../src/stream/run/topology-of.js';
import type { Topology } from '../../src/stream/types.js';
import { fixturePath, GRACE_MS, WINDOW_MS } from './stream-fire.js';

const STORE = 'counts';

/** Store key: window start (8 bytes, big-endian, times here are positive) then the key, so a range scan finds windows by start. */
function storeKey(start: number, key: Buffer): Buffer {
  const b = Buffer.allocUnsafe(8 + key.length);
  b.writeBigUInt64BE(BigInt(start), 0);
  key.copy(b, 8);
  return b;
}

/** Tumbling event-time windows of WINDOW_MS, a count per key, emitted once when stream time passes end + GRACE_MS. */
export function windowedCountTopology(application: string, input: string, output: string): Topology {
  return {
    application,
    stores: [{ name: STORE, subtopology: 0, changelog: true }],
    internalTopics: [],
    sinks: [output],
    describe: () => `${input} -> tumbling ${WINDOW_MS} ms windows, grace ${GRACE_MS} ms, count per key (store ${STORE}, emit final) -> ${output}`,
    subtopologies: [{
      id: 0,
      sources: [input],
      createTask(ctx) {
        const store = ctx.store(STORE);
        // Stream time starts over after a restart; open windows come back from the store.
        let streamTime = -Infinity;
        return {
          process(r) {
            const key = r.key ?? Buffer.alloc(0);
            const start = r.timestamp - (r.timestamp % WINDOW_MS);
            if (start + WINDOW_MS + GRACE_MS <= streamTime) return; // late: never with the test's input
            const k = storeKey(start, key);
            store.put(k, Buffer.from(String(Number(store.get(k)?.toString() ?? '0') + 1)));
            if (r.timestamp <= streamTime) return;
            streamTime = r.timestamp;
            const closeBefore = streamTime - WINDOW_MS - GRACE_MS + 1;
            if (closeBefore <= 0) return;
            const closed = [...store.range(storeKey(0, Buffer.alloc(0)), storeKey(closeBefore, Buffer.alloc(0)))];
            for (const [sk, v] of closed) {
              const s = Number(sk.readBigUInt64BE(0));
              const name = sk.subarray(8).toString();
              ctx.send({ topic: output, key: sk.subarray(8), value: Buffer.from(JSON.stringify({ key: name, start: s, end: s + WINDOW_MS, count: Number(v.toString()) })), timestamp: s + WINDOW_MS - 1 });
              store.delete(sk);
            }
          },
          tick() {},
          async flush() {},
          close() {},
        };
      },
    }],
  };
}

const [bootstrap, application, input, output, guarantee, stateDir, instanceId] = process.argv.slice(2);
if (!bootstrap || !application || !input || !output || (guarantee !== 'exactly_once' && guarantee !== 'at_least_once') || !stateDir || !instanceId) {
  process.stderr.write('usage: stream-fire-runner BOOTSTRAP APPLICATION INPUT OUTPUT exactly_once|at_least_once STATE_DIR INSTANCE_ID\n');
  process.exit(2);
}
const logger = { info: (m: string) => process.stderr.write(`info ${m}\n`), warn: (m: string) => process.stderr.write(`warn ${m}\n`), error: (m: string) => process.stderr.write(`error ${m}\n`) };
// A SIGTERM while the pipeline starts stops it as soon as it has started, never kills it halfway.
let stopAsked = false;
let stopNow = () => { stopAsked = true; };
process.on('SIGTERM', () => stopNow());
async function fixtureTopology(): Promise<Topology> {
  const bundle = await bundlePipeline(fixturePath);
  try {
    const t = topologyOf(await importPipeline(bundle), 'stream-fire', { inputs: [], keyFormat: 'string', valueFormat: 'json', name: fixturePath });
    if (t.application !== application) throw new Error(`the fixture's application is ${t.application}, expected ${application} (FIRE_APPLICATION)`);
    return t;
  } finally {
    bundle.dispose();
  }
}
const topology = process.env.FIRE_TOPOLOGY === 'hand' ? windowedCountTopology(application, input, output) : await fixtureTopology();
const running = await startPipeline(topology, { bootstrap, guarantee, stateDir, instanceId, logger });
stopNow = () => {
  void running.stop().then(() => process.exit(0), (e: unknown) => {
    process.stderr.write(`stop failed: ${String(e)}\n`);
    process.exit(1);
  });
};
if (stopAsked) stopNow();
const why = await running.closed;
if (why) {
  process.stderr.write(`pipeline stopped by itself: ${why.message}\n`);
  process.exit(1);
}
