// The broker image (scripts/image/build.sh) run exactly as the chart's StatefulSet container:
// the rendered command, args and env (test/deploy/container.ts) in the unpacked image, as uid
// 10001 in a user namespace, the root file system read-only, /tmp and the data volume the only
// writable mounts (test/images/lib.ts). Checks the probes, a produce/consume round trip and a
// clean exit 0 after SIGTERM, as test/deploy/smoke.test.ts does for the checkout.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { render, repoRoot, toolsOrSkip } from '../deploy/lib.js';
import { brokerContainer, checkBrokerServes, checkSigtermExit, readDockerfile, remapTakenPorts } from '../deploy/container.js';
import { cleanUp, containerUid, imageConfig, imageOrSkip, runInImage, unpackImage, version, volumeDir, type Mount } from './lib.js';

test('the broker image, run as the chart\'s StatefulSet container (uid 10001, read-only root), serves /readyz and a round trip and exits 0 on SIGTERM', { timeout: 180_000 }, async (t) => {
  if (!toolsOrSkip(t)) return;
  const tag = `rivulet-${version}`;
  if (!imageOrSkip(t, tag)) return;
  const image = imageConfig(tag);
  assert.equal(image.labels['org.opencontainers.image.version'], version, 'the version label is package.json\'s');
  assert.match(image.labels['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{40}$/, 'the revision label is a commit');

  // The Dockerfile (for machines with Docker) and this image start the same way.
  const dockerfile = readDockerfile(join(repoRoot, 'Dockerfile'));
  assert.deepEqual([image.entrypoint, image.cmd, image.workdir], [dockerfile.entrypoint, dockerfile.cmd, dockerfile.workdir], 'the image\'s entrypoint, command and working directory are the Dockerfile\'s');

  const bc = brokerContainer(image);
  const sc = bc.c.securityContext ?? {};
  assert.equal(image.user, `${sc.runAsUser}:${sc.runAsGroup}`, 'the image\'s user is the chart\'s runAsUser:runAsGroup');
  assert.equal(sc.runAsUser, containerUid);
  assert.equal(sc.readOnlyRootFilesystem, true, 'the chart runs the image on a read-only root file system');
  const portOf = await remapTakenPorts(bc);
  t.diagnostic(`argv: ${bc.argv.join(' ')}`);

  // The pod's volumes: the data volume and every emptyDir (/tmp) as fresh writable directories.
  const volumes = new Map<string, any>((bc.pod.volumes ?? []).map((v: any) => [v.name, v]));
  const dirs: string[] = [];
  const mounts: Mount[] = [];
  let dataDir = '';
  for (const m of bc.c.volumeMounts ?? []) {
    const isData = m.name === bc.dataMount.name;
    assert.ok(isData || volumes.get(m.name)?.emptyDir, `volume ${m.name}: only the data volume and emptyDirs are supported by this test`);
    const d = await volumeDir(`rivulet-image-${m.name}-`);
    dirs.push(d);
    if (isData) dataDir = d;
    mounts.push({ host: d, path: m.mountPath, readOnly: m.readOnly === true });
  }
  assert.ok(mounts.some((m) => m.path === '/tmp'), 'the chart mounts a writable /tmp');

  const { rootfs, dispose } = await unpackImage(tag);
  // The kubelet's environment: the image's ENV, HOSTNAME, then the container's env.
  const run = runInImage(rootfs, bc.argv, { ...image.env, HOSTNAME: bc.podName, ...bc.env }, image.workdir, mounts);
  try {
    await checkBrokerServes(t, bc, portOf, run);
    const pid = run.hostPid();
    assert.ok(pid !== undefined, `the image's process is found:\n${run.output()}`);
    // Unprivileged: the broker runs as 10001 (on the host too, when the test runs as root), with no capabilities.
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    if (process.getuid?.() === 0) assert.match(status, new RegExp(`^Uid:\\s+${containerUid}\\s`, 'm'), status);
    assert.match(status, /^CapEff:\s+0+$/m, 'no effective capabilities');
    // Its root is the image, mounted read-only.
    const rootLine = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
    assert.ok(rootLine && /(^|,)ro(,|$)/.test(rootLine.split(' ')[5]!), `/ is mounted read-only in the container: ${rootLine}`);
    // The data went to the volume, written by the container's user.
    const topicDir = readdirSync(dataDir).find((f) => f.startsWith('smoke-'));
    assert.ok(topicDir, `the data volume holds the topic: ${readdirSync(dataDir).join(', ')}`);
    if (process.getuid?.() === 0) assert.equal(statSync(join(dataDir, topicDir)).uid, containerUid, 'written by uid 10001');
    await checkSigtermExit(bc.pod.terminationGracePeriodSeconds, run);
  } finally {
    await cleanUp(run, dispose, dirs);
  }
});

test('the secured scenario\'s init container runs its /bin/sh script in the broker image: SCRAM users from the mounted password files', { timeout: 120_000 }, async (t) => {
  if (!toolsOrSkip(t)) return;
  const tag = `rivulet-${version}`;
  if (!imageOrSkip(t, tag)) return;
  const image = imageConfig(tag);
  const pod = render('secure-values.yaml').find((d) => d.object.kind === 'StatefulSet')!.object.spec.template.spec;
  const init = pod.initContainers.find((c: any) => c.name === 'scram-users');
  assert.ok(init, 'the secured scenario has the scram-users init container');
  assert.equal(init.command[0], '/bin/sh', 'it runs a shell script, so the image needs /bin/sh');
  const volumes = new Map<string, any>(pod.volumes.map((v: any) => [v.name, v]));

  const dirs: string[] = [];
  const mounts: Mount[] = [];
  let dataDir = '';
  for (const m of init.volumeMounts) {
    const d = await volumeDir(`rivulet-image-${m.name}-`);
    dirs.push(d);
    if (m.name === 'data') dataDir = d;
    // The users Secret: one file per user, readable by the pod's group (defaultMode 0440, fsGroup).
    for (const item of volumes.get(m.name)?.secret?.items ?? []) {
      writeFileSync(join(d, item.path), `${item.key}-secret\n`);
      chmodSync(join(d, item.path), 0o444);
    }
    mounts.push({ host: d, path: m.mountPath, readOnly: m.readOnly === true });
  }
  assert.ok(dataDir, 'the init container mounts the data volume');
  const env: Record<string, string> = { ...image.env };
  for (const e of init.env ?? []) if (e.value !== undefined) env[e.name] = String(e.value);

  const { rootfs, dispose } = await unpackImage(tag);
  const run = runInImage(rootfs, [...init.command, ...(init.args ?? [])], env, image.workdir, mounts);
  try {
    const { code, signal } = await run.exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, `init container:\n${run.output()}`);
    assert.match(run.output(), /SCRAM-SHA-512 credential of admin stored/);
    assert.doesNotMatch(run.output(), /admin-secret/, 'no password in the output');
    assert.ok(readdirSync(dataDir).length > 0, 'the credentials are in the data volume');
  } finally {
    await cleanUp(run, dispose, dirs);
  }
});
