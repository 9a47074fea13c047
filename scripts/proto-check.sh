#!/usr/bin/env bash
# Regenerates the proto code into a temporary folder and fails when the committed code differs.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed "s#out: packages/proto/src/gen#out: $tmp/gen#" buf.gen.yaml > "$tmp/buf.gen.yaml"
npx buf generate --template "$tmp/buf.gen.yaml"
if ! diff -r "$tmp/gen" packages/proto/src/gen > "$tmp/diff"; then
  cat "$tmp/diff"
  echo "proto-check: packages/proto/src/gen is stale; run 'make proto' and commit the result" >&2
  exit 1
fi
echo "proto-check: generated code is up to date"
