// Runs a container of the images scripts/image/build.sh builds, without a container engine:
// the image is unpacked with umoci, and its process runs in its own mount and PID namespaces,
// chrooted into the unpacked root file system mounted read-only, as uid/gid 10001 in a user
// namespace (as the chart's securityContext: runAsUser 10001, readOnlyRootFilesystem), with
// the writable volumes the pod has bind-mounted in (/tmp, the data directory) and the host's
// network (so the test reaches it on 127.0.0.1).
//
// Two steps, both util-linux: `unshare --mount --pid --fork` (as root; or, unprivileged,
// with --map-root-user) sets up the mounts, then the process drops to uid 10001 on the host
// (setpriv, when root) and `unshare --user --map-user=10001 --map-group=10001 --root=<rootfs>`
// enters the image: the one id mapped is 10001, and its capabilities end at the exec. The
// image's process is the PID namespace's init (PID 1), as in a pod.
//
// The tools come from Debian packages (umoci; util-linux is always there) and the images from
// scripts/image/build.sh; when either is missing, a test fails under CI=true and is skipped
// otherwise, saying what to run.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { watch, type ImageConfig, type Running } from '../deploy/container.js';

export const imageDir = process.env.RIVULET_IMAGE_DIR ?? join(repoRoot, '.build', 'images');
export const layoutDir = join(imageDir, 'oci');
export const version: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
/** The chart's runAsUser and runAsGroup, which the images declare as their user. */
export const containerUid = 10001;

const isRoot = process.getuid?.() === 0;

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** What is missing to run an image here, as instructions; [] when all is there. */
export function missingForImages(tag: string): string[] {
  const missing: string[] = [];
  if (process.platform !== 'linux') return [`Linux namespaces (this is ${process.platform})`];
  if (!have('umoci')) missing.push('umoci: run sudo apt-get install umoci');
  for (const cmd of ['unshare', 'setpriv']) if (!have(cmd)) missing.push(`${cmd}: run sudo apt-get install util-linux`);
  if (!existsSync(join(layoutDir, 'index.json')) || !readFileSync(join(layoutDir, 'index.json'), 'utf8').includes(`"${tag}"`)) {
    missing.push(`the image ${tag} in ${layoutDir}: run npm run build && bash scripts/image/build.sh`);
  }
  return missing;
}

/** True when the image and the tools are there; otherwise fails under CI=true and skips elsewhere. */
export function imageOrSkip(t: TestContext, tag: string): boolean {
  const missing = missingForImages(tag);
  if (missing.length === 0) return true;
  const msg = `image tests need: ${missing.join('; ')}`;
  if (process.env.CI === 'true') assert.fail(msg);
  t.skip(msg);
  return false;
}

/** The image's config (entrypoint, cmd, env, working directory, user, labels) from the OCI layout. */
export function imageConfig(tag: string): ImageConfig & { user: string; labels: Record<string, string>; layers: string[] } {
  const blob = (digest: string) => JSON.parse(readFileSync(join(layoutDir, 'blobs', ...digest.split(':')), 'utf8'));
  const idx = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8'));
  const desc = idx.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  assert.ok(desc, `no image tagged ${tag} in ${layoutDir}`);
  const manifest = blob(desc.digest);
  const config = blob(manifest.config.digest).config;
  const env: Record<string, string> = {};
  for (const kv of config.Env ?? []) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  return {
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    env,
    workdir: config.WorkingDir || '/',
    user: config.User ?? '',
    labels: config.Labels ?? {},
    layers: manifest.layers.map((l: any) => l.digest),
  };
}

/** Unpacks the image into a temporary directory; returns its root file system and how to remove it. */
export async function unpackImage(tag: string): Promise<{ rootfs: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rivulet-image-'));
  const bundle = join(dir, 'bundle');
  const r = spawnSync('umoci', ['unpack', '--rootless', '--image', `${layoutDir}:${tag}`, bundle], { encoding: 'utf8' });
  assert.equal(r.status, 0, `umoci unpack ${tag}: ${r.stderr}`);
  // The container's user (uid 10001 on the host, when root) must reach the root file system.
  chmodSync(dir, 0o755);
  chmodSync(bundle, 0o755);
  return { rootfs: join(bundle, 'rootfs'), dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** A test's cleanup: the container killed if it still runs, the image's root and the given directories removed. */
export async function cleanUp(run: Running, dispose: () => Promise<void>, dirs: string[]): Promise<void> {
  if (run.running()) {
    run.signal('SIGKILL');
    await run.exited;
  }
  await dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}

/** A writable directory for a volume, owned by the container's user as the kubelet's fsGroup makes it. */
export async function volumeDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  chmodSync(d, 0o770);
  if (isRoot) chownSync(d, containerUid, containerUid);
  return d;
}

export interface Mount {
  host: string;
  path: string;
  readOnly?: boolean;
}

// Runs inside the first unshare (a private mount namespace, PID 1 of a new PID namespace).
// $1: the root file system; $2: "host:path:ro|rw" mounts, one a line; the rest: the argv to run.
const SETUP = `set -eu
root="$1"; mounts="$2"; shift 2
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
printf '%s\\n' "$mounts" | while IFS=: read -r host path mode; do
  [ -n "$host" ] || continue
  mount --bind "$host" "$root$path"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$root$path"; fi
done
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=755,size=64k dev "$root/dev"
for d in null zero random urandom; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
exec "$@"
`;

/**
 * Starts argv (the container's entrypoint + command) in the unpacked image, with exactly `env`
 * as its environment, `workdir` as its directory and `mounts` bind-mounted in. The returned
 * signal() reaches the image's process (PID 1 inside).
 */
export function runInImage(rootfs: string, argv: string[], env: Record<string, string>, workdir: string, mounts: Mount[]): Running & { hostPid(): number | undefined } {
  // Mount points the image lacks are made in the unpacked root before it turns read-only, as
  // container runtimes do (the chart mounts its Secrets at /etc/rivulet/...).
  for (const m of mounts) if (!existsSync(join(rootfs, m.path))) mkdirSync(join(rootfs, m.path), { recursive: true, mode: 0o755 });
  const outer = isRoot ? ['--mount', '--pid', '--fork', '--kill-child', '--propagation', 'private'] : ['--user', '--map-root-user', '--mount', '--pid', '--fork', '--kill-child', '--propagation', 'private'];
  const drop = isRoot ? ['setpriv', `--reuid=${containerUid}`, `--regid=${containerUid}`, '--clear-groups', '--'] : [];
  const enter = ['unshare', '--user', `--map-user=${containerUid}`, `--map-group=${containerUid}`, `--root=${rootfs}`, `--wd=${workdir}`, '--'];
  const envArgs = ['env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  const mountList = mounts.map((m) => `${m.host}:${m.path}:${m.readOnly ? 'ro' : 'rw'}`).join('\n');
  const child = spawn('unshare', [...outer, 'sh', '-c', SETUP, 'setup', rootfs, mountList, ...drop, ...envArgs, ...enter, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const { output, running, exited } = watch(child);
  // The image's process: unshare's one child (sh, which execs down to it, keeping its pid).
  const hostPid = (): number | undefined => {
    try {
      const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return kids.length === 1 ? Number(kids[0]) : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    output: output,
    running: running,
    exited,
    hostPid,
    signal: (sig) => {
      const pid = hostPid();
      if (pid !== undefined) process.kill(pid, sig);
      else if (sig === 'SIGKILL') child.kill('SIGKILL');
    },
  };
}

