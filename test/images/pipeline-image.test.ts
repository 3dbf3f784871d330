// The pipeline base image (scripts/image/build.sh) runs `rivulet run` on a pipeline file
// mounted into the container, as a pipeline's Deployment would: examples/ read-only at
// /pipeline, /tmp the only writable mount (the bundle and the state stores live there), uid
// 10001, read-only root (test/images/lib.ts). Against a broker from this checkout: a record in
// gives a record out, and SIGTERM ends it with exit 0.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { runCli as rivulet } from '../helpers/cli.js';
import { repoRoot } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { checkSigtermExit, freePort } from '../deploy/container.js';
import { imageConfig, imageOrSkip, runInImage, unpackImage, version, volumeDir } from './lib.js';

let broker: BrokerProcess | undefined;
after(async () => {
  await broker?.cleanup();
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await rivulet(args, input === undefined ? {} : { input });
  assert.equal(r.code, 0, `rivulet ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('the pipeline image runs examples/function.ts mounted at /pipeline: a paid payment gives a receipt, SIGTERM exits 0', { timeout: 180_000 }, async (t) => {
  const tag = `rivulet-pipeline-${version}`;
  if (!imageOrSkip(t, tag)) return;
  const image = imageConfig(tag);
  const base = imageConfig(`rivulet-${version}`);
  // The pipeline image is the broker image plus one layer: a node pulls the shared ones once.
  assert.deepEqual(image.layers.slice(0, base.layers.length), base.layers, 'the pipeline image shares the broker image\'s layers');
  assert.equal(image.layers.length, base.layers.length + 1);

  broker = await startBroker();
  const b = broker.bootstrap;
  await ok(['topic', 'create', 'payments', '-b', b, '--partitions', '1']);
  await ok(['topic', 'create', 'receipts', '-b', b, '--partitions', '1']);
  await ok(['produce', 'payments', '-b', b, '-k', ':'], 'alice:{"id":"p1","amount":12.5,"status":"paid"}\nbob:{"id":"p2","amount":3,"status":"pending"}\n');

  const tmp = await volumeDir('rivulet-image-tmp-');
  const { rootfs, dispose } = await unpackImage(tag);
  const httpPort = await freePort();
  // The container's args replace the image's command (`run /pipeline/pipeline.ts`).
  const argv = [...image.entrypoint, 'run', '/pipeline/function.ts', '--input', 'payments', '--output', 'receipts', '--http-port', String(httpPort)];
  const env = { ...image.env, HOSTNAME: 'payments-0', RIVULET_BOOTSTRAP: b };
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
    let receipts: Array<{ key: string | null; value: unknown }> = [];
    await waitFor('a receipt', async () => {
      const out = await ok(['consume', 'receipts', '-b', b, '--from-beginning', '--format', 'json']);
      receipts = out.split('\n').filter((l) => l !== '').map((l) => {
        const r = JSON.parse(l) as { key: string | null; value: string };
        return { key: r.key, value: JSON.parse(r.value) as unknown };
      });
      return receipts.length > 0 || !run.running();
    }, 60_000, run.output, 500);
    assert.deepEqual(receipts, [{ key: 'alice', value: { order: 'p1', customer: 'alice', total: 12.5 } }], run.output());
    await checkSigtermExit(30, run);
  } finally {
    if (run.running()) {
      run.signal('SIGKILL');
      await run.exited;
    }
    await dispose();
    await rm(tmp, { recursive: true, force: true });
  }
});
