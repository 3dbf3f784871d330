// The pipeline base image (scripts/image/build.sh) runs `rivulet run` on a pipeline file
// mounted into the container, as a pipeline's Deployment would: examples/ read-only at
// /pipeline, /tmp the only writable mount (the bundle and the state stores live there), uid
// 10001, read-only root (test/images/lib.ts). The pipeline is examples/windowed-count.ts: it
// imports `rivulet/stream` (resolved to the image's dist/src by the esbuild bundle) and keeps
// its counts in an lmdb state store, so both native pieces run in the image. Against a broker
// from this checkout: the counts come out, and SIGTERM ends it with exit 0.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { runCli as rivulet } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { checkSigtermExit, freePort } from '../deploy/container.js';
import { cleanUp, imageConfig, imageOrSkip, runInImage, unpackImage, version, volumeDir } from './lib.js';

let broker: BrokerProcess | undefined;
after(async () => {
  await broker?.cleanup();
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await rivulet(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `rivulet ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('the pipeline image runs examples/windowed-count.ts mounted at /pipeline: views are counted per user, SIGTERM exits 0', { timeout: 180_000 }, async (t) => {
  const tag = `rivulet-pipeline-${version}`;
  if (!imageOrSkip(t, tag)) return;
  const image = imageConfig(tag);
  const base = imageConfig(`rivulet-${version}`);
  // The pipeline image is the broker image plus one layer: a node pulls the shared ones once.
  assert.deepEqual(image.layers.slice(0, base.layers.length), base.layers, 'the pipeline image shares the broker image\'s layers');
  assert.equal(image.layers.length, base.layers.length + 1);

  broker = await startBroker();
  const b = broker.bootstrap;
  await ok(['topic', 'create', 'page-views', '-b', b, '--partitions', '1']);
  await ok(['topic', 'create', 'views-per-minute', '-b', b, '--partitions', '1']);
  await ok(['produce', 'page-views', '-b', b, '-k', ':'], 'alice:/home\nbob:/cart\nalice:/pay\n');

  const tmp = await volumeDir('rivulet-image-tmp-');
  const { rootfs, dispose } = await unpackImage(tag);
  const httpPort = await freePort();
  // The container's args replace the image's command (`run /pipeline/pipeline.ts`).
  const argv = [...image.entrypoint, 'run', '/pipeline/windowed-count.ts', '--http-port', String(httpPort)];
  const env = { ...image.env, HOSTNAME: 'windowed-count-0', RIVULET_BOOTSTRAP: b };
  const run = runInImage(rootfs, argv, env, image.workdir, [
    { host: join(repoRoot, 'examples'), path: '/pipeline', readOnly: true },
    { host: tmp, path: '/tmp' },
  ]);
  try {
    await waitFor('/readyz 200', async () => {
      if (!run.running()) return true;
      return (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.status === 200;
    }, 60_000, run.output, 200);
    assert.ok(run.running(), `rivulet run exited:\n${run.output()}`);
    // Views per user: the last count of each (user, window), summed (the views may straddle a minute).
    type Count = { user: string; windowStart: string; windowEnd: string; views: number };
    const totals = async () => {
      const out = await ok(['consume', 'views-per-minute', '-b', b, '--from-beginning', '--format', 'json']);
      const last = new Map<string, Count>();
      for (const line of out.split('\n').filter((l) => l !== '')) {
        const r = JSON.parse(line) as { key: string | null; value: string };
        const c = JSON.parse(r.value) as Count;
        assert.equal(r.key, c.user);
        last.set(`${c.user} ${c.windowStart}`, c);
      }
      const sum: Record<string, number> = {};
      for (const c of last.values()) sum[c.user] = (sum[c.user] ?? 0) + c.views;
      return sum;
    };
    await waitFor('the counts of alice and bob', async () => !run.running() || ((await totals()).alice === 2 && (await totals()).bob === 1), 60_000, run.output, 500);
    assert.deepEqual(await totals(), { alice: 2, bob: 1 }, run.output());
    // The counts' state store (lmdb) lives under /tmp, the default --state-dir.
    const stateDir = join(tmp, 'rivulet-streams');
    assert.ok(existsSync(stateDir) && readdirSync(stateDir).length > 0, `state stores under /tmp/rivulet-streams:\n${run.output()}`);
    await checkSigtermExit(30, run);
  } finally {
    await cleanUp(run, dispose, [tmp]);
  }
});
