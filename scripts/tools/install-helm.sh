#!/usr/bin/env bash
# Builds a pinned Helm from the Go module proxy (no binary downloads) into <repo>/.tools/bin,
# together with yaml2json (a small helper the manifest validator uses to turn rendered YAML
# into JSON with the same YAML library Kubernetes uses). Idempotent: each tool is rebuilt
# only when the installed one is missing or reports another version.
#   bash scripts/tools/install-helm.sh        -> prints the helm version
# Needs: go (1.24+). A cold build downloads Helm's module graph (~250 MB) into the Go module
# cache and compiles it; later runs take well under a second.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.19.5}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/.tools/bin"
mkdir -p "$bin"

command -v go >/dev/null 2>&1 || { echo "install-helm: go not found on PATH (needed to build helm from the Go module proxy)" >&2; exit 1; }

have=""
if [ -x "$bin/helm" ]; then
  have="$("$bin/helm" version --template '{{.Version}}' 2>/dev/null || true)"
fi
if [ "$have" = "$HELM_VERSION" ]; then
  echo "helm $HELM_VERSION already in .tools/bin; skipping build" >&2
else
  echo "building helm $HELM_VERSION from the Go module proxy (cold: several minutes)..." >&2
  start=$SECONDS
  # Helm stamps its version through ldflags in its Makefile; go install does not, so set it here.
  GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install \
    -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  echo "built helm in $((SECONDS - start))s" >&2
fi

# yaml2json: its own module (scripts/tools/yaml2json, go.sum pinned); rebuilt when the source
# changes (a stamp holds the source hash).
y2j_src="$here/yaml2json"
want="$(cat "$y2j_src/go.mod" "$y2j_src/go.sum" "$y2j_src/main.go" | sha256sum | cut -d' ' -f1)"
if [ -x "$bin/yaml2json" ] && [ "$(cat "$bin/.yaml2json.sha256" 2>/dev/null)" = "$want" ]; then
  :
else
  (cd "$y2j_src" && GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install .)
  printf '%s\n' "$want" > "$bin/.yaml2json.sha256"
fi

"$bin/helm" version --short
