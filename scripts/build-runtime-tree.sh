#!/usr/bin/env bash
# Builds the file tree of the container image's runtime stage (/app): the workspace manifests,
# production dependencies only (`npm ci --omit=dev`), every workspace's compiled dist/ and config/.
# The Dockerfile calls this same script (--manifests, --files), so a test that runs a service out
# of this tree checks what the image holds without a Docker engine.
#
#   scripts/build-runtime-tree.sh <dir>              everything: manifests, npm ci --omit=dev, build, files
#   scripts/build-runtime-tree.sh <dir> --manifests  package.json, package-lock.json and each workspace's package.json
#   scripts/build-runtime-tree.sh <dir> --files      dist/ and migrations/ of every workspace (already built) and config/
#   scripts/build-runtime-tree.sh --compile          compile the image's workspaces (tsc -b), nothing else
#
# The image's workspaces are listed by image_workspaces below; bench/ is a workspace of the
# repository but not of the image (the build context leaves it out, see .dockerignore).
set -euo pipefail

if [ "${1:-}" = "--compile" ]; then
  dir=""
  mode=--compile
else
  dir=${1:?usage: scripts/build-runtime-tree.sh <dir> [--manifests|--files] | --compile}
  mode=${2:-all}
fi
case "$dir" in /* | "") ;; *) dir="$PWD/$dir" ;; esac
cd "$(dirname "$0")/.."

workspaces() {
  find packages services tools -mindepth 2 -maxdepth 2 -name package.json -printf '%h\n' 2>/dev/null | sort
}

# What is compiled into the image: the services, their packages, and the CLI and dead-letter tool
# (the chart's `helm test` pod runs the CLI). Not the test kit, the local runner or chaos.
image_workspaces() {
  workspaces | grep -Ev '^(packages/testkit|tools/runner|tools/chaos|tools/kubelet)$'
}

copy_manifests() {
  mkdir -p "$dir"
  cp package.json package-lock.json "$dir/"
  local ws
  for ws in $(workspaces); do
    mkdir -p "$dir/$ws"
    cp "$ws/package.json" "$dir/$ws/package.json"
  done
}

copy_files() {
  mkdir -p "$dir"
  local ws
  for ws in $(image_workspaces); do
    mkdir -p "$dir/$ws"
    if [ -d "$ws/dist" ]; then
      rm -rf "$dir/$ws/dist"
      cp -R "$ws/dist" "$dir/$ws/dist"
      # Compiled output only: no incremental-build state.
      find "$dir/$ws/dist" -name '*.tsbuildinfo' -delete
    fi
    # SQL migrations are read at run time from <workspace>/migrations.
    if [ -d "$ws/migrations" ]; then
      rm -rf "$dir/$ws/migrations"
      cp -R "$ws/migrations" "$dir/$ws/migrations"
    fi
  done
  if [ -d config ]; then
    rm -rf "$dir/config"
    cp -R config "$dir/config"
  else
    echo "build-runtime-tree: warning: config/ is missing (restaurant needs config/catalog.json)" >&2
  fi
}

compile() {
  # shellcheck disable=SC2046 # one argument per workspace
  npx tsc -b $(image_workspaces)
  # The order API's console and /docs page (TypeScript bundled by esbuild into its dist/web).
  node services/order-api/scripts/build-console.mjs
}

case "$mode" in
  --manifests) copy_manifests ;;
  --compile) compile ;;
  --files) copy_files ;;
  all)
    rm -rf "$dir"
    copy_manifests
    (cd "$dir" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
    compile
    copy_files
    ;;
  *) echo "build-runtime-tree: unknown mode $mode" >&2; exit 2 ;;
esac
