#!/usr/bin/env bash
# Builds the orderflow image from the Dockerfile with podman (or docker where its daemon runs).
# Where the base image cannot be pulled, scripts/containers/node-base.sh first builds a local
# stand-in under the base image's own name; the Dockerfile is the same either way.
#
#   scripts/containers/build-image.sh [--tag orderflow:dev] [--context <dir>]
#
# --context builds another copy of the sources (the tests use it to show that a broken build
# fails). Prints the image's size when done.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=lib.sh
. scripts/containers/lib.sh

tag=orderflow:dev
context=$PWD
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --context) context=$2; shift 2 ;;
    *) echo "build-image: unknown argument $1 (--tag, --context)" >&2; exit 2 ;;
  esac
done
# podman names unqualified local images localhost/<name>; say it the same way for both engines.
case "$tag" in */*) ;; *) [ "$engine" = podman ] && tag=localhost/$tag ;; esac

scripts/containers/node-base.sh
revision=$(git -C "$context" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "build-image: $engine build -t $tag ($context, revision $revision)" >&2
# --network host: npm ci inside the build reaches the registry the way the host does.
$engine build --network host -t "$tag" \
  --build-arg REVISION="$revision" --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -f "$context/Dockerfile" "$context"
size=$($engine image inspect --format '{{.Size}}' "$tag")
echo "build-image: built $tag, $(numfmt --to=iec "$size") ($size bytes)" >&2
