// Runs the broker exactly as the chart's StatefulSet container would, from this checkout, and
// checks /readyz and a produce/consume round trip, then a clean SIGTERM exit.
//
// The container comes from test/deploy/container.ts: the rendered default scenario's broker
// container combined with the image's ENTRYPOINT/CMD/ENV/WORKDIR from the Dockerfile's last
// stage, as Kubernetes does. (test/images/ runs the same container from the built image.)
//
// Substitutions, and only these, because the process runs on this machine and not in the image:
//  - the image's WORKDIR (/app, where the Dockerfile puts package.json, node_modules and
//    dist/bin) is this checkout: an argument under it (the ENTRYPOINT's script
//    /app/dist/bin/rivulet.js) becomes the same path here, and the process runs in the
//    checkout; `node` is this node binary (process.execPath);
//  - the mount path of the data volume (a volumeClaimTemplate) becomes a temporary directory;
//  - a container port that is already taken on this machine (e.g. 9092 by another broker)
//    becomes a free one wherever it appears as an argument or env value (`--port 9092`,
//    `--http-port=9644`); the probes then use the substituted port.
// The process environment is PATH plus the image's ENV lines plus the container's env: no
// variable of the test runner leaks in (RIVULET_* settings would change the broker).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, toolsOrSkip } from './lib.js';
import { brokerContainer, checkBrokerServes, checkSigtermExit, readDockerfile, remapTakenPorts, watch } from './container.js';

export { readDockerfile, expand } from './container.js';

test('smoke: the StatefulSet container, run as rendered, serves /readyz and a produce/consume round trip', async (t) => {
  if (!toolsOrSkip(t)) return;
  const cli = join(repoRoot, 'dist', 'bin', 'rivulet.js');
  assert.ok(existsSync(cli), 'dist/bin/rivulet.js missing: npm run build');
  const image = readDockerfile(join(repoRoot, 'Dockerfile'));
  assert.ok(image.entrypoint.length > 0, 'the Dockerfile has an exec-form ENTRYPOINT');

  const bc = brokerContainer(image);
  const { env } = bc;

  // Substitution: the image's WORKDIR is this checkout; `node` is this node.
  const inImage = (p: string) => p === image.workdir || p.startsWith(image.workdir.replace(/\/?$/, '/'));
  bc.argv = bc.argv.map((a) => (inImage(a) ? join(repoRoot, a.slice(image.workdir.length)) : a));
  if (bc.argv[0] === 'node') bc.argv[0] = process.execPath;
  // Node's own options (--initial-old-space-size) come before the script.
  assert.equal(bc.argv.slice(1).find((a) => !a.startsWith('-')), cli, `the image's entrypoint maps to this checkout's CLI (argv ${bc.argv.join(' ')})`);

  // Substitution: the data volume's mount path -> a temporary directory.
  const dataDir = await mkdtemp(join(tmpdir(), 'rivulet-smoke-'));
  const from = bc.dataMount.mountPath;
  const swap = (s: string) => (s === from ? dataDir : s.startsWith(`${from}/`) ? dataDir + s.slice(from.length) : s.replace(`=${from}`, `=${dataDir}`));
  bc.argv = bc.argv.map(swap);
  for (const k of Object.keys(env)) env[k] = swap(env[k]!);

  // Substitution: container ports already taken here -> free ones.
  const portOf = await remapTakenPorts(bc);
  const argv = bc.argv;
  t.diagnostic(`argv: ${argv.join(' ')}`);
  t.diagnostic(`env: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);

  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: repoRoot, // the image's WORKDIR, substituted
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...image.env, HOSTNAME: bc.podName, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, running, exited } = watch(child);
  const run = { output: output, running: running, exited, signal: (sig: NodeJS.Signals) => void child.kill(sig) };
  try {
    await checkBrokerServes(t, bc, portOf, run);
    await checkSigtermExit(bc.pod.terminationGracePeriodSeconds, run);
  } finally {
    if (running()) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  }
});
