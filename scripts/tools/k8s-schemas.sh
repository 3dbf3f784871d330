#!/usr/bin/env bash
# Obtains the Kubernetes OpenAPI (swagger 2.0) specs of several minor versions from the Go
# module proxy: the module k8s.io/kubernetes ships api/openapi-spec/swagger.json. Nothing is
# downloaded from anywhere else. `go mod download` keeps them in the Go module cache
# (read-only); this script copies each swagger.json to .tools/k8s-schemas/<minor>/swagger.json
# and writes the index .tools/k8s-schemas/index.txt ("<minor> <path relative to the repo>"),
# which the manifest validator and test/deploy read. Idempotent: versions already copied are
# not fetched again.
#   bash scripts/tools/k8s-schemas.sh        -> prints "<minor> <path>" per version
# Override the set with K8S_VERSIONS="v1.30.14 v1.31.14".
set -euo pipefail

K8S_VERSIONS="${K8S_VERSIONS:-v1.29.6 v1.30.14 v1.31.14 v1.32.13 v1.33.13 v1.34.4}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.tools/k8s-schemas"
mkdir -p "$out"

command -v go >/dev/null 2>&1 || { echo "k8s-schemas: go not found on PATH" >&2; exit 1; }

index=""
for v in $K8S_VERSIONS; do
  minor="$(printf '%s' "${v#v}" | cut -d. -f1,2)"
  dest="$out/$minor/swagger.json"
  stamp="$out/$minor/version"
  if [ ! -s "$dest" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$v" ]; then
    echo "k8s-schemas: fetching k8s.io/kubernetes@$v through the Go module proxy..." >&2
    start=$SECONDS
    # A directory outside any module, so go mod download does not touch a go.mod.
    json="$(cd "$out" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$v")" || {
      printf '%s\n' "$json" >&2
      echo "k8s-schemas: the Go module proxy did not serve k8s.io/kubernetes@$v" >&2
      exit 1
    }
    dir="$(printf '%s' "$json" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}console.log(j.Dir)})')"
    src="$dir/api/openapi-spec/swagger.json"
    [ -s "$src" ] || { echo "k8s-schemas: $v has no api/openapi-spec/swagger.json" >&2; exit 1; }
    mkdir -p "$out/$minor"
    cp "$src" "$dest"
    chmod 644 "$dest"
    printf '%s\n' "$v" > "$stamp"
    echo "k8s-schemas: $v in $((SECONDS - start))s" >&2
  fi
  index+="$minor .tools/k8s-schemas/$minor/swagger.json"$'\n'
done
printf '%s' "$index" > "$out/index.txt"
cat "$out/index.txt"
