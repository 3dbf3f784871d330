#!/usr/bin/env node
// Helpers of scripts/image/build.sh over an OCI image layout (JSON only; tar does the archive).
//
//   node scripts/image/layout.mjs sizes <layout> <tag>...          compressed size of each image, by layer
//   node scripts/image/layout.mjs archive <layout> <tag> <file>    an oci-archive holding that one image
//
// The archive's index names the image twice: org.opencontainers.image.ref.name is the version
// (skopeo's oci-archive:<file>:<ref>), io.containerd.image.name is rivulet:<version>, so
// `docker load` (Docker 25+) and `podman load` give the name the Helm chart uses.

import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const REF = 'org.opencontainers.image.ref.name';

function blobPath(layout, digest) {
  const [alg, hex] = digest.split(':');
  return join(layout, 'blobs', alg, hex);
}

function readJson(layout, digest) {
  return JSON.parse(readFileSync(blobPath(layout, digest), 'utf8'));
}

/** The index entry and manifest of a tag, or an error that lists the tags there are. */
export function image(layout, tag) {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const desc = index.manifests.find((m) => m.annotations?.[REF] === tag);
  if (!desc) {
    const tags = index.manifests.map((m) => m.annotations?.[REF]).filter(Boolean);
    throw new Error(`no image tagged ${tag} in ${layout} (tags: ${tags.join(', ') || 'none'})`);
  }
  const manifest = readJson(layout, desc.digest);
  const config = readJson(layout, manifest.config.digest);
  return { desc, manifest, config };
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

function sizes(layout, tags) {
  for (const tag of tags) {
    const { desc, manifest, config } = image(layout, tag);
    const layers = manifest.layers;
    const history = (config.history ?? []).filter((h) => !h.empty_layer);
    const total = desc.size + manifest.config.size + layers.reduce((n, l) => n + l.size, 0);
    console.log(`${tag}: ${mb(total)} compressed (${layers.length} layers), manifest ${desc.digest}`);
    layers.forEach((l, i) => console.log(`  ${mb(l.size).padStart(9)}  ${l.digest.slice(7, 19)}  ${history[i]?.created_by ?? ''}`));
  }
}

function archive(layout, tag, file) {
  const { desc, manifest } = image(layout, tag);
  const version = tag.replace(/^.*-(?=\d)/, '');
  const name = tag.slice(0, tag.length - version.length - 1) || tag;
  const tmp = mkdtempSync(join(dirname(file), '.archive-'));
  try {
    for (const d of [desc, manifest.config, ...manifest.layers]) {
      const to = blobPath(tmp, d.digest);
      mkdirSync(dirname(to), { recursive: true });
      linkSync(blobPath(layout, d.digest), to);
    }
    writeFileSync(join(tmp, 'oci-layout'), readFileSync(join(layout, 'oci-layout')));
    const entry = { ...desc, annotations: { [REF]: version, 'io.containerd.image.name': `${name}:${version}` } };
    writeFileSync(join(tmp, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry] }));
    execFileSync('tar', ['-C', tmp, '--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-cf', file, 'oci-layout', 'index.json', 'blobs']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const [cmd, layout, ...rest] = process.argv.slice(2);
if (cmd === 'sizes' && layout && rest.length > 0) sizes(layout, rest);
else if (cmd === 'archive' && layout && rest.length === 2) archive(layout, rest[0], rest[1]);
else {
  console.error('usage: layout.mjs sizes <layout> <tag>... | archive <layout> <tag> <file>');
  process.exit(2);
}
