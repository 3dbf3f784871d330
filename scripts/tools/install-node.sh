#!/usr/bin/env bash
# Installs a Node.js binary from the npm registry's node-linux-<arch> package into
# .tools/node-<version>/ and prints its bin directory; CI uses it to run the tests on the
# newest LTS as well as on the machine's Node. Idempotent.
#   scripts/tools/install-node.sh [version]      (default: the pinned LTS below)
set -euo pipefail
version="${1:-24.9.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$root/.tools/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "install-node: no node-linux package for $(uname -m)" >&2; exit 1 ;;
  esac
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$root/.tools"
  rm -rf "$dir"
  mv "$tmp/package" "$dir"
fi
"$dir/bin/node" --version >&2
echo "$dir/bin"
