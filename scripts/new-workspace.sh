#!/usr/bin/env bash
# Creates a workspace skeleton: scripts/new-workspace.sh <dir> <package-name> [reference-dir...]
set -euo pipefail
dir=$1; name=$2; shift 2
mkdir -p "$dir/src"
refs=""
for r in "$@"; do refs="$refs{ \"path\": \"$(realpath --relative-to="$dir" "$r")\" },"; done
refs="[${refs%,}]"
[ -f "$dir/package.json" ] || cat > "$dir/package.json" <<JSON
{
  "name": "$name",
  "version": "0.1.0",
  "private": true,
  "main": "dist/index.js",
  "types": "dist/index.d.ts"
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "$(realpath --relative-to="$dir" tsconfig.base.json)",
  "compilerOptions": { "rootDir": "src", "outDir": "dist", "composite": true, "tsBuildInfoFile": "dist/.tsbuildinfo" },
  "include": ["src"],
  "references": $refs
}
JSON
