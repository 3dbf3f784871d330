// The build's outputs as a user takes them: the chart's default image is one the build made,
// and each oci-archive holds exactly its image (the layout's manifest, every blob it names)
// under the name the chart uses, so `skopeo copy oci-archive:...` or `podman load` give it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { render, toolsOrSkip } from '../deploy/lib.js';
import { imageDir, imageOrSkip, layoutDir, version } from './lib.js';

function layoutManifest(tag: string): { digest: string; blobs: string[] } {
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8'));
  const desc = index.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  assert.ok(desc, `${tag} in the layout`);
  const manifest = JSON.parse(readFileSync(join(layoutDir, 'blobs', ...desc.digest.split(':')), 'utf8'));
  return { digest: desc.digest, blobs: [desc.digest, manifest.config.digest, ...manifest.layers.map((l: any) => l.digest)] };
}

test('the chart\'s default image is the broker image the build makes', async (t) => {
  if (!toolsOrSkip(t)) return;
  if (!imageOrSkip(t, `rivulet-${version}`)) return;
  const sts = render('default').find((d) => d.object.kind === 'StatefulSet')!.object;
  const image = sts.spec.template.spec.containers[0].image as string;
  const archive = join(imageDir, `rivulet-${version}.oci.tar`);
  const index = JSON.parse(execFileSync('tar', ['-xOf', archive, 'index.json'], { encoding: 'utf8' }));
  assert.equal(index.manifests[0].annotations['io.containerd.image.name'], image, `the chart runs ${image}; the archive names its image so`);
});

for (const name of ['rivulet', 'rivulet-pipeline']) {
  test(`${name}-<version>.oci.tar holds exactly the layout's ${name} image`, (t) => {
    const tag = `${name}-${version}`;
    if (!imageOrSkip(t, tag)) return;
    const archive = join(imageDir, `${tag}.oci.tar`);
    const files = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).split('\n').filter((f) => f && !f.endsWith('/'));
    const index = JSON.parse(execFileSync('tar', ['-xOf', archive, 'index.json'], { encoding: 'utf8' }));
    const want = layoutManifest(tag);
    assert.equal(index.manifests.length, 1, 'one image per archive');
    assert.equal(index.manifests[0].digest, want.digest, 'the same manifest as the layout\'s (so the digest the build printed holds)');
    assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], version);
    assert.deepEqual(files.filter((f) => f.startsWith('blobs/')).sort(), [...new Set(want.blobs)].map((d) => `blobs/${d.replace(':', '/')}`).sort(), 'every blob the image names, and no other');
    assert.ok(files.includes('oci-layout'), 'an oci-layout file');
  });
}
